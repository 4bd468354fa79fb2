// wt_firefox_test.js: Debian's firefox-esr, headless with a fresh profile and
// no WebDriver, runs the same page checks as the Chromium test
// (wt_page_checks.js) against a running wtcast server; the page POSTs its
// results back to this script's own listener on 127.0.0.1.
//
// usage: node wt_firefox_test.js --server 127.0.0.1:PORT --hash HEX
//        [--firefox /usr/bin/firefox-esr] [--timeout MS]
// Prints one JSON object; exits 0 when every check passed.
'use strict';
const http = require('http');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { pageChecks } = require('./wt_page_checks.js');

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const server = arg('server');
const hash = arg('hash');
const timeoutMs = Number(arg('timeout', '120000'));
const executable = arg('firefox', '/usr/bin/firefox-esr');
if (!server || !/^[0-9a-f]{64}$/.test(hash || '')) {
  console.error('usage: node wt_firefox_test.js --server HOST:PORT --hash SHA256HEX');
  process.exit(2);
}

// A fresh profile that starts on our page and stays off the network.
const PREFS = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'startup.homepage_welcome_url': '',
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'extensions.update.enabled': false,
};

function page(token) {
  const body = `(${pageChecks.toString()})(['https://${server}', '${hash}'])
  .then((r) => r, (e) => ({ fatal: { ok: false, error: String(e && e.message ? e.message : e) } }))
  .then((r) => fetch('/result?t=${token}', { method: 'POST', body: JSON.stringify({ ua: navigator.userAgent, checks: r }) }));`;
  return `<!doctype html><meta charset="utf-8"><title>wtcast firefox test</title><p>wtcast</p><script>${body}</script>`;
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wtcast-firefox.'));
  fs.writeFileSync(
    path.join(profile, 'user.js'),
    Object.entries(PREFS)
      .map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
      .join('\n') + '\n',
  );
  const token = Math.random().toString(36).slice(2);
  let done;
  const got = new Promise((r) => (done = r));
  const web = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === `/result?t=${token}`) {
      let b = '';
      req.on('data', (c) => {
        b += c;
        if (b.length > 1 << 20) req.destroy();
      });
      req.on('end', () => {
        res.writeHead(204);
        res.end();
        try {
          done(JSON.parse(b));
        } catch (e) {
          done({ checks: { parse: { ok: false, error: String(e) } } });
        }
      });
      return;
    }
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page(token));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${web.address().port}/`;
  const ff = spawn(executable, ['--headless', '--no-remote', '--profile', profile, url], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1', HOME: profile },
  });
  let ffErr = '';
  ff.stderr.on('data', (c) => {
    if (ffErr.length < 8192) ffErr += c;
  });
  const exited = new Promise((r) => ff.on('exit', (code, sig) => r({ code, sig })));
  const timer = new Promise((r) => setTimeout(() => r(null), timeoutMs));
  const first = await Promise.race([got, exited.then((x) => ({ exited: x })), timer]);
  let result;
  if (first && first.checks) {
    const ok = Object.values(first.checks).every((c) => c && (c.ok || c.skipped));
    const skipped = Object.keys(first.checks).filter((k) => first.checks[k] && first.checks[k].skipped);
    for (const k of skipped) console.error(`firefox test: SKIPPED ${k}: ${first.checks[k].reason}`);
    result = { ok, browser: first.ua, skipped, checks: first.checks };
  } else {
    result = { ok: false, error: first ? `firefox exited early: ${JSON.stringify(first.exited)}` : 'timeout',
      firefox_stderr: ffErr.slice(-2000) };
  }
  if (ff.exitCode === null) {
    ff.kill('SIGTERM');
    const t = setTimeout(() => ff.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  web.close();
  fs.rmSync(profile, { recursive: true, force: true });
  console.log(JSON.stringify(result, null, 1));
  process.exit(result.ok ? 0 : 1);
}
main();
