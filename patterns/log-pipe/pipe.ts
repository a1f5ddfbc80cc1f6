/**
 * A log pipe after Message::Passing: one input, optional filters, one output.
 *
 * Inputs: lines of a stream (stdin, a file: {@link LineInput}) or a ZeroMQ SUB/PULL socket
 * ({@link LogReceiver}). Outputs: a stream (stdout: {@link StreamOutput}), a file
 * ({@link FileOutput}, reopened for log rotation) or a ZeroMQ PUB/PUSH socket
 * ({@link LogSender}). On the wire every message is one frame holding one JSON document
 * (codec `json`) or one opaque text (codec `raw`).
 * @module
 */
import { resolve as resolvePath } from "node:path";
import { pathToFileURL } from "node:url";
import {
  BoundedQueue,
  InvalidOptionError,
  Lifecycle,
  enumOption,
  functionOption,
  intOption,
  objectOption,
  optionsObject,
  requiredOption,
  type Bag,
  type LifecycleOptions,
} from "../../src/index.js";
import type { DropPolicy } from "./sender.js";

/** How a message is read and written: `json` (one JSON document) or `raw` (opaque text). */
export type Codec = "json" | "raw";

/**
 * A filter: gets the decoded message (a parsed JSON value, or a string under codec `raw`) and
 * returns the message to pass on (changed or not), or `undefined`/`null`/`false` to drop it.
 * May be async. Message::Passing's `Filter`.
 */
export type Filter = (message: unknown) => unknown;

/** Where a pipe's messages come from. {@link LineInput} and {@link LogReceiver} are ones. */
export interface PipeInput {
  /** Open the input (bind, connect); called by the pipe's start. Idempotent. Optional. */
  start?(): Promise<void>;
  /** Deliver each message's text to `sink` (awaiting it when it returns a promise); resolve when the input ends. */
  run(sink: (text: string) => void | Promise<void>): Promise<void>;
  /** Stop delivering. Idempotent. */
  close(): Promise<void>;
  /** Messages from the network that broke the one-frame convention. */
  readonly malformed?: number;
}

/** Where a pipe's messages go. {@link StreamOutput}, {@link FileOutput} and {@link LogSender} are ones. */
export interface PipeOutput {
  /** Open the output; called by the pipe's start. Idempotent. Optional. */
  start?(): Promise<void>;
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
export interface PipeOptions extends LifecycleOptions {
  /** Where messages come from. */
  readonly input: PipeInput;
  /** Where they go. */
  readonly output: PipeOutput;
  /** Default `json`. */
  readonly codec?: Codec;
  /** Applied in order. */
  readonly filters?: readonly Filter[];
  /** Stop after this many input messages. Default: run until the input ends or the pipe closes. */
  readonly count?: number;
  /** Messages waiting while an async filter runs. Default 10,000. */
  readonly backlog?: number;
  /** What a full backlog drops. Default `drop-newest`. */
  readonly overflow?: DropPolicy;
  /** Told about every message that could not be decoded. */
  readonly onInvalid?: (text: string, error: unknown) => void;
  /** Told about every filter that threw. */
  readonly onFilterError?: (error: unknown) => void;
}

interface PipeConfig {
  bag: Bag;
  input: PipeInput;
  output: PipeOutput;
  codec: Codec;
  filters: readonly Filter[];
  count: number;
  backlog: BoundedQueue<string>;
  onInvalid: ((text: string, error: unknown) => void) | undefined;
  onFilterError: ((error: unknown) => void) | undefined;
}

function pipeConfig(options: PipeOptions): PipeConfig {
  const owner = "Pipe";
  const o = optionsObject(owner, options);
  const filters = o.filters ?? [];
  if (!Array.isArray(filters) || filters.some((f) => typeof f !== "function")) {
    throw new InvalidOptionError("filters", `${owner}: expected \`filters\` to be an array of functions`);
  }
  const overflow = enumOption(owner, o, "overflow", ["drop-newest", "drop-oldest"] as const, "drop-newest");
  return {
    bag: o,
    input: requiredObject<PipeInput>(owner, o, "input", ["run", "close"]),
    output: requiredObject<PipeOutput>(owner, o, "output", ["send", "close", "stats"]),
    codec: enumOption(owner, o, "codec", ["json", "raw"] as const, "json"),
    filters: filters as Filter[],
    count: intOption(owner, o, "count", 0, 0),
    backlog: new BoundedQueue(intOption(owner, o, "backlog", 10_000, 1), overflow, "pipe backlog"),
    onInvalid: functionOption<(text: string, error: unknown) => void, undefined>(owner, o, "onInvalid", undefined),
    onFilterError: functionOption<(error: unknown) => void, undefined>(owner, o, "onFilterError", undefined),
  };
}

/**
 * Message::Passing's pipeline: input -> decode -> filters -> encode -> output. Messages are
 * handled one at a time and in order; while an async filter runs, later messages wait in a
 * bounded backlog (drops counted). Stream inputs wait instead of dropping.
 *
 * `start()` starts input and output and begins moving messages; when the input ends or
 * `count` messages were read, the pipe closes itself. `close()` (or the `signal`) stops it as
 * if the input had ended: the messages in hand go through, then input and output are closed.
 * {@link run} does all of it and resolves with the counters.
 */
export class Pipe extends Lifecycle {
  readonly #input: PipeInput;
  readonly #output: PipeOutput;
  readonly #codec: Codec;
  readonly #filters: readonly Filter[];
  readonly #count: number;
  readonly #backlog: BoundedQueue<string>;
  readonly #onInvalid: ((text: string, error: unknown) => void) | undefined;
  readonly #onFilterError: ((error: unknown) => void) | undefined;
  readonly #counts = { in: 0, invalid: 0, filtered: 0, errors: 0 };
  #busy = false;
  #idle: Promise<void> = Promise.resolve();
  #stopped = false;
  #failure: { error: unknown } | undefined;
  #inputRunning = false;
  #finish: () => void = () => {};
  /** Resolves when the input ended or the pipe began closing. */
  readonly #finished = new Promise<void>((resolve) => (this.#finish = resolve));

  constructor(options: PipeOptions) {
    const c = pipeConfig(options);
    super("Pipe", c.bag);
    this.#input = c.input;
    this.#output = c.output;
    this.#codec = c.codec;
    this.#filters = c.filters;
    this.#count = c.count;
    this.#backlog = c.backlog;
    this.#onInvalid = c.onInvalid;
    this.#onFilterError = c.onFilterError;
  }

  /**
   * Start, run until the input ends, `count` messages were read or the pipe is closed; then
   * let the last messages through, close input and output, and resolve with the counters.
   * On a closed pipe it resolves with the final counters. Rejects when the input failed.
   */
  async run(): Promise<PipeStats> {
    if (!this.closed) {
      await this.start();
      await this.#finished;
    }
    await this.close();
    if (this.#failure) throw this.#failure.error;
    return this.stats();
  }

  /** Counters so far (final once the pipe closed). */
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

  /** Start input and output; once started, messages begin to move. Idempotent. */
  override start(): Promise<void> {
    const starting = super.start();
    // After the start completed (an input that ends at once then closes a running pipe).
    starting.then(() => this.#runInput(), () => undefined);
    return starting;
  }

  protected async onStart(): Promise<void> {
    await this.#input.start?.();
    await this.#output.start?.();
  }

  /** Runs until the input ends; the close that follows lets the messages in hand through. */
  #runInput(): void {
    if (this.#inputRunning || this.closed) return;
    this.#inputRunning = true;
    this.#input.run(this.#accept).then(
      () => this.#end(),
      (error: unknown) => {
        this.#failure = { error };
        this.#end();
      },
    );
  }

  protected override async onClose(): Promise<void> {
    this.#stopped = true;
    this.#finish();
    await this.#input.close();
    await this.#idle;
    await this.#output.close();
  }

  #end(): void {
    this.#finish();
    void this.close();
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
        this.#backlog.drain(); // read past `count`: counted as dropped
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
      this.#end();
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

function requiredObject<T>(owner: string, bag: Bag, name: string, methods: string[]): T {
  const expected = `an object with ${methods.map((m) => `${m}()`).join(", ")}`;
  requiredOption(owner, bag, name, expected);
  const value = objectOption<Record<string, unknown>>(owner, bag, name);
  if (value === undefined || methods.some((m) => typeof value[m] !== "function")) {
    throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be ${expected}`);
  }
  return value as T;
}

/** Load a filter module: its default export must be a function ({@link Filter}). */
export async function loadFilter(path: string): Promise<Filter> {
  const mod = (await import(pathToFileURL(resolvePath(path)).href)) as { default?: unknown };
  if (typeof mod.default !== "function") throw new InvalidOptionError("filter", `filter module ${path} must export a function as its default export`);
  return mod.default as Filter;
}
