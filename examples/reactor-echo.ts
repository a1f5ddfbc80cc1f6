/**
 * Reactor example: one ROUTER echo server and several DEALER clients on one Reactor,
 * a progress timer, and a clean close. Run: node dist/examples/reactor-echo.js
 */
import * as zmq from "zeromq";
import { Reactor } from "../src/index.js";

export interface EchoSummary {
  clients: number;
  requests: number;
  replies: number;
  stats: ReturnType<Reactor["stats"]>;
}

/** Run the echo scene for `durationMs`, printing progress with `log`. */
export async function reactorEcho(durationMs: number, log: (line: string) => void = console.log, signal?: AbortSignal): Promise<EchoSummary> {
  const reactor = new Reactor({ signal, sendQueueLimit: 10_000, overflow: "drop-newest" });
  reactor.on("handler:error", (e) => log(`handler error: ${String(e.error)}`));

  const router = new zmq.Router({ mandatory: true, sendTimeout: 0 });
  await router.bind("tcp://127.0.0.1:*");
  reactor.add(router, { name: "echo-server", onMessage: (msg, self) => void self.send(msg) });

  const clients = 4;
  let requests = 0;
  let replies = 0;
  for (let i = 0; i < clients; i++) {
    const dealer = new zmq.Dealer({ routingId: `client-${i}` });
    dealer.connect(router.lastEndpoint!);
    const handle = reactor.add(dealer, {
      name: `client-${i}`,
      onMessage: () => {
        replies++;
        if (!reactor.closed && handle.send(`ping ${requests}`)) requests++;
      },
    });
    // Keep 10 requests in flight per client.
    for (let k = 0; k < 10; k++) if (handle.send(`ping ${requests}`)) requests++;
  }

  let last = 0;
  const progress = reactor.every(1000, () => {
    log(`  ${replies - last} replies/s (${replies} in all)`);
    last = replies;
  });
  await new Promise<void>((resolve) => {
    reactor.after(durationMs, resolve);
    signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  progress.cancel();
  const stats = reactor.stats();
  await reactor.close();
  return { clients, requests, replies, stats };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const summary = await reactorEcho(Number(process.argv[2] ?? 3000));
  console.log(`${summary.replies} replies to ${summary.requests} requests from ${summary.clients} clients; dropped ${summary.stats.dropped}`);
}
