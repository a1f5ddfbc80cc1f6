/**
 * Majordomo example: a broker, three workers and a client in one process.
 * - `echo` (MDP/0.1) and `clock` (MDP/0.2, streams PARTIAL replies) workers;
 * - an MMI lookup;
 * - a request to a service nobody offers (the broker's expiry answer);
 * - a worker that dies mid-request: the broker notices and redelivers to another worker.
 * Run: node dist/examples/majordomo.js (ends by itself).
 */
import { MajordomoBroker, MajordomoClient, MajordomoWorker, ServiceExpiredError } from "../patterns/majordomo/index.js";

const hb = { heartbeatInterval: 250 };
const broker = new MajordomoBroker({ bind: "tcp://127.0.0.1:*", ...hb, pendingTimeout: 500 });
await broker.start();
const endpoint = broker.endpoints[0]!;
broker.on("worker:ready", (e) => console.log(`broker: worker ready for "${e.service}"`));
broker.on("request:redelivered", (e) => console.log(`broker: redelivered a "${e.service}" request (attempt ${e.attempt})`));

const echo = new MajordomoWorker({ endpoint, service: "echo", handler: (frames) => frames, ...hb });
const clock = new MajordomoWorker({
  endpoint,
  service: "clock",
  version: 2,
  ...hb,
  handler: async function* (frames) {
    const n = Number(frames[0]!.toString());
    for (let i = 1; i <= n; i++) {
      await new Promise((r) => setTimeout(r, 20));
      yield [`tick ${i}/${n}`];
    }
  },
});
// A worker that takes its request and dies without answering.
let fragile: MajordomoWorker | undefined = new MajordomoWorker({
  endpoint,
  service: "work",
  ...hb,
  handler: () => {
    void fragile?.close();
    return new Promise<never>(() => undefined);
  },
});

const client = new MajordomoClient({ endpoint, requestTimeout: 3000 });
const streaming = new MajordomoClient({ endpoint, version: 2 });

const reply = await client.request("echo", ["hello", "majordomo"]);
console.log(`client: echo -> ${reply.map(String).join(" ")}`);
console.log(`client: mmi.service echo -> ${String((await client.request("mmi.service", "echo"))[0])}`);
console.log(`client: mmi.service nope -> ${String((await client.request("mmi.service", "nope"))[0])}`);

for await (const chunk of streaming.stream("clock", "3")) console.log(`client: clock -> ${String(chunk[0])}`);

try {
  await client.request("nobody", "anyone?");
} catch (error) {
  if (error instanceof ServiceExpiredError) console.log(`client: nobody -> ${error.reply.map(String).join(" ")}`);
  else throw error;
}

await new Promise((r) => setTimeout(r, 100));
const pending = client.request("work", "important job");
await new Promise((r) => setTimeout(r, 50));
const steady = new MajordomoWorker({ endpoint, service: "work", handler: (f) => ["done:", ...f], ...hb });
console.log(`client: work -> ${(await pending).map(String).join(" ")}`);
fragile = undefined;

const s = broker.stats();
console.log(`broker: ${s.requests} requests, ${s.replies} replies, ${s.partials} partials, ${s.redelivered} redelivered, ${s.requestsExpired} expired, ${s.malformed} malformed`);
await Promise.all([client.close(), streaming.close(), echo.close(), clock.close(), steady.close()]);
await broker.close();
