// moq_vectors.mjs: the moq-lite test vectors of tests/data/moq_vectors.txt,
// encoded by the @moq/net client's own encoder (its lite/ modules).
//   node tests/unit/moq_vectors.mjs DIR   (DIR: the unpacked @moq/net package,
//   with its dependencies installed beside it)
// prints one "name hex" line per vector; tests/integration/moq_vectors.sh
// compares that with the file, and unit.moq checks wtcast's codec against
// the file both ways (encode and decode). Keep the two lists in step.
import { pathToFileURL } from "node:url";
import path from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node moq_vectors.mjs MOQ_NET_PACKAGE_DIR");
  process.exit(2);
}
const load = (p) => import(pathToFileURL(path.join(dir, p)).href);
const { Writer } = await load("stream.js");
const A = await load("lite/announce.js");
const S = await load("lite/subscribe.js");
const { Fetch } = await load("lite/fetch.js");
const { Probe } = await load("lite/probe.js");
const { Goaway } = await load("lite/goaway.js");
const { Group, Frame } = await load("lite/group.js");
const { Version } = await load("lite/version.js");
const { Setup } = await load("lite/setup.js");
const T = await load("lite/track.js");
const V3 = Version.DRAFT_03;
const V4 = Version.DRAFT_04;
const V5 = Version.DRAFT_05;

async function hex(fn) {
  const chunks = [];
  const ws = new WritableStream({
    write(c) {
      chunks.push(...c);
    },
  });
  const w = new Writer(ws); // no version: QUIC varints, as lite/connection.js
  await fn(w);
  await w.close();
  return Buffer.from(chunks).toString("hex");
}

const sub = (p) => new S.Subscribe(p);
const vectors = [
  ["announce_please_03", (w) => new A.AnnounceRequest("demo/room").encode(w, V3)],
  ["announce_please_04", (w) => new A.AnnounceRequest("demo", 0x1234n).encode(w, V4)],
  ["announce_active_03", (w) => A.encodeAnnounceBroadcast(w, { status: "active", suffix: "cam1", hops: [0n, 0n] }, V3)],
  ["announce_active_04", (w) => A.encodeAnnounceBroadcast(w, { status: "active", suffix: "cam1", hops: [5n, 300n] }, V4)],
  ["announce_ended_04", (w) => A.encodeAnnounceBroadcast(w, { status: "ended", suffix: "cam1" }, V4)],
  ["subscribe_03", (w) => sub({ id: 7n, broadcast: "demo/cam1", track: "video", priority: 3, ordered: true, maxLatency: 500, startGroup: 10 }).encode(w, V3)],
  ["subscribe_04", (w) => sub({ id: 1000n, broadcast: "demo/cam1", track: "audio", priority: 255, ordered: false, maxLatency: 20000, endGroup: 99 }).encode(w, V4)],
  ["subscribe_update_04", (w) => new S.SubscribeUpdate({ priority: 200, ordered: false, maxLatency: 0, startGroup: 0 }).encode(w, V4)],
  ["subscribe_ok_04", (w) => S.encodeSubscribeResponse(w, { ok: new S.SubscribeOk({ priority: 1, ordered: true, maxLatency: 100 }) }, V4)],
  ["subscribe_drop_03", (w) => S.encodeSubscribeResponse(w, { drop: new S.SubscribeDrop({ start: 4, end: 6, error: 2 }) }, V3)],
  ["fetch_04", (w) => new Fetch("demo/cam1", "video", 2, 17).encode(w, V4)],
  ["probe_03", (w) => new Probe({ bitrate: 2500000 }).encode(w, V3)],
  ["probe_04", (w) => new Probe({ bitrate: 2500000, rtt: 35 }).encode(w, V4)],
  ["goaway_04", (w) => new Goaway("https://relay2.example/demo").encode(w, V4)],
  ["group", (w) => new Group(7n, 70000).encode(w)],
  ["frame", (w) => new Frame(new TextEncoder().encode("hello")).encode(w)],
  // moq-lite-05
  ["setup_05", (w) => new Setup({ probe: 1, role: 2, origin: 0x1234n }).encode(w, V5)],
  ["setup_empty_05", (w) => new Setup({}).encode(w, V5)],
  ["announce_please_05", (w) => new A.AnnounceRequest("demo", 77n).encode(w, V5)],
  ["announce_ok_05", (w) => new A.AnnounceOk(0x2a5n, 2).encode(w, V5)],
  ["announce_active_05", (w) => A.encodeAnnounceBroadcast(w, { status: "active", suffix: "cam1", hops: [9n] }, V5)],
  ["announce_ended_05", (w) => A.encodeAnnounceBroadcast(w, { status: "ended", suffix: "cam1" }, V5)],
  ["track_05", (w) => new T.Track("demo/cam1", "video").encode(w, V5)],
  ["track_info_05", (w) => new T.TrackInfo({ priority: 2, ordered: true, latencyMax: 3000, timescale: 1000000 }).encode(w, V5)],
  ["subscribe_05", (w) => sub({ id: 3n, broadcast: "demo/cam1", track: "video", priority: 1, ordered: false, maxLatency: 0, startGroup: 4, endGroup: 8 }).encode(w, V5)],
  ["subscribe_start_05", (w) => S.encodeSubscribeResponse(w, { start: new S.SubscribeStart(41) }, V5)],
  ["subscribe_end_05", (w) => S.encodeSubscribeResponse(w, { end: new S.SubscribeEnd(42) }, V5)],
  ["subscribe_drop_05", (w) => S.encodeSubscribeResponse(w, { drop: new S.SubscribeDrop({ start: 1, end: 2, error: 3 }) }, V5)],
  ["fetch_05", (w) => new Fetch("demo/cam1", "video", 2, 17).encode(w, V5)],
  ["probe_05", (w) => new Probe({ bitrate: 2500000, rtt: 35 }).encode(w, V5)],
];
for (const [name, fn] of vectors) {
  console.log(`${name} ${await hex(fn)}`);
}
