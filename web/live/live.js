// live.js: the live-video part of the demo (web/live.html). Bundled with
// @moq/publish and @moq/watch by esbuild at build time (CMakeLists.txt,
// WTCAST_WEB_LIVE) into /live.js; docs/protocol.md section 9 describes the
// relay it talks to.
//
// One <moq-publish> publishes the camera (getUserMedia) or, when there is
// none, an animated canvas, as broadcast NAME under the relay root
// moq/ROOT; N <moq-watch> players subscribe to it, each on a WebTransport
// session of its own, pinning the certificate hash /config.json gives.
// The relay's moq counters (/moq.json) are polled once a second: its totals,
// and a row per live broadcast (the ones with the most subscribers) with its
// drops and its worst subscriber's (docs/operations.md, /moq.json).
//
// Page parameters: ?root=ROOT (default live), ?name=NAME (default cam.hang),
// ?watchers=N (players created on load, default 3, at most 8),
// ?source=camera|canvas (default camera, falling back to canvas),
// ?autostart=1 (publish at once).
import '@moq/publish/element';
import '@moq/watch/element';

const params = new URLSearchParams(location.search);
const root = (params.get('root') || 'live').replace(/[^A-Za-z0-9._/-]/g, '');
const name = (params.get('name') || 'cam.hang').replace(/[^A-Za-z0-9._/-]/g, '');
const $ = (id) => document.getElementById(id);
const errText = (e) => String((e && e.message) || e);
let relayUrl = null;
let pinning = null;
let pub = null;
const watchers = [];

function setStats(dl, rows) {
  dl.replaceChildren();
  for (const [k, v] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

// Every element's connection pins the server's certificate and uses
// WebTransport only (no WebSocket fallback: wtcast has none).
function pin(el) {
  el.connection.webtransport = pinning;
  el.connection.websocket = { enabled: false };
}

// ------------------------------------------------------------------ source

// An animated canvas as a camera stand-in: a clock, a moving bar and a
// frame counter, so every frame differs.
function canvasTrack() {
  const c = document.createElement('canvas');
  c.width = 640;
  c.height = 360;
  const ctx = c.getContext('2d');
  let n = 0;
  const draw = () => {
    const t = performance.now() / 1000;
    ctx.fillStyle = `hsl(${(t * 40) % 360} 60% 30%)`;
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.fillStyle = '#fff';
    ctx.fillRect(((t * 200) % (c.width + 80)) - 80, 150, 80, 60);
    ctx.font = '32px monospace';
    ctx.fillText(`wtcast ${new Date().toISOString().slice(11, 23)}  #${n++}`, 20, 50);
  };
  draw();
  const timer = setInterval(draw, 1000 / 30);
  const track = c.captureStream(30).getVideoTracks()[0];
  track.addEventListener('ended', () => clearInterval(timer));
  return { track, stop: () => clearInterval(timer), kind: 'canvas' };
}

async function cameraTrack() {
  const s = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 30 } },
    audio: false,
  });
  return { track: s.getVideoTracks()[0], stop: () => {}, kind: 'camera' };
}

// ------------------------------------------------------------------ publisher

class Publisher {
  async start() {
    if (this.el) return;
    let src;
    if (params.get('source') !== 'canvas' && navigator.mediaDevices) {
      try {
        src = await cameraTrack();
      } catch (e) {
        console.warn('no camera, publishing a canvas:', errText(e));
      }
    }
    if (!src) src = canvasTrack();
    this.src = src;
    const el = document.createElement('moq-publish');
    pin(el);
    el.setAttribute('name', name);
    el.setAttribute('muted', ''); // video only
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    el.append(v);
    $('live-pub-slot').replaceChildren(el);
    el.setAttribute('url', relayUrl);
    el.broadcast.video.source.set(src.track);
    this.el = el;
    this.started = performance.now();
    $('live-stop').disabled = false;
    $('live-start').disabled = true;
  }

  stop() {
    if (!this.el) return;
    this.el.broadcast.video.source.set(undefined);
    this.src.track.stop();
    this.src.stop();
    this.el.remove();
    this.el = null;
    $('live-stop').disabled = true;
    $('live-start').disabled = false;
  }

  snapshot() {
    return {
      running: !!this.el,
      source: this.src ? this.src.kind : null,
      status: this.el ? this.el.connection.status.peek() : 'stopped',
    };
  }

  render() {
    const s = this.snapshot();
    setStats($('live-pub-stats'), [
      ['source', s.source || '–'],
      ['connection', s.status],
      ['broadcast', `moq/${root} · ${name}`],
    ]);
  }
}

// ------------------------------------------------------------------ watchers

class Watcher {
  constructor(i) {
    this.i = i;
    const pane = document.createElement('section');
    pane.className = 'pane subscriber';
    pane.dataset.testid = `watcher-${i}`;
    const h = document.createElement('h2');
    h.textContent = `Watcher ${i + 1}`;
    const el = document.createElement('moq-watch');
    pin(el);
    el.setAttribute('name', name);
    el.setAttribute('muted', '');
    el.setAttribute('visible', 'always'); // download even when scrolled away
    const c = document.createElement('canvas');
    c.width = 320;
    c.height = 180;
    el.append(c);
    this.stats = document.createElement('dl');
    this.stats.className = 'stats';
    pane.append(h, el, this.stats);
    $('panes').append(pane);
    el.setAttribute('url', relayUrl);
    this.el = el;
    this.canvas = c;
  }

  snapshot() {
    const v = this.el.backend && this.el.backend.video && this.el.backend.video.stats.peek();
    return {
      status: this.el.connection.status.peek(),
      frames: v ? v.frameCount : 0,
      bytes: v ? v.bytesReceived : 0,
    };
  }

  render() {
    const s = this.snapshot();
    setStats(this.stats, [
      ['connection', s.status],
      ['frames decoded', String(s.frames)],
      ['bytes received', s.bytes.toLocaleString('en')],
    ]);
  }
}

function addWatcher() {
  if (watchers.length >= 8) return null;
  const w = new Watcher(watchers.length);
  watchers.push(w);
  return w;
}

// ------------------------------------------------------------------ relay counters

let relay = null;
async function pollRelay() {
  try {
    const r = await fetch('/moq.json', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    relay = await r.json();
    const rows = Object.entries(relay.counters || {}).map(([k, v]) => [k, String(v)]);
    setStats($('live-relay'), rows.length ? rows : [['moq relay', 'off (wtcast --apps moq)']]);
    renderBroadcasts(relay.broadcasts || []);
  } catch (e) {
    setStats($('live-relay'), [['/moq.json', errText(e)]]);
  }
}

const BCAST_COLS = ['subscribers', 'delivered_streams', 'delivered_bytes', 'dropped_lagged',
  'dropped_priority', 'dropped_limit', 'dropped_latency', 'subscriber_dropped_max'];

function renderBroadcasts(list) {
  const body = $('live-broadcasts').tBodies[0];
  body.replaceChildren();
  for (const b of list) {
    const tr = document.createElement('tr');
    tr.dataset.broadcast = b.name;
    const th = document.createElement('th');
    th.textContent = b.name;
    tr.append(th);
    for (const k of BCAST_COLS) {
      const td = document.createElement('td');
      td.dataset.key = k;
      td.textContent = Number(b[k] || 0).toLocaleString('en');
      tr.append(td);
    }
    body.append(tr);
  }
}

// ------------------------------------------------------------------ main

async function main() {
  pub = new Publisher();
  let cfg;
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
  if (typeof WebTransport === 'undefined' || typeof VideoEncoder === 'undefined') {
    $('status').textContent = 'this browser lacks WebTransport or WebCodecs';
    $('status').className = 'state-bad';
    return;
  }
  const value = new Uint8Array(cfg.cert_hash.match(/../g).map((h) => parseInt(h, 16)));
  pinning = { serverCertificateHashes: [{ algorithm: 'sha-256', value }] };
  relayUrl = `${cfg.url.replace(/\/+$/, '')}/moq/${root}`;
  $('status').textContent = `${relayUrl}  ·  broadcast "${name}"  ·  certificate sha-256 ${cfg.cert_hash}`;
  $('live-path').textContent = `moq/${root} · ${name}`;
  $('live-start').onclick = () => pub.start();
  $('live-stop').onclick = () => pub.stop();
  $('live-add').onclick = () => addWatcher();
  $('live-start').disabled = false;
  $('live-add').disabled = false;
  const n = Math.min(Math.max(Number(params.get('watchers') || 3), 0), 8);
  for (let i = 0; i < n; i++) addWatcher();
  if (params.get('autostart') === '1') await pub.start();
  const tick = () => {
    pub.render();
    for (const w of watchers) w.render();
    pollRelay();
  };
  tick();
  setInterval(tick, 1000);
}

// For tests and the console.
window.wtLive = {
  ready: () => !!relayUrl,
  publisher: () => (pub ? pub.snapshot() : null),
  watchers: () => watchers.map((w) => w.snapshot()),
  relay: () => relay,
  addWatcher: () => !!addWatcher(),
};

main();
