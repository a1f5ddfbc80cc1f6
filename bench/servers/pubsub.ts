/**
 * Publisher for the `pubsub` and `hwm` benchmarks, in two builds:
 * - `ours`: a PubSubServer (allow-any), publishing with `server.publish`;
 * - `raw`: the hand-written zeromq.js equivalent a user would write: a ROUTER that keeps a
 *   list of subscriber identities and sends each one a copy (`fanout`), or a plain PUB
 *   socket (`hwm`, where the baseline is ZeroMQ's own PUB/SUB).
 * Usage: node pubsub.js ours|raw fanout|hwm HWM
 * Prints "CONTROL <ep>" then "READY <ep>". Commands arrive on the control PULL socket:
 * ["go", COUNT, SIZE] publishes COUNT messages of SIZE bytes and prints "RESULT <json>".
 */
import * as zmq from "zeromq";
import { PubSubServer } from "../../patterns/pubsub/index.js";

const [mode, kind, hwmArg] = process.argv.slice(2) as ["ours" | "raw", "fanout" | "hwm", string];
const hwm = Number(hwmArg ?? 100_000);
const control = new zmq.Pull({ linger: 0 });
await control.bind("tcp://127.0.0.1:*");
process.stdout.write(`CONTROL ${control.lastEndpoint}\n`);
const TOPIC = Buffer.from("t.bench");
const HEADER = [Buffer.from("ZPS/1"), Buffer.from("MESSAGE")];
const tick = () => new Promise((r) => setImmediate(r));

let publishOne: (body: Buffer) => number;
let dropped: () => number = () => 0;
let closeAll: () => Promise<void>;
let batchEnd: () => Promise<void> = tick as () => Promise<void>;

if (mode === "ours") {
  const server = await PubSubServer.start({ bind: "tcp://127.0.0.1:*", allowAny: true, expiry: 600_000, subscriberHwm: hwm, sendQueueLimit: 1_000_000 });
  publishOne = (body) => server.publish(TOPIC, body);
  dropped = () => server.stats().dropped;
  closeAll = () => server.close();
  process.stdout.write(`READY ${server.endpoint}\n`);
} else if (kind === "fanout") {
  // The raw loop: register identities, then send one copy per identity.
  const router = new zmq.Router({ mandatory: true, sendTimeout: 0, sendHighWaterMark: hwm, linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  // ZPS/1.1 subscribers get stamped copies: a sequence number per identity and the send time.
  const subs: { id: Buffer; stamped: boolean; seq: number }[] = [];
  let drops = 0;
  let pending: Buffer[] = [];
  const V11 = Buffer.from("ZPS/1.1");
  const u64 = (n: number) => {
    const f = Buffer.allocUnsafe(8);
    f.writeBigUInt64BE(BigInt(n));
    return f;
  };
  void (async () => {
    for await (const [id, version] of router) {
      subs.push({ id: id!, stamped: V11.equals(version!), seq: 0 });
      await router.send([id!, "ZPS/1", "STATUS", "201", "HELLO", "ok"]);
    }
  })().catch(() => undefined);
  publishOne = (body) => {
    pending.push(body);
    return subs.length;
  };
  batchEnd = async () => {
    const bodies = pending;
    pending = [];
    for (const body of bodies) {
      let sent: Buffer | undefined;
      for (const sub of subs) {
        try {
          if (sub.stamped) {
            sent ??= u64(Date.now());
            await router.send([sub.id, V11, HEADER[1]!, u64(++sub.seq), sent, TOPIC, body]);
          } else await router.send([sub.id, HEADER[0]!, HEADER[1]!, TOPIC, body]);
        } catch {
          drops++;
        }
      }
    }
  };
  dropped = () => drops;
  closeAll = async () => router.close();
  process.stdout.write(`READY ${router.lastEndpoint}\n`);
} else {
  const pub = new zmq.Publisher({ sendHighWaterMark: hwm, linger: 0 });
  await pub.bind("tcp://127.0.0.1:*");
  let pending: Buffer[] = [];
  publishOne = (body) => {
    pending.push(body);
    return 1;
  };
  batchEnd = async () => {
    const bodies = pending;
    pending = [];
    for (const body of bodies) await pub.send([TOPIC, body]);
  };
  closeAll = async () => pub.close();
  process.stdout.write(`READY ${pub.lastEndpoint}\n`);
}

process.on("SIGTERM", () => {
  control.close();
  void closeAll().then(() => process.exit(0));
});

for await (const [cmd, countF, sizeF] of control) {
  if (cmd?.toString() !== "go") continue;
  const count = Number(countF);
  const body = Buffer.alloc(Number(sizeF), 0x61);
  const rss0 = process.memoryUsage().rss;
  const drops0 = dropped();
  const t0 = performance.now();
  let copies = 0;
  for (let i = 0; i < count; i++) {
    copies += publishOne(body);
    if (i % 100 === 99) await batchEnd();
  }
  await batchEnd();
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 200));
  const rss1 = process.memoryUsage().rss;
  process.stdout.write(`RESULT ${JSON.stringify({ count, copies, ms, rate: count / (ms / 1000), rssGrowth: rss1 - rss0, dropsReported: dropped() - drops0 })}\n`);
}
