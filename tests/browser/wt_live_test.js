// wt_live_test.js: the live-video demo page (web/live.html, /live.js:
// @moq/publish + @moq/watch bundled into wtcast) in headless Chromium with
// its fake camera (--use-fake-device-for-media-stream), through wtcast's
// moq-lite relay (docs/protocol.md section 9). The page is loaded from the
// server's own --http origin with ?autostart=1&watchers=N: it publishes the
// fake camera and plays it in N <moq-watch> players. Checks:
//   - the publisher's source is the camera (not the canvas fallback) and it
//     is connected;
//   - every watcher is connected and decodes frames (its frame count grows);
//   - every watcher's canvas shows moving pictures: two screenshots of it
//     taken ~0.6 s apart differ, and neither is a single colour;
//   - /moq.json (polled by the page) shows the relay's sessions and groups,
//     and the page's broadcast table the broadcast's row: its subscribers,
//     groups delivered and drop columns (read from the DOM).
// A screenshot of the page is written with --shot FILE.
//
// usage: node wt_live_test.js --http 127.0.0.1:PORT [--watchers N]
//          [--shot FILE] [--timeout MS] [--chromium PATH]
// Prints one JSON object; exit 0 when every check passed.
'use strict';
const { chromium } = require('playwright-core');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const http = arg('http');
const watchers = Number(arg('watchers', '2'));
const shot = arg('shot');
const executable = arg('chromium', '/usr/bin/chromium');
const timeoutMs = Number(arg('timeout', '30000'));
if (!http) {
  console.error('usage: node wt_live_test.js --http HOST:PORT [--watchers N] [--shot FILE]');
  process.exit(2);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Poll fn (in the page) until it returns a truthy value or ms pass.
async function until(page, fn, arg, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v || Date.now() > end) return v;
    await sleep(100);
  }
}

// A PNG of one element; the pictures differ iff the bytes differ (the same
// pixels encode the same way). single: the raw pixels are all one colour
// (decoded in the page from the PNG: a blank canvas).
async function shotOf(page, sel) {
  return page.locator(sel).screenshot({ animations: 'disabled' });
}
async function singleColour(page, png) {
  return page.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = new OffscreenCanvas(img.width, img.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const d = ctx.getImageData(0, 0, img.width, img.height).data;
    for (let i = 4; i < d.length; i += 4) {
      if (d[i] !== d[0] || d[i + 1] !== d[1] || d[i + 2] !== d[2]) return false;
    }
    return true;
  }, png.toString('base64'));
}

async function main() {
  const killer = setTimeout(() => {
    console.log(JSON.stringify({ ok: false, error: 'overall timeout' }));
    process.exit(1);
  }, timeoutMs);
  const checks = {};
  const res = { checks };
  let browser;
  const t0 = Date.now();
  try {
    browser = await chromium.launch({
      executablePath: executable,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'],
    });
    res.browser = browser.version();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const page = await ctx.newPage();
    const log = [];
    page.on('console', (m) => log.length < 200 && log.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log.length < 200 && log.push(`[pageerror] ${e}`));
    await page.goto(`http://${http}/live.html?autostart=1&watchers=${watchers}&root=test&name=cam.hang`);
    res.ready = await until(page, () => window.wtLive && window.wtLive.ready(), null, 5000);
    // every watcher decodes frames
    const dec = await until(page, (n) => {
      const w = window.wtLive.watchers();
      return w.length === n && w.every((x) => x.frames >= 10) && w;
    }, watchers, 15000);
    res.publisher = await page.evaluate(() => window.wtLive.publisher());
    checks['publisher: the fake camera, connected'] =
      res.publisher.source === 'camera' && res.publisher.status === 'connected';
    checks['watchers: connected, >= 10 frames decoded each'] = !!dec;
    // moving pictures: two screenshots of every watcher's canvas
    const a = [];
    for (let i = 0; i < watchers; i++) a.push(await shotOf(page, `[data-testid=watcher-${i}] canvas`));
    await sleep(600);
    const b = [];
    for (let i = 0; i < watchers; i++) b.push(await shotOf(page, `[data-testid=watcher-${i}] canvas`));
    res.pixels = [];
    for (let i = 0; i < watchers; i++) {
      const changed = !a[i].equals(b[i]);
      const blank = (await singleColour(page, a[i])) || (await singleColour(page, b[i]));
      res.pixels.push({ changed, blank, bytes: [a[i].length, b[i].length] });
    }
    checks['watchers: canvas pixels change over time, not blank'] =
      res.pixels.length === watchers && res.pixels.every((p) => p.changed && !p.blank);
    const later = await page.evaluate(() => window.wtLive.watchers());
    checks['watchers: frame counts grow'] = !!dec && later.every((w, i) => w.frames > dec[i].frames);
    res.watchers = later;
    // the relay's counters as the page shows them (/moq.json, polled each second)
    const relay = await until(page, (n) => {
      const r = window.wtLive.relay();
      return r && r.counters && r.counters.sessions >= n + 1 && r.counters.groups_in >= 1 && r;
    }, watchers, 4000);
    res.relay = relay || (await page.evaluate(() => window.wtLive.relay()));
    checks['relay counters on the page (/moq.json): sessions and groups'] = !!relay;
    // the page's broadcast table (/moq.json "broadcasts"), read from the DOM:
    // the broadcast's row with its subscribers (a catalog and a video
    // subscription per player at least), groups delivered and drop columns
    const row = await until(page, (n) => {
      const tr = [...document.querySelectorAll('#live-broadcasts tbody tr')]
        .find((r) => r.dataset.broadcast.endsWith('/cam.hang'));
      if (!tr) return false;
      const cell = {};
      for (const td of tr.querySelectorAll('td')) cell[td.dataset.key] = Number(td.textContent.replace(/,/g, ''));
      return cell.subscribers >= 2 * n && cell.delivered_streams >= 1 && cell.delivered_bytes > 0 &&
        ['dropped_lagged', 'dropped_priority', 'dropped_limit', 'dropped_latency', 'subscriber_dropped_max']
          .every((k) => Number.isInteger(cell[k])) && { name: tr.dataset.broadcast, cell };
    }, watchers, 4000);
    res.broadcast_row = row;
    if (row) res.relay = await page.evaluate(() => window.wtLive.relay()); // what the row shows
    checks['per-broadcast counters on the page: subscribers, groups delivered, drops'] = !!row;
    if (shot) await page.screenshot({ path: shot });
    res.log = log.slice(0, 40);
  } catch (e) {
    res.error = String(e && e.stack ? e.stack : e);
  } finally {
    if (browser) await browser.close().catch(() => {});
  }
  clearTimeout(killer);
  res.ms = Date.now() - t0;
  res.ok = !res.error && Object.keys(checks).length === 6 && Object.values(checks).every(Boolean);
  console.log(JSON.stringify(res, null, 1));
  process.exit(res.ok ? 0 : 1);
}
main();
