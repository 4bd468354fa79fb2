// wt_moq_test.js: real @moq/net clients (the npm package, unmodified) in
// headless Chromium through wtcast's moq-lite relay (docs/protocol.md
// section 9). One page loads @moq/net as ES modules from the npm cache
// (served by a small HTTP server of this script on 127.0.0.1: a secure
// context, and a loopback address like the relay's) and runs every client,
// each on a WebTransport connection of its own to the relay's root
// /moq/<root>, pinning the server's certificate hash:
//   watch  (moq-lite-03) announced(""): live/bc active, later ended
//   pub    (moq-lite-04) publishes live/bc with tracks "a" and "b": every
//          ~120 ms a group of 4 frames per track (25 ms apart), each frame
//          holding track, group, frame, a counter, random filler and an
//          FNV-1a checksum of the rest; at the end it finishes its group and
//          closes the broadcast
//   s1 (-04), s2 (-03)  subscribe to both tracks
//   bad    a raw WebTransport session (not @moq/net): an unknown stream
//          kind, an oversized message, a subscribe to what does not exist,
//          a FETCH: each stream reset with its code, and the session then
//          still gets its ANNOUNCE of live/bc
//   late   (-04) subscribes ~0.6 s after that
//   thr    (-04) the throttled subscriber, both tracks, through a UDP
//          forwarder of this script (see throttle()) that holds the relay's
//          packets for --pause ms once it has 2 groups of each track: the
//          relay (a small --relay-lag-max) must drop its groups, whole: each
//          group it gets ends cleanly with frames 0..3 (checked as above) or
//          with a reset; it gets whole groups before and after the hold, up
//          to the publisher's last, and lacks some
//   range  (-04) subscribes to track "a" with startGroup = the publisher's
//          next group + 2 and endGroup = that + 1: gets exactly those two
//          groups, whole, then its subscription ends (the relay's FIN)
// That is --mode legacy (pub, s1, late, range offer -04 only, watch and s2
// -03 only, bad speaks -04). --mode 05 (the default): every @moq/net client
// uses its own offer (moq-lite-05 first: the relay answers -05; a -05
// broadcast is not seen by -03/-04 sessions, whose frames carry no
// timestamps), bad speaks -05 (its FETCH of nothing: 0x21), and s1 also
// FETCHes a past group of track "a" (its frames, checksums and timestamps
// as the live subscription got them) and one no longer kept (an error).
// Checks: s1, s2
// and late receive, per track, every group once, whole (frames 0..3 in
// order, checksums right), from their first group to the publisher's last
// (groups in any order: each is a stream of its own, ordered: false); late's
// first frame is frame 0 of a group (a group boundary); the end of the
// broadcast is announced.
//
// usage: node wt_moq_test.js --url https://127.0.0.1:PORT/moq/ROOT --hash HEX
//          --moq DIR (node_modules holding @moq/net and its dependencies)
//          [--chromium PATH] [--timeout MS] [--pause MS]
// Prints one JSON object; exit 0 when every check passed.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const url = arg('url');
const hash = arg('hash');
const moqDir = arg('moq');
const executable = arg('chromium', '/usr/bin/chromium');
const timeout = Number(arg('timeout', '40000'));
const mode = arg('mode', '05');
// how long the throttled subscriber's path holds the relay's packets
const pauseMs = Number(arg('pause', '1500'));
if (!url || !hash || !moqDir) {
  console.error('usage: node wt_moq_test.js --url URL --hash HEX --moq NODE_MODULES');
  process.exit(2);
}

// ------------------------------------------------------------------ module serving

const http = require('http');
let ORIGIN = '';
function pkgEntry(name, sub) {
  const pj = JSON.parse(fs.readFileSync(path.join(moqDir, name, 'package.json'), 'utf8'));
  let e = pj.exports && pj.exports[sub || '.'];
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    e = e.import || e.module || e.default;
  }
  if (typeof e !== 'string') {
    e = sub ? null : pj.module || pj.main || 'index.js';
  }
  return e ? `/m/${name}/${e.replace(/^\.\//, '')}` : null;
}
const importMap = { imports: {} };
for (const [spec, name, sub] of [
  ['@moq/net', '@moq/net'], ['@moq/signals', '@moq/signals'], ['@moq/qmux', '@moq/qmux'],
  ['@moq/web-socket-stream', '@moq/web-socket-stream'], ['@zod/mini', '@zod/mini'],
  ['zod', 'zod'], ['zod/mini', 'zod', './mini'], ['async-mutex', 'async-mutex'],
  ['bowser', 'bowser'], ['tslib', 'tslib'],
]) {
  if (fs.existsSync(path.join(moqDir, name, 'package.json'))) {
    const e = pkgEntry(name, sub);
    if (e) importMap.imports[spec] = e;
  }
}
// Every module of the graph (import specifiers read from the sources) as a
// modulepreload link: the browser fetches them all at once instead of one
// import depth after another.
function moduleGraph() {
  const seen = new Set();
  const todo = Object.values(importMap.imports);
  const re = /(?:^|[\s;])(?:import|export)\s*(?:[^'"]*?\sfrom\s*)?["']([^"']+)["']/g;
  while (todo.length && seen.size < 2000) {
    const u = todo.pop();
    if (seen.has(u)) continue;
    seen.add(u);
    let text;
    try {
      text = fs.readFileSync(path.join(moqDir, u.slice(3)), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(re)) {
      const spec = m[1];
      if (spec.startsWith('.')) {
        todo.push(path.posix.join(path.posix.dirname(u), spec));
      } else if (importMap.imports[spec]) {
        todo.push(importMap.imports[spec]);
      }
    }
  }
  return [...seen];
}
const preload = moduleGraph().map((u) => `<link rel="modulepreload" href="${u}">`).join('');
const indexHtml = `<!doctype html><html><head><script type="importmap">${JSON.stringify(importMap)}</script>${preload}
<script type="module">
import * as Moq from "@moq/net";
window.Moq = Moq;
window.moqReady = true;
</script></head><body>moq test</body></html>`;

function serve(req, res) {
  const u = new URL(req.url, 'http://x');
  const send = (status, type, body) => {
    // cached: the pages share one browser context, so the modules load once
    res.writeHead(status, { 'content-type': type, 'cache-control': 'max-age=600' });
    served++;
    res.end(body);
  };
  if (u.pathname === '/' || u.pathname === '/index.html') {
    return send(200, 'text/html', indexHtml);
  }
  if (u.pathname.startsWith('/m/')) {
    const file = path.join(moqDir, decodeURIComponent(u.pathname.slice(3)));
    if (file.startsWith(moqDir) && fs.existsSync(file) && fs.statSync(file).isFile()) {
      return send(200, 'text/javascript', fs.readFileSync(file));
    }
  }
  return send(404, 'text/plain', 'not found');
}
let served = 0;
const server = http.createServer(serve);

// ------------------------------------------------------------------ the throttle

// The throttled subscriber's QUIC path: a UDP forwarder on 127.0.0.1
// between its page and the relay (one connection). While held, the relay's
// packets to it are queued (up to holdMax, the rest dropped) instead of
// sent, then released at once: to the relay the subscriber stops
// acknowledging, its backlog grows past --relay-lag-max and the relay drops
// whole groups (docs/protocol.md section 9). A page that merely stops
// reading cannot do this: Chromium accepts and buffers a WebTransport's
// incoming streams whether the page reads them or not (tried: 130 group
// streams over 9 s, the relay never blocked).
const dgram = require('dgram');
function throttle(target) {
  const down = dgram.createSocket('udp4'); // the page's side
  const up = dgram.createSocket('udp4'); // the relay's side
  const st = { held: false, queue: [], holdMax: 4096, heldPkts: 0, dropped: 0, client: null };
  down.on('message', (m, r) => {
    st.client = r;
    up.send(m, target.port, target.host);
  });
  up.on('message', (m) => {
    if (!st.client) return;
    if (!st.held) return down.send(m, st.client.port, st.client.address);
    st.heldPkts++;
    if (st.queue.length < st.holdMax) st.queue.push(m);
    else st.dropped++;
  });
  st.hold = () => {
    st.held = true;
  };
  st.release = () => {
    st.held = false;
    for (const m of st.queue.splice(0)) down.send(m, st.client.port, st.client.address);
  };
  st.start = () => Promise.all([new Promise((r) => down.bind(0, '127.0.0.1', r)),
    new Promise((r) => up.bind(0, '127.0.0.1', r))]).then(() => down.address().port);
  st.close = () => {
    down.close();
    up.close();
  };
  return st;
}

// ------------------------------------------------------------------ in-page code

// Defined in every page (addInitScript): connect, publish, subscribe.
function pageHelpers() {
  const fnv = (b, n) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) {
      h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
    }
    return h;
  };
  // mode 05: @moq/net's own list (-05, -04, -03, ...); legacy: -04 only,
  // or -03 only for v03
  window.moqConnect = async (url, hash, v03) => {
    const value = new Uint8Array(hash.match(/../g).map((h) => parseInt(h, 16)));
    const webtransport = { serverCertificateHashes: [{ algorithm: 'sha-256', value }] };
    if (window.moqMode === 'legacy') webtransport.protocols = [v03 ? 'moq-lite-03' : 'moq-lite-04'];
    const conn = await window.Moq.Connection.connect(new URL(url), { websocket: { enabled: false }, webtransport });
    (window.moqConns = window.moqConns || []).push(conn);
    return conn;
  };
  // The publisher: live/bc with tracks a and b, until pubStop() (then it
  // finishes its group and closes the broadcast).
  window.moqPublish = async (url, hash) => {
    const Moq = window.Moq;
    const conn = await window.moqConnect(url, hash);
    const bc = new Moq.Broadcast.Producer();
    const tracks = { a: bc.createTrack('a'), b: bc.createTrack('b') };
    conn.publish(Moq.Path.from('live/bc'), bc);
    const st = { groups: 0, frames: 0, version: conn.version, stop: false };
    window.pubState = st;
    let n = 0;
    (async () => {
      for (let g = 0; !st.stop; g++) {
        const open = {};
        for (const name of ['a', 'b']) {
          open[name] = tracks[name].appendGroup();
        }
        for (let f = 0; f < 4; f++) {
          for (const [ti, name] of [[0, 'a'], [1, 'b']]) {
            const len = 16 + 100 + ((g * 7 + f * 13 + ti * 101) % 1400);
            const p = new Uint8Array(len + 4);
            const dv = new DataView(p.buffer);
            dv.setUint32(0, ti);
            dv.setUint32(4, open[name].sequence);
            dv.setUint32(8, f);
            dv.setUint32(12, n++);
            crypto.getRandomValues(p.subarray(16, len));
            dv.setUint32(len, fnv(p, len));
            open[name].writeFrame({ payload: p, timestamp: Moq.Time.Timestamp.now() });
            st.frames++;
          }
          await new Promise((r) => setTimeout(r, 25));
        }
        for (const name of ['a', 'b']) {
          open[name].close();
        }
        st.groups++;
        await new Promise((r) => setTimeout(r, 20));
      }
      bc.close(); // at a group boundary: every group sent is whole
      st.closed = true;
    })();
    window.pubStop = () => {
      st.stop = true;
    };
    return { version: conn.version };
  };
  // A subscriber: both tracks, every frame checked (see the file's header).
  // The throttled one (lossy) may lose groups: a group ending in an error
  // (the relay's reset, 0x10) is counted as lost, with the frames of it that
  // arrived before the reset checked like any; a group that ends cleanly
  // must be whole.
  window.moqSubscribe = async (url, hash, v03, role, lossy) => {
    const Moq = window.Moq;
    const conn = await window.moqConnect(url, hash, v03);
    const bc = conn.consume(Moq.Path.from('live/bc'));
    const res = { version: conn.version, tracks: {}, errors: [] };
    window.subStates = window.subStates || {};
    window.subStates[role] = res;
    (window.subBcs = window.subBcs || {})[role] = bc;
    const ts = ((window.subTs = window.subTs || {})[role] = {}); // track a: group -> frame ms
    for (const name of ['a', 'b']) {
      const t = { groups: 0, frames: 0, first: null, last: null, bad: 0, gaps: 0, seqs: [], lost: [] };
      res.tracks[name] = t;
      const sub = bc.subscribe(name, { priority: 1 });
      (async () => {
        for (;;) {
          const grp = await sub.recvGroup();
          if (!grp) break;
          let f = 0;
          for (;;) {
            let fr;
            try {
              fr = await grp.readFrame();
            } catch (e) {
              if (!lossy) throw e;
              t.lost.push(grp.sequence); // reset: the group is lost, as a whole
              fr = 'lost';
            }
            if (fr === 'lost') break;
            if (!fr) break;
            const p = fr.payload;
            const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
            const len = p.byteLength - 4;
            const ok = len >= 16 && fnv(p, len) === dv.getUint32(len) &&
              dv.getUint32(0) === (name === 'a' ? 0 : 1) && dv.getUint32(4) === grp.sequence &&
              dv.getUint32(8) === f;
            if (!ok) t.bad++;
            if (name === 'a') (ts[grp.sequence] = ts[grp.sequence] || []).push(fr.timestamp.asMillis());
            if (t.first === null) t.first = { group: grp.sequence, frame: dv.getUint32(8) };
            f++;
            t.frames++;
          }
          if (t.lost.length && t.lost[t.lost.length - 1] === grp.sequence) {
            t.lostFrames = (t.lostFrames || 0) + f;
            continue;
          }
          if (f !== 4) { // a group cut short
            t.bad++;
            (t.short = t.short || []).push({ group: grp.sequence, frames: f, at: Date.now() });
          }
          // groups are streams of their own (ordered: false): a group may
          // arrive before an earlier one (e.g. a late joiner's catch-up
          // group and the next); each must come once, none may be missing
          t.seqs.push(grp.sequence);
          t.groups++;
          t.last = Math.max(t.last === null ? 0 : t.last, grp.sequence);
          const lo = Math.min(...t.seqs);
          t.gaps = t.last - lo + 1 - new Set(t.seqs).size + (t.seqs.length - new Set(t.seqs).size);
          if (t.seqs.length > 1 && grp.sequence < t.seqs[t.seqs.length - 2]) t.reordered = (t.reordered || 0) + 1;
        }
      })().catch((e) => res.errors.push(String(e)));
    }
    return { version: conn.version };
  };
  // FETCH of group seq of track "a" on role's connection (-05): its frames
  // checked like a subscriber's, their timestamps next to the live ones.
  window.moqFetch = async (role, seq) => {
    const res = { seq, frames: 0, bad: 0, ts: [], live: (window.subTs[role] || {})[seq] || null };
    try {
      const grp = await window.subBcs[role].track('a').fetchGroup(seq);
      for (;;) {
        const fr = await grp.readFrame();
        if (!fr) break;
        const p = fr.payload;
        const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
        const len = p.byteLength - 4;
        if (!(len >= 16 && fnv(p, len) === dv.getUint32(len) && dv.getUint32(0) === 0 &&
          dv.getUint32(4) === seq && dv.getUint32(8) === res.frames)) res.bad++;
        res.ts.push(fr.timestamp.asMillis());
        res.frames++;
      }
    } catch (e) {
      res.error = String(e);
    }
    return res;
  };
  // A subscription with a start and an end group (track "a" only).
  window.moqRange = async (url, hash) => {
    const Moq = window.Moq;
    const conn = await window.moqConnect(url, hash, false);
    const bc = conn.consume(Moq.Path.from('live/bc'));
    const start = window.pubState.groups + 2;
    const res = { version: conn.version, start, end: start + 1, seqs: [], whole: true, ended: false };
    window.rangeState = res;
    const sub = bc.subscribe('a', { priority: 2, startGroup: start, endGroup: start + 1 });
    (async () => {
      for (;;) {
        const grp = await sub.recvGroup();
        if (!grp) break;
        let f = 0;
        while (await grp.readFrame()) f++;
        if (f !== 4) res.whole = false;
        res.seqs.push(grp.sequence);
      }
      res.ended = true;
    })().catch((e) => {
      res.error = String(e);
    });
    return { version: conn.version };
  };
  // Bad input from a raw WebTransport session (not @moq/net) speaking
  // moq-lite-04: each stream gets its reset code; the session lives on (its
  // announce stream then lists live/bc).
  window.moqBad = async (url, hash) => {
    const value = new Uint8Array(hash.match(/../g).map((h) => parseInt(h, 16)));
    const wt = new WebTransport(url, {
      serverCertificateHashes: [{ algorithm: 'sha-256', value }],
      protocols: [window.moqMode === 'legacy' ? 'moq-lite-04' : 'moq-lite-05'],
    });
    await wt.ready;
    const res = { protocol: wt.protocol };
    const enc = (s) => [...new TextEncoder().encode(s)];
    const open = async (bytes) => {
      const s = await wt.createBidirectionalStream();
      const w = s.writable.getWriter();
      await w.write(new Uint8Array(bytes));
      w.releaseLock();
      return s.readable.getReader();
    };
    const code = async (bytes) => {
      const r = await open(bytes);
      try {
        for (;;) {
          const { done } = await r.read();
          if (done) return 'fin';
        }
      } catch (e) {
        return e.streamErrorCode ?? String(e);
      }
    };
    res.unknown_kind = await code([9]);
    res.too_large = await code([1, 0x53, 0x88]); // ANNOUNCE_PLEASE of 5000 bytes
    res.not_found = await code([2, 13, 1, 4, ...enc('nope'), 1, ...enc('a'), 0, 0, 0, 0, 0]);
    res.fetch = await code([3, 7, 2, ...enc('xx'), 1, ...enc('a'), 0, 0]);
    // the session still works: ANNOUNCE_PLEASE "" (exclude hop 0) lists
    // live/bc (-05: after ANNOUNCE_OK {origin 0, 1 active})
    const r = await open([1, 2, 0, 0]);
    let buf = [];
    const skip = window.moqMode === 'legacy' ? 1 : 4; // ([2, 0, 1] ANNOUNCE_OK), the size
    const want = [1, 7, ...enc('live/bc')];
    while (buf.length < skip + want.length) {
      const { value: v, done } = await r.read();
      if (done) break;
      buf = buf.concat([...v]);
    }
    res.announce_after = buf.length >= skip + want.length &&
      (skip === 1 || (buf[0] === 2 && buf[1] === 0 && buf[2] === 1)) &&
      want.every((b, i) => buf[skip + i] === b);
    wt.close({ closeCode: 0, reason: 'done' });
    return res;
  };
  // Announcements under the root.
  window.moqWatch = async (url, hash, v03) => {
    const conn = await window.moqConnect(url, hash, v03);
    const ann = conn.announced(window.Moq.Path.from(''));
    const ev = [];
    window.watchEvents = ev;
    (async () => {
      for (;;) {
        const e = await ann.next();
        if (!e) break;
        ev.push({ path: e.path, active: e.active });
      }
    })();
    return { version: conn.version };
  };
}

// ------------------------------------------------------------------ the run

(async () => {
  const out = { checks: {}, ok: false };
  let browser;
  let thr;
  const t0 = Date.now();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  ORIGIN = `http://127.0.0.1:${server.address().port}`;
  const deadline = t0 + timeout;
  const waitFor = async (page, fn, arg, ms) => {
    const end = Math.min(deadline, Date.now() + ms);
    for (;;) {
      if (await page.evaluate(fn, arg)) return true;
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    browser = await chromium.launch({
      executablePath: executable,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    out.t_launch = Date.now() - t0;
    const ctx = await browser.newContext();
    await ctx.addInitScript(pageHelpers);
    // one page (the modules load once), one WebTransport connection per role
    const p = await ctx.newPage();
    p.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') console.error('[page]', m.text());
    });
    p.on('pageerror', (e) => console.error('[page] pageerror', String(e)));
    await p.goto(`${ORIGIN}/index.html`);
    // Chromium may abort the page's module loads with ERR_NETWORK_CHANGED
    // when the host's interfaces change (seen on a busy CI host): one reload
    let ready = await waitFor(p, () => window.moqReady === true, null, 10000);
    if (!ready) {
      out.page_reloaded = true;
      await p.reload();
      ready = await waitFor(p, () => window.moqReady === true, null, 15000);
    }
    if (!ready) {
      throw new Error('@moq/net did not load');
    }
    await p.evaluate((m) => {
      window.moqMode = m;
    }, mode);
    out.mode = mode;
    const pages = { watch: p, pub: p, s1: p, s2: p, late: p };
    out.modules_served = served;
    out.versions = {};
    // the announce watcher and s2 speak moq-lite-03, the others -04
    out.t_pages = Date.now() - t0;
    out.versions.watch = (await pages.watch.evaluate(([u, h]) => window.moqWatch(u, h, true), [url, hash])).version;
    out.versions.pub = (await pages.pub.evaluate(([u, h]) => window.moqPublish(u, h), [url, hash])).version;
    out.checks.announced_active = await waitFor(pages.watch,
      () => window.watchEvents.some((e) => e.path === 'live/bc' && e.active), null, 10000);
    for (const s of ['s1', 's2']) {
      out.versions[s] = (await pages[s].evaluate(([u, h, v, r]) => window.moqSubscribe(u, h, v, r),
        [url, hash, s === 's2', s])).version;
    }
    // the throttled subscriber: its group streams accepted until it has two
    // groups of each track, then not for pauseMs (the bad input, the late
    // subscriber and the range run meanwhile), then again
    const relay = new URL(url);
    thr = throttle({ host: relay.hostname, port: Number(relay.port) });
    const thrUrl = new URL(url);
    thrUrl.port = String(await thr.start());
    await p.evaluate(([u, h]) => window.moqSubscribe(u, h, false, 'thr', true), [thrUrl.href, hash]);
    await waitFor(p, () => ['a', 'b'].every((n) => window.subStates.thr.tracks[n].groups >= 2), null, 10000);
    const tPause = Date.now();
    thr.hold();
    out.thr_pause = await p.evaluate(() => ({ pub_groups: window.pubState.groups }));
    out.t_bad0 = Date.now() - t0;
    out.bad = await pages.late.evaluate(([u, h]) => window.moqBad(u, h), [url, hash]);
    const legacy = mode === 'legacy';
    out.checks.bad_input_codes = out.bad.protocol === (legacy ? 'moq-lite-04' : 'moq-lite-05') &&
      out.bad.unknown_kind === 0x20 && out.bad.too_large === 0x20 && out.bad.not_found === 0x21 &&
      out.bad.fetch === (legacy ? 0x23 : 0x21) && out.bad.announce_after === true;
    out.t_bad1 = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 600));
    out.versions.late = (await pages.late.evaluate(([u, h]) => window.moqSubscribe(u, h, false, 'late'),
      [url, hash])).version;
    await p.evaluate(([u, h]) => window.moqRange(u, h), [url, hash]);
    // run until the late page has 6 groups of each track and the range ended
    await waitFor(pages.late, () => ['a', 'b'].every((n) => window.subStates.late.tracks[n].groups >= 6),
      null, 20000);
    await waitFor(p, () => window.rangeState.ended || window.rangeState.error, null, 5000);
    if (!legacy) {
      // FETCH (-05): s1's newest complete group but one (kept: the relay
      // keeps 4 per track), and its first group (gone by now: 6+ groups on)
      const seqs = await p.evaluate(() => window.subStates.s1.tracks.a.seqs);
      const last = Math.max(...seqs);
      out.fetch = await p.evaluate(([r, q]) => window.moqFetch(r, q), ['s1', last - 1]);
      out.fetch_gone = await p.evaluate(([r, q]) => window.moqFetch(r, q), ['s1', Math.min(...seqs)]);
      const f = out.fetch;
      out.checks.fetch_past_group = !f.error && f.frames === 4 && f.bad === 0 && f.live !== null &&
        f.live.length === 4 && f.ts.every((t, i) => t === f.live[i]) && f.ts[3] - f.ts[0] >= 60;
      out.checks.fetch_gone_group_refused = Math.max(...seqs) - Math.min(...seqs) >= 5 &&
        !!out.fetch_gone.error && out.fetch_gone.frames === 0;
    }
    await new Promise((r) => setTimeout(r, Math.max(0, tPause + pauseMs - Date.now())));
    thr.release();
    out.thr_resume = await p.evaluate(() => ({ pub_groups: window.pubState.groups }));
    out.thr_resume.held_packets = thr.heldPkts;
    out.thr_resume.dropped_packets = thr.dropped;
    // then it must get whole groups again: 3 of each track begun after it resumed
    await waitFor(p, (g) => ['a', 'b'].every((n) => window.subStates.thr.tracks[n].seqs.filter((q) => q > g).length >= 3),
      out.thr_resume.pub_groups, 10000);
    out.range = await p.evaluate(() => window.rangeState);
    out.checks.range_start_end_groups = out.range.ended && !out.range.error && out.range.whole &&
      out.range.seqs.length === 2 && out.range.seqs[0] === out.range.start &&
      out.range.seqs[1] === out.range.end;
    out.t_stop = Date.now() - t0;
    await pages.pub.evaluate(() => window.pubStop());
    out.checks.announced_ended = await waitFor(pages.watch,
      () => window.watchEvents.some((e) => e.path === 'live/bc' && !e.active), null, 10000);
    // the publisher's last groups may still be on their way (other streams
    // than the announce's): wait (bounded) until every subscriber has them
    await waitFor(p, () => window.pubState.closed && ['s1', 's2', 'late', 'thr'].every((r) =>
      ['a', 'b'].every((n) => window.subStates[r].tracks[n].last === window.pubState.groups - 1)),
    null, 5000);
    out.pub = await pages.pub.evaluate(() => window.pubState);
    out.subs = {};
    for (const s of ['s1', 's2', 'late', 'thr']) {
      out.subs[s] = await p.evaluate((r) => window.subStates[r], s);
    }
    out.watch = await pages.watch.evaluate(() => window.watchEvents);
    // end every session (CLOSE_WEBTRANSPORT_SESSION), so the server's drain
    // at SIGTERM has nothing to wait for
    await p.evaluate(async () => {
      for (const c of window.moqConns) c.close();
      await Promise.race([Promise.all(window.moqConns.map((c) => c.closed.catch(() => {}))),
        new Promise((r) => setTimeout(r, 2000))]);
    });
    out.checks.versions = legacy
      ? out.versions.pub === 'moq-lite-04' && out.versions.s1 === 'moq-lite-04' &&
        out.versions.late === 'moq-lite-04' && out.versions.s2 === 'moq-lite-03' &&
        out.versions.watch === 'moq-lite-03'
      : ['pub', 's1', 's2', 'late', 'watch'].every((r) => out.versions[r] === 'moq-lite-05');
    for (const s of ['s1', 's2', 'late']) {
      const r = out.subs[s];
      out.checks[`${s}_every_frame`] = r.errors.length === 0 && ['a', 'b'].every((n) => {
        const t = r.tracks[n];
        return t.groups >= 6 && t.bad === 0 && t.gaps === 0 && t.frames === 4 * t.groups &&
          t.last === out.pub.groups - 1; // up to the publisher's last group

      });
    }
    // the throttled one: whatever ended cleanly is a whole group, in order,
    // checksums right, each once; the groups it lacks are whole groups (reset
    // before or after some of their frames, or never opened); it lost some
    // (the relay dropped them), and got whole groups before and after. One
    // exception, counted: the publisher's last group may end short for it
    // when it still arrives after the broadcast's end: the relay then ends
    // the subscription (FIN of its subscribe stream) and @moq/net 0.3.4 ends
    // a group it is still reading cleanly when its track closes (runGroup
    // races stream.done() against track.closed); seen 1 in 5 runs with a 4 s
    // hold (the path is still slow after it), never on a healthy page
    out.thr = {};
    const endCut = (t) => (t.short || []).filter((x) => x.group === out.pub.groups - 1);
    out.checks.thr_whole_groups_only = out.subs.thr.errors.length === 0 && ['a', 'b'].every((n) => {
      const t = out.subs.thr.tracks[n];
      const cut = endCut(t);
      const cutFrames = cut.reduce((a, x) => a + x.frames, 0);
      const seen = new Set(t.seqs);
      const missing = [];
      for (let q = Math.min(...t.seqs); q <= out.pub.groups - 1; q++) {
        if (!seen.has(q)) missing.push(q);
      }
      out.thr[n] = { whole: t.groups - cut.length, reset: t.lost.length, missing: missing.length,
        frames_of_reset_groups: t.lostFrames || 0, last_group_cut_at_end: cut.length };
      return t.bad === cut.length && seen.size === t.seqs.length && t.lost.every((q) => !seen.has(q)) &&
        t.frames === 4 * (t.groups - cut.length) + cutFrames + (t.lostFrames || 0) &&
        t.last === out.pub.groups - 1 &&
        t.seqs.filter((q) => q < out.thr_pause.pub_groups).length >= 2 &&
        t.seqs.filter((q) => q > out.thr_resume.pub_groups).length >= 3;
    });
    out.checks.thr_lost_groups = ['a', 'b'].some((n) => out.thr[n].missing > 0);
    out.checks.late_starts_at_group_boundary = ['a', 'b'].every((n) => {
      const t = out.subs.late.tracks[n];
      return t.first && t.first.frame === 0 && t.first.group > 0;
    });
    out.ok = Object.values(out.checks).every(Boolean);
  } catch (e) {
    out.error = String(e && e.stack ? e.stack : e);
  } finally {
    if (browser) await browser.close().catch(() => {});
    server.close();
    if (thr) thr.close();
  }
  out.ms = Date.now() - t0;
  console.log(JSON.stringify(out));
  process.exit(out.ok ? 0 : 1);
})();
