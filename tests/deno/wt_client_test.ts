// tests/deno/wt_client_test.ts: Deno's WebTransport client against wtcast
// (run by tests/integration/deno_client.sh). Every step has its own time
// limit and records what it saw; the results are printed as one JSON line.
//
// Deno's quirks (docs/protocol.md section 5): its send streams never FIN,
// so every reader here counts bytes instead of waiting for FIN; a datagram
// carries the full session ID, fine because each session here is stream 0
// of its own connection.
//
// Run: deno run --unstable-net --allow-net wt_client_test.ts URL SHA256HEX

const [base, hashHex] = Deno.args;
if (!base || !hashHex || hashHex.length !== 64) {
  console.error("usage: wt_client_test.ts https://127.0.0.1:PORT SHA256HEX");
  Deno.exit(2);
}
const STEP_MS = 5000;
const hash = new Uint8Array(hashHex.match(/../g)!.map((h) => parseInt(h, 16)));
const enc = new TextEncoder();
const dec = new TextDecoder();
// deno-lint-ignore no-explicit-any
const res: Record<string, any> = { errors: [] };

function open(path: string): WebTransport {
  return new WebTransport(base + path, {
    serverCertificateHashes: [{ algorithm: "sha-256", value: hash }],
  });
}

function limit<T>(p: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let t: number | undefined;
  const to = new Promise<T>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([p, to]).finally(() => clearTimeout(t));
}

// Read r until n bytes arrived (or it ended); returns what came.
async function readN(r: ReadableStream<Uint8Array>, n: number): Promise<Uint8Array> {
  const rd = r.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const { value, done } = await rd.read();
    if (done) break;
    parts.push(value);
    got += value.length;
  }
  rd.releaseLock();
  const out = new Uint8Array(got);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function step(name: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (e) {
    res.errors.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// Next server uni stream of wt (the reader stays locked across calls).
function uniSource(wt: WebTransport) {
  const rd = wt.incomingUnidirectionalStreams.getReader();
  return async (): Promise<ReadableStream<Uint8Array>> => {
    const { value, done } = await rd.read();
    if (done) throw new Error("incomingUnidirectionalStreams ended");
    return value;
  };
}

const PUSH_UNI = "server-uni-hello";
const PUSH_BIDI = "server-bidi-hello";

// ---------------------------------------------------------------- /echo?push=1
const wt = open("/echo?push=1");
await step("ready", async () => {
  await limit(wt.ready, "ready");
  res.ready = true;
});
const nextUni = uniSource(wt);

await step("push_uni", async () => {
  // The first server uni stream of the session is the ?push=1 greeting.
  const s = await limit(nextUni(), "push uni stream");
  const b = await limit(readN(s, PUSH_UNI.length), "push uni bytes");
  res.push_uni = dec.decode(b);
});

await step("push_bidi", async () => {
  const rd = wt.incomingBidirectionalStreams.getReader();
  const { value } = await limit(rd.read(), "push bidi stream");
  rd.releaseLock();
  const b = await limit(readN(value!.readable, PUSH_BIDI.length), "push bidi bytes");
  res.push_bidi = dec.decode(b);
});

await step("bidi_echo", async () => {
  const msg = enc.encode("deno-bidi-echo-" + "x".repeat(3000));
  const s = await limit(wt.createBidirectionalStream(), "open bidi");
  const w = s.writable.getWriter();
  await limit(w.write(msg), "bidi write");
  const b = await limit(readN(s.readable, msg.length), "bidi echo");
  res.bidi_echo = { sent: msg.length, received: b.length, same: dec.decode(b) === dec.decode(msg) };
});

await step("uni_echo", async () => {
  const msg = enc.encode("deno-uni-echo-" + "y".repeat(2000));
  const s = await limit(wt.createUnidirectionalStream(), "open uni");
  const w = s.getWriter();
  await limit(w.write(msg), "uni write");
  const back = await limit(nextUni(), "uni echo stream");
  const b = await limit(readN(back, msg.length), "uni echo bytes");
  res.uni_echo = { sent: msg.length, received: b.length, same: dec.decode(b) === dec.decode(msg) };
});

await step("datagrams", async () => {
  const n = 10;
  const rd = wt.datagrams.readable.getReader();
  const w = wt.datagrams.writable.getWriter();
  const seen = new Set<string>();
  const reading = (async () => {
    while (seen.size < n) {
      const { value, done } = await rd.read();
      if (done) break;
      seen.add(dec.decode(value));
    }
  })();
  // Datagrams may be lost: send each a few times until its echo is seen.
  for (let round = 0; round < 5 && seen.size < n; round++) {
    for (let i = 0; i < n; i++) {
      if (!seen.has(`dgram-${i}`)) await w.write(enc.encode(`dgram-${i}`));
    }
    await Promise.race([reading, new Promise((r) => setTimeout(r, 300))]);
  }
  res.datagrams = { sent: n, echoed: seen.size };
});

// ---------------------------------------------------------------- /sub fan-out
// A subscriber first, then a publisher (also Deno) sends one group (a uni
// stream) on /pub: the relay mirrors it as one server uni stream.
const ch = "deno" + Date.now();
const sub = open(`/sub?ch=${ch}`);
const pub = open(`/pub?ch=${ch}`);
await step("fanout", async () => {
  await limit(sub.ready, "sub ready");
  await limit(pub.ready, "pub ready");
  const nextGroup = uniSource(sub);
  const group = new Uint8Array(20000);
  for (let i = 0; i < group.length; i++) group[i] = (i * 7 + 3) & 0xff;
  const s = await limit(pub.createUnidirectionalStream(), "pub uni");
  const w = s.getWriter();
  await limit(w.write(group), "pub write");
  const g = await limit(nextGroup(), "sub group stream");
  const b = await limit(readN(g, group.length), "sub group bytes");
  let same = b.length === group.length;
  for (let i = 0; same && i < b.length; i++) same = b[i] === group[i];
  res.fanout = { sent: group.length, received: b.length, same };
});

// ---------------------------------------------------------------- server close
// The server closes the session with a code and a reason; Deno reads them
// from the CONNECTION_CLOSE that follows (docs/protocol.md section 4,
// "Session close and CONNECTION_CLOSE").
await step("server_close", async () => {
  const t = open("/echo?close=4343&reason=server-says-bye&delay=100");
  await limit(t.ready, "ready");
  const info = await limit(t.closed, "closed");
  res.server_close = { closeCode: info.closeCode, reason: info.reason };
});

// Close (Deno closes the QUIC connection) and wait for it, so that the
// server sees every connection end before the script exits.
await Promise.all([wt, sub, pub].map(async (t) => {
  try {
    t.close();
    await limit(t.closed, "closed", 2000);
  } catch {
    // already gone, or closed with an error: not what this test checks
  }
}));
console.log(JSON.stringify(res));
Deno.exit(0);
