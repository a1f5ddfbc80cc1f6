/**
 * The `zpatterns` command framework: subcommands (possibly nested: `pubsub serve`), `--help`
 * at every level, exit codes (0 success, 1 failure, 2 usage error), human output on a TTY and
 * JSON lines with `--json`, and an `AbortSignal` that SIGINT/SIGTERM abort so every command
 * stops cleanly. This framework knows no pattern: the command registry and the `zpatterns`
 * bin live in `patterns/cli/` (each pattern contributes its commands from its own `cli.ts`).
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ClosedError, InvalidOptionError } from "../errors.js";
import { framesToText } from "../frames.js";
import { loadHandler, type RequestHandler } from "../handlers.js";
import { createInterface } from "node:readline";
import { createLogger, LOG_LEVEL_NAMES, type LeveledLogger, type Logger, type LogLevel } from "../log.js";
import { parseHostPort, type MetricsTable, type StatsSource } from "../metrics/rules.js";

/** Exit codes of every command. */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/** Options table in `node:util` `parseArgs` form. */
export type CliOptions = NonNullable<ParseArgsConfig["options"]>;

/** Parsed option values. */
export type CliValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** What a command's `run` gets. */
export interface CliContext {
  /** Parsed options. */
  readonly values: CliValues;
  /** Positional arguments. */
  readonly positionals: string[];
  /** Output helper (human or JSON lines). */
  readonly out: Output;
  /** Aborted on SIGINT/SIGTERM: stop and clean up. */
  readonly signal: AbortSignal;
  /** The command's logger (`--log-level`, `--log-json`): pass it to library classes as `logger`. */
  readonly logger: Logger;
  /** With `--metrics`: where {@link observe} registers the command's components. */
  readonly metrics?: MetricsRegistrar;
}

/** What `--metrics` gives a command: register a component's stats (see zeromq-patterns/metrics). */
export interface MetricsRegistrar {
  register(component: string, source: StatsSource, table?: MetricsTable): () => void;
}

/** One subcommand. */
export interface CliCommand {
  /** Space-separated path, e.g. `"queue"` or `"pubsub serve"`. */
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** Usage text shown by `--help` (after the `Usage:` line). */
  readonly help: string;
  /** Usage line arguments, e.g. `"--connect EP [PAYLOAD...]"`. */
  readonly usage: string;
  readonly options: CliOptions;
  readonly allowPositionals?: boolean;
  /** Run the command; resolve with the exit code. Throw {@link UsageError} for bad usage. */
  run(ctx: CliContext): Promise<number>;
}

/** Bad command-line usage: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * True when `error` is the user's doing: a {@link UsageError}, or an {@link InvalidOptionError}
 * (an option value the user typed that a constructor refused). Exit code 2; every other error,
 * a `TypeError` from a bug included, is a failure (exit code 1).
 */
export function isUsageError(error: unknown): boolean {
  if (error instanceof UsageError || error instanceof InvalidOptionError) return true;
  // An InvalidOptionError from another copy of the package (it carries a stable code).
  return error instanceof TypeError && (error as { code?: unknown }).code === "ZMQP_INVALID_OPTION";
}

/** How {@link Output} logs. */
export interface OutputOptions {
  /** Lowest level logged (`--log-level`). Default `info`. */
  readonly level?: LogLevel;
  /** Log lines as pino-compatible JSON (`--log-json`): `time`, `level`, `msg`, `component`, fields. */
  readonly logJson?: boolean;
  /** The `component` field of JSON log lines (the command's name). */
  readonly component?: string;
  /** A summarised event is logged in full at most once per this many ms (default 10000). */
  readonly summaryInterval?: number;
}

/** Log levels a command line is written at. */
export type OutputLevel = "debug" | "info" | "warn" | "error";

/** Writes results as human text (TTY) or JSON lines (`--json`), and log lines through one leveled logger. */
export class Output {
  /** The leveled logger behind {@link Output.log} (give it to library classes as `logger`). */
  readonly logger: LeveledLogger;
  readonly #logJson: boolean;
  readonly #component: string | undefined;
  readonly #summaryInterval: number;
  readonly #summaries = new Map<string, { count: number; reasons: Map<string, number>; level: OutputLevel }>();
  #summaryTimer: NodeJS.Timeout | undefined;
  #windowStart = 0;

  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
    options: OutputOptions = {},
  ) {
    this.#logJson = options.logJson ?? false;
    this.#component = options.component;
    this.#summaryInterval = options.summaryInterval ?? 10_000;
    this.logger = createLogger({ level: options.level ?? "info", json: this.#logJson, write: (line) => this.stderr.write(line + "\n"), bindings: options.component ? { component: options.component } : {} });
  }

  /** A result line: `human` as text, or `record` as one JSON line. */
  result(human: string, record: Record<string, unknown>): void {
    this.stdout.write((this.json ? JSON.stringify(record) : human) + "\n");
  }

  /** A progress or log line on stderr at `level` (JSON lines keep it machine-readable). */
  log(human: string, record?: Record<string, unknown>, level: OutputLevel = "info"): void {
    if (!this.logger.enabled(level)) return;
    if (this.#logJson) this.logger.log(level, record ?? {}, human);
    else this.stderr.write((this.json && record ? JSON.stringify(record) : human) + "\n");
  }

  /** An error line on stderr (written at every log level). */
  error(message: string): void {
    if (this.#logJson) this.stderr.write(JSON.stringify({ time: Date.now(), level: 50, msg: message, ...(this.#component ? { component: this.#component } : {}), error: message }) + "\n");
    else this.stderr.write((this.json ? JSON.stringify({ error: message }) : `zpatterns: ${message}`) + "\n");
  }

  /**
   * A line for an event that can come once per message (a drop, a refusal, malformed input):
   * the first one of each `event` in an interval is logged in full, the others only counted
   * (by `reason`), and one summary line per event and interval gives the counts
   * (`request:dropped: 1234 more in 10000 ms reason=overflow:1200 reason=closed:34`; `windowMs` is
   * the time since that interval began). A flood
   * of bad frames costs a few lines, never one per frame. {@link Output.flush} writes what is
   * counted (at the end of a command).
   */
  logSummarised(event: string, human: string, record: Record<string, unknown>, reason?: string, level: OutputLevel = "warn"): void {
    if (!this.logger.enabled(level)) return;
    const entry = this.#summaries.get(event);
    if (!entry) {
      this.#summaries.set(event, { count: 0, reasons: new Map(), level });
      this.log(human, record, level);
      if (!this.#summaryTimer) {
        this.#windowStart = Date.now();
        this.#summaryTimer = setInterval(() => this.flush(), this.#summaryInterval);
        this.#summaryTimer.unref();
      }
      return;
    }
    entry.count++;
    const why = reason ?? "";
    entry.reasons.set(why, (entry.reasons.get(why) ?? 0) + 1);
  }

  /** Write the summary lines of what {@link Output.logSummarised} counted, and start a new interval. */
  flush(): void {
    const entries = [...this.#summaries];
    const windowMs = Date.now() - this.#windowStart;
    this.#windowStart = Date.now();
    this.#summaries.clear();
    clearInterval(this.#summaryTimer);
    this.#summaryTimer = undefined;
    for (const [event, { count, reasons, level }] of entries) {
      if (count === 0) continue;
      const byReason = Object.fromEntries([...reasons].filter(([r]) => r !== ""));
      const why = Object.entries(byReason).map(([r, n]) => ` reason=${r}:${n}`).join("");
      this.log(`${event}: ${count} more in ${windowMs} ms${why}`, { event: "log:summary", of: event, count, windowMs, reasons: byReason }, level);
    }
  }
}

/** Integer option value, or `def`; throws {@link UsageError} when not an integer >= min. */
export function intArg(values: CliValues, name: string, def: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return def;
  const n = typeof raw === "string" && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} expects an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** String option value; throws {@link UsageError} when required and missing. */
export function strArg(values: CliValues, name: string): string | undefined;
export function strArg(values: CliValues, name: string, required: true): string;
export function strArg(values: CliValues, name: string, required = false): string | undefined {
  const raw = values[name];
  if (raw === undefined) {
    if (required) throw new UsageError(`--${name} is required`);
    return undefined;
  }
  if (typeof raw !== "string") throw new UsageError(`--${name} expects a value`);
  return raw;
}

/** One of `choices`; throws {@link UsageError} otherwise. */
export function choiceArg<T extends string>(values: CliValues, name: string, choices: readonly T[], def?: T): T {
  const raw = values[name] ?? def;
  if (typeof raw !== "string" || !(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} expects one of ${choices.join(", ")}${raw === undefined ? "" : `, got ${JSON.stringify(raw)}`}`);
  }
  return raw as T;
}

/** All values of a repeatable string option. */
export function listArg(values: CliValues, name: string): string[] {
  const raw = values[name];
  if (raw === undefined) return [];
  return (Array.isArray(raw) ? raw : [raw]).map(String);
}

/** Resolves when `signal` aborts. */
/** `k=v` pairs of the numeric and boolean fields of `record` (for stats lines). */
export function kv(record: object): string {
  return Object.entries(record)
    .filter(([, v]) => typeof v === "number" || typeof v === "boolean")
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
}

/** Anything with an `on(event, listener)` method (every component of the package). */
export type EventSource = object;

type LooseEmitter = { on(event: string, listener: (payload?: Record<string, unknown>) => void): unknown };

/**
 * Events that can come once per message (drops, refusals, malformed input, failed logins):
 * {@link logEvents} summarises them ({@link Output.logSummarised}) instead of one line each.
 */
export const SUMMARISED_EVENTS = /^(?:(?:request|reply|response|message|kv|snapshot|upload):(?:dropped|malformed|refused|expired|discarded|unexpected|rejected|failed|aborted|duplicate)|worker:rejected|client:denied|subscription:denied|auth:denied)$/;

/**
 * Log `events` of `source` on stderr, one line each (`event k=v ...`; ids in hex, arrays as
 * their length, errors as their message), and as JSON lines with `--json`. Drops, refusals
 * and malformed input ({@link SUMMARISED_EVENTS}) are counted and summarised, one line per
 * interval, never one per message.
 */
export function logEvents(ctx: CliContext, source: EventSource, events: readonly string[]): void {
  for (const event of events) {
    const summarised = SUMMARISED_EVENTS.test(event);
    (source as LooseEmitter).on(event, (payload = {}) => {
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(payload)) fields[k] = Buffer.isBuffer(v) ? v.toString("hex") : Array.isArray(v) ? v.length : v instanceof Error ? v.message : v;
      const human = `${event} ${Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`.trimEnd();
      if (summarised) ctx.out.logSummarised(event, human, { event, ...fields }, typeof fields.reason === "string" ? fields.reason : typeof fields.status === "number" ? String(fields.status) : undefined);
      else ctx.out.log(human, { event, ...fields });
    });
  }
}

/**
 * The one line that makes a long-running command's component observable: log its `events`
 * ({@link logEvents}) and, with `--metrics`, export its stats as `zmq_patterns_<component>_*`
 * metrics (see zeromq-patterns/metrics). `stats` reads them when the component has no
 * `stats()` of its own (the job server's `status()`); `table` says what the keys cannot.
 *
 * ```ts
 * observe(ctx, "clone_server", server, ["message:malformed", "request:dropped"]);
 * ```
 */
export function observe(ctx: CliContext, component: string, source: EventSource, events: readonly string[] = [], options: { stats?: () => object; table?: MetricsTable } = {}): void {
  logEvents(ctx, source, events);
  const stats = options.stats ?? (typeof (source as { stats?: unknown }).stats === "function" ? () => (source as { stats(): object }).stats() : undefined);
  if (ctx.metrics && stats) ctx.metrics.register(component, stats, options.table);
}

/** Something with the lifecycle's `start()`/`close()`. */
export interface Startable {
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Start a server-side component (queue, broker, server). When it cannot start (an endpoint
 * is taken), close it, print `cannot bind: ...` and return false (the command exits 1).
 */
export async function startOrReport(ctx: CliContext, thing: Startable): Promise<boolean> {
  try {
    await thing.start();
    return true;
  } catch (error) {
    await thing.close();
    ctx.out.error(`cannot bind: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
}

/** Start a component whose start checks what the user typed (an endpoint): a bad one is a usage error. */
export async function startOrUsage(thing: Startable): Promise<void> {
  await thing.start().catch(async (error: unknown) => {
    await thing.close();
    throw error instanceof InvalidOptionError ? new UsageError(error.message) : error;
  });
}

/** A queue or worker as the role runners see it. */
export interface Role extends Startable, EventSource {
  stats(): object;
}

/** The broker events a queue command logs (drops and refusals summarised: {@link logEvents}). */
export const QUEUE_LOG_EVENTS = ["worker:ready", "worker:expired", "worker:disconnected", "worker:rejected", "request:redelivered", "request:dropped", "request:expired", "reply:dropped", "message:malformed"] as const;

/**
 * Run a two-socket queue until SIGINT/SIGTERM (its events logged and, with `--metrics`, its
 * stats exported as `zmq_patterns_<protocol>_pirate_queue_*`): start it (exit 1 when a bind fails), print
 * `queue ready protocol=P frontend=EP backend=EP`, optionally a stats line every
 * `statsInterval` ms, then `queue stopped k=v...` after closing.
 */
export async function runQueue(ctx: CliContext, protocol: string, queue: Role & { readonly endpoints: { frontend: string[]; backend: string[] } }, statsInterval = 0): Promise<number> {
  observe(ctx, `${protocol}_pirate_queue`, queue, QUEUE_LOG_EVENTS);
  if (!(await startOrReport(ctx, queue))) return EXIT.FAILURE;
  const { endpoints } = queue;
  ctx.out.result(`queue ready protocol=${protocol} frontend=${endpoints.frontend.join(",")} backend=${endpoints.backend.join(",")}`, { event: "ready", role: "queue", protocol, ...endpoints });
  const timer = statsInterval > 0 ? setInterval(() => ctx.out.log(`stats ${kv(queue.stats())}`, { event: "stats", ...queue.stats() }), statsInterval) : undefined;
  timer?.unref();
  await aborted(ctx.signal);
  clearInterval(timer);
  await queue.close();
  ctx.out.result(`queue stopped ${kv(queue.stats())}`, { event: "stopped", role: "queue", ...queue.stats() });
  return EXIT.OK;
}

/** The worker events a worker command logs. */
export const WORKER_LOG_EVENTS = ["link:connected", "link:established", "link:lost", "link:reconnecting", "request:failed", "request:dropped", "request:duplicate", "reply:dropped", "message:malformed"] as const;

/**
 * Run a worker until SIGINT/SIGTERM: log its events (and export its stats with `--metrics`), start it (a bad endpoint is a usage
 * error), print `worker started protocol=P endpoint=EP handler=H`, then `worker stopped k=v...`.
 */
export async function runWorker(ctx: CliContext, protocol: string, endpoint: string, handler: string, worker: Role): Promise<number> {
  observe(ctx, `${protocol}_pirate_worker`, worker, WORKER_LOG_EVENTS);
  await startOrUsage(worker);
  ctx.out.result(`worker started protocol=${protocol} endpoint=${endpoint} handler=${handler}`, { event: "started", role: "worker", protocol, endpoint, handler });
  await aborted(ctx.signal);
  await worker.close();
  ctx.out.result(`worker stopped ${kv(worker.stats())}`, { event: "stopped", role: "worker", ...worker.stats() });
  return EXIT.OK;
}

/** Non-empty lines of stdin until it ends or `signal` aborts. */
export async function* stdinLines(signal: AbortSignal): AsyncGenerator<string> {
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  const stop = () => rl.close();
  signal.addEventListener("abort", stop, { once: true });
  try {
    for await (const line of rl) if (line.length > 0) yield line;
  } finally {
    signal.removeEventListener("abort", stop);
    rl.close();
  }
}

/** What a client command sends: its PAYLOAD arguments, or `request-1..N` with `--count N`, or stdin lines. */
export function payloads(ctx: CliContext): Iterable<string> | AsyncIterable<string> {
  const count = ctx.values.count === undefined ? undefined : intArg(ctx.values, "count", 1, 1);
  if (count !== undefined && ctx.positionals.length > 0) throw new UsageError("give PAYLOADs or --count, not both");
  if (ctx.positionals.length > 0) return ctx.positionals;
  if (count !== undefined) return Array.from({ length: count }, (_, i) => `request-${i + 1}`);
  return stdinLines(ctx.signal);
}

/** A client as {@link runRequests} drives it. */
export interface RequestingClient {
  request(payload: string): Promise<Buffer[]>;
  close(): Promise<void>;
  stats(): { replies: number; retries: number; abandoned: number; discarded: number };
}

/**
 * Send every payload (see {@link payloads}) with at most `concurrency` requests at once,
 * print each reply on one line (frames separated by a TAB; JSON `{request, reply}` with
 * `--json`), then a summary on stderr; close the client. Exit 0 when every request was
 * answered, 1 otherwise. With `stopOnFailure`, the first failed request ends the run.
 */
export async function runRequests(ctx: CliContext, client: RequestingClient, options: { concurrency: number; stopOnFailure?: boolean }): Promise<number> {
  const { out, signal } = ctx;
  let failed = 0;
  const send = async (payload: string): Promise<void> => {
    try {
      const reply = framesToText(await client.request(payload));
      out.result(reply.join("\t"), { request: payload, reply });
    } catch (error) {
      failed++;
      if (error instanceof ClosedError) return;
      out.error(`request ${JSON.stringify(payload)}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  try {
    // Never more requests at once than `concurrency`: a long stdin is read as replies come back.
    const running = new Set<Promise<void>>();
    for await (const payload of payloads(ctx)) {
      if (signal.aborted || (options.stopOnFailure && failed > 0)) break;
      const p: Promise<void> = send(payload).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= Math.max(1, options.concurrency)) await Promise.race(running);
    }
    await Promise.all(running);
  } finally {
    await client.close();
  }
  if (signal.aborted) out.log("interrupted", { event: "interrupted" });
  const s = client.stats();
  out.log(`${s.replies} replies, ${s.retries} retries, ${s.abandoned} abandoned, ${s.discarded} discarded`, { event: "summary", ...s });
  return failed === 0 ? EXIT.OK : EXIT.FAILURE;
}

/** `--handler echo|upper|PATH` (default echo): the handler and its spec; a bad module is a usage error. */
export async function handlerArg(values: CliValues, name = "handler"): Promise<{ spec: string; handler: RequestHandler }> {
  const spec = strArg(values, name) ?? "echo";
  try {
    return { spec, handler: await loadHandler(spec) };
  } catch (error) {
    throw new UsageError(`--${name} ${spec}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

const COMMON: CliOptions = {
  help: { type: "boolean", short: "h" },
  json: { type: "boolean" },
  "log-level": { type: "string" },
  "log-json": { type: "boolean" },
};

function commandHelp(cmd: CliCommand): string {
  return `Usage: zpatterns ${cmd.name} ${cmd.usage}\n\n${cmd.summary}\n\n${cmd.help.trimEnd()}\n\nCommon options:\n  --json             JSON lines on stdout instead of text\n  --log-level L      ${LOG_LEVEL_NAMES.join("|")} (default info)\n  --log-json         log lines on stderr as JSON (pino's fields: time, level, msg, component)\n  -h, --help         this help\n\nExit codes: 0 success, 1 failure, 2 usage error.\n`;
}

function groupHelp(prefix: string, commands: readonly CliCommand[]): string {
  const depth = prefix ? prefix.split(" ").length : 0;
  const rows = new Map<string, string>();
  for (const c of commands) {
    if (prefix && !c.name.startsWith(prefix + " ")) continue;
    const parts = c.name.split(" ");
    const head = parts.slice(0, depth + 1).join(" ");
    rows.set(head, parts.length > depth + 1 ? `(${head} --help for its commands)` : c.summary);
  }
  const width = Math.max(...[...rows.keys()].map((k) => k.length));
  const lines = [...rows].map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  return `Usage: zpatterns ${prefix ? prefix + " " : ""}<command> [options]\n\nZeroMQ Guide reliability patterns for Node.js.\n\nCommands:\n${lines.join("\n")}\n\nRun "zpatterns ${prefix ? prefix + " " : ""}<command> --help" for a command's options.\nExit codes: 0 success, 1 failure, 2 usage error.\n`;
}

/** Streams and process hooks used by {@link runCli}; replaceable in tests. */
export interface CliIo {
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Install SIGINT/SIGTERM handlers that abort the command. Default true. */
  signals?: boolean;
}

/** Parse `argv` (without `node` and script), dispatch, and resolve with the exit code. */
export async function runCli(args: readonly string[], commands: readonly CliCommand[], io: CliIo = {}): Promise<number> {
  // `--json` is global: accept it before the command words too (`zpatterns --json version`).
  let lead = 0;
  while (args[lead] === "--json") lead++;
  const argv = lead > 0 ? [...args.slice(lead), ...args.slice(0, lead)] : args;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const json = argv.includes("--json");
  let out = new Output(json, stdout, stderr);
  // Find the longest command path that matches the leading words.
  let cmd: CliCommand | undefined;
  let used = 0;
  for (const c of commands) {
    const parts = c.name.split(" ");
    if (parts.every((p, i) => argv[i] === p) && parts.length > used) {
      cmd = c;
      used = parts.length;
    }
  }
  if (!cmd) {
    const words: string[] = [];
    for (const a of argv) {
      if (a.startsWith("-")) break;
      words.push(a);
    }
    // Longest prefix of words that names a group.
    for (let n = words.length; n >= 0; n--) {
      const prefix = words.slice(0, n).join(" ");
      if (n === 0 || commands.some((c) => c.name.startsWith(prefix + " "))) {
        const help = argv.includes("--help") || argv.includes("-h");
        if (words.length > n) {
          out.error(`unknown command "${words.slice(0, n + 1).join(" ")}"`);
          stderr.write(groupHelp(prefix, commands));
          return EXIT.USAGE;
        }
        (help ? stdout : stderr).write(groupHelp(prefix, commands));
        return help ? EXIT.OK : EXIT.USAGE;
      }
    }
    return EXIT.USAGE;
  }
  let parsed: { values: CliValues; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv.slice(used),
      options: { ...COMMON, ...cmd.options },
      allowPositionals: cmd.allowPositionals ?? false,
      strict: true,
    }) as { values: CliValues; positionals: string[] };
  } catch (error) {
    out.error(error instanceof Error ? error.message : String(error));
    stderr.write(`Run "zpatterns ${cmd.name} --help" for usage.\n`);
    return EXIT.USAGE;
  }
  if (parsed.values.help) {
    stdout.write(commandHelp(cmd));
    return EXIT.OK;
  }
  const usageExit = (message: string): number => {
    out.error(message);
    stderr.write(`Run "zpatterns ${cmd.name} --help" for usage.\n`);
    return EXIT.USAGE;
  };
  const level = parsed.values["log-level"] ?? "info";
  if (typeof level !== "string" || !(LOG_LEVEL_NAMES as string[]).includes(level)) return usageExit(`--log-level expects one of ${LOG_LEVEL_NAMES.join(", ")}, got ${JSON.stringify(level)}`);
  out = new Output(json, stdout, stderr, { level: level as LogLevel, logJson: parsed.values["log-json"] === true, component: cmd.name });
  // --metrics (a long-running command's flag, src/cli/flags.ts): applied here, for every command that takes it.
  let metrics: Awaited<ReturnType<typeof startMetrics>> | undefined;
  if (parsed.values.metrics !== undefined && "metrics" in cmd.options) {
    try {
      metrics = await startMetrics(String(parsed.values.metrics), out);
    } catch (error) {
      if (isUsageError(error)) return usageExit((error as Error).message);
      out.error(error instanceof Error ? error.message : String(error));
      return EXIT.FAILURE;
    }
  }
  const controller = new AbortController();
  const onSignal = () => controller.abort(new Error("interrupted"));
  const installSignals = io.signals ?? true;
  if (installSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  // Library timers are unref'd (they never keep a process alive on their own), so a command
  // that is only waiting (a worker between reconnects, a server with no traffic) holds the
  // process open here until it returns.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    return await cmd.run({ values: parsed.values, positionals: parsed.positionals, out, signal: controller.signal, logger: out.logger, ...(metrics ? { metrics: metrics.registrar } : {}) });
  } catch (error) {
    if (isUsageError(error)) return usageExit((error as Error).message);
    out.error(error instanceof Error ? error.message : String(error));
    return EXIT.FAILURE;
  } finally {
    clearInterval(keepAlive);
    out.flush();
    await metrics?.close();
    if (installSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  }
}

/**
 * `--metrics HOST:PORT`: a Prometheus endpoint for the command (zeromq-patterns/metrics,
 * loaded only then: prom-client is an optional dependency). A value that is not HOST:PORT,
 * or a host that cannot be bound here, is a usage error; a port in use is a failure. Logs
 * `metrics http://HOST:PORT/metrics` (`{"event":"metrics:listening","url","host","port"}`).
 */
async function startMetrics(spec: string, out: Output): Promise<{ registrar: MetricsRegistrar; close(): Promise<void> }> {
  let address: { host: string; port: number };
  try {
    address = parseHostPort(spec);
  } catch (error) {
    throw new UsageError(`--metrics: ${(error as Error).message}`);
  }
  let mod: typeof import("../metrics/index.js");
  try {
    mod = await import("../metrics/index.js");
  } catch (error) {
    throw new Error(`--metrics needs the optional dependency prom-client (npm install prom-client): ${error instanceof Error ? error.message : String(error)}`);
  }
  const registrar = new mod.StatsMetrics();
  const server = new mod.MetricsServer({ ...address, metrics: registrar, logger: out.logger });
  try {
    await server.start();
  } catch (error) {
    await server.close();
    const code = (error as { code?: unknown }).code;
    const message = `--metrics ${spec}: cannot listen: ${error instanceof Error ? error.message : String(error)}`;
    // A host that is not an address of this machine (or not one at all) is the user's doing.
    throw ["ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL", "EINVAL", "EAI_FAIL", "EAI_NONAME"].includes(String(code)) ? new UsageError(message) : new Error(message);
  }
  const bound = server.address!;
  out.log(`metrics ${bound.url}`, { event: "metrics:listening", url: bound.url, host: bound.host, port: bound.port });
  return { registrar, close: () => server.close() };
}

/**
 * Run `make`, turning an {@link InvalidOptionError} (an option value the user typed) into a
 * {@link UsageError} (exit code 2). Any other error, a plain `TypeError` included, passes
 * through (exit code 1). ({@link runCli} maps an InvalidOptionError to 2 by itself too.)
 */
export function usage<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (isUsageError(error) && !(error instanceof UsageError)) throw new UsageError((error as Error).message);
    throw error;
  }
}

/**
 * Run until SIGINT/SIGTERM, then close `thing` and print its stats. (The CLI framework keeps
 * the process alive while a command runs, even when a worker between reconnects has no socket.)
 */
export async function serve(ctx: CliContext, thing: { close(): Promise<void>; stats(): object }): Promise<number> {
  await aborted(ctx.signal);
  await thing.close();
  ctx.out.log(`stopped: ${JSON.stringify(thing.stats())}`, { stopped: true, stats: thing.stats() });
  return EXIT.OK;
}
