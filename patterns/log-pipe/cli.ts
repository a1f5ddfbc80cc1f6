/**
 * `zpatterns pipe` (after Message::Passing's `message-pass`).
 * @module
 */
import { createReadStream } from "node:fs";
import { EXIT, UsageError, choiceArg, intArg, listArg, observe, strArg, type CliCommand, type CliValues, type Output } from "../../src/cli/cli.js";
import { METRICS_FLAG } from "../../src/cli/flags.js";
import { FileOutput } from "./file-output.js";
import { LineInput } from "./line-input.js";
import { Pipe, loadFilter, type PipeInput, type PipeOutput, type PipeStats } from "./pipe.js";
import { LogReceiver } from "./receiver.js";
import { LogSender } from "./sender.js";
import { StreamOutput } from "./stream-output.js";

const PIPE_HELP = `Moves log messages from an input, through optional filters, to an output. On ZeroMQ every
message is ONE frame holding one JSON document (Message::Passing's convention).

Ends:
  --input stdin|zmq|file      where messages come from (default stdin)
  --output stdout|zmq|file    where they go (default stdout)

ZeroMQ ends:
  --bind EP, --connect EP     endpoint of the zmq end, when only one end is zmq (repeatable)
  --input-bind EP, --input-connect EP, --output-bind EP, --output-connect EP
                              endpoints of each end, required when both ends are zmq (repeatable)
  --socket-type TYPE          sub|pull for the input (default sub), pub|push for the output
                              (default pub); give it twice when both ends are zmq
  --hwm N                     high-water mark and queue limit, messages (default 10000)
  --subscribe PREFIX          SUB prefix (repeatable; default: everything)
  --overflow drop-newest|drop-oldest
                              what a full queue drops (default drop-newest)
  --linger MS                 time allowed at exit for queued messages to leave (default 1000)

File ends:
  --file PATH                 the file end, when only one end is a file
  --input-file PATH, --output-file PATH
                              each end's file; output files are appended to, one JSON document
                              per line, and reopened on SIGHUP (log rotation)

Processing:
  --codec json|raw            json (default): a line that is not JSON is reported on stderr,
                              counted as invalid and never sent; raw: passed through as text
  --filter PATH               JS module whose default export gets each message and returns it
                              (changed or not) or undefined/null/false to drop it; may be async
                              (repeatable, applied in order)
  --count N                   stop after N input messages
${METRICS_FLAG.help(30)}

On exit the counters (in, out, dropped, invalid, filtered, malformed, errors) are printed on
stderr (a JSON line with --json). The sender never blocks: with the collector down it holds at
most --hwm messages, drops the rest, and reports them.

Examples:
  zpatterns pipe --input zmq --bind tcp://*:5558 --socket-type pull --output file --file app.log
  app | zpatterns pipe --output zmq --connect tcp://collector:5558 --socket-type push`;

const PIPE_OPTIONS = {
  input: { type: "string" },
  output: { type: "string" },
  bind: { type: "string", multiple: true },
  connect: { type: "string", multiple: true },
  "input-bind": { type: "string", multiple: true },
  "input-connect": { type: "string", multiple: true },
  "output-bind": { type: "string", multiple: true },
  "output-connect": { type: "string", multiple: true },
  "socket-type": { type: "string", multiple: true },
  hwm: { type: "string" },
  subscribe: { type: "string", multiple: true },
  overflow: { type: "string" },
  linger: { type: "string" },
  file: { type: "string" },
  "input-file": { type: "string" },
  "output-file": { type: "string" },
  codec: { type: "string" },
  filter: { type: "string", multiple: true },
  count: { type: "string" },
  ...METRICS_FLAG.options,
} as const;

/** The endpoints of one zmq end, from its own flags or the shared --bind/--connect. */
function endsOf(values: CliValues, side: "input" | "output", shared: boolean): { bind: string[]; connect: string[] } {
  const bind = [...listArg(values, `${side}-bind`), ...(shared ? listArg(values, "bind") : [])];
  const connect = [...listArg(values, `${side}-connect`), ...(shared ? listArg(values, "connect") : [])];
  if (bind.length + connect.length === 0) throw new UsageError(`--${side} zmq needs --${side}-bind/--${side}-connect${shared ? " (or --bind/--connect)" : ""}`);
  return { bind, connect };
}

function fileOf(values: CliValues, side: "input" | "output", shared: boolean): string {
  const path = strArg(values, `${side}-file`) ?? (shared ? strArg(values, "file") : undefined);
  if (path === undefined) throw new UsageError(`--${side} file needs --${side}-file${shared ? " (or --file)" : ""}`);
  return path;
}

function socketType<T extends string>(values: CliValues, choices: readonly T[], def: T): T {
  const given = listArg(values, "socket-type").filter((t) => (choices as readonly string[]).includes(t));
  if (given.length > 1) throw new UsageError(`--socket-type given twice for the same end: ${given.join(", ")}`);
  return (given[0] as T | undefined) ?? def;
}

/** Build input and output from the command line. */
async function pipeEnds(values: CliValues, out: Output): Promise<{ input: PipeInput; output: PipeOutput; file?: FileOutput; describe: string }> {
  const inKind = choiceArg(values, "input", ["stdin", "zmq", "file"] as const, "stdin");
  const outKind = choiceArg(values, "output", ["stdout", "zmq", "file"] as const, "stdout");
  for (const t of listArg(values, "socket-type")) {
    if (!["pub", "sub", "push", "pull"].includes(t)) throw new UsageError(`--socket-type expects one of pub, sub, push, pull, got ${JSON.stringify(t)}`);
    if ((t === "sub" || t === "pull") && inKind !== "zmq") throw new UsageError(`--socket-type ${t} is for a zmq input, but --input is ${inKind}`);
    if ((t === "pub" || t === "push") && outKind !== "zmq") throw new UsageError(`--socket-type ${t} is for a zmq output, but --output is ${outKind}`);
  }
  const bothZmq = inKind === "zmq" && outKind === "zmq";
  if (bothZmq && (values.bind !== undefined || values.connect !== undefined)) {
    throw new UsageError("both ends are zmq: use --input-bind/--input-connect and --output-bind/--output-connect instead of --bind/--connect");
  }
  if (inKind === "file" && outKind === "file" && values.file !== undefined) throw new UsageError("both ends are files: use --input-file and --output-file");
  if (!bothZmq && inKind !== "zmq" && outKind !== "zmq" && (values.bind !== undefined || values.connect !== undefined)) {
    throw new UsageError("--bind/--connect need a zmq end (--input zmq or --output zmq)");
  }
  const hwm = intArg(values, "hwm", 10_000, 1);
  const overflow = choiceArg(values, "overflow", ["drop-newest", "drop-oldest"] as const, "drop-newest");
  const linger = intArg(values, "linger", 1000, 0);
  const parts: string[] = [];

  let input: PipeInput;
  if (inKind === "zmq") {
    const ends = endsOf(values, "input", !bothZmq);
    const type = socketType(values, ["sub", "pull"] as const, "sub");
    const receiver = new LogReceiver({ type, ...ends, hwm, subscribe: listArg(values, "subscribe") });
    try {
      await receiver.start();
    } catch (error) {
      await receiver.close();
      throw error;
    }
    input = receiver;
    parts.push(`zmq ${type} ${[...receiver.endpoints.map((e) => `bind ${e}`), ...ends.connect.map((e) => `connect ${e}`)].join(" ")}`);
  } else if (inKind === "file") {
    const path = fileOf(values, "input", inKind !== outKind);
    input = new LineInput(createReadStream(path));
    parts.push(`file ${path}`);
  } else {
    input = new LineInput(process.stdin);
    parts.push("stdin");
  }
  if (inKind !== "zmq" && values.subscribe !== undefined) throw new UsageError("--subscribe needs --input zmq with --socket-type sub");

  try {
    const { output, file } = await pipeOutput(values, out, outKind, inKind, bothZmq, hwm, overflow, linger, parts);
    return { input, output, file, describe: parts.join(" -> ") };
  } catch (error) {
    await input.close();
    throw error;
  }
}

async function pipeOutput(values: CliValues, out: Output, outKind: string, inKind: string, bothZmq: boolean, hwm: number, overflow: "drop-newest" | "drop-oldest", linger: number, parts: string[]): Promise<{ output: PipeOutput; file?: FileOutput }> {
  let output: PipeOutput;
  let file: FileOutput | undefined;
  if (outKind === "zmq") {
    const ends = endsOf(values, "output", !bothZmq);
    const type = socketType(values, ["pub", "push"] as const, "pub");
    const sender = new LogSender({ type, ...ends, hwm, overflow, linger });
    try {
      await sender.start();
    } catch (error) {
      await sender.close();
      throw error;
    }
    sender.on("subscribers:changed", ({ subscriptions }) => out.log(`pipe: ${subscriptions > 0 ? "a subscriber arrived" : "no subscribers left"}`, { event: "pipe:subscribers", subscriptions }));
    output = sender;
    parts.push(`zmq ${type} ${[...sender.endpoints.map((e) => `bind ${e}`), ...ends.connect.map((e) => `connect ${e}`)].join(" ")}`);
  } else if (outKind === "file") {
    const path = fileOf(values, "output", inKind !== outKind);
    output = file = new FileOutput(path);
    parts.push(`file ${path}`);
  } else {
    output = new StreamOutput(process.stdout);
    parts.push("stdout");
  }
  return { output, file };
}

function statsLine(stats: PipeStats): string {
  return `pipe: in=${stats.in} out=${stats.out} dropped=${stats.dropped} invalid=${stats.invalid} filtered=${stats.filtered} malformed=${stats.malformed} errors=${stats.errors}`;
}

/** At most this many invalid lines are echoed on stderr; the rest are only counted. */
const MAX_REPORTS = 100;

const pipeCommand: CliCommand = {
  name: "pipe",
  summary: "Move JSON log messages: stdin|zmq|file -> filters -> stdout|zmq|file (Message::Passing)",
  usage: "[--input stdin|zmq|file] [--output stdout|zmq|file] [--bind EP|--connect EP] [options]",
  help: PIPE_HELP,
  options: PIPE_OPTIONS,
  async run(ctx) {
    const { values, out } = ctx;
    const codec = choiceArg(values, "codec", ["json", "raw"] as const, "json");
    const count = intArg(values, "count", 0, 1);
    const overflow = choiceArg(values, "overflow", ["drop-newest", "drop-oldest"] as const, "drop-newest");
    const hwm = intArg(values, "hwm", 10_000, 1);
    const filters = await Promise.all(listArg(values, "filter").map((path) => loadFilter(path)));
    // A bad endpoint or option reaches runCli as an InvalidOptionError naming it: exit code 2.
    const { input, output, file, describe } = await pipeEnds(values, out);
    let reports = 0;
    const report = (what: string, record: Record<string, unknown>) => {
      if (++reports > MAX_REPORTS) return;
      out.log(`pipe: ${what}${reports === MAX_REPORTS ? " (further ones are only counted)" : ""}`, record);
    };
    const pipe = new Pipe({
      input,
      output,
      codec,
      filters,
      count,
      backlog: hwm,
      overflow,
      signal: ctx.signal,
      onInvalid: (text, error) => report(`invalid JSON, not sent: ${text.slice(0, 200)}`, { event: "pipe:invalid", line: text.slice(0, 200), error: String(error) }),
      onFilterError: (error) => report(`filter failed: ${String(error)}`, { event: "pipe:filter-error", error: String(error) }),
      logger: ctx.logger,
    });
    observe(ctx, "log_pipe", pipe);
    const onHup = () => {
      if (file?.reopen()) out.log(`pipe: reopened ${file.path}`, { event: "pipe:reopened", file: file.path });
      else out.log(`pipe: cannot reopen ${file?.path}; lines are dropped (counted) until the next SIGHUP`, { event: "pipe:reopen-failed", file: file?.path });
    };
    if (file) process.on("SIGHUP", onHup);
    out.log(`pipe: ${describe}`, { event: "pipe:started", route: describe });
    try {
      const stats = await pipe.run();
      out.log(statsLine(stats), { event: "pipe:stats", ...stats });
      return EXIT.OK;
    } finally {
      if (file) process.off("SIGHUP", onHup);
    }
  },
};

/** The log pipe's commands, registered in patterns/cli/commands.ts. */
export const logPipeCommands: CliCommand[] = [pipeCommand];
