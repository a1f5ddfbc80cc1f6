/**
 * `zpatterns client`: the Lazy Pirate client on the command line.
 * @module
 */
import { MAX_PENDING } from "../../src/index.js";
import { UsageError, intArg, runRequests, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { EXACTLY_ONCE_CLIENT_FLAGS, FLAGS, FlagGroup, REQUEST_FLAGS } from "../../src/cli/flags.js";
import { LazyPirateClient } from "./client.js";
import type { ClientOptions } from "./common.js";
import { PipelinedClient } from "./pipelined.js";

const FAILOVER_FLAGS = new FlagGroup([FLAGS.failoverDelay]);

const HELP = `Sends each PAYLOAD as a one-frame request (or, with --count N and no PAYLOAD,
"request-1" .. "request-N"; with neither, one request per non-empty line of stdin) and prints
each reply on one line, its frames separated by a TAB (non-printable frames as 0x + hex).
With --json each reply is a JSON line {"request", "reply": [frames]}.

On timeout the REQ socket is closed (linger 0), reopened and the request resent, up to
--retries times; then the request is abandoned, the client stops and exits 1. With several
--connect endpoints the client talks to one at a time and moves to the next after a timeout
(waiting --failover-delay first: 2000 for a Binary Star pair, as the Guide's client does).

Options:
  --connect EP        endpoint of a REP server or a queue frontend (required; repeat for failover)
${REQUEST_FLAGS.help(22)}
${FAILOVER_FLAGS.help(22)}
${EXACTLY_ONCE_CLIENT_FLAGS.help(22)}
  --backoff MS        delay before the first resend, doubling after each (default 0)
  --count N           send request-1 .. request-N
  --pipelined         DEALER with request ids, many requests in flight (for queues that
                      forward the address stack: simple/paranoid pirate); replies are
                      printed as they arrive and an abandoned request does not stop the rest
  --max-in-flight N   in-flight window with --pipelined (default 100)
  --max-pending N     requests waiting for their turn with --pipelined (default ${MAX_PENDING}); input is
                      read no faster than the window and this queue drain

Retries and abandoned requests are reported on stderr.`;

/** The commands this pattern adds to `zpatterns`. */
export const lazyPirateCommands: CliCommand[] = [
  {
    name: "client",
    summary: "Lazy Pirate client: requests with timeout, retries and reconnect; prints replies",
    usage: "--connect EP [--connect EP...] [--timeout MS] [--retries N] [--count N] [--pipelined] [PAYLOAD...]",
    help: HELP,
    options: {
      connect: { type: "string", multiple: true },
      ...REQUEST_FLAGS.options,
      ...FAILOVER_FLAGS.options,
      ...EXACTLY_ONCE_CLIENT_FLAGS.options,
      backoff: { type: "string" },
      count: { type: "string" },
      pipelined: { type: "boolean" },
      "max-in-flight": { type: "string" },
      "max-pending": { type: "string" },
    },
    allowPositionals: true,
    run: runClient,
  },
];

async function runClient(ctx: CliContext): Promise<number> {
  const { values, out, signal } = ctx;
  const endpoint = (values.connect as string[] | undefined) ?? [];
  if (endpoint.length === 0) throw new UsageError("--connect is required");
  for (const ep of endpoint) {
    if (!/^[a-z][a-z0-9+.-]*:\/\/.+/i.test(ep)) throw new UsageError(`--connect expects an endpoint such as tcp://127.0.0.1:5555, got ${JSON.stringify(ep)}`);
  }
  const pipelined = values.pipelined === true;
  const initial = intArg(values, "backoff", 0, 0);
  const options: ClientOptions = {
    endpoint,
    ...(REQUEST_FLAGS.read(values) as { requestTimeout: number; retries: number }),
    ...(FAILOVER_FLAGS.read(values) as { failoverDelay: number }),
    ...(EXACTLY_ONCE_CLIENT_FLAGS.read(values) as { exactlyOnce: boolean; clientId?: string }),
    backoff: { initial },
    maxPending: intArg(values, "max-pending", MAX_PENDING, 0),
    signal,
  };
  const maxInFlight = intArg(values, "max-in-flight", 100, 1);

  const client = pipelined ? new PipelinedClient({ ...options, maxInFlight }) : new LazyPirateClient(options);
  client.on("request:retry", (e) =>
    out.log(`no reply within ${e.timeout} ms, retrying (attempt ${e.attempt}, ${e.retriesLeft} retries left)`, { event: "retry", attempt: e.attempt, retriesLeft: e.retriesLeft }),
  );
  // Pipelined: never more requests at once than the window plus the pending queue hold.
  // REQ: one at a time, and the first abandoned request ends the run.
  return runRequests(ctx, client, pipelined ? { concurrency: maxInFlight + options.maxPending! } : { concurrency: 1, stopOnFailure: true });
}
