/**
 * `zpatterns queue` and `zpatterns worker`: the Simple Pirate and Paranoid Pirate (6/PPP)
 * roles as processes. Each prints one status line when it is ready (tests wait for it),
 * logs events on stderr, and stops cleanly on SIGINT/SIGTERM (exit 0) with a stats line.
 * @module
 */
import { EXIT, aborted, choiceArg, intArg, listArg, strArg, usage, UsageError, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { loadHandler, type RequestHandler } from "../../src/index.js";
import { SimplePirateQueue, SimplePirateWorker } from "../simple-pirate/index.js";
import { ParanoidPirateQueue } from "./queue.js";
import { ParanoidPirateWorker } from "./worker.js";

const PROTOCOLS = ["paranoid", "simple"] as const;
type Protocol = (typeof PROTOCOLS)[number];

/** What the CLI needs of a queue, whatever its protocol. */
interface QueueRole {
  start(): Promise<void>;
  readonly endpoints: { frontend: string[]; backend: string[] };
  stats(): object;
  close(): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** What the CLI needs of a worker. */
interface WorkerRole {
  stats(): object;
  close(): Promise<void>;
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/** Help lines of the heartbeat options, with the option column `width` wide. */
function heartbeatHelp(width: number): string {
  return [
    ["--heartbeat-interval MS", "6/PPP heartbeat interval (default 1000; paranoid only)"],
    ["--liveness N", "silent intervals before the peer is dead (default 3; paranoid only)"],
  ]
    .map(([option, text]) => `  ${option!.padEnd(width)}${text}`)
    .join("\n");
}

function kv(record: object): string {
  return Object.entries(record)
    .filter(([, v]) => typeof v === "number" || typeof v === "boolean")
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
}

function hex(id: Buffer): string {
  return id.toString("hex");
}

/** Log a role's events on stderr, one line each. */
function logEvents(ctx: CliContext, role: { on(event: string, listener: (...args: never[]) => void): unknown }, events: readonly string[]): void {
  for (const event of events) {
    role.on(event, ((payload: Record<string, unknown> = {}) => {
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(payload)) fields[k] = Buffer.isBuffer(v) ? hex(v) : Array.isArray(v) ? v.length : v instanceof Error ? v.message : v;
      ctx.out.log(`${event} ${Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`.trimEnd(), { event, ...fields });
    }) as (...args: never[]) => void);
  }
}

const queueCommand: CliCommand = {
  name: "queue",
  summary: "Run a Simple Pirate or Paranoid Pirate (6/PPP) queue",
  usage: "--frontend EP --backend EP [--protocol simple|paranoid] [options]",
  help: `Options:
  --protocol P              simple or paranoid (default paranoid)
  --frontend EP             endpoint for clients to connect to (repeatable), e.g. tcp://*:5555
  --backend EP              endpoint for workers to connect to (repeatable), e.g. tcp://*:5556
${heartbeatHelp(26)}
  --max-pending N           requests held while no worker is ready (default 1000)
  --pending-timeout MS      drop held requests older than this, 0 = never (default 10000; paranoid only)
  --max-redeliveries N      redeliveries of a dead worker's request (default 3; paranoid only)
  --stats-interval MS       print a stats line this often, 0 = never (default 0)

Prints "queue ready protocol=P frontend=EP backend=EP" once bound.`,
  options: {
    protocol: { type: "string" },
    frontend: { type: "string", multiple: true },
    backend: { type: "string", multiple: true },
    "heartbeat-interval": { type: "string" },
    liveness: { type: "string" },
    "max-pending": { type: "string" },
    "pending-timeout": { type: "string" },
    "max-redeliveries": { type: "string" },
    "stats-interval": { type: "string" },
  },
  async run(ctx) {
    const protocol = choiceArg<Protocol>(ctx.values, "protocol", PROTOCOLS, "paranoid");
    const frontend = listArg(ctx.values, "frontend");
    const backend = listArg(ctx.values, "backend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    if (backend.length === 0) throw new UsageError("--backend is required");
    const statsInterval = intArg(ctx.values, "stats-interval", 0);
    let queue: QueueRole;
    if (protocol === "paranoid") {
      // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
      queue = usage(() => new ParanoidPirateQueue({
        frontend,
        backend,
        heartbeatInterval: intArg(ctx.values, "heartbeat-interval", 1000, 1),
        heartbeatLiveness: intArg(ctx.values, "liveness", 3, 1),
        maxPending: intArg(ctx.values, "max-pending", 1000, 1),
        pendingTimeout: intArg(ctx.values, "pending-timeout", 10_000),
        maxRedeliveries: intArg(ctx.values, "max-redeliveries", 3),
      })) as unknown as QueueRole;
      logEvents(ctx, queue, ["worker:ready", "worker:expired", "worker:unreachable", "worker:rejected", "request:redelivered", "request:dropped"]);
    } else {
      queue = usage(() => new SimplePirateQueue({ frontend, backend, maxPending: intArg(ctx.values, "max-pending", 1000, 1) })) as unknown as QueueRole;
    }
    try {
      await queue.start();
    } catch (error) {
      await queue.close();
      ctx.out.error(`cannot bind: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.FAILURE;
    }
    const { endpoints } = queue;
    ctx.out.result(`queue ready protocol=${protocol} frontend=${endpoints.frontend.join(",")} backend=${endpoints.backend.join(",")}`, { event: "ready", role: "queue", protocol, ...endpoints });
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
  summary: "Run a Simple Pirate or Paranoid Pirate (6/PPP) worker",
  usage: "--connect EP [--handler echo|upper|PATH] [--protocol simple|paranoid] [options]",
  help: `Options:
  --protocol P                  simple or paranoid (default paranoid)
  --connect EP                  the queue's backend endpoint
  --handler H                   echo, upper, or the path of a JS module whose default export is
                                the handler (frames) => reply (default echo)
  --handler-timeout MS          give up a handler running longer, 0 = never (default 0)
  --send-queue-limit N          the socket's send queue limit (default 10000)
  --heartbeat-interval MS       6/PPP heartbeat interval (default 1000; paranoid only)
  --heartbeat-liveness N        silent intervals before the queue is dead (default 3; paranoid only)
  --reconnect-interval MS       first reconnect delay (default 1000; paranoid only)
  --reconnect-max-interval MS   reconnect delay cap (default 32000; paranoid only)
  --max-pending N               requests held while the handler is busy (default 1000; paranoid only)

Prints "worker started protocol=P endpoint=EP" once connecting.`,
  options: {
    protocol: { type: "string" },
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
    const protocol = choiceArg<Protocol>(ctx.values, "protocol", PROTOCOLS, "paranoid");
    const endpoint = strArg(ctx.values, "connect", true);
    const spec = strArg(ctx.values, "handler") ?? "echo";
    let handler: RequestHandler;
    try {
      handler = await loadHandler(spec);
    } catch (error) {
      throw new UsageError(`--handler ${spec}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const common = { endpoint, handler, handlerTimeout: intArg(ctx.values, "handler-timeout", 0), sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1) };
    let worker: WorkerRole & { start(): Promise<void> };
    if (protocol === "paranoid") {
      const reconnectInterval = intArg(ctx.values, "reconnect-interval", 1000);
      worker = usage(() => new ParanoidPirateWorker({
        ...common,
        heartbeatInterval: intArg(ctx.values, "heartbeat-interval", 1000, 1),
        heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", 3, 1),
        reconnectInterval,
        reconnectMaxInterval: intArg(ctx.values, "reconnect-max-interval", Math.max(32_000, reconnectInterval), reconnectInterval),
        maxPending: intArg(ctx.values, "max-pending", 1000, 1),
      })) as unknown as WorkerRole & { start(): Promise<void> };
    } else {
      worker = usage(() => new SimplePirateWorker(common)) as unknown as WorkerRole & { start(): Promise<void> };
    }
    logEvents(ctx, worker, ["link:connected", "link:established", "link:lost", "link:reconnecting", "request:failed", "request:dropped", "reply:dropped", "message:malformed"]);
    await worker.start().catch((error: unknown) => {
      void worker.close();
      throw error instanceof TypeError ? new UsageError(error.message) : error;
    });
    ctx.out.result(`worker started protocol=${protocol} endpoint=${endpoint} handler=${spec}`, { event: "started", role: "worker", protocol, endpoint, handler: spec });
    await aborted(ctx.signal);
    await worker.close();
    ctx.out.result(`worker stopped ${kv(worker.stats())}`, { event: "stopped", role: "worker", ...worker.stats() });
    return EXIT.OK;
  },
};

/** The Pirate commands (`queue`, `worker`), registered in src/cli/commands.ts. */
export const pirateCommands: CliCommand[] = [queueCommand, workerCommand];
