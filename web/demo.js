// demo.js: the wtcast relay demo page (no framework, no external URLs).
//
// The publisher draws an animation on a canvas and publishes it to
// /pub?ch=demo. Wire format (all integers big-endian):
//   uni stream  = one "group" (GROUP_FRAMES frames, about one second): a
//                 sequence of records  u32 length | frame
//   frame       = u8 1 | u32 publisher id | u32 group | u32 frame seq
//                 | f64 publish time (ms, page clock) | JPEG bytes
//   datagram    = u8 2 | u32 publisher id | u32 seq | f64 publish time | UTF-8 text
// Subscribers (/sub?ch=demo) show the last frame and message, latency
// (publish time against the same page clock) and losses: datagram sequence
// numbers never seen, streams reset or cut in the middle of a frame.
//
// Page parameters (for development and tests): ?ch=NAME (default demo),
// ?subs=N (subscribers created on load, default 3), ?autostart=1 (start the
// publisher at once), ?echo=1 (publish to /echo instead and feed what the
// server echoes back to subscriber 1: exercises the page without the relay),
// ?jwt=TOKEN (a token for a server run with --auth-keys: added to the
// publisher's and the subscribers' URLs, never shown; one token with put
// and get covering the channel serves both).
'use strict';

const FPS = 10;
const GROUP_FRAMES = FPS; // one stream per second
const FRAME_TYPE = 1;
const DGRAM_TYPE = 2;
const FRAME_HDR = 21;
const DGRAM_HDR = 17;
const MAX_FRAME = 4 << 20;

const params = new URLSearchParams(location.search);
const channel = params.get('ch') || 'demo';
const echoMode = params.get('echo') === '1';
const jwtParam = params.get('jwt') ? '&jwt=' + encodeURIComponent(params.get('jwt')) : '';
const now = () => performance.timeOrigin + performance.now();
const $ = (id) => document.getElementById(id);
let cfg = null; // {url, port, cert_hash}
let wtOptions = null;

function setStats(dl, rows) {
  dl.replaceChildren();
  for (const [k, v, cls] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    if (cls) dd.className = cls;
    dl.append(dt, dd);
  }
}

const fmtMs = (v) => (v == null ? '–' : v.toFixed(1) + ' ms');
const errText = (e) => String((e && e.message) || e);

// ------------------------------------------------------------------ publisher

class Publisher {
  constructor() {
    this.canvas = $('pub-canvas');
    this.ctx = this.canvas.getContext('2d');
    this.stats = $('pub-stats');
    this.path = echoMode ? '/echo' : '/pub?ch=' + encodeURIComponent(channel);
    $('pub-path').textContent = this.path;
    this.reset();
    this.state = 'stopped';
    this.draw(now());
    this.render();
  }

  reset() {
    this.id = (Math.random() * 0xffffffff) >>> 0;
    this.frames = 0;
    this.groups = 0;
    this.bytes = 0;
    this.dgrams = 0;
    this.dgramErrors = 0;
    this.skipped = 0;
    this.writer = null;
    this.inGroup = 0;
  }

  async start() {
    if (this.t) return;
    this.reset();
    this.state = 'connecting';
    this.render();
    const t = new WebTransport(cfg.url + this.path + (echoMode ? jwtParam.replace('&', '?') : jwtParam), wtOptions);
    this.t = t;
    try {
      await t.ready;
    } catch (e) {
      this.t = null;
      this.state = 'refused: ' + errText(e);
      this.render();
      return;
    }
    this.state = 'live';
    this.dgw = t.datagrams.writable.getWriter();
    t.closed
      .then(() => 'closed')
      .catch((e) => 'closed: ' + errText(e))
      .then((s) => {
        if (this.t === t) this.halt(s);
      });
    if (echoMode && subscribers[0]) subscribers[0].attach(t);
    this.timer = setInterval(() => this.tick(), 1000 / FPS);
    this.render();
  }

  halt(state) {
    clearInterval(this.timer);
    this.timer = null;
    this.t = null;
    this.writer = null;
    this.state = state;
    this.render();
  }

  async stop() {
    const t = this.t;
    if (!t) return;
    const w = this.writer;
    this.halt('stopped');
    // End the current group with a FIN and give it a moment to reach the
    // relay: closing the session resets every stream still open on it.
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    try {
      if (w) await Promise.race([w.close(), sleep(1000)]);
      await sleep(100);
    } catch (e) {
      /* the session may be gone already */
    }
    t.close({ closeCode: 0, reason: 'publisher stopped' });
  }

  // label: the group index and frame number the frame carries.
  draw(ts, label) {
    const c = this.ctx;
    const w = this.canvas.width;
    const h = this.canvas.height;
    const s = ts / 1000;
    const g = c.createLinearGradient(0, 0, w, h);
    g.addColorStop(0, `hsl(${(s * 40) % 360} 60% 28%)`);
    g.addColorStop(1, `hsl(${(s * 40 + 120) % 360} 60% 18%)`);
    c.fillStyle = g;
    c.fillRect(0, 0, w, h);
    const x = w / 2 + Math.cos(s * 1.7) * (w / 2 - 24);
    const y = h / 2 + 8 + Math.sin(s * 2.3) * 30; // between the clock and the label
    c.fillStyle = '#ffd166';
    c.beginPath();
    c.arc(x, y, 14, 0, 2 * Math.PI);
    c.fill();
    c.fillStyle = '#fff';
    c.font = 'bold 26px monospace';
    c.fillText(new Date(ts).toISOString().slice(11, 23), 14, 40);
    c.font = '15px monospace';
    c.fillText(label || 'not publishing', 14, h - 16);
  }

  async tick() {
    if (this.busy) {
      this.skipped++;
      return;
    }
    const t = this.t;
    if (!t) return;
    this.busy = true;
    try {
      const ts = now();
      const newGroup = !this.writer || this.inGroup === GROUP_FRAMES;
      this.draw(ts, `group ${newGroup ? this.groups : this.groups - 1}  frame ${this.frames}`);
      const blob = await new Promise((r) => this.canvas.toBlob(r, 'image/jpeg', 0.7));
      const jpeg = new Uint8Array(await blob.arrayBuffer());
      if (this.t !== t) return;
      const pubTs = now(); // after encoding: latency is the network's and the relay's
      if (newGroup) {
        const old = this.writer;
        this.writer = null;
        if (old) old.close().catch(() => {});
        const s = await t.createUnidirectionalStream();
        if (this.t !== t) return; // stopped meanwhile
        this.writer = s.getWriter();
        this.groups++;
        this.inGroup = 0;
      }
      const rec = new Uint8Array(4 + FRAME_HDR + jpeg.length);
      const v = new DataView(rec.buffer);
      v.setUint32(0, FRAME_HDR + jpeg.length);
      v.setUint8(4, FRAME_TYPE);
      v.setUint32(5, this.id);
      v.setUint32(9, this.groups - 1);
      v.setUint32(13, this.frames);
      v.setFloat64(17, pubTs);
      rec.set(jpeg, 4 + FRAME_HDR);
      const text = new TextEncoder().encode(`frame ${this.frames} of group ${this.groups - 1}`);
      const dg = new Uint8Array(DGRAM_HDR + text.length);
      const dv = new DataView(dg.buffer);
      dv.setUint8(0, DGRAM_TYPE);
      dv.setUint32(1, this.id);
      dv.setUint32(5, this.dgrams);
      dv.setFloat64(9, pubTs);
      dg.set(text, DGRAM_HDR);
      this.dgrams++;
      this.dgw.write(dg).catch(() => this.dgramErrors++);
      this.frames++;
      this.inGroup++;
      this.bytes += rec.length;
      if (this.t !== t) return;
      await this.writer.write(rec);
    } catch (e) {
      if (this.t === t) this.state = 'error: ' + errText(e);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  render() {
    const live = !!this.t;
    $('pub-start').disabled = live || !cfg;
    $('pub-stop').disabled = !live;
    setStats(this.stats, [
      ['state', this.state, this.state === 'live' ? 'state-ok' : /refused|error/.test(this.state) ? 'state-bad' : ''],
      ['frames', `${this.frames} in ${this.groups} streams (${FPS}/s)`],
      ['bytes', `${(this.bytes / 1024).toFixed(0)} KiB`],
      ['datagrams', `${this.dgrams} sent, ${this.dgramErrors} failed`],
      ['skipped ticks', String(this.skipped)],
    ]);
  }
}

// ------------------------------------------------------------------ subscriber

let nextSubId = 1;

class Subscriber {
  constructor() {
    this.n = nextSubId++;
    this.path = '/sub?ch=' + encodeURIComponent(channel);
    const sec = document.createElement('section');
    sec.className = 'pane subscriber';
    sec.dataset.testid = 'sub-' + this.n;
    const h2 = document.createElement('h2');
    h2.textContent = `Subscriber ${this.n} `;
    const p = document.createElement('span');
    p.className = 'path';
    p.textContent = echoMode ? (this.n === 1 ? '(echo of the publisher)' : '(echo mode: idle)') : this.path;
    const close = document.createElement('button');
    close.className = 'close';
    close.textContent = '×';
    close.title = 'remove this subscriber';
    close.onclick = () => this.remove();
    h2.append(p, close);
    const frame = document.createElement('div');
    frame.className = 'frame';
    this.img = document.createElement('img');
    this.img.alt = 'last frame received';
    frame.append(this.img);
    this.stats = document.createElement('dl');
    this.stats.className = 'stats';
    sec.append(h2, frame, this.stats);
    $('panes').append(sec);
    this.sec = sec;
    this.frames = 0;
    this.frameBytes = 0;
    this.streams = 0;
    this.streamsDone = 0;
    this.streamsReset = 0;
    this.truncated = 0;
    this.lastFrameLatency = null;
    this.frameLatencySum = 0;
    this.dgrams = 0;
    this.dgramMissing = 0; // closed publishers' losses
    this.dgramPub = null; // {id, first, max, count}
    this.lastDgramLatency = null;
    this.lastMessage = '';
    this.state = 'new';
    this.objectUrl = null;
    this.dirty = false;
    this.render();
  }

  async connect() {
    if (echoMode) {
      this.state = this.n === 1 ? 'waiting for the publisher (echo)' : 'idle (echo mode)';
      this.render();
      return;
    }
    this.state = 'connecting';
    this.render();
    const t = new WebTransport(cfg.url + this.path + (echoMode ? jwtParam.replace('&', '?') : jwtParam), wtOptions);
    this.t = t;
    try {
      await t.ready;
    } catch (e) {
      this.state = 'refused: ' + errText(e);
      this.render();
      return;
    }
    this.state = 'live';
    this.render();
    t.closed
      .then(() => 'closed')
      .catch((e) => 'closed: ' + errText(e))
      .then((s) => {
        if (this.t === t) {
          this.state = s;
          this.render();
        }
      });
    this.attach(t);
  }

  // Read t's incoming uni streams and datagrams (a /sub session, or the
  // publisher's own /echo session in echo mode).
  attach(t) {
    if (echoMode) this.state = 'echo of the publisher';
    (async () => {
      const r = t.incomingUnidirectionalStreams.getReader();
      for (;;) {
        const { value: s, done } = await r.read();
        if (done) return;
        this.readGroup(s);
      }
    })().catch(() => {});
    (async () => {
      const r = t.datagrams.readable.getReader();
      for (;;) {
        const { value: d, done } = await r.read();
        if (done) return;
        this.onDatagram(d);
      }
    })().catch(() => {});
  }

  async readGroup(s) {
    this.streams++;
    this.touch();
    const reader = s.getReader();
    let buf = new Uint8Array(0);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buf.length + value.length);
        joined.set(buf);
        joined.set(value, buf.length);
        buf = joined;
        let off = 0;
        while (buf.length - off >= 4) {
          const len = new DataView(buf.buffer, buf.byteOffset + off).getUint32(0);
          if (len > MAX_FRAME) throw new Error('frame too large');
          if (buf.length - off - 4 < len) break;
          this.onFrame(buf.subarray(off + 4, off + 4 + len));
          off += 4 + len;
        }
        buf = buf.slice(off);
      }
      if (buf.length) this.truncated++;
      this.streamsDone++;
    } catch (e) {
      this.streamsReset++;
    }
    this.touch();
  }

  onFrame(f) {
    if (f.length < FRAME_HDR || f[0] !== FRAME_TYPE) return;
    const v = new DataView(f.buffer, f.byteOffset, f.length);
    const ts = v.getFloat64(13);
    this.frames++;
    this.frameBytes += f.length;
    this.lastGroup = v.getUint32(5);
    this.lastFrameSeq = v.getUint32(9);
    this.lastFrameLatency = now() - ts;
    this.frameLatencySum += this.lastFrameLatency;
    this.pendingJpeg = f.subarray(FRAME_HDR);
    this.touch();
  }

  onDatagram(d) {
    if (d.length < DGRAM_HDR || d[0] !== DGRAM_TYPE) return;
    const v = new DataView(d.buffer, d.byteOffset, d.length);
    const id = v.getUint32(1);
    const seq = v.getUint32(5);
    const ts = v.getFloat64(9);
    let p = this.dgramPub;
    if (!p || p.id !== id) {
      if (p) this.dgramMissing += p.max - p.first + 1 - p.count;
      p = this.dgramPub = { id, first: seq, max: seq, count: 0 };
    }
    if (seq < p.first) p.first = seq;
    if (seq > p.max) p.max = seq;
    p.count++;
    this.dgrams++;
    this.lastDgramLatency = now() - ts;
    this.lastMessage = new TextDecoder().decode(d.subarray(DGRAM_HDR));
    this.touch();
  }

  missing() {
    const p = this.dgramPub;
    return this.dgramMissing + (p ? Math.max(0, p.max - p.first + 1 - p.count) : 0);
  }

  // Render at most once per animation frame.
  touch() {
    if (this.dirty) return;
    this.dirty = true;
    requestAnimationFrame(() => {
      this.dirty = false;
      this.render();
    });
  }

  snapshot() {
    return {
      n: this.n,
      state: this.state,
      frames: this.frames,
      streams: this.streams,
      streamsDone: this.streamsDone,
      streamsReset: this.streamsReset,
      truncated: this.truncated,
      dgrams: this.dgrams,
      dgramMissing: this.missing(),
      lastFrameLatency: this.lastFrameLatency,
      lastDgramLatency: this.lastDgramLatency,
      lastMessage: this.lastMessage,
      imageShown: !!this.objectUrl,
    };
  }

  render() {
    if (this.pendingJpeg) {
      if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
      this.objectUrl = URL.createObjectURL(new Blob([this.pendingJpeg], { type: 'image/jpeg' }));
      this.img.src = this.objectUrl;
      this.pendingJpeg = null;
    }
    const avg = this.frames ? this.frameLatencySum / this.frames : null;
    setStats(this.stats, [
      ['state', this.state, /live|echo of/.test(this.state) ? 'state-ok' : /refused|closed/.test(this.state) ? 'state-bad' : ''],
      ['frames', `${this.frames}` + (this.frames ? ` (group ${this.lastGroup}, #${this.lastFrameSeq})` : '')],
      ['frame latency', `${fmtMs(this.lastFrameLatency)} (avg ${fmtMs(avg)})`],
      ['streams', `${this.streams} opened, ${this.streamsDone} ended`],
      ['stream losses', `${this.streamsReset} reset, ${this.truncated} cut short`,
        this.streamsReset || this.truncated ? 'state-bad' : ''],
      ['datagrams', `${this.dgrams} received, ${this.missing()} missing`, this.missing() ? 'state-bad' : ''],
      ['dgram latency', fmtMs(this.lastDgramLatency)],
      ['last message', this.lastMessage || '–'],
    ]);
  }

  remove() {
    if (this.t) this.t.close({ closeCode: 0, reason: 'subscriber removed' });
    this.t = null;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    this.sec.remove();
    const i = subscribers.indexOf(this);
    if (i >= 0) subscribers.splice(i, 1);
  }
}

// ------------------------------------------------------------------ start-up

const subscribers = [];
let publisher = null;

function addSubscriber() {
  const s = new Subscriber();
  subscribers.push(s);
  s.connect();
  return s;
}

async function main() {
  publisher = new Publisher();
  try {
    const r = await fetch('/config.json', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    cfg = await r.json();
    if (!cfg.url) cfg.url = `https://${location.hostname}:${cfg.port}`;
    if (!/^[0-9a-f]{64}$/.test(cfg.cert_hash || '')) throw new Error('no certificate hash');
  } catch (e) {
    $('status').textContent = 'cannot load /config.json: ' + errText(e);
    $('status').className = 'state-bad';
    return;
  }
  const value = new Uint8Array(cfg.cert_hash.match(/../g).map((h) => parseInt(h, 16)));
  wtOptions = { serverCertificateHashes: [{ algorithm: 'sha-256', value }] };
  if (typeof WebTransport === 'undefined') {
    $('status').textContent = 'this browser has no WebTransport';
    $('status').className = 'state-bad';
    return;
  }
  $('status').textContent = `${cfg.url}  ·  channel "${channel}"  ·  certificate sha-256 ${cfg.cert_hash}`;
  $('pub-start').onclick = () => publisher.start();
  $('pub-stop').onclick = () => publisher.stop();
  $('sub-add').onclick = () => addSubscriber();
  $('sub-add').disabled = false;
  publisher.render();
  const n = Math.min(Math.max(Number(params.get('subs') || 3), 0), 16);
  for (let i = 0; i < n; i++) addSubscriber();
  if (params.get('autostart') === '1') publisher.start();
}

// For tests and the console: counters of every pane.
window.wtDemo = {
  ready: () => !!wtOptions,
  publisher: () => publisher,
  subscribers: () => subscribers.map((s) => s.snapshot()),
  addSubscriber,
};

main();
