/**
 * `zpatterns queue` and `zpatterns worker`: the Paranoid Pirate (6/PPP) roles as processes.
 * Each prints one status line when it is ready (tests wait for it), logs events on stderr,
 * and stops cleanly on SIGINT/SIGTERM (exit 0) with a stats line. (Simple Pirate's are
 * `zpatterns simple-pirate queue|worker`, in patterns/simple-pirate/cli.ts.)
 * @module
 */
import { handlerArg, intArg, listArg, runQueue, runWorker, strArg, usage, UsageError, type CliCommand } from "../../src/cli/cli.js";
import { BROKER_FLAGS, METRICS_FLAG, WORKER_FLAGS } from "../../src/cli/flags.js";
import { ParanoidPirateQueue } from "./queue.js";
import { ParanoidPirateWorker } from "./worker.js";

const queueCommand: CliCommand = {
  name: "queue",
  summary: "Run a Paranoid Pirate (6/PPP) queue",
  usage: "--frontend EP --backend EP [options]",
  help: `Options:
  --frontend EP             endpoint for clients to connect to (repeatable), e.g. tcp://*:5555
  --backend EP              endpoint for workers to connect to (repeatable), e.g. tcp://*:5556
${BROKER_FLAGS.help(28)}
  --stats-interval MS       print a stats line this often, 0 = never (default 0)
${METRICS_FLAG.help(28)}

Prints "queue ready protocol=paranoid frontend=EP backend=EP" once bound.`,
  options: {
    frontend: { type: "string", multiple: true },
    backend: { type: "string", multiple: true },
    ...BROKER_FLAGS.options,
    "stats-interval": { type: "string" },
    ...METRICS_FLAG.options,
  },
  async run(ctx) {
    const frontend = listArg(ctx.values, "frontend");
    const backend = listArg(ctx.values, "backend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    if (backend.length === 0) throw new UsageError("--backend is required");
    const statsInterval = intArg(ctx.values, "stats-interval", 0);
    // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
    const queue = usage(() => new ParanoidPirateQueue({ frontend, backend, ...BROKER_FLAGS.read(ctx.values), logger: ctx.logger }));
    return runQueue(ctx, "paranoid", queue, statsInterval);
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
${WORKER_FLAGS.help(32)}
${METRICS_FLAG.help(32)}

Prints "worker started protocol=paranoid endpoint=EP" once connecting.`,
  options: { connect: { type: "string" }, handler: { type: "string" }, ...WORKER_FLAGS.options, ...METRICS_FLAG.options },
  async run(ctx) {
    const endpoint = strArg(ctx.values, "connect", true);
    const { spec, handler } = await handlerArg(ctx.values);
    const worker = usage(() => new ParanoidPirateWorker({ endpoint, handler, ...WORKER_FLAGS.read(ctx.values), logger: ctx.logger }));
    return runWorker(ctx, "paranoid", endpoint, spec, worker);
  },
};

/** The 6/PPP commands (`queue`, `worker`), registered in the CLI command registry. */
export const pirateCommands: CliCommand[] = [queueCommand, workerCommand];
