/**
 * `zpatterns titanic --connect EP --dir DIR`: run a 9/TSP server until SIGINT/SIGTERM.
 * @module
 */
import { intArg, serve, strArg, usage, type CliCommand } from "../../src/cli/cli.js";
import { TitanicServer } from "./server.js";

/** The Titanic commands. */
export const titanicCommands: CliCommand[] = [
  {
    name: "titanic",
    summary: "Run a Titanic server (9/TSP: titanic.request/reply/close) against a Majordomo broker",
    usage: "--connect EP --dir DIR [--heartbeat MS] [--liveness N] [--dispatch MS] [--timeout MS]",
    help: "Options:\n  --connect EP     Majordomo broker endpoint\n  --dir DIR        directory for stored requests and replies (survives restarts)\n  --heartbeat MS   MDP heartbeat interval (default 2500; use the broker's)\n  --liveness N     silent intervals before the broker is dead (default 3)\n  --dispatch MS    ms between dispatcher passes over pending requests (default 1000)\n  --timeout MS     ms to wait for a real service's reply (default 2500)\n\nPrints \"titanic ready\" once its services are registering; runs until SIGINT/SIGTERM.",
    options: { connect: { type: "string" }, dir: { type: "string" }, heartbeat: { type: "string" }, liveness: { type: "string" }, dispatch: { type: "string" }, timeout: { type: "string" } },
    async run(ctx) {
      const endpoint = strArg(ctx.values, "connect", true);
      const dir = strArg(ctx.values, "dir", true);
      const heartbeatInterval = intArg(ctx.values, "heartbeat", 2500, 1);
      const server = usage(() => new TitanicServer({
        endpoint,
        dir,
        heartbeatInterval,
        heartbeatLiveness: intArg(ctx.values, "liveness", 3, 1),
        reconnectInterval: Math.min(2500, heartbeatInterval),
        dispatchInterval: intArg(ctx.values, "dispatch", 1000, 1),
        dispatchTimeout: intArg(ctx.values, "timeout", 2500, 1),
      }));
      await server.start();
      ctx.out.result(`titanic ready (${server.stats().pending} pending)`, { ready: true, pending: server.stats().pending });
      server.on("request:completed", (e) => ctx.out.log(`completed ${e.uuid} (${e.service})`, { event: "request:completed", uuid: e.uuid, service: e.service }));
      return serve(ctx, server);
    },
  },
];
