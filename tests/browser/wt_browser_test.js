// wt_browser_test.js: drives Debian's headless Chromium (through playwright-core)
// against a running wtcast server and checks what a real browser sees.
//
// usage: node wt_browser_test.js --server 127.0.0.1:PORT --hash HEX [--timeout MS]
// Serves a page from http://127.0.0.1 (a secure context), runs the checks in
// the page with serverCertificateHashes, prints one JSON object, exits 0 when
// every check passed.
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
if (!server || !/^[0-9a-f]{64}$/.test(hash || '')) {
  console.error('usage: node wt_browser_test.js --server HOST:PORT --hash SHA256HEX');
  process.exit(2);
}

// The checks, run inside the page. Each returns {ok, ...details}.
async function pageChecks([base, hashHex]) {
  const value = new Uint8Array(hashHex.match(/../g).map((h) => parseInt(h, 16)));
  const opts = { serverCertificateHashes: [{ algorithm: 'sha-256', value }] };
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const withTimeout = (p, ms, what) =>
    Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(what + ': timeout')), ms))]);
  async function readAll(readable, limit = 1 << 20) {
    const reader = readable.getReader();
    let out = '';
    for (;;) {
      const { value: v, done } = await reader.read();
      if (done) return out;
      out += dec.decode(v, { stream: true });
      if (out.length > limit) throw new Error('too much data');
    }
  }
  const res = {};
  async function check(name, fn) {
    try {
      res[name] = await withTimeout(fn(), 15000, name);
    } catch (e) {
      res[name] = { ok: false, error: String(e && e.message ? e.message : e) };
    }
  }

  const t = new WebTransport(base + '/echo?push=1', opts);
  await withTimeout(t.ready, 15000, 'ready');
  // Incoming streams are collected from the start: the server pushes a bidi
  // and a uni stream right after the session opens.
  const incomingUni = [];
  const uniCollector = (async () => {
    const r = t.incomingUnidirectionalStreams.getReader();
    for (;;) {
      const { value: s, done } = await r.read();
      if (done) return;
      incomingUni.push(readAll(s));
    }
  })().catch(() => {});

  await check('bidi_echo', async () => {
    const stream = await t.createBidirectionalStream();
    const writer = stream.writable.getWriter();
    await writer.write(enc.encode('Hello, server!'));
    const reader = stream.readable.getReader();
    let got = '';
    while (got.length < 'Hello, server!'.length) {
      const { value: v, done } = await reader.read();
      if (done) break;
      got += dec.decode(v);
    }
    await writer.close();
    return { ok: got === 'Hello, server!', got };
  });

  await check('pushed_bidi', async () => {
    const r = t.incomingBidirectionalStreams.getReader();
    const { value: s } = await r.read();
    const text = await readAll(s.readable);
    const w = s.writable.getWriter();
    await w.write(enc.encode('client-reply'));
    await w.close();
    return { ok: text === 'server-bidi-hello', got: text };
  });

  await check('uni_roundtrip_and_pushed_uni', async () => {
    const s = await t.createUnidirectionalStream();
    const w = s.getWriter();
    await w.write(enc.encode('uni-hello-from-browser'));
    await w.close();
    // Expect two incoming uni streams: the pushed one and our echo.
    for (let i = 0; i < 150 && incomingUni.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    const texts = await Promise.all(incomingUni);
    return {
      ok: texts.includes('server-uni-hello') && texts.includes('uni-hello-from-browser'),
      got: texts,
    };
  });

  await check('datagrams', async () => {
    const w = t.datagrams.writable.getWriter();
    const r = t.datagrams.readable.getReader();
    const seen = new Set();
    const reading = (async () => {
      for (;;) {
        const { value: v, done } = await r.read();
        if (done) return;
        const m = /^dg-(\d+)$/.exec(dec.decode(v));
        if (m) seen.add(Number(m[1]));
        if (seen.size === 100) return;
      }
    })();
    for (let i = 0; i < 100; i++) {
      await w.write(enc.encode('dg-' + i));
      if (i % 10 === 9) await new Promise((res) => setTimeout(res, 5));
    }
    await Promise.race([reading, new Promise((res) => setTimeout(res, 3000))]);
    // Datagrams are unreliable; on loopback at this pace nearly all arrive.
    return { ok: seen.size >= 50, sent: 100, received: seen.size };
  });
  t.close({ closeCode: 0, reason: 'done' });
  await uniCollector;

  await check('server_close', async () => {
    const t2 = new WebTransport(base + '/echo?close=4242&reason=server-says-bye&delay=100', opts);
    await t2.ready;
    const info = await t2.closed;
    return { ok: info.closeCode === 4242 && info.reason === 'server-says-bye', info };
  });
  return res;
}

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
      ],
    });
    const ctx = await browser.newContext();
    const p = await ctx.newPage();
    p.on('console', (m) => console.error('[page]', m.text()));
    await p.goto(`http://127.0.0.1:${pagePort}/`);
    const checks = await p.evaluate(pageChecks, ['https://' + server, hash]);
    const ok = Object.values(checks).every((c) => c && c.ok);
    result = { ok, browser: browser.version(), checks };
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
