/**
 * `zpatterns queue` and `zpatterns worker`: the Paranoid Pirate (6/PPP) roles as processes.
 * Each prints one status line when it is ready (tests wait for it), logs events on stderr,
 * and stops cleanly on SIGINT/SIGTERM (exit 0) with a stats line. (Simple Pirate's are
 * `zpatterns simple-pirate queue|worker`, in patterns/simple-pirate/cli.ts.)
 * @module
 */
import { EXIT, aborted, kv, logEvents, choiceArg, intArg, listArg, strArg, usage, UsageError, type CliCommand } from "../../src/cli/cli.js";
import { DISPATCH_DEFAULTS, HEARTBEAT_INTERVAL, InvalidOptionError, OVERFLOW_POLICIES, loadHandler, type RequestHandler } from "../../src/index.js";
import { ParanoidPirateQueue } from "./queue.js";
import { ParanoidPirateWorker } from "./worker.js";


/** Help lines of the heartbeat options, with the option column `width` wide. */
function heartbeatHelp(width: number): string {
  return [
    ["--heartbeat-interval MS", `6/PPP heartbeat interval (default ${HEARTBEAT_INTERVAL})`],
    ["--heartbeat-liveness N", `silent intervals before the peer is dead (default ${DISPATCH_DEFAULTS.heartbeatLiveness})`],
  ]
    .map(([option, text]) => `  ${option!.padEnd(width)}${text}`)
    .join("\n");
}




const queueCommand: CliCommand = {
  name: "queue",
  summary: "Run a Paranoid Pirate (6/PPP) queue",
  usage: "--frontend EP --backend EP [options]",
  help: `Options:
  --frontend EP             endpoint for clients to connect to (repeatable), e.g. tcp://*:5555
  --backend EP              endpoint for workers to connect to (repeatable), e.g. tcp://*:5556
${heartbeatHelp(26)}
  --max-pending N           requests held while no worker is ready (default ${DISPATCH_DEFAULTS.maxPending})
  --pending-overflow P      what a full backlog drops: drop-oldest (default), drop-newest, reject
  --pending-timeout MS      take out held requests older than this, 0 = never (default ${DISPATCH_DEFAULTS.pendingTimeout})
  --max-redeliveries N      redeliveries of a dead worker's request (default ${DISPATCH_DEFAULTS.maxRedeliveries})
  --max-workers N           most workers known at once (default ${DISPATCH_DEFAULTS.maxWorkers})
  --send-queue-limit N      send queue limit of each socket (default 10000)
  --stats-interval MS       print a stats line this often, 0 = never (default 0)

Prints "queue ready protocol=paranoid frontend=EP backend=EP" once bound.`,
  options: {
    frontend: { type: "string", multiple: true },
    backend: { type: "string", multiple: true },
    "heartbeat-interval": { type: "string" },
    "heartbeat-liveness": { type: "string" },
    "max-pending": { type: "string" },
    "pending-overflow": { type: "string" },
    "pending-timeout": { type: "string" },
    "max-redeliveries": { type: "string" },
    "max-workers": { type: "string" },
    "send-queue-limit": { type: "string" },
    "stats-interval": { type: "string" },
  },
  async run(ctx) {
    const frontend = listArg(ctx.values, "frontend");
    const backend = listArg(ctx.values, "backend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    if (backend.length === 0) throw new UsageError("--backend is required");
    const statsInterval = intArg(ctx.values, "stats-interval", 0);
    // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
    const queue = usage(() => new ParanoidPirateQueue({
      frontend,
      backend,
      heartbeatInterval: intArg(ctx.values, "heartbeat-interval", HEARTBEAT_INTERVAL, 1),
      heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", DISPATCH_DEFAULTS.heartbeatLiveness, 1),
      maxPending: intArg(ctx.values, "max-pending", DISPATCH_DEFAULTS.maxPending, 1),
      pendingOverflow: choiceArg(ctx.values, "pending-overflow", OVERFLOW_POLICIES, DISPATCH_DEFAULTS.pendingOverflow),
      pendingTimeout: intArg(ctx.values, "pending-timeout", DISPATCH_DEFAULTS.pendingTimeout),
      maxRedeliveries: intArg(ctx.values, "max-redeliveries", DISPATCH_DEFAULTS.maxRedeliveries),
      maxWorkers: intArg(ctx.values, "max-workers", DISPATCH_DEFAULTS.maxWorkers, 1),
      sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1),
    }));
    logEvents(ctx, queue, ["worker:ready", "worker:expired", "worker:disconnected", "worker:rejected", "request:redelivered", "request:dropped", "request:expired"]);
    try {
      await queue.start();
    } catch (error) {
      await queue.close();
      ctx.out.error(`cannot bind: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.FAILURE;
    }
    const { endpoints } = queue;
    ctx.out.result(`queue ready protocol=paranoid frontend=${endpoints.frontend.join(",")} backend=${endpoints.backend.join(",")}`, { event: "ready", role: "queue", protocol: "paranoid", ...endpoints });
    const timer = statsInterval > 0 ? setInterval(() => ctx.out.log(`stats ${kv(queue.stats())}`, { event: "stats", ...queue.stats() }), statsInterval) : undefined;
    timer?.unref();
    await aborted(ctx.signal);
    clearInterval(timer);
    await queue.close();
    ctx.out.result(`queue stopped ${kv(queue.stats())}`, { event: "stopped", role: "queue", ...queue.stats() });
    return EXIT.OK;
  },
};

const workerCommand: CliCommand = {
  name: "worker",
  summary: "Run a Paranoid Pirate (6/PPP) worker",
  usage: "--connect EP [--handler echo|upper|PATH] [options]",
  help: `Options:
  --connect EP                  the queue's backend endpoint
  --handler H                   echo, upper, or the path of a JS module whose default export is
                                the handler (frames) => reply (default echo)
${heartbeatHelp(30)}
  --reconnect-interval MS       first reconnect delay (default 1000)
  --reconnect-max-interval MS   reconnect delay cap (default 32000)
  --handler-timeout MS          give up a handler running longer, 0 = never (default 0)
  --max-pending N               requests held while the handler is busy (default 1000)
  --send-queue-limit N          the socket's send queue limit (default 10000)

Prints "worker started protocol=paranoid endpoint=EP" once connecting.`,
  options: {
    connect: { type: "string" },
    handler: { type: "string" },
    "handler-timeout": { type: "string" },
    "send-queue-limit": { type: "string" },
    "heartbeat-interval": { type: "string" },
    "heartbeat-liveness": { type: "string" },
    "reconnect-interval": { type: "string" },
    "reconnect-max-interval": { type: "string" },
    "max-pending": { type: "string" },
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
    const reconnectInterval = intArg(ctx.values, "reconnect-interval", 1000);
    const worker = usage(() => new ParanoidPirateWorker({
      endpoint,
      handler,
      heartbeatInterval: intArg(ctx.values, "heartbeat-interval", HEARTBEAT_INTERVAL, 1),
      heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", DISPATCH_DEFAULTS.heartbeatLiveness, 1),
      reconnectInterval,
      reconnectMaxInterval: intArg(ctx.values, "reconnect-max-interval", Math.max(32_000, reconnectInterval), reconnectInterval),
      handlerTimeout: intArg(ctx.values, "handler-timeout", 0),
      maxPending: intArg(ctx.values, "max-pending", 1000, 1),
      sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1),
    }));
    logEvents(ctx, worker, ["link:connected", "link:established", "link:lost", "link:reconnecting", "request:failed", "request:dropped", "reply:dropped", "message:malformed"]);
    await worker.start().catch((error: unknown) => {
      void worker.close();
      throw error instanceof InvalidOptionError ? new UsageError(error.message) : error;
    });
    ctx.out.result(`worker started protocol=paranoid endpoint=${endpoint} handler=${spec}`, { event: "started", role: "worker", protocol: "paranoid", endpoint, handler: spec });
    await aborted(ctx.signal);
    await worker.close();
    ctx.out.result(`worker stopped ${kv(worker.stats())}`, { event: "stopped", role: "worker", ...worker.stats() });
    return EXIT.OK;
  },
};

/** The 6/PPP commands (`queue`, `worker`), registered in the CLI command registry. */
export const pirateCommands: CliCommand[] = [queueCommand, workerCommand];
