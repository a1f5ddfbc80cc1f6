/**
 * `zpatterns bstar`: one server of a Binary Star pair as a process. Prints one status line
 * when bound (tests wait for it), logs every state change on stderr, exits 1 on a fatal
 * transition (both active / both passive: recovery is manual), and stops cleanly on
 * SIGINT/SIGTERM (exit 0) with a stats line.
 * @module
 */
import { EXIT, aborted, choiceArg, handlerArg, kv, listArg, observe, startOrReport, strArg, usage, UsageError, type CliCommand } from "../../src/cli/cli.js";
import { FLAGS, FlagGroup, METRICS_FLAG } from "../../src/cli/flags.js";
import { BINARY_STAR_ROLES, BSTAR_HEARTBEAT_INTERVAL } from "./fsm.js";
import { BinaryStarServer } from "./server.js";

const BSTAR_FLAGS = new FlagGroup([{ ...FLAGS.heartbeatInterval, def: BSTAR_HEARTBEAT_INTERVAL, text: "ms between state messages; the peer expires after 2 x this (default {default}; use the same on both)" }]);

const bstarCommand: CliCommand = {
  name: "bstar",
  summary: "Run one server of a Binary Star (primary/backup) request-reply pair",
  usage: "--role primary|backup --frontend EP --local EP --remote EP [--handler echo|upper|PATH] [options]",
  help: `Options:
  --role R                  primary or backup (one of each per pair)
  --frontend EP             endpoint for clients (repeatable), e.g. tcp://*:5001
  --local EP                this server's state PUB (bound), e.g. tcp://*:5003
  --remote EP               the peer's state PUB (connected), e.g. tcp://127.0.0.1:5004
  --handler H               echo, upper, or the path of a JS module whose default export is
                            the handler (frames) => reply (default echo)
${BSTAR_FLAGS.help(28)}
${METRICS_FLAG.help(28)}

Only the active server answers; requests to the other are dropped (the client times out and
fails over). A passive server becomes active on a client request once the peer has been
silent for 2 x the heartbeat interval; a backup that never saw its primary never does.

Prints "bstar ready role=R state=S frontend=EP local=EP remote=EP handler=H" once bound,
"bstar:state from=S to=S event=E" on stderr on each change, and exits 1 on a fatal
transition (both servers active or passive).`,
  options: {
    role: { type: "string" },
    frontend: { type: "string", multiple: true },
    local: { type: "string" },
    remote: { type: "string" },
    handler: { type: "string" },
    ...BSTAR_FLAGS.options,
    ...METRICS_FLAG.options,
  },
  async run(ctx) {
    if (ctx.values.role === undefined) throw new UsageError("--role is required (primary or backup)");
    const role = choiceArg(ctx.values, "role", BINARY_STAR_ROLES);
    const frontend = listArg(ctx.values, "frontend");
    if (frontend.length === 0) throw new UsageError("--frontend is required");
    const local = strArg(ctx.values, "local", true);
    const remote = strArg(ctx.values, "remote", true);
    const { spec, handler } = await handlerArg(ctx.values);
    const server = usage(() => new BinaryStarServer({ role, frontend, local, remote, handler, ...BSTAR_FLAGS.read(ctx.values), logger: ctx.logger }));
    observe(ctx, "binary_star_server", server, ["bstar:state", "bstar:fatal", "request:failed", "message:malformed"]);
    let fatal: string | undefined;
    const stop = new AbortController();
    server.on("bstar:fatal", (f) => {
      fatal = f.reason;
      stop.abort();
    });
    if (!(await startOrReport(ctx, server))) return EXIT.FAILURE;
    const line = { role, state: server.haState, frontend: server.endpoints.join(","), local: server.star.localEndpoint ?? local, remote, handler: spec };
    ctx.out.result(`bstar ready ${Object.entries(line).map(([k, v]) => `${k}=${v}`).join(" ")}`, { event: "ready", ...line });
    await aborted(AbortSignal.any([ctx.signal, stop.signal]));
    await server.close();
    ctx.out.result(`bstar stopped state=${server.haState} ${kv(server.stats())}`, { event: "stopped", ...server.stats() });
    if (fatal !== undefined) {
      ctx.out.error(`fatal: ${fatal} (both servers cannot go on; restart them by hand)`);
      return EXIT.FAILURE;
    }
    return EXIT.OK;
  },
};

/** The Binary Star command (`bstar`), registered in the CLI command registry. */
export const bstarCommands: CliCommand[] = [bstarCommand];
