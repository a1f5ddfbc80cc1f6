/**
 * The receiving end of a log pipe: Message::Passing::Input::ZeroMQ, a SUB (or PULL) socket.
 * @module
 */
import * as zmq from "zeromq";
import { InvalidOptionError, Lifecycle, enumOption, intOption, optionsObject, type LifecycleOptions } from "../../src/index.js";
import { endpointLists } from "./endpoints.js";
import type { PipeInput } from "./pipe.js";

/** Socket types a {@link LogReceiver} can use. */
export type ReceiverType = "sub" | "pull";

/** Options of {@link LogReceiver}. */
export interface LogReceiverOptions extends LifecycleOptions {
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
}

/** Events of a {@link LogReceiver}. */
export interface LogReceiverEvents {
  [event: string]: unknown[];
  /** A message that was not one frame: counted (`stats().malformed`) and dropped. */
  "message:malformed": [{ socket: string; reason: string; frames: number }];
}

/** Counters of a {@link LogReceiver}. */
export interface LogReceiverStats {
  /** Messages received (one frame each). */
  received: number;
  /** Messages dropped for not being one frame. */
  malformed: number;
}

/**
 * Input: Message::Passing::Input::ZeroMQ, a SUB (or PULL) socket. `start()` binds and
 * connects; {@link run} (which starts it when needed) delivers each message's text. Each
 * message must be one frame; others are counted as `malformed` and dropped. Until `run()` is
 * called, messages wait in zeromq (its high-water mark bounds them).
 */
export class LogReceiver extends Lifecycle<LogReceiverEvents> implements PipeInput {
  /** The socket type. */
  readonly type: ReceiverType;
  readonly #binds: readonly string[];
  readonly #connects: readonly string[];
  readonly #hwm: number;
  readonly #subscribe: readonly string[];
  #endpoints: string[] = [];
  #received = 0;
  #malformed = 0;
  #sink: ((text: string) => void | Promise<void>) | undefined;
  #sinkSet: () => void = () => {};
  readonly #sinkReady = new Promise<void>((resolve) => (this.#sinkSet = resolve));
  #ended: () => void = () => {};
  readonly #end = new Promise<void>((resolve) => (this.#ended = resolve));

  constructor(options: LogReceiverOptions) {
    const owner = "LogReceiver";
    const o = optionsObject(owner, options);
    const type = enumOption(owner, o, "type", ["sub", "pull"] as const, "sub");
    const { bind, connect } = endpointLists(owner, o);
    const hwm = intOption(owner, o, "hwm", 10_000, 1);
    const subscribe = o.subscribe ?? [""];
    if (!Array.isArray(subscribe) || subscribe.some((s) => typeof s !== "string")) {
      throw new InvalidOptionError("subscribe", `${owner}: expected \`subscribe\` to be an array of strings`);
    }
    super(owner, o, { linger: 0 });
    this.type = type;
    this.#binds = bind;
    this.#connects = connect;
    this.#hwm = hwm;
    this.#subscribe = subscribe.length === 0 ? [""] : (subscribe as string[]);
  }

  /** Bound endpoints (real ports), once started. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** Messages dropped for not being one frame. */
  get malformed(): number {
    return this.#malformed;
  }

  /** Counters. */
  stats(): LogReceiverStats {
    return { received: this.#received, malformed: this.#malformed };
  }

  /**
   * Deliver each message's text to `sink` (the read pump waits while it returns a pending
   * promise); resolves when the receiver closes. Starts the receiver when needed; rejects
   * when that start fails.
   */
  async run(sink: (text: string) => void | Promise<void>): Promise<void> {
    if (typeof sink !== "function") throw new InvalidOptionError("sink", "LogReceiver.run: expected `sink` to be a function");
    if (this.closed) return;
    if (this.#sink) throw new TypeError("LogReceiver.run: already running");
    this.#sink = sink;
    this.#sinkSet();
    try {
      await this.start();
    } catch (error) {
      if (this.closed) return;
      this.#sink = undefined;
      throw error;
    }
    await this.#end;
  }

  protected async onStart(): Promise<void> {
    const name = `log-${this.type}`;
    let socket: zmq.Subscriber | zmq.Pull;
    if (this.type === "sub") {
      const sub = new zmq.Subscriber({ receiveHighWaterMark: this.#hwm, linger: 0 });
      sub.subscribe(...this.#subscribe);
      socket = sub;
    } else {
      socket = new zmq.Pull({ receiveHighWaterMark: this.#hwm, linger: 0 });
    }
    this.ownSocket(socket, { name, onMessage: (frames) => this.#onMessage(name, frames) });
    try {
      for (const ep of this.#connects) socket.connect(ep);
    } catch (error) {
      throw new InvalidOptionError("connect", `LogReceiver: cannot connect: ${error instanceof Error ? error.message : String(error)}`);
    }
    const endpoints: string[] = [];
    for (const ep of this.#binds) {
      await socket.bind(ep);
      endpoints.push(socket.lastEndpoint ?? ep);
    }
    this.#endpoints = endpoints;
  }

  protected override onClose(): void {
    // Release a read pump waiting for run(), and end run().
    this.#sinkSet();
    this.#ended();
  }

  #onMessage(socket: string, frames: Buffer[]): void | Promise<void> {
    if (frames.length !== 1) {
      this.#malformed++;
      this.emit("message:malformed", { socket, reason: "expected one frame", frames: frames.length });
      return;
    }
    const text = frames[0]!.toString("utf8");
    if (this.#sink) return this.#deliver(text);
    return this.#sinkReady.then(() => this.#deliver(text));
  }

  #deliver(text: string): void | Promise<void> {
    if (this.closed || !this.#sink) return;
    this.#received++;
    return this.#sink(text);
  }
}
