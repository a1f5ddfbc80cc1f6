/**
 * `zpatterns titanic --connect EP --dir DIR`: run a 9/TSP server until SIGINT/SIGTERM.
 * Registered by the command registry (`commands.ts`), beside the Majordomo commands.
 * @module
 */
import { intArg, observe, serve, strArg, usage, type CliCommand } from "../../src/cli/cli.js";
import { METRICS_FLAG } from "../../src/cli/flags.js";
import { TitanicServer } from "./server.js";

/** The Titanic commands. */
export const titanicCommands: CliCommand[] = [
  {
    name: "titanic",
    summary: "Run a Titanic server (9/TSP: titanic.request/reply/close) against a Majordomo broker",
    usage: "--connect EP --dir DIR [--heartbeat-interval MS] [--heartbeat-liveness N] [--dispatch-interval MS] [--dispatch-timeout MS] [--max-pending N]",
    help:
      "Options:\n" +
      "  --connect EP              Majordomo broker endpoint\n" +
      "  --dir DIR                 directory for stored requests and replies (survives restarts)\n" +
      "  --heartbeat-interval MS   MDP heartbeat interval (default 2500; use the broker's)\n" +
      "  --heartbeat-liveness N    silent intervals before the broker is dead (default 3)\n" +
      "  --dispatch-interval MS    ms between dispatcher passes over pending requests (default 1000)\n" +
      "  --dispatch-timeout MS     ms to wait for a real service's reply (default 2500)\n" +
      "  --max-pending N           requests stored and waiting at most; beyond, 500 (default 100000)\n" +
      `${METRICS_FLAG.help(28)}\n\n` +
      'Prints "titanic ready" once its services are registering; runs until SIGINT/SIGTERM.',
    options: {
      connect: { type: "string" },
      dir: { type: "string" },
      "heartbeat-interval": { type: "string" },
      "heartbeat-liveness": { type: "string" },
      "dispatch-interval": { type: "string" },
      "dispatch-timeout": { type: "string" },
      "max-pending": { type: "string" },
      ...METRICS_FLAG.options,
    },
    async run(ctx) {
      const endpoint = strArg(ctx.values, "connect", true);
      const dir = strArg(ctx.values, "dir", true);
      const heartbeatInterval = intArg(ctx.values, "heartbeat-interval", 2500, 1);
      const server = usage(
        () =>
          new TitanicServer({
            endpoint,
            dir,
            heartbeatInterval,
            heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", 3, 1),
            reconnectInterval: Math.min(2500, heartbeatInterval),
            dispatchInterval: intArg(ctx.values, "dispatch-interval", 1000, 1),
            dispatchTimeout: intArg(ctx.values, "dispatch-timeout", 2500, 1),
            maxPending: intArg(ctx.values, "max-pending", 100_000, 1),
            logger: ctx.logger,
          }),
      );
      server.on("request:completed", (e) => ctx.out.log(`completed ${e.uuid} (${e.service})`, { event: "request:completed", uuid: e.uuid, service: e.service }));
      observe(ctx, "titanic", server);
      await server.start();
      ctx.out.result(`titanic ready (${server.stats().pending} pending)`, { ready: true, pending: server.stats().pending });
      return serve(ctx, server);
    },
  },
];
