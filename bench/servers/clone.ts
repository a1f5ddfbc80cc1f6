/**
 * Servers for the `clone` benchmark, in two builds each:
 * - `ours`: a CloneServer; `raw`: a hand-written zeromq.js SUB (bound on P+2) to PUB (bound on
 *   P+1) forwarding loop, what a user would write without the pattern;
 * - `ours-snap N` / `raw-snap N`: a CloneServer holding N keys / a zeromq.js ROUTER that answers
 *   any request with the same N KVSYNC-shaped messages and a KTHXBAI, built in advance;
 * - `rss N` / `raw-rss N`: prints the process RSS before and after loading N keys into a
 *   CloneServer's store / into a plain `Map<string, Buffer>`, then exits.
 * Usage: node clone.js MODE [N]  (prints READY tcp://127.0.0.1:P; stops on SIGTERM)
 */
import * as zmq from "zeromq";
import { EMPTY, freeTcpPortRange } from "../../src/index.js";
import { CloneServer, CloneStore, encodeSequence, kthxbaiMessage } from "../../patterns/clone/index.js";

const mode = process.argv[2];
const n = Number(process.argv[3] ?? 0);
const value = (i: number) => Buffer.from(`value-${i}`.padEnd(32, "."));
const key = (i: number) => `/bench/key/${i}`;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

if (mode === "rss" || mode === "raw-rss") {
  gc();
  const before = process.memoryUsage().rss;
  const keep: unknown[] = [];
  if (mode === "rss") {
    // A CloneServer's memory per key is its store's.
    const store = new CloneStore({ maxKeys: n });
    for (let i = 0; i < n; i++) store.set({ key: key(i), uuid: EMPTY, props: {}, value: value(i) });
    keep.push(store);
  } else {
    const map = new Map<string, Buffer>();
    for (let i = 0; i < n; i++) map.set(key(i), value(i));
    keep.push(map);
  }
  gc();
  const after = process.memoryUsage().rss;
  process.stdout.write(`READY ${before} ${after} ${keep.length}\n`);
  process.exit(0);
}

const port = await freeTcpPortRange(3);
const base = `tcp://127.0.0.1:${port}`;
const stops: (() => unknown)[] = [];

if (mode === "ours" || mode === "ours-snap") {
  const server = new CloneServer({ bind: base, maxKeys: Math.max(n, 1_000_000), sendQueueLimit: 100_000 });
  for (let i = 0; i < n; i++) server.store.set({ key: key(i), uuid: EMPTY, props: {}, value: value(i) });
  await server.start();
  stops.push(() => server.close());
} else if (mode === "raw") {
  const sub = new zmq.Subscriber({ receiveHighWaterMark: 100_000, linger: 0 });
  const pub = new zmq.Publisher({ sendHighWaterMark: 100_000, linger: 0 });
  sub.subscribe();
  await sub.bind(`tcp://127.0.0.1:${port + 2}`);
  await pub.bind(`tcp://127.0.0.1:${port + 1}`);
  let seq = 0;
  void (async () => {
    try {
      for await (const [k, , uuid, props, v] of sub) await pub.send([k!, encodeSequence(++seq), uuid!, props!, v!]);
    } catch {
      // closed
    }
  })();
  stops.push(() => sub.close(), () => pub.close());
} else if (mode === "raw-snap") {
  const router = new zmq.Router({ mandatory: true, sendHighWaterMark: 10_000, linger: 0 });
  await router.bind(base);
  const messages = Array.from({ length: n }, (_, i) => [Buffer.from(key(i)), encodeSequence(i + 1), EMPTY, EMPTY, value(i)]);
  void (async () => {
    try {
      for await (const [client] of router) {
        for (const m of messages) await router.send([client!, ...m]);
        await router.send(kthxbaiMessage(client!, n, ""));
      }
    } catch {
      // closed
    }
  })();
  stops.push(() => router.close());
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}

process.stdout.write(`READY ${base}\n`);
process.on("SIGTERM", async () => {
  for (const stop of stops) await stop();
  process.exit(0);
});
