/**
 * `zpatterns titanic --connect EP --dir DIR`: run a 9/TSP server until SIGINT/SIGTERM.
 * Registered by the command registry (`commands.ts`), beside the Majordomo commands.
 * @module
 */
import { intArg, observe, serve, strArg, usage, type CliCommand } from "../../src/cli/cli.js";
import { FLAGS, FlagGroup, METRICS_FLAG } from "../../src/cli/flags.js";
import { TITANIC_DEFAULTS, TitanicServer } from "./server.js";

const d = TITANIC_DEFAULTS;
/** The vocabulary's pending timeout, with Titanic's meaning and default. */
const PENDING_TIMEOUT = new FlagGroup([FLAGS.pendingTimeout]).withDefaults({
  pendingTimeout: { def: d.pendingTimeout, text: "delete a request whose service had no worker this long, 0 = never (default {default})" },
});

/** The Titanic commands. */
export const titanicCommands: CliCommand[] = [
  {
    name: "titanic",
    summary: "Run a Titanic server (9/TSP: titanic.request/reply/close) against a Majordomo broker",
    usage: "--connect EP --dir DIR [--heartbeat-interval MS] [--heartbeat-liveness N] [--dispatch-interval MS] [--dispatch-timeout MS] [--concurrency N] [--max-pending N] [--max-request-size BYTES] [--max-store-bytes BYTES] [--pending-timeout MS]",
    help:
      "Options:\n" +
      "  --connect EP              Majordomo broker endpoint\n" +
      "  --dir DIR                 directory for stored requests and replies (survives restarts)\n" +
      "  --heartbeat-interval MS   MDP heartbeat interval (default 2500; use the broker's)\n" +
      "  --heartbeat-liveness N    silent intervals before the broker is dead (default 3)\n" +
      "  --dispatch-interval MS    ms between dispatcher passes over pending requests (default 1000)\n" +
      "  --dispatch-timeout MS     ms to wait for a real service's reply (default 2500)\n" +
      `  --concurrency N           dispatches and service checks in flight, shared round-robin across services (default ${d.concurrency})\n` +
      `  --max-pending N           requests stored and waiting at most; beyond, 500 (default ${d.maxPending})\n` +
      `  --max-request-size BYTES  largest request taken; beyond, 400 (default ${d.maxRequestSize})\n` +
      `  --max-store-bytes BYTES   store quota (request and reply files, in 4 KiB blocks); beyond, 500 (default ${d.maxStoreBytes})\n` +
      PENDING_TIMEOUT.help(28) +
      "\n" +
      METRICS_FLAG.help(28) +
      "\n\n" +
      'Prints "titanic ready" once its services are registering; runs until SIGINT/SIGTERM.',
    options: {
      connect: { type: "string" },
      dir: { type: "string" },
      "heartbeat-interval": { type: "string" },
      "heartbeat-liveness": { type: "string" },
      "dispatch-interval": { type: "string" },
      "dispatch-timeout": { type: "string" },
      concurrency: { type: "string" },
      "max-pending": { type: "string" },
      "max-request-size": { type: "string" },
      "max-store-bytes": { type: "string" },
      ...PENDING_TIMEOUT.options,
      ...METRICS_FLAG.options,
    },
    async run(ctx) {
      const endpoint = strArg(ctx.values, "connect", true);
      const dir = strArg(ctx.values, "dir", true);
      const heartbeatInterval = intArg(ctx.values, "heartbeat-interval", 2500, 1);
      const dispatchInterval = intArg(ctx.values, "dispatch-interval", d.dispatchInterval, 1);
      const server = usage(
        () =>
          new TitanicServer({
            endpoint,
            dir,
            heartbeatInterval,
            heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", 3, 1),
            reconnectInterval: Math.min(2500, heartbeatInterval),
            dispatchInterval,
            dispatchTimeout: intArg(ctx.values, "dispatch-timeout", d.dispatchTimeout, 1),
            concurrency: intArg(ctx.values, "concurrency", d.concurrency, 1),
            maxPending: intArg(ctx.values, "max-pending", d.maxPending, 1),
            maxRequestSize: intArg(ctx.values, "max-request-size", d.maxRequestSize, 1),
            maxStoreBytes: intArg(ctx.values, "max-store-bytes", d.maxStoreBytes, 1),
            ...PENDING_TIMEOUT.read(ctx.values),
            logger: ctx.logger,
          }),
      );
      server.on("request:completed", (e) => ctx.out.log(`completed ${e.uuid} (${e.service})`, { event: "request:completed", uuid: e.uuid, service: e.service }));
      // Refusals and expiries can come by the thousand (a flood): logEvents summarises them.
      observe(ctx, "titanic", server, ["request:refused", "request:expired"], { table: { gauges: ["bytes", "servicesDown"] } });
      await server.start();
      ctx.out.result(`titanic ready (${server.stats().pending} pending)`, { ready: true, pending: server.stats().pending });
      return serve(ctx, server);
    },
  },
];
