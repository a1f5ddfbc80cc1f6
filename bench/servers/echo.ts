/**
 * ROUTER echo server for the `reactor` benchmark, in two builds:
 * - `raw`: the hand-written zeromq.js loop a user would write (receive, then send back);
 * - `reactor`: the same echo through a Reactor read pump and send queue.
 * Usage: node echo.js raw|reactor  (prints READY <endpoint>)
 */
import * as zmq from "zeromq";
import { Reactor } from "../../src/index.js";

const mode = process.argv[2];
const router = new zmq.Router({ sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 });
await router.bind("tcp://127.0.0.1:*");

if (mode === "raw") {
  process.stdout.write(`READY ${router.lastEndpoint}\n`);
  process.on("SIGTERM", () => router.close());
  try {
    for (;;) {
      const msg = await router.receive();
      await router.send(msg);
    }
  } catch {
    // closed
  }
} else {
  const reactor = new Reactor({ sendQueueLimit: 100_000 });
  const handle = reactor.add(router, { onMessage: (msg) => void handle.send(msg) });
  process.stdout.write(`READY ${router.lastEndpoint}\n`);
  process.on("SIGTERM", () => void reactor.close());
}
