// wt_browser_test.js: drives Debian's headless Chromium (through playwright-core)
// against a running wtcast server and checks what a real browser sees.
//
// usage: node wt_browser_test.js --server 127.0.0.1:PORT --hash HEX [--timeout MS]
//        [--features F1,F2 (--enable-features for Chromium, e.g. EnableWebTransportDraft07)]
// Serves a page from http://127.0.0.1 (a secure context), runs the checks in
// the page with serverCertificateHashes, prints one JSON object, exits 0 when
// every check passed or was skipped (the browser lacks the API: listed in
// "skipped", and on stderr).
'use strict';
const http = require('http');
const { chromium } = require('playwright-core');

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const server = arg('server');
const hash = arg('hash');
const timeoutMs = Number(arg('timeout', '60000'));
const executable = arg('chromium', '/usr/bin/chromium');
const features = arg('features', '');
if (!server || !/^[0-9a-f]{64}$/.test(hash || '')) {
  console.error('usage: node wt_browser_test.js --server HOST:PORT --hash SHA256HEX');
  process.exit(2);
}

// The checks, run inside the page (shared with the Firefox test).
const { pageChecks } = require('./wt_page_checks.js');

async function main() {
  const page = '<!doctype html><meta charset="utf-8"><title>wtcast browser test</title><p>wtcast</p>';
  const web = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  await new Promise((r) => web.listen(0, '127.0.0.1', r));
  const pagePort = web.address().port;
  let browser;
  const killer = setTimeout(() => {
    console.error('browser test: overall timeout');
    process.exit(1);
  }, timeoutMs);
  let result = { ok: false };
  try {
    browser = await chromium.launch({
      executablePath: executable,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        ...(features ? ['--enable-features=' + features] : []),
      ],
    });
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    p.on('console', (m) => console.error('[page]', m.text()));
    await p.goto(`http://127.0.0.1:${pagePort}/`);
    const checks = await p.evaluate(pageChecks, ['https://' + server, hash]);
    const ok = Object.values(checks).every((c) => c && (c.ok || c.skipped));
    const skipped = Object.keys(checks).filter((k) => checks[k] && checks[k].skipped);
    for (const k of skipped) console.error(`browser test: SKIPPED ${k}: ${checks[k].reason}`);
    result = { ok, browser: browser.version(), features, skipped, checks };
  } catch (e) {
    result = { ok: false, error: String(e && e.stack ? e.stack : e) };
  } finally {
    if (browser) await browser.close().catch(() => {});
    web.close();
    clearTimeout(killer);
  }
  console.log(JSON.stringify(result, null, 1));
  process.exit(result.ok ? 0 : 1);
}
main();
