/**
 * Lazy Pirate example: a REP echo server that loses every third request (it closes its
 * socket and binds a new one, like a crashed and restarted server), and a LazyPirateClient
 * that times out, reopens its socket and resends until every request is answered.
 * Run: node dist/examples/lazy-pirate.js   (ends by itself)
 */
import * as zmq from "zeromq";
import { pathToFileURL } from "node:url";
import { LazyPirateClient } from "../patterns/lazy-pirate/index.js";

/** A raw zeromq.js REP echo server that drops every `dropEvery`-th request. */
async function flakyServer(dropEvery: number): Promise<{ endpoint: string; stop(): void }> {
  let socket = new zmq.Reply({ linger: 0 });
  await socket.bind("tcp://127.0.0.1:*");
  const endpoint = socket.lastEndpoint!;
  let stopped = false;
  void (async () => {
    for (let n = 1; !stopped; n++) {
      try {
        const request = await socket.receive();
        if (n % dropEvery !== 0) {
          await socket.send(request);
          continue;
        }
        socket.close();
        socket = new zmq.Reply({ linger: 0 });
        for (;;) {
          try {
            await socket.bind(endpoint);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 10));
          }
        }
      } catch {
        if (stopped) return;
      }
    }
  })();
  return { endpoint, stop: () => ((stopped = true), socket.close()) };
}

/** Run the example; resolves with the client's counters. */
export async function main(log: (line: string) => void = console.log): Promise<ReturnType<LazyPirateClient["stats"]>> {
  const server = await flakyServer(3);
  const client = new LazyPirateClient({ endpoint: server.endpoint, requestTimeout: 250, retries: 3 });
  client.on("request:retry", (e) => log(`  no reply within ${e.timeout} ms: resending (attempt ${e.attempt})`));
  client.on("socket:reopened", (e) => log(`  socket reopened (${e.reason}, #${e.count})`));
  try {
    for (let i = 1; i <= 6; i++) {
      const reply = await client.request(`hello ${i}`);
      log(`reply: ${reply.map(String).join(" ")}`);
    }
    const stats = client.stats();
    log(`done: ${stats.replies} replies, ${stats.retries} retries, ${stats.reopened} reopened, ${stats.abandoned} abandoned`);
    return stats;
  } finally {
    await client.close();
    server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
