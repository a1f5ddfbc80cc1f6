/**
 * Paranoid Pirate (6/PPP) example: a queue, three workers and a pipelined client. Half-way
 * through, one worker dies without a word (its socket closes); the queue purges it and
 * redelivers the request it held, so every request is answered.
 * Run: node dist/examples/paranoid-pirate.js [REQUESTS]
 */
import { PipelinedClient } from "../patterns/lazy-pirate/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "../patterns/paranoid-pirate/index.js";
import type { RequestHandler } from "../src/index.js";

/** 6/PPP example: run `requests` requests while one of three workers dies; resolves with what happened. */
export async function paranoidPirateExample(requests = 300, log: (line: string) => void = console.log): Promise<{ answered: number; redelivered: number; purged: number }> {
  const queue = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: 200 });
  await queue.start();
  queue.on("worker:ready", (e) => log(`worker ${e.id.toString("hex")} ready (${e.workers} in all)`));
  queue.on("worker:expired", (e) => log(`worker ${e.id.toString("hex")} expired after ${e.silentMs.toFixed(0)} ms`));
  queue.on("worker:disconnected", (e) => log(`worker ${e.id.toString("hex")} ${e.reason}${e.busy ? ", its request goes to another worker" : ""}`));

  // A worker that takes a few ms per request, so requests are in the workers' hands when one dies.
  const handler: RequestHandler = async (frames) => {
    await new Promise((r) => setTimeout(r, 2));
    return frames.map((f) => f.toString().toUpperCase());
  };
  const workers = [1, 2, 3].map(() => new ParanoidPirateWorker({ endpoint: queue.endpoints.backend[0]!, handler, heartbeatInterval: 200 }));
  const client = new PipelinedClient({ endpoint: queue.endpoints.frontend[0]!, requestTimeout: 2000, retries: 3, maxInFlight: 20, maxPending: requests });

  let answered = 0;
  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const reply = await client.request(`request ${i}`);
      if (String(reply[0]) !== `REQUEST ${i}`) throw new Error(`wrong reply to request ${i}: ${String(reply[0])}`);
      if (++answered === Math.floor(requests / 2)) {
        log(`${answered} answered: worker 1 dies now`);
        void workers[0]!.close();
      }
    }),
  );
  const s = queue.stats();
  log(`${answered}/${requests} answered; queue: ${s.replies} replies, ${s.redelivered} redelivered, ${s.workersExpired + s.workersDisconnected} workers purged; client: ${client.stats().retries} retries`);
  await client.close();
  await Promise.all(workers.map((w) => w.close()));
  await queue.close();
  return { answered, redelivered: s.redelivered, purged: s.workersExpired + s.workersDisconnected };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 300);
  const result = await paranoidPirateExample(n);
  process.exitCode = result.answered === n ? 0 : 1;
}
