/**
 * `zpatterns mdp broker|worker|client`.
 * Every long-running command stops cleanly on SIGINT/SIGTERM.
 * @module
 */
import { EXIT, UsageError, choiceArg, handlerArg, listArg, observe, serve, startOrReport, startOrUsage, strArg, usage, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { BROKER_FLAGS, EXACTLY_ONCE_CLIENT_FLAGS, FLAGS, METRICS_FLAG, REQUEST_FLAGS, WORKER_FLAGS } from "../../src/cli/flags.js";
import { InvalidOptionError, framesToText } from "../../src/index.js";
import { MDP_HEARTBEAT_INTERVAL, MajordomoBroker } from "./broker.js";
import { MajordomoClient } from "./client.js";
import { MajordomoWorker } from "./worker.js";
import type { MdpVersion } from "./protocol.js";

/** 7/MDP's Guide timing: 2500 ms heartbeats (the broker's and the workers' must match). */
const MDP_TIMING = { heartbeatInterval: { def: MDP_HEARTBEAT_INTERVAL } };
const MDP_BROKER_FLAGS = BROKER_FLAGS.with(FLAGS.maxServices).withDefaults({
  ...MDP_TIMING,
  maxPending: { text: "requests held per service while no worker is ready (default {default})" },
  pendingTimeout: { text: 'answer "504" to requests that waited this long, 0 = never (default {default})' },
});
const MDP_WORKER_FLAGS = WORKER_FLAGS.withDefaults({ heartbeatInterval: { def: MDP_HEARTBEAT_INTERVAL, text: "heartbeat interval, the broker's (default {default})" } });

function version(ctx: CliContext): MdpVersion {
  return choiceArg(ctx.values, "mdp", ["0.1", "0.2"], "0.1") === "0.1" ? 1 : 2;
}

/** The Majordomo commands. */
export const mdpCommands: CliCommand[] = [
  {
    name: "mdp broker",
    summary: "Run a Majordomo broker (7/MDP 0.1 + 18/MDP 0.2 + 8/MMI) on one ROUTER",
    usage: "--bind EP [--heartbeat-interval MS] [--heartbeat-liveness N] [--pending-timeout MS] [options]",
    help: `Options:
  --bind EP                 endpoint to bind (repeatable), e.g. tcp://*:5555
${MDP_BROKER_FLAGS.help(28)}
${METRICS_FLAG.help(28)}

Prints "bound EP" for each endpoint; runs until SIGINT/SIGTERM.`,
    options: {
      bind: { type: "string", multiple: true },
      ...MDP_BROKER_FLAGS.options,
      ...METRICS_FLAG.options,
    },
    async run(ctx) {
      const bind = listArg(ctx.values, "bind");
      if (bind.length === 0) throw new UsageError("--bind is required");
      // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
      const broker = usage(() => new MajordomoBroker({ bind, ...MDP_BROKER_FLAGS.read(ctx.values), logger: ctx.logger }));
      observe(ctx, "majordomo_broker", broker, ["worker:rejected", "request:dropped", "request:expired", "reply:dropped", "message:malformed"]);
      if (!(await startOrReport(ctx, broker))) return EXIT.FAILURE;
      for (const bound of broker.endpoints) ctx.out.result(`bound ${bound}`, { bound });
      broker.on("worker:ready", (e) => ctx.out.log(`worker ready for ${e.service}`, { event: "worker:ready", service: e.service }));
      broker.on("worker:expired", (e) => ctx.out.log(`worker for ${e.service} expired${e.busy ? " (busy: request redelivered)" : ""}`, { event: "worker:expired", service: e.service, busy: e.busy }));
      return serve(ctx, broker);
    },
  },
  {
    name: "mdp worker",
    summary: "Run a Majordomo worker for one service",
    usage: "--connect EP --service NAME [--handler echo|upper|PATH] [--mdp 0.1|0.2] [--heartbeat-interval MS] [--heartbeat-liveness N] [options]",
    help: `Options:
  --connect EP                  broker endpoint
  --service NAME                service to offer
  --handler H                   echo (default), upper, or a path to a module whose default export handles requests
  --mdp V                       protocol version 0.1 (default) or 0.2
${MDP_WORKER_FLAGS.help(32)}
${METRICS_FLAG.help(32)}

Runs until SIGINT/SIGTERM.`,
    options: {
      connect: { type: "string" },
      service: { type: "string" },
      handler: { type: "string" },
      mdp: { type: "string" },
      ...MDP_WORKER_FLAGS.options,
      ...METRICS_FLAG.options,
    },
    async run(ctx) {
      const endpoint = strArg(ctx.values, "connect", true);
      const service = strArg(ctx.values, "service", true);
      const v = version(ctx);
      const { handler } = await handlerArg(ctx.values);
      const worker = usage(() => new MajordomoWorker({ endpoint, service, handler: (f) => handler(f), version: v, ...MDP_WORKER_FLAGS.read(ctx.values), logger: ctx.logger }));
      observe(ctx, "majordomo_worker", worker, ["request:failed", "request:dropped", "reply:dropped", "message:malformed"]);
      worker.on("link:connected", (e) => ctx.out.log(`connected to ${endpoint} as ${service} (attempt ${e.attempt})`, { event: "link:connected", attempt: e.attempt }));
      worker.on("link:lost", (e) => ctx.out.log(`disconnected: ${e.reason}`, { event: "link:lost", reason: e.reason }));
      await startOrUsage(worker);
      return serve(ctx, worker);
    },
  },
  {
    name: "mdp client",
    summary: "Send one request to a Majordomo service and print the reply frames on one line",
    usage: "--connect EP [--connect EP...] --service NAME [--timeout MS] [--retries N] [--mdp 0.1|0.2] [PAYLOAD...]",
    help: `Arguments:
  PAYLOAD             request frames (default: one empty frame)

Options:
  --connect EP        broker endpoint (repeat for failover: one at a time, the next after a timeout)
  --service NAME      service name (mmi.service asks the broker whether a service exists)
${REQUEST_FLAGS.help(22)}
${EXACTLY_ONCE_CLIENT_FLAGS.help(22)}
  --mdp V             protocol version 0.1 (default) or 0.2 (prints each PARTIAL on its own line)

Exit codes: 0 answered, 1 abandoned (no reply, or expired at the broker), 2 usage.`,
    options: { connect: { type: "string", multiple: true }, service: { type: "string" }, ...REQUEST_FLAGS.options, ...EXACTLY_ONCE_CLIENT_FLAGS.options, mdp: { type: "string" } },
    allowPositionals: true,
    async run(ctx) {
      const endpoint = (ctx.values.connect as string[] | undefined) ?? [];
      if (endpoint.length === 0) throw new UsageError("--connect is required");
      const service = strArg(ctx.values, "service", true);
      const client = usage(() => new MajordomoClient({ endpoint, version: version(ctx), ...REQUEST_FLAGS.read(ctx.values), ...EXACTLY_ONCE_CLIENT_FLAGS.read(ctx.values) }));
      const print = (body: Buffer[], final: boolean) => {
        const frames = framesToText(body);
        ctx.out.result(frames.join(" "), { service, frames, final });
      };
      client.on("request:retry", (e) => ctx.out.log(`no reply, retrying (attempt ${e.attempt})`, { event: "request:retry", attempt: e.attempt }));
      try {
        const body = ctx.positionals.length ? ctx.positionals : [""];
        const reply = client.request(service, body, { signal: ctx.signal, onPartial: (b) => print(b, false) });
        print(await reply.catch((error: unknown) => {
          throw error instanceof InvalidOptionError ? new UsageError(error.message) : error;
        }), true);
        return EXIT.OK;
      } catch (error) {
        if (error instanceof UsageError) throw error;
        ctx.out.error(`abandoned: ${error instanceof Error ? error.message : String(error)}`);
        return EXIT.FAILURE;
      } finally {
        await client.close();
      }
    },
  },
];
