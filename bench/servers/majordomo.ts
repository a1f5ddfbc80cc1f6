/**
 * Servers for the `majordomo` benchmark.
 * - `node majordomo.js ours`: our MajordomoBroker on tcp://127.0.0.1:*.
 * - `node majordomo.js raw`: a minimal hand-written zeromq.js MDP/0.1 service router (what a
 *   user would write: READY registration, idle workers in LRU order, one FIFO per service,
 *   no heartbeats, no expiry, no validation beyond the header).
 * - `node majordomo.js workers ENDPOINT N SERVICE`: N raw zeromq.js MDP/0.1 echo workers,
 *   the same for both brokers.
 * Each prints `READY <endpoint>` when it is up, and `CPU <µs>` (its CPU time so far) on SIGUSR2.
 */
import * as zmq from "zeromq";
import { MajordomoBroker } from "../../patterns/majordomo/index.js";

const [mode, endpoint, count, service] = process.argv.slice(2);
const HWM = { sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 };
const EMPTY = Buffer.alloc(0);
process.on("SIGUSR2", () => {
  const u = process.cpuUsage();
  process.stdout.write(`CPU ${u.user + u.system}\n`);
});
const MDPC01 = Buffer.from("MDPC01");
const MDPW01 = Buffer.from("MDPW01");
const READY = Buffer.from([1]);
const REQUEST = Buffer.from([2]);
const REPLY = Buffer.from([3]);

if (mode === "ours") {
  // Long heartbeats: the raw workers do not heartbeat, and idle time between rounds must not expire them.
  const broker = new MajordomoBroker({ bind: "tcp://127.0.0.1:*", heartbeatInterval: 60_000, heartbeatLiveness: 10, pendingTimeout: 0, highWaterMark: 100_000, sendQueueLimit: 100_000 });
  await broker.start();
  process.stdout.write(`READY ${broker.endpoints[0]}\n`);
  process.on("SIGTERM", () => void broker.close());
} else if (mode === "raw") {
  const router = new zmq.Router(HWM);
  await router.bind("tcp://127.0.0.1:*");
  process.stdout.write(`READY ${router.lastEndpoint}\n`);
  process.on("SIGTERM", () => router.close());
  const idle = new Map<string, Buffer[]>();
  const queues = new Map<string, Buffer[][]>();
  const serviceOf = new Map<string, string>();
  try {
    for (;;) {
      const msg = (await router.receive()) as Buffer[];
      const [id, , header] = msg;
      if (header!.equals(MDPC01)) {
        const name = msg[3]!.toString();
        const workers = idle.get(name);
        if (workers && workers.length > 0) await router.send([workers.shift()!, EMPTY, MDPW01, REQUEST, id!, EMPTY, ...msg.slice(4)]);
        else {
          const q = queues.get(name) ?? [];
          q.push([id!, ...msg.slice(4)]);
          queues.set(name, q);
        }
      } else if (header!.equals(MDPW01)) {
        const key = id!.toString("latin1");
        let name: string;
        if (msg[3]![0] === 1) {
          name = msg[4]!.toString();
          serviceOf.set(key, name);
        } else {
          name = serviceOf.get(key)!;
          await router.send([msg[4]!, EMPTY, MDPC01, Buffer.from(name), ...msg.slice(6)]);
        }
        const next = queues.get(name)?.shift();
        if (next) await router.send([id!, EMPTY, MDPW01, REQUEST, next[0]!, EMPTY, ...next.slice(1)]);
        else {
          const list = idle.get(name) ?? [];
          list.push(id!);
          idle.set(name, list);
        }
      }
    }
  } catch {
    // closed
  }
} else if (mode === "workers") {
  const sockets: zmq.Dealer[] = [];
  for (let i = 0; i < Number(count); i++) {
    const dealer = new zmq.Dealer({ ...HWM, linger: 0 });
    dealer.connect(endpoint!);
    sockets.push(dealer);
    void (async () => {
      await dealer.send([EMPTY, MDPW01, READY, service!]);
      try {
        for (;;) {
          const msg = (await dealer.receive()) as Buffer[];
          if (msg[2]![0] !== 2) continue;
          await dealer.send([EMPTY, MDPW01, REPLY, msg[3]!, EMPTY, ...msg.slice(5)]);
        }
      } catch {
        // closed
      }
    })();
  }
  process.stdout.write(`READY ${endpoint}\n`);
  process.on("SIGTERM", () => sockets.forEach((s) => s.close()));
}
