/**
 * `zpatterns mdp broker|worker|client`.
 * Every long-running command stops cleanly on SIGINT/SIGTERM.
 * @module
 */
import { EXIT, UsageError, choiceArg, intArg, listArg, serve, strArg, usage, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { DISPATCH_DEFAULTS, InvalidOptionError, OVERFLOW_POLICIES, REQUEST_RETRIES, REQUEST_TIMEOUT, framesToText, loadHandler, type MessageLike } from "../../src/index.js";
import { MDP_HEARTBEAT_INTERVAL, MajordomoBroker } from "./broker.js";
import { MajordomoClient } from "./client.js";
import { MajordomoWorker } from "./worker.js";
import type { MdpVersion } from "./protocol.js";

const D = DISPATCH_DEFAULTS;

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
  --heartbeat-interval MS   heartbeat interval (default ${MDP_HEARTBEAT_INTERVAL})
  --heartbeat-liveness N    silent intervals before a worker is dead (default ${D.heartbeatLiveness})
  --max-pending N           requests held per service while no worker is ready (default ${D.maxPending})
  --pending-overflow P      what a full backlog drops: drop-oldest (default), drop-newest, reject
  --pending-timeout MS      answer "504" to requests that waited this long, 0 = never (default ${D.pendingTimeout})
  --max-redeliveries N      redeliveries after a worker dies mid-request (default ${D.maxRedeliveries})
  --max-workers N           most workers known at once (default ${D.maxWorkers})
  --max-services N          most services at once (default ${D.maxServices})
  --send-queue-limit N      send queue limit of the ROUTER (default 10000)

Prints "bound EP" for each endpoint; runs until SIGINT/SIGTERM.`,
    options: {
      bind: { type: "string", multiple: true },
      "heartbeat-interval": { type: "string" },
      "heartbeat-liveness": { type: "string" },
      "max-pending": { type: "string" },
      "pending-overflow": { type: "string" },
      "pending-timeout": { type: "string" },
      "max-redeliveries": { type: "string" },
      "max-workers": { type: "string" },
      "max-services": { type: "string" },
      "send-queue-limit": { type: "string" },
    },
    async run(ctx) {
      const bind = listArg(ctx.values, "bind");
      if (bind.length === 0) throw new UsageError("--bind is required");
      // usage(): an option the constructor rejects (an endpoint that is not one) is a usage error (exit 2).
      const broker = usage(() => new MajordomoBroker({
        bind,
        heartbeatInterval: intArg(ctx.values, "heartbeat-interval", MDP_HEARTBEAT_INTERVAL, 1),
        heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", D.heartbeatLiveness, 1),
        maxPending: intArg(ctx.values, "max-pending", D.maxPending, 1),
        pendingOverflow: choiceArg(ctx.values, "pending-overflow", OVERFLOW_POLICIES, D.pendingOverflow),
        pendingTimeout: intArg(ctx.values, "pending-timeout", D.pendingTimeout),
        maxRedeliveries: intArg(ctx.values, "max-redeliveries", D.maxRedeliveries),
        maxWorkers: intArg(ctx.values, "max-workers", D.maxWorkers, 1),
        maxServices: intArg(ctx.values, "max-services", D.maxServices, 1),
        sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1),
      }));
      try {
        await broker.start();
      } catch (error) {
        await broker.close();
        ctx.out.error(`cannot bind: ${error instanceof Error ? error.message : String(error)}`);
        return EXIT.FAILURE;
      }
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
  --heartbeat-interval MS       heartbeat interval (default 2500; use the broker's)
  --heartbeat-liveness N        silent intervals before the broker is dead (default 3)
  --reconnect-interval MS       first reconnect delay (default 1000)
  --reconnect-max-interval MS   reconnect delay cap (default 32000)
  --handler-timeout MS          give up a handler running longer, 0 = never (default 0)
  --max-pending N               requests held while the handler is busy (default 1000)
  --send-queue-limit N          the socket's send queue limit (default 10000)

Runs until SIGINT/SIGTERM.`,
    options: {
      connect: { type: "string" },
      service: { type: "string" },
      handler: { type: "string" },
      mdp: { type: "string" },
      "heartbeat-interval": { type: "string" },
      "heartbeat-liveness": { type: "string" },
      "reconnect-interval": { type: "string" },
      "reconnect-max-interval": { type: "string" },
      "handler-timeout": { type: "string" },
      "max-pending": { type: "string" },
      "send-queue-limit": { type: "string" },
    },
    async run(ctx) {
      const endpoint = strArg(ctx.values, "connect", true);
      const service = strArg(ctx.values, "service", true);
      const v = version(ctx);
      const reconnectInterval = intArg(ctx.values, "reconnect-interval", 1000);
      const options = {
        heartbeatInterval: intArg(ctx.values, "heartbeat-interval", 2500, 1),
        heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", 3, 1),
        reconnectInterval,
        reconnectMaxInterval: intArg(ctx.values, "reconnect-max-interval", Math.max(32_000, reconnectInterval), reconnectInterval),
        handlerTimeout: intArg(ctx.values, "handler-timeout", 0),
        maxPending: intArg(ctx.values, "max-pending", 1000, 1),
        sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1),
      };
      const handler = await loadHandler(strArg(ctx.values, "handler") ?? "echo");
      const worker = usage(() => new MajordomoWorker({ endpoint, service, handler: (f) => handler(f) as MessageLike | Promise<MessageLike>, version: v, ...options }));
      worker.on("link:connected", (e) => ctx.out.log(`connected to ${endpoint} as ${service} (attempt ${e.attempt})`, { event: "link:connected", attempt: e.attempt }));
      worker.on("link:lost", (e) => ctx.out.log(`disconnected: ${e.reason}`, { event: "link:lost", reason: e.reason }));
      await worker.start().catch((error: unknown) => {
        void worker.close();
        throw error instanceof InvalidOptionError ? new UsageError(error.message) : error;
      });
      return serve(ctx, worker);
    },
  },
  {
    name: "mdp client",
    summary: "Send one request to a Majordomo service and print the reply frames on one line",
    usage: "--connect EP [--connect EP...] --service NAME [--timeout MS] [--retries N] [--mdp 0.1|0.2] [PAYLOAD...]",
    help: "Arguments:\n  PAYLOAD             request frames (default: one empty frame)\n\nOptions:\n  --connect EP        broker endpoint (repeat for failover: one at a time, the next after a timeout)\n  --service NAME      service name (mmi.service asks the broker whether a service exists)\n  --timeout MS        ms to wait for a reply before resending (default 2500)\n  --retries N         resends before giving up (default 3)\n  --mdp V             protocol version 0.1 (default) or 0.2 (prints each PARTIAL on its own line)\n\nExit codes: 0 answered, 1 abandoned (no reply, or expired at the broker), 2 usage.",
    options: { connect: { type: "string", multiple: true }, service: { type: "string" }, timeout: { type: "string" }, retries: { type: "string" }, mdp: { type: "string" } },
    allowPositionals: true,
    async run(ctx) {
      const endpoint = (ctx.values.connect as string[] | undefined) ?? [];
      if (endpoint.length === 0) throw new UsageError("--connect is required");
      const service = strArg(ctx.values, "service", true);
      const requestTimeout = intArg(ctx.values, "timeout", REQUEST_TIMEOUT, 1);
      const retries = intArg(ctx.values, "retries", REQUEST_RETRIES, 0);
      const client = usage(() => new MajordomoClient({ endpoint, version: version(ctx), requestTimeout, retries }));
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
