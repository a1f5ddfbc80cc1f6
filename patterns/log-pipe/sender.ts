/**
 * The sending end of a log pipe: a PUB or PUSH socket that never blocks its caller.
 *
 * After Message::Passing::Output::ZeroMQ: every message is ONE frame holding one document, a
 * bounded number of messages is held while the collector is slow or away, and the rest is
 * dropped and counted. Used by `zpatterns pipe --output zmq` and by the pino transport.
 * @module
 */
import * as zmq from "zeromq";
import {
  BoundedQueue,
  InvalidOptionError,
  Lifecycle,
  enumOption,
  intOption,
  optionsObject,
  type CloseCause,
  type DropReason,
  type LifecycleOptions,
  type SocketHandle,
} from "../../src/index.js";
import { endpointLists } from "./endpoints.js";

/** Socket types a {@link LogSender} can use. */
export type SenderType = "pub" | "push";

/** What a full queue drops: the message being sent, or the oldest one held. */
export type DropPolicy = "drop-newest" | "drop-oldest";

/** Options of {@link LogSender}. */
export interface LogSenderOptions extends LifecycleOptions {
  /** `pub` (default, as Message::Passing) or `push`. */
  readonly type?: SenderType;
  /** Endpoints to bind (one string or a list). At least one of `bind`/`connect` is required. */
  readonly bind?: string | readonly string[];
  /** Endpoints to connect to (zeromq reconnects by itself). */
  readonly connect?: string | readonly string[];
  /**
   * ZMQ_SNDHWM and the limit of our own queue, in messages. Default 10,000 (Message::Passing's
   * default). At most about twice this many messages are held in memory.
   */
  readonly hwm?: number;
  /** What a full queue drops. Default `drop-newest`. */
  readonly overflow?: DropPolicy;
  /**
   * Time (ms) `close()` allows for queued messages to leave. Default 0 (as Message::Passing):
   * closing never waits, what is still queued is dropped and counted.
   */
  readonly linger?: number;
  /** ZMQ_RECONNECT_IVL, ms. Default 100. */
  readonly reconnectInterval?: number;
  /** ZMQ_RECONNECT_IVL_MAX, ms: reconnect backoff cap. Default 5000. */
  readonly reconnectMaxInterval?: number;
}

/** Counters of a {@link LogSender}. */
export interface LogSenderStats {
  /** Messages given to {@link LogSender.send}. */
  accepted: number;
  /** Messages handed to zeromq. */
  sent: number;
  /** Messages held right now (our queue plus the one zeromq is taking). */
  queued: number;
  /** Messages dropped, all reasons. */
  dropped: number;
  /** ... because the queue was full (the overflow policy). */
  droppedQueueFull: number;
  /** ... because the sender closed with them still queued. */
  droppedClosed: number;
  /** ... because zeromq refused them. */
  droppedError: number;
  /** PUB only: distinct subscriptions currently known (0 = nobody listens, messages are held). */
  subscriptions: number;
  /** PUB only: subscription frames that were neither subscribe nor unsubscribe. */
  malformed: number;
}

/** Events of a {@link LogSender}. */
export interface LogSenderEvents {
  [event: string]: unknown[];
  /** A message was dropped (counted in `stats().dropped`). */
  "message:dropped": [{ reason: DropReason; message: string | Buffer }];
  /** PUB only: a subscription frame that was neither subscribe nor unsubscribe (counted, dropped). */
  "message:malformed": [{ socket: string; reason: string; frames: number }];
  /** PUB only: the first subscription arrived (held messages are now sent) or the last left. */
  "subscribers:changed": [{ subscriptions: number }];
}

const EMPTY_SOCKET_STATS = { sent: 0, queued: 0, dropped: 0, droppedQueueFull: 0, droppedClosed: 0, droppedHwm: 0, droppedError: 0, droppedUnroutable: 0 };
let senders = 0;

/**
 * Message::Passing ZeroMQ output: a PUB (or PUSH) socket behind a bounded queue.
 *
 * `start()` connects and binds; `send()` starts the sender when it was not started, so a
 * connecting sender may be used at once. `send()` never blocks and never throws for a full
 * queue: it returns false when the message was dropped, and every drop is counted. Until the
 * socket is up, messages are held (up to `hwm`). PUB is an XPUB with ZMQ_XPUB_NODROP, so
 * zeromq never drops at its high-water mark without us knowing, and while no collector is
 * subscribed the messages are held (up to `hwm`) instead of vanishing; they go out when one
 * subscribes.
 */
export class LogSender extends Lifecycle<LogSenderEvents> {
  /** The socket type. */
  readonly type: SenderType;
  /** The high-water mark / queue limit. */
  readonly hwm: number;
  readonly #name: string;
  readonly #binds: readonly string[];
  readonly #connects: readonly string[];
  readonly #overflow: DropPolicy;
  readonly #linger: number;
  readonly #reconnect: { reconnectInterval: number; reconnectMaxInterval: number };
  /** Messages held while the socket is not up or (PUB) nobody is subscribed. */
  readonly #held: BoundedQueue<string | Buffer>;
  #handle: SocketHandle | undefined;
  #subscriptions = 0;
  #accepted = 0;
  /** Drops made here (not by the reactor's queue): held messages and sends after close. */
  readonly #drops = { queueFull: 0, closed: 0 };
  #malformed = 0;
  #endpoints: string[] = [];

  constructor(options: LogSenderOptions) {
    const owner = "LogSender";
    const o = optionsObject(owner, options);
    const type = enumOption(owner, o, "type", ["pub", "push"] as const, "pub");
    const { bind, connect } = endpointLists(owner, o);
    const hwm = intOption(owner, o, "hwm", 10_000, 1);
    const overflow = enumOption(owner, o, "overflow", ["drop-newest", "drop-oldest"] as const, "drop-newest");
    const linger = intOption(owner, o, "linger", 0, 0);
    const reconnectInterval = intOption(owner, o, "reconnectInterval", 100, 1);
    const reconnectMaxInterval = intOption(owner, o, "reconnectMaxInterval", 5000, 0);
    super(owner, o, { linger: 0 });
    this.type = type;
    this.hwm = hwm;
    this.#name = `log-${type}-${++senders}`;
    this.#binds = bind;
    this.#connects = connect;
    this.#overflow = overflow;
    this.#linger = linger;
    this.#reconnect = { reconnectInterval, reconnectMaxInterval };
    this.#held = new BoundedQueue(hwm, overflow, "held messages");
  }

  /** The bound endpoints (with the real port for `tcp://...:*`), once started. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** True when messages go straight to zeromq (once started: PUSH always; PUB once someone subscribed). */
  get flowing(): boolean {
    return this.#handle !== undefined && !this.closed && (this.type === "push" || this.#subscriptions > 0);
  }

  /**
   * Queue one message (one frame). Returns true when it was sent or queued, false when the
   * overflow policy dropped it (counted). Never blocks, never throws for a full queue.
   */
  send(message: string | Buffer): boolean {
    this.#accepted++;
    if (this.closed) {
      this.#countDrop(message, "closed");
      return false;
    }
    this.startOnUse();
    if (this.flowing) return this.#handle!.send(message) as boolean;
    const { accepted, dropped } = this.#held.push(message);
    if (dropped !== undefined) this.#countDrop(dropped, "queue-full");
    return accepted;
  }

  /** Counters; see {@link LogSenderStats}. */
  stats(): LogSenderStats {
    const s = this.#handle?.stats() ?? EMPTY_SOCKET_STATS;
    return {
      accepted: this.#accepted,
      sent: s.sent,
      queued: s.queued + this.#held.size,
      dropped: s.dropped + this.#drops.queueFull + this.#drops.closed,
      droppedQueueFull: s.droppedQueueFull + this.#drops.queueFull,
      droppedClosed: s.droppedClosed + this.#drops.closed,
      droppedError: s.droppedHwm + s.droppedError + s.droppedUnroutable,
      subscriptions: this.#subscriptions,
      malformed: this.#malformed,
    };
  }

  protected async onStart(): Promise<void> {
    const common = { sendHighWaterMark: this.hwm, linger: 0, ...this.#reconnect };
    const name = this.#name;
    const handle: SocketHandle =
      this.type === "pub"
        ? this.ownSocket(new zmq.XPublisher({ ...common, noDrop: true }), { name, sendQueueLimit: this.hwm, overflow: this.#overflow, onMessage: (frames) => this.#onSubscription(frames) })
        : // immediate: no queue towards a collector that is not connected; we hold and count instead.
          this.ownSocket(new zmq.Push({ ...common, immediate: true }), { name, sendQueueLimit: this.hwm, overflow: this.#overflow });
    this.own(this.reactor.on("message:dropped", (e) => e.socket === name && this.emit("message:dropped", { reason: e.reason, message: e.message as string | Buffer })));
    try {
      for (const ep of this.#connects) handle.socket.connect(ep);
    } catch (error) {
      throw new InvalidOptionError("connect", `LogSender: cannot connect: ${error instanceof Error ? error.message : String(error)}`);
    }
    const endpoints: string[] = [];
    for (const ep of this.#binds) {
      await handle.socket.bind(ep);
      endpoints.push(handle.socket.lastEndpoint ?? ep);
    }
    this.#endpoints = endpoints;
    // Set last: nothing after this can fail but a close, so a failed start leaves it unset
    // (and a retry starts afresh); after close it stays, for its counters.
    this.#handle = handle;
    this.#flushHeld();
  }

  /**
   * Give queued messages up to `linger` ms to leave (a PUB first waits for a subscriber when
   * it holds messages); what is still queued is then dropped and counted.
   */
  protected override async onClose(cause: CloseCause): Promise<void> {
    const handle = this.#handle;
    // A shared reactor that closed has no timers left to bound the wait: no linger then.
    if (handle && this.#linger > 0 && cause !== "reactor") {
      const deadline = this.reactor.clock.now() + this.#linger;
      if (this.type === "pub" && this.#subscriptions === 0 && this.#held.size > 0) await this.#within(this.next("subscribers:changed"), this.#linger);
      if (this.#subscriptions > 0 || this.type === "push") {
        for (let m = this.#held.shift(); m !== undefined; m = this.#held.shift()) handle.send(m);
        await this.#within(handle.flush(), deadline - this.reactor.clock.now());
      }
    }
    for (const message of this.#held.drain()) this.#countDrop(message, "closed");
  }

  /** Wait for `promise`, but at most `ms` milliseconds (a reactor timer). */
  async #within(promise: Promise<unknown>, ms: number): Promise<void> {
    if (ms <= 0) return;
    let timer: { cancel(): void } | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => (timer = this.reactor.after(ms, resolve)))]);
    timer?.cancel();
  }

  #flushHeld(): void {
    if (!this.flowing) return;
    for (let m = this.#held.shift(); m !== undefined; m = this.#held.shift()) this.#handle!.send(m);
  }

  #countDrop(message: string | Buffer, reason: "queue-full" | "closed"): void {
    if (reason === "closed") this.#drops.closed++;
    else this.#drops.queueFull++;
    this.emit("message:dropped", { reason, message });
  }

  /** XPUB subscription frames: `0x01 prefix` subscribe, `0x00 prefix` unsubscribe. */
  #onSubscription(frames: Buffer[]): void {
    const frame = frames[0];
    if (frames.length !== 1 || frame === undefined || frame.length === 0 || frame[0]! > 1) {
      this.#malformed++;
      this.emit("message:malformed", { socket: this.#name, reason: "not a subscription frame", frames: frames.length });
      return;
    }
    const before = this.#subscriptions;
    this.#subscriptions = Math.max(0, before + (frame[0] === 1 ? 1 : -1));
    if ((before === 0) !== (this.#subscriptions === 0)) this.emit("subscribers:changed", { subscriptions: this.#subscriptions });
    this.#flushHeld();
  }
}
