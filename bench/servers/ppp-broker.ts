/**
 * Server for the `paranoid-pirate` benchmark: an LRU broker with two echo workers in one
 * process, in two builds:
 * - `raw`: a minimal hand-written zeromq.js LRU broker (ROUTER/ROUTER, READY 0x01, one
 *   request per worker at a time) with raw DEALER echo workers: what a user would write;
 * - `ours`: ParanoidPirateQueue with two ParanoidPirateWorkers (echo);
 * - `ours-xo`: the same with `exactlyOnce` workers (every stamped request's reply cached).
 * Usage: node ppp-broker.js raw|ours|ours-xo  (prints READY <frontend endpoint>; on SIGUSR2 prints
 * `CPU <µs>`, the process's user + system CPU time so far)
 */
import * as zmq from "zeromq";
import { echoHandler } from "../../src/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "../../patterns/paranoid-pirate/index.js";

const mode = process.argv[2];
const WORKERS = 2;
const opts = { sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, linger: 0 };

async function raw(): Promise<{ frontend: string; stop: () => void }> {
  const frontend = new zmq.Router(opts);
  const backend = new zmq.Router(opts);
  await frontend.bind("tcp://127.0.0.1:*");
  await backend.bind("tcp://127.0.0.1:*");
  const idle: Buffer[] = [];
  let wake: (() => void) | undefined;
  // Backend loop: READY or reply; the worker is idle again; replies go to the frontend.
  void (async () => {
    try {
      for (;;) {
        const [worker, ...rest] = await backend.receive();
        idle.push(worker!);
        wake?.();
        if (rest.length > 1) await frontend.send(rest);
      }
    } catch {
      // closed
    }
  })();
  // Frontend loop: takes a request only when a worker is idle, sends it to the oldest one.
  void (async () => {
    try {
      for (;;) {
        if (idle.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const request = await frontend.receive();
        await backend.send([idle.shift()!, ...request]);
      }
    } catch {
      // closed
    }
  })();
  const workers: zmq.Dealer[] = [];
  for (let i = 0; i < WORKERS; i++) {
    const w = new zmq.Dealer(opts);
    w.connect(backend.lastEndpoint!);
    workers.push(w);
    void (async () => {
      try {
        await w.send(Buffer.from([1]));
        for (;;) await w.send(await w.receive());
      } catch {
        // closed
      }
    })();
  }
  return {
    frontend: frontend.lastEndpoint!,
    stop: () => {
      for (const s of [frontend, backend, ...workers]) s.close();
    },
  };
}

async function ours(exactlyOnce: boolean): Promise<{ frontend: string; stop: () => void }> {
  const queue = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
  await queue.start();
  const workers = Array.from({ length: WORKERS }, () => new ParanoidPirateWorker({ endpoint: queue.endpoints.backend[0]!, handler: echoHandler, exactlyOnce }));
  await new Promise<void>((resolve) => {
    const check = () => (queue.stats().idle === WORKERS ? resolve() : setTimeout(check, 5));
    check();
  });
  return {
    frontend: queue.endpoints.frontend[0]!,
    stop: () => void Promise.all(workers.map((w) => w.close())).then(() => queue.close()),
  };
}

const server = mode === "raw" ? await raw() : await ours(mode === "ours-xo");
process.stdout.write(`READY ${server.frontend}\n`);
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on("SIGUSR2", () => {
  const c = process.cpuUsage();
  process.stdout.write(`CPU ${c.user + c.system}\n`);
});
process.on("SIGTERM", () => {
  clearInterval(keepAlive);
  server.stop();
});
