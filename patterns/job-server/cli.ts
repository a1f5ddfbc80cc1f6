/**
 * `zpatterns serve` (the preforking job server, after Net::Server::ZMQ) and `zpatterns status`.
 * @module
 */
import { EXIT, QUEUE_LOG_EVENTS, UsageError, aborted, intArg, listArg, observe, strArg, type CliCommand } from "../../src/cli/cli.js";
import { requestStatus } from "./control.js";
import { FLAGS, FlagGroup, METRICS_FLAG } from "../../src/cli/flags.js";
import { JOB_HANDLER_TIMEOUT, JOB_MAX_KILLS, JOB_MAX_REDELIVERIES, JOB_QUARANTINE_TIMEOUT, JobServer, type JobServerOptions, type JobServerStatus } from "./server.js";

/**
 * The queue's flags. A rolling restart retires every worker in turn, so a request may see
 * many of them go: the job server allows 10 redeliveries, not the brokers' 3. The handler
 * timeout is the parent's (it kills the worker), and finite by default.
 */
const JOB_FLAGS = new FlagGroup([
  FLAGS.heartbeatInterval,
  FLAGS.heartbeatLiveness,
  FLAGS.maxPending,
  FLAGS.pendingOverflow,
  FLAGS.pendingTimeout,
  { ...FLAGS.maxRedeliveries, def: JOB_MAX_REDELIVERIES, text: "redeliveries of a request whose worker died or timed out (default {default})" },
  { ...FLAGS.handlerTimeout, def: JOB_HANDLER_TIMEOUT, text: "kill and replace a worker whose handler runs longer, 0 = never (default {default})" },
]);

const SERVE_HELP = `A preforking job server (after Net::Server::ZMQ): the parent runs a 6/PPP queue, a pool of
forked worker processes runs the handler. Clients are plain REQ sockets (or DEALER with the
empty delimiter) sending to the frontend.

Options:
  --frontend EP             endpoint clients connect to (required, repeatable)
  --backend EP              endpoint the workers connect to (default tcp://127.0.0.1:*)
  --handler echo|upper|PATH the request handler: a module whose default export maps request
                            frames to reply frames, may be async (required)
  --min-workers N           workers kept at least (default 1)
  --max-workers M           workers at most (default 4)
  --idle-timeout MS         shrink by one after the pool was idle this long (default 10000)
  --scale-interval MS       how often the pool size is reconsidered (default 500)
${JOB_FLAGS.help(28)}
  --max-kills N             workers a request may cost (timed out, silent or dead while
                            holding it) before it is dropped as poison (default ${JOB_MAX_KILLS})
  --quarantine-timeout MS   refuse a poison request's content for this long, 0 = never
                            (default ${JOB_QUARANTINE_TIMEOUT})
  --drain-timeout MS        on SIGTERM, how long to wait for requests in hand (default 10000)
  --control EP              bind a control endpoint that answers STATUS (zpatterns status):
                            loopback tcp://, ipc:// or inproc:// only, unless --control-remote
  --control-remote          allow --control to bind beyond loopback (it answers anyone)
${METRICS_FLAG.help(28)}

Signals:
  SIGTTIN   add one worker now          SIGTTOU   retire one worker (it finishes its request)
            (never past --max-workers)            (never below --min-workers)
  SIGHUP    restart the workers one at a time, without losing a request
  SIGTERM   drain (wait for waiting and running requests), stop the workers, exit

Worker starts, exits, purges and scaling decisions are logged on stderr (JSON with --json).`;

const serveCommand: CliCommand = {
  name: "serve",
  summary: "Preforking job server: 6/PPP queue + a pool of worker processes (Net::Server::ZMQ)",
  usage: "--frontend EP --handler PATH [--backend EP] [--min-workers N] [--max-workers M] [--control EP]",
  help: SERVE_HELP,
  options: {
    frontend: { type: "string", multiple: true },
    backend: { type: "string", multiple: true },
    handler: { type: "string" },
    "min-workers": { type: "string" },
    "max-workers": { type: "string" },
    "idle-timeout": { type: "string" },
    "scale-interval": { type: "string" },
    ...JOB_FLAGS.options,
    "max-kills": { type: "string" },
    "quarantine-timeout": { type: "string" },
    "drain-timeout": { type: "string" },
    control: { type: "string" },
    "control-remote": { type: "boolean" },
    ...METRICS_FLAG.options,
  },
  async run(ctx) {
    const { values, out, signal } = ctx;
    const frontend = listArg(values, "frontend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    const backend = listArg(values, "backend");
    const minWorkers = intArg(values, "min-workers", 1, 0);
    const maxWorkers = intArg(values, "max-workers", Math.max(4, minWorkers), 1);
    if (maxWorkers < minWorkers) throw new UsageError("--max-workers must be >= --min-workers");
    // A bad endpoint reaches runCli as an InvalidOptionError naming it: exit code 2.
    const server = new JobServer({
      frontend,
      backend: backend.length > 0 ? backend : "tcp://127.0.0.1:*",
      handler: strArg(values, "handler", true),
      minWorkers,
      maxWorkers,
      idleTimeout: intArg(values, "idle-timeout", 10_000, 1),
      scaleInterval: intArg(values, "scale-interval", 500, 1),
      ...(JOB_FLAGS.read(values) as Pick<JobServerOptions, "heartbeatInterval" | "heartbeatLiveness" | "maxPending" | "pendingOverflow" | "pendingTimeout" | "maxRedeliveries" | "handlerTimeout">),
      maxKills: intArg(values, "max-kills", JOB_MAX_KILLS, 1),
      quarantineTimeout: intArg(values, "quarantine-timeout", JOB_QUARANTINE_TIMEOUT, 0),
      drainTimeout: intArg(values, "drain-timeout", 10_000, 0),
      control: strArg(values, "control"),
      controlRemote: values["control-remote"] === true,
      logger: ctx.logger,
    });
    // The pool's status (its counters, the queue's nested: job_server_queue_*), and the queue's drops logged.
    observe(ctx, "job_server", server.queue, QUEUE_LOG_EVENTS.filter((e) => !e.startsWith("worker:") || e === "worker:rejected"), { stats: () => server.status() });
    const log = (human: string, record: Record<string, unknown>) => out.log(`serve: ${human}`, record);
    server.on("worker:started", (e) => log(`worker ${e.id} started (pid ${e.pid}): ${e.reason}`, { event: "worker:started", ...e }));
    server.on("worker:ready", (e) => log(`worker ${e.id} ready (pid ${e.pid})`, { event: "worker:ready", ...e }));
    server.on("worker:retiring", (e) => log(`worker ${e.id} retiring (pid ${e.pid}): ${e.reason}`, { event: "worker:retiring", ...e }));
    server.on("worker:exited", (e) => log(`worker ${e.id} exited (pid ${e.pid}, ${e.signal ?? `code ${e.code}`})${e.expected ? "" : " unexpectedly"}`, { event: "worker:exited", ...e }));
    server.on("worker:purged", (e) => log(`worker ${e.id} purged (pid ${e.pid}): ${e.reason}`, { event: "worker:purged", ...e }));
    server.on("pool:scaled", (e) => log(`scaled ${e.direction} to ${e.workers} workers: ${e.reason}`, { event: "pool:scaled", ...e }));
    server.on("pool:refused", (e) => log(`${e.reason} refused: ${e.workers} workers, at --${e.direction === "up" ? "max" : "min"}-workers ${e.limit}`, { event: "pool:refused", ...e }));
    server.on("request:poisoned", (e) => log(`request from ${e.client.toString("hex")} dropped as poison: it cost ${e.kills} workers in ${e.deliveries} deliveries`, { event: "request:poisoned", client: e.client.toString("hex"), kills: e.kills, deliveries: e.deliveries }));
    server.on("pool:restarting", (e) => log(`restarting ${e.workers} workers one at a time`, { event: "pool:restarting", ...e }));
    server.on("pool:restarted", (e) => log(`restart done, ${e.workers} workers`, { event: "pool:restarted", ...e }));
    server.on("server:draining", (e) => log(`draining (${e.pending} requests waiting)`, { event: "server:draining", ...e }));
    const signals: [NodeJS.Signals, () => void][] = [
      ["SIGTTIN", () => server.addWorker("SIGTTIN")],
      ["SIGTTOU", () => void server.removeWorker("SIGTTOU")],
      ["SIGHUP", () => void server.restartWorkers()],
    ];
    for (const [sig, fn] of signals) process.on(sig, fn);
    try {
      await server.start();
      const eps = server.queue.endpoints;
      out.result(`serve: frontend ${eps.frontend.join(" ")} backend ${eps.backend.join(" ")}${server.controlEndpoint ? ` control ${server.controlEndpoint}` : ""}`, {
        event: "serve:started",
        frontend: eps.frontend,
        backend: eps.backend,
        control: server.controlEndpoint,
        pid: process.pid,
      });
      await aborted(signal);
    } finally {
      await server.close();
      for (const [sig, fn] of signals) process.off(sig, fn);
    }
    const status = server.status();
    log(`stopped: ${JSON.stringify(status.counters)} requests=${status.queue.requests} replies=${status.queue.replies} dropped=${status.queue.dropped}`, { event: "serve:stopped", counters: status.counters, queue: status.queue });
    return EXIT.OK;
  },
};

function statusText(s: JobServerStatus): string {
  const rows = s.children.map((c) => `  ${c.id.padEnd(36)} pid ${String(c.pid).padEnd(8)} ${c.state.padEnd(9)} up ${(c.uptimeMs / 1000).toFixed(1)} s`);
  return [
    `workers ${s.workers} (ready ${s.ready}, min ${s.minWorkers}, max ${s.maxWorkers})${s.draining ? ", draining" : ""}`,
    `queue: pending ${s.pending}, idle ${s.idle}, requests ${s.queue.requests}, replies ${s.queue.replies}, redelivered ${s.queue.redelivered}, dropped ${s.queue.dropped}`,
    `workers started ${s.counters.started}, exited ${s.counters.exited}, crashed ${s.counters.crashed}, purged ${s.counters.purged} (timed out ${s.counters.timedOut}), scaled up ${s.counters.scaledUp}, down ${s.counters.scaledDown}, refused ${s.counters.refused}, restarts ${s.counters.restarts}`,
    `requests poisoned ${s.counters.poisoned}, refused as quarantined ${s.counters.quarantined}; backend peers rejected (not our workers) ${s.counters.rejected} (${s.counters.rejectedMessages} messages); handler timeout ${s.handlerTimeout} ms`,
    ...rows,
  ].join("\n");
}

const statusCommand: CliCommand = {
  name: "status",
  summary: "Ask a zpatterns serve control endpoint for its status",
  usage: "--connect EP [--timeout MS] [--json]",
  help: "Options:\n  --connect EP    the server's --control endpoint (required)\n  --timeout MS    give up after this long (default 2000); exit code 1",
  options: { connect: { type: "string" }, timeout: { type: "string" } },
  async run({ values, out }) {
    const endpoint = strArg(values, "connect", true);
    const status = (await requestStatus(endpoint, intArg(values, "timeout", 2000, 1))) as JobServerStatus & { error?: string };
    if (status.error !== undefined) {
      out.error(status.error);
      return EXIT.FAILURE;
    }
    out.result(statusText(status), status as unknown as Record<string, unknown>);
    return EXIT.OK;
  },
};

/** The job server's commands, registered in patterns/cli/commands.ts. */
export const jobServerCommands: CliCommand[] = [serveCommand, statusCommand];
