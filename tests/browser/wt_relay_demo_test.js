// wt_relay_demo_test.js: headless Chromium (playwright-core) against a wtcast
// started with --http: the fan-out relay seen from real browsers, and the
// demo page it serves.
//
// usage: node wt_relay_demo_test.js --http 127.0.0.1:PORT [--mode relay|echo]
//          [--shots DIR] [--timeout MS] [--chromium PATH]
//
// Every page is loaded from the server's own --http origin and reads the
// WebTransport URL and certificate hash from /config.json.
//   (a) relay (mode relay): page B subscribes to /sub?ch=T, page A publishes
//       to /pub?ch=T a uni stream of known bytes (+ FIN) and 60 datagrams; B
//       gets the same bytes (SHA-256) and the datagrams; a second publisher
//       on T is refused (ready rejects); a subscriber joining while A's next
//       stream is half written gets that stream from its beginning; a bad
//       channel name is refused. Mode echo runs the same byte checks against
//       /echo (the publisher's own session gets the copies) to exercise the
//       harness before the relay exists.
//   (b) demo page: loads /, starts the publisher, waits until every
//       subscriber pane shows frames and datagrams, adds a late subscriber,
//       stops and restarts the publisher (the subscribers stay and get the
//       new one), and takes a screenshot (DIR/relay-demo.png).
// Prints one JSON object; exit 0 when every check passed.
'use strict';
const path = require('path');
const { chromium } = require('playwright-core');

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}
const httpAddr = arg('http');
const mode = arg('mode', 'relay');
const shots = arg('shots', '');
const timeoutMs = Number(arg('timeout', '120000'));
const executable = arg('chromium', '/usr/bin/chromium');
if (!httpAddr || !['relay', 'echo'].includes(mode)) {
  console.error('usage: node wt_relay_demo_test.js --http HOST:PORT [--mode relay|echo] [--shots DIR]');
  process.exit(2);
}
const base = `http://${httpAddr}`;

// ------------------------------------------------------------------ in-page helpers
// Installed into every test page (as window.T) by page.addInitScript.
function pageHelpers() {
  const T = {};
  T.cfg = async () => {
    const c = await (await fetch('/config.json', { cache: 'no-store' })).json();
    if (!c.url) c.url = `https://${location.hostname}:${c.port}`;
    const value = new Uint8Array(c.cert_hash.match(/../g).map((h) => parseInt(h, 16)));
    c.opts = { serverCertificateHashes: [{ algorithm: 'sha-256', value }] };
    return c;
  };
  T.timeout = (p, ms, what) =>
    Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(what + ': timeout')), ms))]);
  T.sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  T.hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
  T.sha256 = async (bytes) => T.hex(await crypto.subtle.digest('SHA-256', bytes));
  // Deterministic bytes: a xorshift stream seeded by `seed`.
  T.pattern = (n, seed) => {
    const out = new Uint8Array(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
  async function readAll(readable) {
    const r = readable.getReader();
    const parts = [];
    let n = 0;
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      parts.push(value);
      n += value.length;
    }
    const out = new Uint8Array(n);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
  // Open a session and collect everything the server sends on it.
  T.open = async (c, p) => {
    const t = new WebTransport(c.url + p, c.opts);
    await T.timeout(t.ready, 10000, 'ready ' + p);
    const s = { t, streams: [], dgrams: [] };
    (async () => {
      const r = t.incomingUnidirectionalStreams.getReader();
      for (;;) {
        const { value, done } = await r.read();
        if (done) return;
        s.streams.push(readAll(value).then((b) => ({ ok: true, b }), (e) => ({ ok: false, e: String(e) })));
      }
    })().catch(() => {});
    (async () => {
      const r = t.datagrams.readable.getReader();
      for (;;) {
        const { value, done } = await r.read();
        if (done) return;
        s.dgrams.push(new TextDecoder().decode(value));
      }
    })().catch(() => {});
    return s;
  };
  // ready of a session that must be refused: {refused, error}.
  T.refused = async (c, p) => {
    const t = new WebTransport(c.url + p, c.opts);
    try {
      await T.timeout(t.ready, 10000, 'ready ' + p);
      t.close();
      return { refused: false };
    } catch (e) {
      return { refused: true, error: String(e && e.message ? e.message : e) };
    }
  };
  T.waitFor = async (fn, ms) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await fn()) return true;
      await T.sleep(25);
    }
    return false;
  };
  window.T = T;
}

// ------------------------------------------------------------------ (a) relay

async function relayChecks(pub, sub, late, other) {
  const res = {};
  const ch = 'browser-test-' + Date.now();
  const pubPath = mode === 'relay' ? `/pub?ch=${ch}` : '/echo';
  const subPath = `/sub?ch=${ch}`;
  // The subscriber joins first (the contract allows it). In echo mode the
  // publisher's own session receives the copies.
  if (mode === 'relay') await sub.evaluate(async (p) => (window.S = await T.open(await T.cfg(), p)), subPath);
  await pub.evaluate(async (p) => (window.P = await T.open(await T.cfg(), p)), pubPath);
  const recv = mode === 'relay' ? sub : pub;
  if (mode === 'echo') await pub.evaluate(() => (window.S = window.P));
  await pub.evaluate(() => T.sleep(200));

  // One uni stream: 300 000 known bytes in uneven writes, then FIN.
  const sent = await pub.evaluate(async () => {
    const data = T.pattern(300000, 7);
    const s = await P.t.createUnidirectionalStream();
    const w = s.getWriter();
    for (let off = 0; off < data.length; ) {
      const n = Math.min(data.length - off, 1 + ((off * 7919) % 40000));
      await w.write(data.slice(off, off + n));
      off += n;
    }
    await w.close();
    return { bytes: data.length, sha256: await T.sha256(data) };
  });
  const got = await recv.evaluate(async () => {
    await T.waitFor(() => S.streams.length >= 1, 10000);
    if (!S.streams.length) return { streams: 0 };
    const r = await T.timeout(S.streams[0], 10000, 'stream');
    return r.ok ? { streams: S.streams.length, bytes: r.b.length, sha256: await T.sha256(r.b) } : { error: r.e };
  });
  res.uni_stream = { ok: got.sha256 === sent.sha256 && got.bytes === sent.bytes, sent, got };

  // 60 datagrams, paced.
  res.datagrams = await pub.evaluate(async () => {
    const w = P.t.datagrams.writable.getWriter();
    for (let i = 0; i < 60; i++) {
      await w.write(new TextEncoder().encode('dg-' + i));
      if (i % 10 === 9) await T.sleep(10);
    }
    w.releaseLock();
    return { sent: 60 };
  });
  const dg = await recv.evaluate(async () => {
    await T.waitFor(() => S.dgrams.filter((d) => /^dg-\d+$/.test(d)).length >= 60, 3000);
    const seen = new Set(S.dgrams.filter((d) => /^dg-\d+$/.test(d)));
    return { received: seen.size, intact: [...seen].every((d) => Number(d.slice(3)) < 60) };
  });
  // Datagrams are best effort; on loopback at this pace nearly all arrive.
  Object.assign(res.datagrams, dg, { ok: dg.intact && dg.received >= 30 });

  if (mode === 'relay') {
    // A second publisher on the same channel is refused.
    res.second_publisher_refused = await other.evaluate(async (p) => T.refused(await T.cfg(), p), pubPath);
    res.second_publisher_refused.ok = res.second_publisher_refused.refused;
    res.bad_channel_refused = await other.evaluate(async () => T.refused(await T.cfg(), '/pub?ch=bad%20name!'));
    res.bad_channel_refused.ok = res.bad_channel_refused.refused;

    // Late joiner: A's second stream is half written when `late` joins; it
    // must get that stream from its beginning.
    const half = await pub.evaluate(async () => {
      const data = T.pattern(100000, 11);
      const s = await P.t.createUnidirectionalStream();
      window.LW = s.getWriter();
      window.LD = data;
      await LW.write(data.slice(0, 50000));
      return { sha256: await T.sha256(data) };
    });
    await pub.evaluate(() => T.sleep(300));
    await late.evaluate(async (p) => (window.S = await T.open(await T.cfg(), p)), subPath);
    await late.evaluate(() => T.sleep(200));
    await pub.evaluate(async () => {
      await LW.write(LD.slice(50000));
      await LW.close();
    });
    const lateGot = await late.evaluate(async (want) => {
      await T.waitFor(() => S.streams.length >= 1, 10000);
      const all = await Promise.all(S.streams);
      const hashes = await Promise.all(all.map((r) => (r.ok ? T.sha256(r.b) : 'error: ' + r.e)));
      return { streams: all.length, match: hashes.includes(want), hashes };
    }, half.sha256);
    const subGot = await sub.evaluate(async (want) => {
      await T.waitFor(() => S.streams.length >= 2, 10000);
      const all = await Promise.all(S.streams);
      const hashes = await Promise.all(all.map((r) => (r.ok ? T.sha256(r.b) : 'error: ' + r.e)));
      return { streams: all.length, match: hashes.includes(want) };
    }, half.sha256);
    res.late_joiner = { ok: lateGot.match && subGot.match, late: lateGot, early: subGot };
    await late.evaluate(() => S.t.close());
  } else {
    // Echo mode: exercise the refusal path with a path that does not exist.
    res.refusal_path = await other.evaluate(async () => T.refused(await T.cfg(), '/no-such-app'));
    res.refusal_path.ok = res.refusal_path.refused;
  }
  await pub.evaluate(() => P.t.close());
  if (mode === 'relay') await sub.evaluate(() => S.t.close());
  return res;
}

// ------------------------------------------------------------------ (b) demo page

async function demoChecks(ctx) {
  const res = {};
  const page = await ctx.newPage();
  page.on('console', (m) => console.error('[demo]', m.text()));
  page.on('pageerror', (e) => console.error('[demo error]', String(e)));
  await page.goto(`${base}/?subs=3${mode === 'echo' ? '&echo=1' : ''}`);
  res.page_loaded = { ok: await page.waitForFunction(() => window.wtDemo && wtDemo.ready(), null, { timeout: 10000 }).then(() => true, () => false) };
  const title = await page.title();
  res.page_loaded.title = title;
  res.page_loaded.ok = res.page_loaded.ok && title === 'wtcast relay demo';
  const receiving = mode === 'relay' ? 3 : 1; // echo mode: only pane 1 is fed
  const enough = (min) =>
    page
      .waitForFunction(
        ([n, m]) => {
          const s = wtDemo.subscribers().slice(0, n);
          return s.length >= n && s.every((x) => x.frames >= m && x.dgrams >= m && x.imageShown);
        },
        [receiving, min],
        { timeout: 20000, polling: 100 },
      )
      .then(() => true, () => false);
  await page.click('#pub-start');
  res.frames_received = { ok: await enough(15) };
  // A late subscriber gets frames too.
  if (mode === 'relay') {
    await page.click('#sub-add');
    res.late_subscriber = {
      ok: await page
        .waitForFunction(() => {
          const s = wtDemo.subscribers();
          return s.length === 4 && s[3].frames >= 5 && s[3].imageShown;
        }, null, { timeout: 20000, polling: 100 })
        .then(() => true, () => false),
    };
    // No stream was reset or cut while the publisher was live.
    const live = await page.evaluate(() => wtDemo.subscribers());
    res.no_stream_errors = {
      ok: live.every((s) => s.streamsReset === 0 && s.truncated === 0),
      reset: live.map((s) => s.streamsReset),
      cut: live.map((s) => s.truncated),
    };
    // The publisher leaves and comes back: the subscribers stay and take the new one.
    const before = live.map((s) => s.frames);
    await page.click('#pub-stop');
    await page.waitForTimeout(500);
    await page.click('#pub-start');
    res.publisher_restart = {
      ok: await page
        .waitForFunction(
          (b) => wtDemo.subscribers().every((s, i) => s.state === 'live' && s.frames >= b[i] + 10),
          before,
          { timeout: 20000, polling: 100 },
        )
        .then(() => true, () => false),
    };
  }
  await page.waitForTimeout(1200); // a few more frames for the picture
  res.subscribers = await page.evaluate(() => wtDemo.subscribers());
  res.publisher = await page.evaluate(() => {
    const p = wtDemo.publisher();
    return { state: p.state, frames: p.frames, groups: p.groups, dgrams: p.dgrams };
  });
  if (mode === 'echo') {
    res.no_stream_errors = { ok: res.subscribers.every((s) => s.streamsReset === 0 && s.truncated === 0) };
  }
  if (shots) {
    const file = path.join(shots, 'relay-demo.png');
    await page.screenshot({ path: file, fullPage: true });
    res.screenshot = file;
  }
  await page.click('#pub-stop');
  await page.close();
  return res;
}

async function main() {
  const killer = setTimeout(() => {
    console.error('relay browser test: overall timeout');
    process.exit(1);
  }, timeoutMs);
  let browser;
  let result = { ok: false };
  try {
    browser = await chromium.launch({
      executablePath: executable,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 600 } });
    await ctx.addInitScript(pageHelpers);
    const pages = [];
    for (let i = 0; i < 4; i++) {
      const p = await ctx.newPage();
      p.on('console', (m) => console.error(`[page ${i}]`, m.text()));
      await p.goto(`${base}/config.json`);
      pages.push(p);
    }
    const relay = await relayChecks(...pages);
    for (const p of pages) await p.close();
    const demo = await demoChecks(ctx);
    const all = { ...relay, ...demo };
    const ok = Object.values(all).every((c) => typeof c !== 'object' || c === null || Array.isArray(c) || c.ok !== false);
    result = { ok, mode, browser: browser.version(), relay, demo };
  } catch (e) {
    result = { ok: false, mode, error: String(e && e.stack ? e.stack : e) };
  } finally {
    if (browser) await browser.close().catch(() => {});
    clearTimeout(killer);
  }
  console.log(JSON.stringify(result, null, 1));
  process.exit(result.ok ? 0 : 1);
}
main();
