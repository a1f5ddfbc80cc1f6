/**
 * `zpatterns freelance server` and `zpatterns freelance client`: 10/FLP on the command line.
 * @module
 */
import { EXIT, UsageError, handlerArg, kv, runRequests, listArg, logEvents, observe, startOrReport, strArg, usage, aborted, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { FLAGS, FlagGroup, METRICS_FLAG, REQUEST_FLAGS, type Flag } from "../../src/cli/flags.js";
import { FreelanceClient, PING_INTERVAL, SERVER_TTL } from "./client.js";
import { FreelanceServer } from "./server.js";

const pingInterval: Flag = { name: "ping-interval", option: "pingInterval", arg: "MS", text: "ms between pings to a live server (default {default})", def: PING_INTERVAL, min: 1 };
const serverTtl: Flag = { name: "server-ttl", option: "serverTtl", arg: "MS", text: "a server is dead this long after its last message (default {default})", def: SERVER_TTL, min: 1 };
const maxInFlight: Flag = FLAGS.maxInFlight;
const serverMaxInFlight: Flag = { ...maxInFlight, text: "handlers running at once (default {default})" };
const serverMaxPending: Flag = { ...FLAGS.maxPending, text: "requests waiting for a handler (default {default})", def: 1000 };

const CLIENT_FLAGS = new FlagGroup([...REQUEST_FLAGS.flags, pingInterval, serverTtl, maxInFlight, FLAGS.clientMaxPending]);
const SERVER_FLAGS = new FlagGroup([serverMaxInFlight, serverMaxPending, FLAGS.sendQueueLimit]);

const serverCommand: CliCommand = {
  name: "freelance server",
  summary: "Run a Freelance (10/FLP) server: routing id = its endpoint, PING/PONG, CCF echoed",
  usage: "--bind EP [--handler echo|upper|PATH] [options]",
  help: `Options:
  --bind EP                 the endpoint to bind, as clients connect to it (it is the
                            server's routing id), e.g. tcp://192.168.1.5:5555
  --handler H               echo, upper, or the path of a JS module whose default export is
                            the handler (frames) => reply (default echo)
${SERVER_FLAGS.help(28)}
${METRICS_FLAG.help(28)}

Prints "server ready protocol=freelance endpoint=EP handler=H" once bound; runs until
SIGINT/SIGTERM, then prints "server stopped k=v...".`,
  options: { bind: { type: "string" }, handler: { type: "string" }, ...SERVER_FLAGS.options, ...METRICS_FLAG.options },
  async run(ctx) {
    const bind = strArg(ctx.values, "bind", true);
    const { spec, handler } = await handlerArg(ctx.values);
    const server = usage(() => new FreelanceServer({ bind, handler, ...SERVER_FLAGS.read(ctx.values), logger: ctx.logger }));
    observe(ctx, "freelance_server", server, ["message:malformed", "request:failed", "request:dropped"]);
    if (!(await startOrReport(ctx, server))) return EXIT.FAILURE;
    ctx.out.result(`server ready protocol=freelance endpoint=${server.endpoint} handler=${spec}`, { event: "ready", role: "server", protocol: "freelance", endpoint: server.endpoint, handler: spec });
    await aborted(ctx.signal);
    await server.close();
    ctx.out.result(`server stopped ${kv(server.stats())}`, { event: "stopped", role: "server", ...server.stats() });
    return EXIT.OK;
  },
};

const clientCommand: CliCommand = {
  name: "freelance client",
  summary: "Freelance (10/FLP) client over several servers; prints replies",
  usage: "--connect EP [--connect EP...] [--shotgun] [--timeout MS] [--retries N] [--count N] [PAYLOAD...]",
  help: `Sends each PAYLOAD as a one-frame request (or, with --count N and no PAYLOAD,
"request-1" .. "request-N"; with neither, one request per non-empty line of stdin) and prints
each reply on one line, its frames separated by a TAB (non-printable frames as 0x + hex), in
the order the replies arrive. With --json each reply is a JSON line {"request", "reply"}.

The client pings every server, sends each request to a live one and, after --timeout, to
another live one, up to --retries times; with --shotgun every attempt goes to every live
server and the first reply wins. Exits 0 when every request was answered, 1 otherwise.

Options:
  --connect EP              a server's endpoint, exactly as the server bound it (required;
                            repeat for each server)
  --shotgun                 send each attempt to all live servers (Guide model 2)
${CLIENT_FLAGS.help(28)}
  --count N                 send request-1 .. request-N

Servers coming and going and abandoned requests are reported on stderr.`,
  options: {
    connect: { type: "string", multiple: true },
    shotgun: { type: "boolean" },
    count: { type: "string" },
    ...CLIENT_FLAGS.options,
  },
  allowPositionals: true,
  run: runClient,
};

/** The commands this pattern adds to `zpatterns`. */
export const freelanceCommands: CliCommand[] = [serverCommand, clientCommand];

async function runClient(ctx: CliContext): Promise<number> {
  const { values, signal } = ctx;
  const endpoint = listArg(values, "connect");
  if (endpoint.length === 0) throw new UsageError("--connect is required");
  const flags = CLIENT_FLAGS.read(values);
  const client = usage(() => new FreelanceClient({ endpoint, mode: values.shotgun === true ? "shotgun" : "agent", ...flags, signal }));
  logEvents(ctx, client, ["server:alive", "server:dead", "request:abandoned", "message:malformed"]);
  return runRequests(ctx, client, { concurrency: Number(flags.maxInFlight) + Number(flags.maxPending) });
}
