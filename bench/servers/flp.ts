/**
 * Servers for the `freelance` benchmark: N 10/FLP echo servers in one process, in two builds:
 * - `raw`: hand-written zeromq.js ROUTERs (identity = endpoint) echoing `[client, ccf, body]`
 *   and answering PING with PONG: what a user would write;
 * - `ours`: FreelanceServer (echo handler); `slow`: the same, each reply 50 ms late (for failover).
 * Usage: node flp.js raw|ours|slow N  (prints READY <ep1,ep2,...>; stops on SIGTERM)
 */
import * as zmq from "zeromq";
import { echoHandler, freeTcpPort } from "../../src/index.js";
import { FreelanceServer } from "../../patterns/freelance/index.js";

const mode = process.argv[2];
const count = Number(process.argv[3] ?? 1);
const PING = Buffer.from("PING");
const PONG = Buffer.from("PONG");
const stops: (() => unknown)[] = [];
const endpoints: string[] = [];

for (let i = 0; i < count; i++) {
  const endpoint = `tcp://127.0.0.1:${await freeTcpPort()}`;
  endpoints.push(endpoint);
  if (mode === "raw") {
    const router = new zmq.Router({ routingId: endpoint, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, linger: 0 });
    await router.bind(endpoint);
    stops.push(() => router.close());
    void (async () => {
      try {
        for (;;) {
          const [client, first, ...rest] = await router.receive();
          await router.send(rest.length === 0 && first!.equals(PING) ? [client!, PONG] : [client!, first!, ...rest]);
        }
      } catch {
        // closed
      }
    })();
  } else {
    const handler = mode === "slow" ? (frames: Buffer[]) => new Promise<Buffer[]>((resolve) => setTimeout(() => resolve(frames), 50)) : echoHandler;
    const server = new FreelanceServer({ bind: endpoint, handler, socketOptions: { sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 } });
    await server.start();
    stops.push(() => server.close());
  }
}
process.stdout.write(`READY ${endpoints.join(",")}\n`);
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on("SIGTERM", () => {
  clearInterval(keepAlive);
  for (const stop of stops) void stop();
});
