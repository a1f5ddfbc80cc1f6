/**
 * `zpatterns mongrel2`: run a node:http request listener as a Mongrel2 handler until
 * SIGINT/SIGTERM, then drain the requests in flight.
 * @module
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { EXIT, UsageError, aborted, kv, observe, startOrUsage, strArg, usage, type CliCommand } from "../../src/cli/cli.js";
import { FLAGS, FlagGroup, METRICS_FLAG, type Flag } from "../../src/cli/flags.js";
import { Mongrel2Handler } from "./handler.js";
import type { RequestListener } from "./http.js";

const maxInFlight: Flag = { ...FLAGS.maxInFlight, text: "requests answered at once (default {default})" };
const maxPending: Flag = { ...FLAGS.maxPending, text: "requests waiting for a slot; beyond, 503 (default {default})", def: 1000, min: 0 };
const maxRequestSize: Flag = { name: "max-request-size", option: "maxRequestSize", arg: "BYTES", text: "largest request accepted; beyond, 413 (default {default})", def: 16 * 1024 * 1024, min: 64 };
const drainTimeout: Flag = { name: "drain-timeout", option: "drainTimeout", arg: "MS", text: "on SIGINT/SIGTERM, wait this long for requests in flight (default {default})", def: 10_000, min: 0 };
const FLAG_GROUP = new FlagGroup([maxInFlight, maxPending, maxRequestSize, drainTimeout, FLAGS.sendQueueLimit]);

/** Load FILE's default export: a node:http request listener. */
async function loadListener(file: string): Promise<RequestListener> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
  } catch (error) {
    throw new UsageError(`--handler ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof mod.default !== "function") throw new UsageError(`--handler ${file}: its default export must be a request listener (req, res) => ...`);
  return mod.default as RequestListener;
}

const command: CliCommand = {
  name: "mongrel2",
  summary: "Run a node:http request listener as a Mongrel2 handler (PULL from send_spec, PUB to recv_spec)",
  usage: "--send-spec EP --recv-spec EP --handler FILE [--sender-id ID] [options]",
  help: `FILE is a JS module whose default export is a request listener, the function you would
give http.createServer(): (req, res) => { ... } (an Express app is one). Serves until
SIGINT/SIGTERM, then stops taking requests (mongrel2 keeps new ones for the other handlers,
or until one connects) and waits up to --drain-timeout for those in flight.

Options:
  --send-spec EP            the handler's send_spec in mongrel2's config (required)
  --recv-spec EP            the handler's recv_spec (required)
  --handler FILE            the request listener module (required)
  --sender-id ID            this handler's socket identity (default a random UUID)
  --upload-dir DIR          where mongrel2 writes uploads, as seen from here (chroot +
                            the directory of upload.temp_store); without it, 413
${FLAG_GROUP.help(28)}
${METRICS_FLAG.help(28)}

Prints "handler ready protocol=mongrel2 send=EP recv=EP sender=ID handler=FILE" once
connecting, then "handler stopped k=v..." after draining.`,
  options: { "send-spec": { type: "string" }, "recv-spec": { type: "string" }, handler: { type: "string" }, "sender-id": { type: "string" }, "upload-dir": { type: "string" }, ...FLAG_GROUP.options, ...METRICS_FLAG.options },
  async run(ctx) {
    const sendSpec = strArg(ctx.values, "send-spec", true);
    const recvSpec = strArg(ctx.values, "recv-spec", true);
    const file = strArg(ctx.values, "handler", true);
    const senderId = strArg(ctx.values, "sender-id");
    const uploadDir = strArg(ctx.values, "upload-dir");
    const listener = await loadListener(file);
    const handler = usage(() => new Mongrel2Handler({ sendSpec, recvSpec, listener, ...(senderId === undefined ? {} : { senderId }), ...(uploadDir === undefined ? {} : { uploadDir }), ...FLAG_GROUP.read(ctx.values), logger: ctx.logger }));
    observe(ctx, "mongrel2_handler", handler, ["request:failed", "request:dropped", "response:dropped", "upload:refused", "message:malformed"]);
    await startOrUsage(handler);
    ctx.out.result(`handler ready protocol=mongrel2 send=${sendSpec} recv=${recvSpec} sender=${handler.senderId} handler=${file}`, { event: "ready", role: "handler", protocol: "mongrel2", sendSpec, recvSpec, senderId: handler.senderId, handler: file });
    await aborted(ctx.signal);
    await handler.close();
    ctx.out.result(`handler stopped ${kv(handler.stats())}`, { event: "stopped", role: "handler", ...handler.stats() });
    return EXIT.OK;
  },
};

/** The commands this pattern adds to `zpatterns`. */
export const mongrel2Commands: CliCommand[] = [command];
