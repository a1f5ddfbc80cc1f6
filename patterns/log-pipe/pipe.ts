/**
 * A log pipe after Message::Passing: one input, optional filters, one output.
 *
 * Inputs: lines of a stream (stdin, a file) or a ZeroMQ SUB/PULL socket ({@link LogReceiver}).
 * Outputs: a stream (stdout), a file ({@link FileOutput}, reopened for log rotation) or a
 * ZeroMQ PUB/PUSH socket ({@link LogSender}). On the wire every message is one frame holding
 * one JSON document (codec `json`) or one opaque text (codec `raw`).
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { pathToFileURL } from "node:url";
import * as zmq from "zeromq";
import {
  BoundedQueue,
  Reactor,
  enumOption,
  functionOption,
  intOption,
  objectOption,
  optionsObject,
  signalOption,
  InvalidOptionError,
} from "../../src/index.js";
import { endpointLists } from "./endpoints.js";
import type { DropPolicy } from "./sender.js";

/** How a message is read and written: `json` (one JSON document) or `raw` (opaque text). */
export type Codec = "json" | "raw";

/**
 * A filter: gets the decoded message (a parsed JSON value, or a string under codec `raw`) and
 * returns the message to pass on (changed or not), or `undefined`/`null`/`false` to drop it.
 * May be async. Message::Passing's `Filter`.
 */
export type Filter = (message: unknown) => unknown;

/** Where a pipe's messages come from. */
export interface PipeInput {
  /** Deliver each message's text to `sink` (awaiting it when it returns a promise); resolve when the input ends. */
  run(sink: (text: string) => void | Promise<void>): Promise<void>;
  /** Stop delivering. Idempotent. */
  close(): Promise<void>;
  /** Messages from the network that broke the one-frame convention. */
  readonly malformed?: number;
}

/** Where a pipe's messages go. {@link LogSender} is one. */
export interface PipeOutput {
  /** Write or queue one message; false when it was dropped (and counted). Never blocks. */
  send(text: string): boolean;
  /** Finish writing and release the output. Idempotent. */
  close(): Promise<void>;
  /** `sent`: written or handed to zeromq; `dropped`: lost, counted. */
  stats(): { sent: number; dropped: number };
}

/** Counters of a {@link Pipe}. `in = out + dropped + invalid + filtered + errors (+ queued)`. */
export interface PipeStats {
  /** Messages read from the input. */
  in: number;
  /** Messages the output wrote or handed to zeromq. */
  out: number;
  /** Messages lost to a full queue or a closing/failing output. */
  dropped: number;
  /** Messages that could not be decoded (not JSON under codec `json`). */
  invalid: number;
  /** Messages a filter dropped. */
  filtered: number;
  /** Network messages that were not one frame (not counted in `in`). */
  malformed: number;
  /** Messages whose filter threw, rejected, or returned a value that cannot be encoded as JSON. */
  errors: number;
}

/** Options of {@link Pipe}. */
export interface PipeOptions {
  /** Where messages come from. */
  readonly input: PipeInput;
  /** Where they go. */
  readonly output: PipeOutput;
  /** Default `json`. */
  readonly codec?: Codec;
  /** Applied in order. */
  readonly filters?: readonly Filter[];
  /** Stop after this many input messages. Default: run until the input ends or the signal aborts. */
  readonly count?: number;
  /** Messages waiting while an async filter runs. Default 10,000. */
  readonly backlog?: number;
  /** What a full backlog drops. Default `drop-newest`. */
  readonly overflow?: DropPolicy;
  /** Told about every message that could not be decoded. */
  readonly onInvalid?: (text: string, error: unknown) => void;
  /** Told about every filter that threw. */
  readonly onFilterError?: (error: unknown) => void;
  /** Aborting it stops the pipe (as if the input ended). */
  readonly signal?: AbortSignal;
}

/**
 * Message::Passing's pipeline: input -> decode -> filters -> encode -> output. Messages are
 * handled one at a time and in order; while an async filter runs, later messages wait in a
 * bounded backlog (drops counted). Stream inputs wait instead of dropping.
 */
export class Pipe {
  readonly #input: PipeInput;
  readonly #output: PipeOutput;
  readonly #codec: Codec;
  readonly #filters: readonly Filter[];
  readonly #count: number;
  readonly #backlog: BoundedQueue<string>;
  readonly #onInvalid: ((text: string, error: unknown) => void) | undefined;
  readonly #onFilterError: ((error: unknown) => void) | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #counts = { in: 0, invalid: 0, filtered: 0, errors: 0 };
  #busy = false;
  #idle: Promise<void> = Promise.resolve();
  #stopped = false;
  #stop: () => void = () => {};
  #running: Promise<PipeStats> | undefined;

  constructor(options: PipeOptions) {
    const owner = "Pipe";
    const o = optionsObject(owner, options);
    this.#input = requiredObject<PipeInput>(owner, o, "input", ["run", "close"]);
    this.#output = requiredObject<PipeOutput>(owner, o, "output", ["send", "close", "stats"]);
    this.#codec = enumOption(owner, o, "codec", ["json", "raw"] as const, "json");
    const filters = o.filters ?? [];
    if (!Array.isArray(filters) || filters.some((f) => typeof f !== "function")) {
      throw new InvalidOptionError("filters", `${owner}: expected \`filters\` to be an array of functions`);
    }
    this.#filters = filters as Filter[];
    this.#count = intOption(owner, o, "count", 0, 0);
    const overflow = enumOption(owner, o, "overflow", ["drop-newest", "drop-oldest"] as const, "drop-newest");
    this.#backlog = new BoundedQueue(intOption(owner, o, "backlog", 10_000, 1), overflow, "pipe backlog");
    this.#onInvalid = functionOption<(text: string, error: unknown) => void, undefined>(owner, o, "onInvalid", undefined);
    this.#onFilterError = functionOption<(error: unknown) => void, undefined>(owner, o, "onFilterError", undefined);
    this.#signal = signalOption(owner, o);
  }

  /**
   * Run until the input ends, `count` messages were read or the signal aborts; then let the
   * last messages through, close input and output, and resolve with the counters.
   */
  run(): Promise<PipeStats> {
    this.#running ??= (async () => {
      const stopped = new Promise<void>((resolve) => (this.#stop = resolve));
      const onAbort = () => this.#stop();
      if (this.#signal?.aborted) this.#stop();
      this.#signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await Promise.race([this.#input.run(this.#accept), stopped]);
      } finally {
        this.#signal?.removeEventListener("abort", onAbort);
        this.#stopped = true;
        await this.#input.close();
        await this.#idle;
        await this.#output.close();
      }
      return this.stats();
    })();
    return this.#running;
  }

  /**
   * Stop as if the input had ended: let the messages in hand through, close both ends and
   * resolve with the counters. Idempotent; works before {@link run} too.
   */
  close(): Promise<PipeStats> {
    this.#stopped = true;
    if (!this.#running) {
      this.#running = (async () => {
        await this.#input.close();
        await this.#output.close();
        return this.stats();
      })();
    }
    this.#stop();
    return this.#running;
  }

  /** Counters so far (final once {@link run} resolved). */
  stats(): PipeStats {
    const out = this.#output.stats();
    return {
      in: this.#counts.in,
      out: out.sent,
      dropped: out.dropped + this.#backlog.dropped,
      invalid: this.#counts.invalid,
      filtered: this.#counts.filtered,
      malformed: this.#input.malformed ?? 0,
      errors: this.#counts.errors,
    };
  }

  get #countReached(): boolean {
    return this.#count > 0 && this.#counts.in >= this.#count;
  }

  /** The input's sink: handle now, or wait in the backlog while an async filter runs. */
  readonly #accept = (text: string): void | Promise<void> => {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#backlog.push(text);
      return this.#idle;
    }
    const pending = this.#handle(text);
    if (pending === undefined) return;
    this.#busy = true;
    this.#idle = pending.then(() => this.#drainBacklog());
    return this.#idle;
  };

  async #drainBacklog(): Promise<void> {
    for (let text = this.#backlog.shift(); text !== undefined; text = this.#backlog.shift()) {
      if (this.#countReached) {
        this.#backlog.unshift(text);
        this.#backlog.drain(); // read past --count: counted as dropped
        break;
      }
      await this.#handle(text);
    }
    this.#busy = false;
  }

  /** Decode, filter, encode, send. Returns a promise only when a filter went async. */
  #handle(text: string): Promise<void> | undefined {
    this.#counts.in++;
    if (this.#countReached) {
      this.#stopped = true;
      this.#stop();
    }
    let message: unknown;
    if (this.#codec === "json") {
      try {
        message = JSON.parse(text);
      } catch (error) {
        this.#counts.invalid++;
        this.#onInvalid?.(text, error);
        return undefined;
      }
    } else {
      message = text;
    }
    return this.#filterFrom(0, message);
  }

  #filterFrom(index: number, message: unknown): Promise<void> | undefined {
    let value: unknown = message;
    for (let i = index; i < this.#filters.length && !isDrop(value); i++) {
      try {
        value = this.#filters[i]!(value);
      } catch (error) {
        return this.#filterFailed(error);
      }
      if (isPromise(value)) {
        return value.then(
          (resolved) => this.#filterFrom(i + 1, resolved),
          (error: unknown) => this.#filterFailed(error),
        );
      }
    }
    if (isDrop(value)) {
      this.#counts.filtered++;
      return undefined;
    }
    let text: string | undefined;
    try {
      text = this.#codec === "json" || typeof value !== "string" ? JSON.stringify(value) : value;
    } catch (error) {
      return this.#filterFailed(error); // a BigInt, a circular object: the filter's fault
    }
    if (text === undefined) return this.#filterFailed(new TypeError(`filter returned a value that is not JSON (${typeof value})`));
    this.#output.send(text);
    return undefined;
  }

  #filterFailed(error: unknown): undefined {
    this.#counts.errors++;
    this.#onFilterError?.(error);
    return undefined;
  }
}

/** What a filter returns to drop a message. */
function isDrop(value: unknown): boolean {
  return value === undefined || value === null || value === false;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function requiredObject<T>(owner: string, bag: Readonly<Record<string, unknown>>, name: string, methods: string[]): T {
  const value = objectOption<Record<string, unknown>>(owner, bag, name);
  if (value === undefined || methods.some((m) => typeof value[m] !== "function")) {
    throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be an object with ${methods.map((m) => `${m}()`).join(", ")}`);
  }
  return value as T;
}

/** Load a filter module: its default export must be a function ({@link Filter}). */
export async function loadFilter(path: string): Promise<Filter> {
  const mod = (await import(pathToFileURL(resolvePath(path)).href)) as { default?: unknown };
  if (typeof mod.default !== "function") throw new TypeError(`filter module ${path} must export a function as its default export`);
  return mod.default as Filter;
}

/** Input: the lines of a readable stream (stdin, a file). Blank lines are skipped. Waits, never drops. */
export class LineInput implements PipeInput {
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void };
  #lines: Interface | undefined;
  #closed = false;

  constructor(stream: NodeJS.ReadableStream) {
    if (typeof stream !== "object" || stream === null || typeof stream.on !== "function") throw new InvalidOptionError("stream", "LineInput: expected `stream` to be a readable stream");
    this.#stream = stream;
  }

  async run(sink: (text: string) => void | Promise<void>): Promise<void> {
    const lines = (this.#lines = createInterface({ input: this.#stream, crlfDelay: Infinity }));
    for await (const line of lines) {
      if (this.#closed) break;
      if (line.trim() === "") continue;
      const pending = sink(line);
      if (pending) await pending;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#lines?.close();
    this.#stream.destroy?.();
  }
}

/** Output: one line per message on a writable stream (stdout). */
export class StreamOutput implements PipeOutput {
  readonly #stream: NodeJS.WritableStream;
  #sent = 0;
  #dropped = 0;
  #broken = false;

  constructor(stream: NodeJS.WritableStream) {
    if (typeof stream !== "object" || stream === null || typeof stream.write !== "function") throw new InvalidOptionError("stream", "StreamOutput: expected `stream` to be a writable stream");
    this.#stream = stream;
    stream.on("error", () => (this.#broken = true));
  }

  send(text: string): boolean {
    if (this.#broken) {
      this.#dropped++;
      return false;
    }
    this.#stream.write(text + "\n");
    this.#sent++;
    return true;
  }

  async close(): Promise<void> {}

  stats(): { sent: number; dropped: number } {
    return { sent: this.#sent, dropped: this.#dropped };
  }
}

/**
 * Output: a file, appended to, one message per line. {@link reopen} closes and reopens it by
 * name, so after a log rotation (rename, then SIGHUP) new lines go to a new file.
 */
export class FileOutput implements PipeOutput {
  /** The file's path. */
  readonly path: string;
  #fd: number | undefined;
  #closed = false;
  #sent = 0;
  #dropped = 0;
  #reopened = 0;

  constructor(path: string) {
    if (typeof path !== "string" || path === "") throw new InvalidOptionError("path", "FileOutput: expected `path` to be a non-empty string");
    this.path = path;
    this.#fd = openSync(path, "a");
  }

  send(text: string): boolean {
    if (this.#fd === undefined) {
      this.#dropped++;
      return false;
    }
    try {
      writeSync(this.#fd, text + "\n");
      this.#sent++;
      return true;
    } catch {
      this.#dropped++;
      return false;
    }
  }

  /**
   * Close and reopen the file by name (log rotation). Never throws: when the file cannot be
   * opened (its directory is gone, no permission) it returns false, and lines are dropped
   * and counted until a later reopen succeeds.
   */
  reopen(): boolean {
    if (this.#closed) return false;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) closeSync(fd);
    try {
      this.#fd = openSync(this.path, "a");
    } catch {
      return false;
    }
    this.#reopened++;
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  stats(): { sent: number; dropped: number; reopened: number } {
    return { sent: this.#sent, dropped: this.#dropped, reopened: this.#reopened };
  }
}

/** Socket types a {@link LogReceiver} can use. */
export type ReceiverType = "sub" | "pull";

/** Options of {@link LogReceiver}. */
export interface LogReceiverOptions {
  /** `sub` (default) or `pull`. */
  readonly type?: ReceiverType;
  /** Endpoints to bind (one or a list). At least one of `bind`/`connect` is required. */
  readonly bind?: string | readonly string[];
  /** Endpoints to connect to. */
  readonly connect?: string | readonly string[];
  /** ZMQ_RCVHWM. Default 10,000. */
  readonly hwm?: number;
  /** SUB prefixes. Default: everything. */
  readonly subscribe?: readonly string[];
  /** Aborting it closes the receiver. */
  readonly signal?: AbortSignal;
}

/**
 * Input: Message::Passing::Input::ZeroMQ, a SUB (or PULL) socket. Each message must be one
 * frame; others are counted as `malformed` and dropped.
 */
export class LogReceiver implements PipeInput {
  /** The socket type. */
  readonly type: ReceiverType;
  readonly #socket: zmq.Subscriber | zmq.Pull;
  readonly #binds: string[];
  readonly #reactor: Reactor;
  #endpoints: string[] = [];
  #received = 0;
  #malformed = 0;
  #closing: Promise<void> | undefined;
  #ended: () => void = () => {};
  readonly #signal: AbortSignal | undefined;

  constructor(options: LogReceiverOptions) {
    const owner = "LogReceiver";
    const o = optionsObject(owner, options);
    this.type = enumOption(owner, o, "type", ["sub", "pull"] as const, "sub");
    const { bind, connect } = endpointLists(owner, o);
    this.#binds = bind;
    const hwm = intOption(owner, o, "hwm", 10_000, 1);
    const subscribe = o.subscribe ?? [""];
    if (!Array.isArray(subscribe) || subscribe.some((s) => typeof s !== "string")) {
      throw new InvalidOptionError("subscribe", `${owner}: expected \`subscribe\` to be an array of strings`);
    }
    const signal = signalOption(owner, o);
    this.#reactor = new Reactor({ signal, linger: 0 });
    if (this.type === "sub") {
      const sub = new zmq.Subscriber({ receiveHighWaterMark: hwm, linger: 0 });
      sub.subscribe(...(subscribe.length === 0 ? [""] : (subscribe as string[])));
      this.#socket = sub;
    } else {
      this.#socket = new zmq.Pull({ receiveHighWaterMark: hwm, linger: 0 });
    }
    try {
      for (const ep of connect) this.#socket.connect(ep);
    } catch (error) {
      this.#socket.close();
      void this.#reactor.close();
      throw new InvalidOptionError("connect", `${owner}: cannot connect: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#signal = signal;
    if (signal?.aborted) void this.close();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  readonly #onAbort = () => void this.close();

  /** Bind the `bind` endpoints. When a bind fails the receiver is closed (nothing stays bound) and the error rethrown. */
  async start(): Promise<this> {
    try {
      for (const ep of this.#binds) {
        await this.#socket.bind(ep);
        this.#endpoints.push(this.#socket.lastEndpoint ?? ep);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    return this;
  }

  /** Bound endpoints (real ports), after {@link start}. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  get malformed(): number {
    return this.#malformed;
  }

  /** Counters: messages received (one frame each) and malformed ones. */
  stats(): { received: number; malformed: number } {
    return { received: this.#received, malformed: this.#malformed };
  }

  run(sink: (text: string) => void | Promise<void>): Promise<void> {
    const ended = new Promise<void>((resolve) => (this.#ended = resolve));
    if (this.#closing) return Promise.resolve();
    this.#reactor.add(this.#socket, {
      name: `log-${this.type}`,
      onMessage: (frames) => {
        if (frames.length !== 1) {
          this.#malformed++;
          return;
        }
        this.#received++;
        return sink(frames[0]!.toString("utf8"));
      },
    });
    return ended;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      await this.#reactor.close();
      if (!this.#socket.closed) this.#socket.close();
      this.#ended();
    })();
    return this.#closing;
  }
}
