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
  ClosedError,
  InvalidOptionError,
  Reactor,
  TypedEmitter,
  enumOption,
  intOption,
  optionsObject,
  signalOption,
  type DropReason,
  type SocketHandle,
} from "../../src/index.js";
import { endpointLists } from "./endpoints.js";

/** Socket types a {@link LogSender} can use. */
export type SenderType = "pub" | "push";

/** What a full queue drops: the message being sent, or the oldest one held. */
export type DropPolicy = "drop-newest" | "drop-oldest";

/** Options of {@link LogSender}. */
export interface LogSenderOptions {
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
   * Time (ms) {@link LogSender.close} allows for queued messages to leave. Default 0 (as
   * Message::Passing): closing never waits, what is still queued is dropped and counted.
   */
  readonly linger?: number;
  /** ZMQ_RECONNECT_IVL, ms. Default 100. */
  readonly reconnectInterval?: number;
  /** ZMQ_RECONNECT_IVL_MAX, ms: reconnect backoff cap. Default 5000. */
  readonly reconnectMaxInterval?: number;
  /** Aborting it closes the sender. */
  readonly signal?: AbortSignal;
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
  /** PUB only: the first subscription arrived (held messages are now sent) or the last left. */
  "subscribers:changed": [{ subscriptions: number }];
  /** The sender finished closing. */
  "sender:closed": [];
}

/**
 * Message::Passing ZeroMQ output: a PUB (or PUSH) socket behind a bounded queue.
 *
 * `send()` never blocks and never throws for a full queue: it returns false when the message
 * was dropped, and every drop is counted. PUB is an XPUB with ZMQ_XPUB_NODROP, so zeromq never
 * drops at its high-water mark without us knowing, and while no collector is subscribed the
 * messages are held (up to `hwm`) instead of vanishing; they go out when one subscribes.
 */
export class LogSender extends TypedEmitter<LogSenderEvents> {
  /** The socket type. */
  readonly type: SenderType;
  /** The high-water mark / queue limit. */
  readonly hwm: number;
  readonly #reactor: Reactor;
  readonly #handle: SocketHandle;
  readonly #binds: string[];
  readonly #linger: number;
  /** PUB: messages held while nobody is subscribed. */
  readonly #held: BoundedQueue<string | Buffer>;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => void this.close();
  #subscriptions = 0;
  #accepted = 0;
  /** Drops made here (not by the reactor's queue): held messages and sends after close. */
  readonly #drops = { queueFull: 0, closed: 0 };
  #malformed = 0;
  #started: Promise<this> | undefined;
  #closing: Promise<void> | undefined;
  #endpoints: string[] = [];

  constructor(options: LogSenderOptions) {
    super();
    const owner = "LogSender";
    const o = optionsObject(owner, options);
    this.type = enumOption(owner, o, "type", ["pub", "push"] as const, "pub");
    const { bind, connect } = endpointLists(owner, o);
    this.#binds = bind;
    this.hwm = intOption(owner, o, "hwm", 10_000, 1);
    const overflow = enumOption(owner, o, "overflow", ["drop-newest", "drop-oldest"] as const, "drop-newest");
    this.#linger = intOption(owner, o, "linger", 0, 0);
    const reconnectInterval = intOption(owner, o, "reconnectInterval", 100, 1);
    const reconnectMaxInterval = intOption(owner, o, "reconnectMaxInterval", 5000, 0);
    this.#signal = signalOption(owner, o);
    this.#held = new BoundedQueue(this.hwm, overflow, "held messages");
    this.#reactor = new Reactor({ linger: 0 });
    this.#reactor.on("message:dropped", (e) => this.emit("message:dropped", { reason: e.reason, message: e.message as string | Buffer }));
    const common = { sendHighWaterMark: this.hwm, linger: 0, reconnectInterval, reconnectMaxInterval };
    if (this.type === "pub") {
      const socket = new zmq.XPublisher({ ...common, noDrop: true });
      this.#handle = this.#reactor.add(socket, { name: "log-pub", sendQueueLimit: this.hwm, overflow, onMessage: (frames) => this.#onSubscription(frames) });
    } else {
      // immediate: no queue towards a collector that is not connected; we hold and count instead.
      const socket = new zmq.Push({ ...common, immediate: true });
      this.#handle = this.#reactor.add(socket, { name: "log-push", sendQueueLimit: this.hwm, overflow });
    }
    try {
      for (const ep of connect) this.#handle.socket.connect(ep);
    } catch (error) {
      void this.#reactor.close();
      throw new InvalidOptionError("connect", `${owner}: cannot connect: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /**
   * Bind the `bind` endpoints (connects were made in the constructor). Idempotent. When a
   * bind fails the sender is closed (nothing stays bound) and the error rethrown.
   */
  start(): Promise<this> {
    this.#started ??= (async () => {
      if (this.#closing) throw new ClosedError("LogSender.start: the sender is closed");
      try {
        for (const ep of this.#binds) {
          await this.#handle.socket.bind(ep);
          this.#endpoints.push(this.#handle.socket.lastEndpoint ?? ep);
        }
      } catch (error) {
        await this.close(0);
        throw error;
      }
      return this;
    })();
    return this.#started;
  }

  /** The bound endpoints (with the real port for `tcp://...:*`), after {@link start}. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** True when messages go straight to zeromq (PUSH always; PUB once someone subscribed). */
  get flowing(): boolean {
    return this.type === "push" || this.#subscriptions > 0;
  }

  /**
   * Queue one message (one frame). Returns true when it was sent or queued, false when the
   * overflow policy dropped it (counted). Never blocks, never throws for a full queue.
   */
  send(message: string | Buffer): boolean {
    this.#accepted++;
    if (this.#closing) {
      this.#countDrop(message, "closed");
      return false;
    }
    if (this.flowing) return this.#handle.send(message) as boolean;
    const { accepted, dropped } = this.#held.push(message);
    if (dropped !== undefined) this.#countDrop(dropped, "queue-full");
    return accepted;
  }

  /** Counters; see {@link LogSenderStats}. */
  stats(): LogSenderStats {
    const s = this.#handle.stats();
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

  /**
   * Give queued messages up to `linger` ms (default: the `linger` option) to leave, then close
   * the socket with linger 0; what is still queued is dropped and counted. Idempotent.
   */
  close(linger: number = this.#linger): Promise<void> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      if (linger > 0) {
        // Give a collector that has not subscribed yet, then the queue, `linger` ms in all.
        const deadline = Date.now() + linger;
        if (!this.flowing && this.#held.size > 0) await this.#within(this.next("subscribers:changed"), linger);
        if (this.flowing) await this.#within(this.#handle.flush(), deadline - Date.now());
      }
      for (const message of this.#held.drain()) this.#countDrop(message, "closed");
      await this.#reactor.close();
      this.emit("sender:closed");
    })();
    return this.#closing;
  }

  /** Wait for `promise`, but at most `ms` milliseconds (a reactor timer). */
  async #within(promise: Promise<unknown>, ms: number): Promise<void> {
    if (ms <= 0) return;
    let timer: { cancel(): void } | undefined;
    await Promise.race([promise, new Promise<void>((resolve) => (timer = this.#reactor.after(ms, resolve)))]);
    timer?.cancel();
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
      return;
    }
    const before = this.#subscriptions;
    this.#subscriptions = Math.max(0, before + (frame[0] === 1 ? 1 : -1));
    if ((before === 0) !== (this.#subscriptions === 0)) this.emit("subscribers:changed", { subscriptions: this.#subscriptions });
    if (this.#subscriptions > 0) {
      for (let m = this.#held.shift(); m !== undefined; m = this.#held.shift()) this.#handle.send(m);
    }
  }
}

