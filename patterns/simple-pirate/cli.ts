/**
 * `zpatterns simple-pirate queue` and `zpatterns simple-pirate worker`: the Simple Pirate
 * roles as processes. Each prints one status line when it is ready (tests wait for it) and
 * stops cleanly on SIGINT/SIGTERM (exit 0) with a stats line.
 * @module
 */
import { handlerArg, listArg, runQueue, runWorker, strArg, usage, UsageError, type CliCommand } from "../../src/cli/cli.js";
import { BACKLOG_FLAGS, FLAGS, FlagGroup, METRICS_FLAG } from "../../src/cli/flags.js";
import { SimplePirateQueue } from "./queue.js";
import { SimplePirateWorker } from "./worker.js";

/** A REQ worker holds no backlog and sends no heartbeats. */
const SP_WORKER_FLAGS = new FlagGroup([FLAGS.handlerTimeout, FLAGS.sendQueueLimit, FLAGS.exactlyOnce, FLAGS.replyCacheSize, FLAGS.replyCacheTtl]);

const queueCommand: CliCommand = {
  name: "simple-pirate queue",
  summary: "Run a Simple Pirate queue (LRU, REQ workers, no heartbeats)",
  usage: "--frontend EP --backend EP [options]",
  help: `Options:
  --frontend EP             endpoint for clients to connect to (repeatable), e.g. tcp://*:5555
  --backend EP              endpoint for workers to connect to (repeatable), e.g. tcp://*:5556
${BACKLOG_FLAGS.help(28)}
${METRICS_FLAG.help(28)}

Prints "queue ready protocol=simple frontend=EP backend=EP" once bound.`,
  options: {
    frontend: { type: "string", multiple: true },
    backend: { type: "string", multiple: true },
    ...BACKLOG_FLAGS.options,
    ...METRICS_FLAG.options,
  },
  async run(ctx) {
    const frontend = listArg(ctx.values, "frontend");
    const backend = listArg(ctx.values, "backend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    if (backend.length === 0) throw new UsageError("--backend is required");
    // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
    const queue = usage(() => new SimplePirateQueue({ frontend, backend, ...BACKLOG_FLAGS.read(ctx.values), logger: ctx.logger }));
    return runQueue(ctx, "simple", queue);
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
${SP_WORKER_FLAGS.help(28)}
${METRICS_FLAG.help(28)}

Prints "worker started protocol=simple endpoint=EP" once connecting.`,
  options: { connect: { type: "string" }, handler: { type: "string" }, ...SP_WORKER_FLAGS.options, ...METRICS_FLAG.options },
  async run(ctx) {
    const endpoint = strArg(ctx.values, "connect", true);
    const { spec, handler } = await handlerArg(ctx.values);
    const worker = usage(() => new SimplePirateWorker({ endpoint, handler, ...SP_WORKER_FLAGS.read(ctx.values), logger: ctx.logger }));
    return runWorker(ctx, "simple", endpoint, spec, worker);
  },
};

/** The Simple Pirate commands (`simple-pirate queue`, `simple-pirate worker`), registered in the CLI command registry. */
export const simplePirateCommands: CliCommand[] = [queueCommand, workerCommand];
