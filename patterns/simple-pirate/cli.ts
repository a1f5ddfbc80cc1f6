/**
 * `zpatterns simple-pirate queue` and `zpatterns simple-pirate worker`: the Simple Pirate
 * roles as processes. Each prints one status line when it is ready (tests wait for it) and
 * stops cleanly on SIGINT/SIGTERM (exit 0) with a stats line.
 * @module
 */
import { EXIT, aborted, kv, logEvents, choiceArg, intArg, listArg, strArg, usage, UsageError, type CliCommand } from "../../src/cli/cli.js";
import { DISPATCH_DEFAULTS, InvalidOptionError, OVERFLOW_POLICIES, loadHandler, type RequestHandler } from "../../src/index.js";
import { SimplePirateQueue } from "./queue.js";
import { SimplePirateWorker } from "./worker.js";

const D = DISPATCH_DEFAULTS;


const queueCommand: CliCommand = {
  name: "simple-pirate queue",
  summary: "Run a Simple Pirate queue (LRU, REQ workers, no heartbeats)",
  usage: "--frontend EP --backend EP [options]",
  help: `Options:
  --frontend EP             endpoint for clients to connect to (repeatable), e.g. tcp://*:5555
  --backend EP              endpoint for workers to connect to (repeatable), e.g. tcp://*:5556
  --max-pending N           requests held while no worker is ready (default ${D.maxPending})
  --pending-overflow P      what a full backlog drops: drop-oldest (default), drop-newest, reject
  --pending-timeout MS      take out held requests older than this, 0 = never (default ${D.pendingTimeout})
  --max-redeliveries N      redeliveries of an unreachable worker's request (default ${D.maxRedeliveries})
  --max-workers N           most workers known at once (default ${D.maxWorkers})
  --send-queue-limit N      send queue limit of each socket (default 10000)

Prints "queue ready protocol=simple frontend=EP backend=EP" once bound.`,
  options: {
    frontend: { type: "string", multiple: true },
    backend: { type: "string", multiple: true },
    "max-pending": { type: "string" },
    "pending-overflow": { type: "string" },
    "pending-timeout": { type: "string" },
    "max-redeliveries": { type: "string" },
    "max-workers": { type: "string" },
    "send-queue-limit": { type: "string" },
  },
  async run(ctx) {
    const frontend = listArg(ctx.values, "frontend");
    const backend = listArg(ctx.values, "backend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    if (backend.length === 0) throw new UsageError("--backend is required");
    // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
    const queue = usage(() => new SimplePirateQueue({
      frontend,
      backend,
      maxPending: intArg(ctx.values, "max-pending", D.maxPending, 1),
      pendingOverflow: choiceArg(ctx.values, "pending-overflow", OVERFLOW_POLICIES, D.pendingOverflow),
      pendingTimeout: intArg(ctx.values, "pending-timeout", D.pendingTimeout),
      maxRedeliveries: intArg(ctx.values, "max-redeliveries", D.maxRedeliveries),
      maxWorkers: intArg(ctx.values, "max-workers", D.maxWorkers, 1),
      sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1),
    }));
    try {
      await queue.start();
    } catch (error) {
      await queue.close();
      ctx.out.error(`cannot bind: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.FAILURE;
    }
    const { endpoints } = queue;
    ctx.out.result(`queue ready protocol=simple frontend=${endpoints.frontend.join(",")} backend=${endpoints.backend.join(",")}`, { event: "ready", role: "queue", protocol: "simple", ...endpoints });
    await aborted(ctx.signal);
    await queue.close();
    ctx.out.result(`queue stopped ${kv(queue.stats())}`, { event: "stopped", role: "queue", ...queue.stats() });
    return EXIT.OK;
  },
};

const workerCommand: CliCommand = {
  name: "simple-pirate worker",
  summary: "Run a Simple Pirate worker (REQ, READY 0x01)",
  usage: "--connect EP [--handler echo|upper|PATH] [options]",
  help: `Options:
  --connect EP              the queue's backend endpoint
  --handler H               echo, upper, or the path of a JS module whose default export is
                            the handler (frames) => reply (default echo)
  --handler-timeout MS      give up a handler running longer, 0 = never (default 0)
  --send-queue-limit N      the socket's send queue limit (default 10000)

Prints "worker started protocol=simple endpoint=EP" once connecting.`,
  options: {
    connect: { type: "string" },
    handler: { type: "string" },
    "handler-timeout": { type: "string" },
    "send-queue-limit": { type: "string" },
  },
  async run(ctx) {
    const endpoint = strArg(ctx.values, "connect", true);
    const spec = strArg(ctx.values, "handler") ?? "echo";
    let handler: RequestHandler;
    try {
      handler = await loadHandler(spec);
    } catch (error) {
      throw new UsageError(`--handler ${spec}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const worker = usage(() => new SimplePirateWorker({ endpoint, handler, handlerTimeout: intArg(ctx.values, "handler-timeout", 0), sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1) }));
    logEvents(ctx, worker, ["link:connected", "link:lost", "link:reconnecting", "request:failed", "request:dropped", "reply:dropped", "message:malformed"]);
    await worker.start().catch((error: unknown) => {
      void worker.close();
      throw error instanceof InvalidOptionError ? new UsageError(error.message) : error;
    });
    ctx.out.result(`worker started protocol=simple endpoint=${endpoint} handler=${spec}`, { event: "started", role: "worker", protocol: "simple", endpoint, handler: spec });
    await aborted(ctx.signal);
    await worker.close();
    ctx.out.result(`worker stopped ${kv(worker.stats())}`, { event: "stopped", role: "worker", ...worker.stats() });
    return EXIT.OK;
  },
};

/** The Simple Pirate commands (`simple-pirate queue`, `simple-pirate worker`), registered in the CLI command registry. */
export const simplePirateCommands: CliCommand[] = [queueCommand, workerCommand];
