/**
 * Entry script of a `zpatterns serve` worker child (started with `child_process.fork`): a
 * {@link ParanoidPirateWorker} running the handler module, configured by the parent through
 * the `ZPATTERNS_SERVE_WORKER` environment variable (JSON {@link ServeWorkerConfig}).
 *
 * It stops gracefully (finishes the request it is running, then closes) on the parent's
 * `{ cmd: "stop" }` message, on SIGTERM, and when the parent goes away (IPC disconnect).
 * @module
 */
import { ParanoidPirateWorker } from "../paranoid-pirate/index.js";
import { Reactor, loadHandler } from "../../src/index.js";

/** What the parent passes to each worker child. */
export interface ServeWorkerConfig {
  /** Routing id of the worker's DEALER (the parent maps the queue's events to children by it). */
  id: string;
  /** The queue's backend endpoint. */
  endpoint: string;
  /** `echo`, `upper` or a module path. */
  handler: string;
  /** 6/PPP heartbeat interval, ms (the queue's). */
  heartbeatInterval: number;
  /** 6/PPP liveness (the queue's). */
  heartbeatLiveness: number;
}

/** Environment variable holding the JSON {@link ServeWorkerConfig}. */
export const WORKER_CONFIG_ENV = "ZPATTERNS_SERVE_WORKER";

/** Run one worker until told to stop; resolves with the exit code. */
export async function runServeWorker(config: ServeWorkerConfig): Promise<number> {
  const handler = await loadHandler(config.handler);
  const reactor = new Reactor();
  reactor.on("handler:error", (e) => process.stderr.write(`worker ${config.id}: ${String(e.error)}\n`));
  const worker = new ParanoidPirateWorker({
    endpoint: config.endpoint,
    handler,
    heartbeatInterval: config.heartbeatInterval,
    heartbeatLiveness: config.heartbeatLiveness,
    reconnectInterval: Math.min(1000, config.heartbeatInterval),
    socketOptions: { routingId: config.id },
    reactor,
  });
  worker.on("request:failed", ({ error }) => void process.stderr.write(`worker ${config.id}: handler failed: ${error instanceof Error ? error.message : String(error)}\n`));
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("disconnect", stop);
    process.on("message", (m: unknown) => {
      if (typeof m === "object" && m !== null && (m as { cmd?: unknown }).cmd === "stop") stop();
    });
  });
  // Finish the request in hand (and any already queued here), then leave.
  await new Promise<void>((resolve) => {
    const check = () => {
      const s = worker.stats();
      if (s.running === 0 && s.pending === 0) {
        timer.cancel();
        resolve();
      }
    };
    const timer = reactor.every(5, check);
    check();
  });
  await worker.close();
  await reactor.close();
  return 0;
}

const raw = process.env[WORKER_CONFIG_ENV];
if (raw !== undefined && process.send !== undefined) {
  process.exitCode = await runServeWorker(JSON.parse(raw) as ServeWorkerConfig);
  process.disconnect?.();
}
