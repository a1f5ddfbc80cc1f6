/**
 * Simple Pirate example: an LRU queue, two workers (one of them dies after its second
 * request), a Lazy Pirate client that rides over the dead worker, and a pipelined client
 * with many requests in flight through the same queue.
 * Run: node dist/examples/simple-pirate.js   (ends by itself)
 */
import { pathToFileURL } from "node:url";
import { LazyPirateClient, PipelinedClient } from "../patterns/lazy-pirate/index.js";
import { SimplePirateQueue, SimplePirateWorker } from "../patterns/simple-pirate/index.js";

/** Run the example; resolves with the queue's counters. */
export async function main(log: (line: string) => void = console.log): Promise<ReturnType<SimplePirateQueue["stats"]>> {
  const queue = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
  await queue.start();
  log(`queue: clients -> ${queue.endpoints.frontend[0]}, workers -> ${queue.endpoints.backend[0]}`);
  const backend = queue.endpoints.backend[0]!;
  let idle = 0;
  const bothReady = new Promise<void>((resolve) => queue.on("worker:ready", () => ++idle === 2 && resolve()));
  const steady = new SimplePirateWorker({ endpoint: backend, identity: "steady", handler: (frames) => ["steady", ...frames] });
  let handled = 0;
  const fragile: SimplePirateWorker = new SimplePirateWorker({
    endpoint: backend,
    identity: "fragile",
    handler: async (frames) => {
      if (++handled === 2) {
        log("  worker fragile dies while handling a request");
        await fragile.close();
        return new Promise<never>(() => {}); // never answers
      }
      return ["fragile", ...frames];
    },
  });
  await bothReady;

  const client = new LazyPirateClient({ endpoint: queue.endpoints.frontend[0]!, requestTimeout: 300, retries: 3 });
  client.on("request:retry", (e) => log(`  no reply within ${e.timeout} ms: resending (attempt ${e.attempt})`));
  const pipelined = new PipelinedClient({ endpoint: queue.endpoints.frontend[0]!, maxInFlight: 10 });
  try {
    for (let i = 1; i <= 5; i++) log(`reply: ${(await client.request(`job ${i}`)).map(String).join(" ")}`);
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => pipelined.request(`burst ${i}`)));
    log(`pipelined: ${replies.length} replies with 10 in flight`);
    const stats = queue.stats();
    log(`queue: ${stats.requests} requests, ${stats.replies} replies, ${stats.dropped} dropped, ${stats.malformed} malformed; client retries: ${client.stats().retries}`);
    return stats;
  } finally {
    await Promise.all([client.close(), pipelined.close(), steady.close(), fragile.close()]);
    await queue.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
