// bench/peers/deno_wt_server.ts: Deno's WebTransport server as the reference
// peer of wtcast-bench. It serves what wtcast's built-in apps serve
// (apps/wt_apps.h), as far as Deno's API allows:
//   /echo            bidi streams echoed back; uni streams echoed on a server
//                    uni stream; datagrams echoed
//   /source?bytes=N  one server uni stream of N bytes, byte[i] = i % 251
//   /sink            every stream read and discarded, datagrams discarded
//   /pub?ch=X, /sub?ch=X  a small relay: publisher datagrams go to every
//                    subscriber; each publisher uni stream is copied to one
//                    new uni stream per subscriber
// Deno's quirks (docs/protocol.md section 5): its send streams never send FIN
// (readers must count bytes), and a session close closes the connection.
//
// Run: deno run --unstable-net --allow-net --allow-read deno_wt_server.ts PORT CERT KEY
// Prints "listening on 127.0.0.1:PORT" once it accepts connections.

const [portArg, certFile, keyFile] = Deno.args;
if (!portArg || !certFile || !keyFile) {
  console.error("usage: deno_wt_server.ts PORT CERT KEY");
  Deno.exit(2);
}
const cert = Deno.readTextFileSync(certFile);
const key = Deno.readTextFileSync(keyFile);
const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: Number(portArg) });
const listener = endpoint.listen({ cert, key, alpnProtocols: ["h3"] });
console.log(`listening on 127.0.0.1:${endpoint.addr.port}`);

const SOURCE_MAX = 1e12;
const counters = { sessions: 0, errors: 0 };

type Sub = { wt: WebTransport; dw: WritableStreamDefaultWriter<Uint8Array> };
const channels = new Map<string, Set<Sub>>();

async function pump(readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>) {
  const r = readable.getReader();
  const w = writable.getWriter();
  try {
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      await w.write(value);
    }
    await w.close();
  } catch {
    // peer gone: nothing to do
  }
}

async function drain(readable: ReadableStream<Uint8Array>) {
  const r = readable.getReader();
  try {
    for (;;) {
      const { done } = await r.read();
      if (done) break;
    }
  } catch {
    // ignore
  }
}

async function serveEcho(wt: WebTransport) {
  (async () => {
    const r = wt.incomingBidirectionalStreams.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      pump(value.readable, value.writable);
    }
  })().catch(() => {});
  (async () => {
    const r = wt.incomingUnidirectionalStreams.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      wt.createUnidirectionalStream().then((out) => pump(value, out)).catch(() => {});
    }
  })().catch(() => {});
  const dr = wt.datagrams.readable.getReader();
  const dw = wt.datagrams.writable.getWriter();
  try {
    for (;;) {
      const { value, done } = await dr.read();
      if (done) break;
      dw.write(value).catch(() => {});
    }
  } catch {
    // closed
  }
}

async function serveSource(wt: WebTransport, n: number) {
  const chunk = new Uint8Array(251 * 256); // a multiple of 251: every chunk starts at i % 251 == 0
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  const s = await wt.createUnidirectionalStream();
  const w = s.getWriter();
  let left = n;
  while (left > 0) {
    const k = Math.min(left, chunk.length);
    await w.write(k === chunk.length ? chunk : chunk.subarray(0, k));
    left -= k;
  }
  await w.close();
}

async function serveSink(wt: WebTransport) {
  (async () => {
    const r = wt.incomingBidirectionalStreams.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      drain(value.readable);
    }
  })().catch(() => {});
  (async () => {
    const r = wt.incomingUnidirectionalStreams.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      drain(value);
    }
  })().catch(() => {});
  await drain(wt.datagrams.readable);
}

async function servePub(wt: WebTransport, ch: string) {
  const subs = () => channels.get(ch) ?? new Set<Sub>();
  (async () => {
    const r = wt.incomingUnidirectionalStreams.getReader();
    for (;;) {
      const { value, done } = await r.read();
      if (done) break;
      // one publisher stream -> one stream per subscriber, same bytes
      (async () => {
        const outs: WritableStreamDefaultWriter<Uint8Array>[] = [];
        for (const s of subs()) {
          try {
            outs.push((await s.wt.createUnidirectionalStream()).getWriter());
          } catch {
            // that subscriber is gone
          }
        }
        const rr = value.getReader();
        for (;;) {
          const { value: b, done: d } = await rr.read();
          if (d) break;
          for (const o of outs) o.write(b).catch(() => {});
        }
        for (const o of outs) o.close().catch(() => {});
      })().catch(() => {});
    }
  })().catch(() => {});
  const dr = wt.datagrams.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await dr.read();
      if (done) break;
      for (const s of subs()) s.dw.write(value).catch(() => {});
    }
  } catch {
    // closed
  }
}

async function serveSub(wt: WebTransport, ch: string) {
  let set = channels.get(ch);
  if (!set) {
    set = new Set();
    channels.set(ch, set);
  }
  const sub = { wt, dw: wt.datagrams.writable.getWriter() };
  set.add(sub);
  try {
    await wt.closed;
  } catch {
    // closed
  }
  set.delete(sub);
}

async function handle(incoming: Deno.QuicIncoming) {
  const conn = await incoming.accept();
  const wt = await Deno.upgradeWebTransport(conn);
  await wt.ready;
  counters.sessions++;
  const u = new URL(wt.url);
  const ch = u.searchParams.get("ch") ?? "";
  wt.closed.catch(() => {});
  switch (u.pathname) {
    case "/echo":
      await serveEcho(wt);
      break;
    case "/source": {
      const n = Number(u.searchParams.get("bytes") ?? "0");
      if (Number.isFinite(n) && n >= 0 && n <= SOURCE_MAX) await serveSource(wt, n);
      break;
    }
    case "/sink":
      await serveSink(wt);
      break;
    case "/pub":
      await servePub(wt, ch);
      break;
    case "/sub":
      await serveSub(wt, ch);
      break;
    default:
      wt.close({ closeCode: 404, reason: "no such path" });
  }
}

for await (const incoming of listener) {
  handle(incoming).catch(() => {
    counters.errors++;
  });
}
