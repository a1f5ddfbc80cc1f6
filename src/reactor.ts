/**
 * The reactor: the one place that owns socket I/O.
 *
 * zeromq.js v6 allows one pending `receive()` and one pending `send()` per socket and has no
 * poller. The reactor gives each registered socket
 * - a read pump: one receive loop that calls your `onMessage` callback for every message, in
 *   order (a callback that throws, or returns a promise that rejects, is reported as a
 *   `handler:error` event and the pump carries on);
 * - a bounded send queue with an explicit overflow policy, so `EBUSY` never reaches you and
 *   every dropped message is counted and reported;
 * and runs timers and O(1) expiry tickets off one injectable clock (after CZMQ's zloop).
 *
 * ```ts
 * const reactor = new Reactor();
 * const router = new zmq.Router({ mandatory: true, sendTimeout: 0 });
 * await router.bind("tcp://127.0.0.1:5555");
 * const h = reactor.add(router, { onMessage: ([id, ...body]) => h.send([id, ...body]) });
 * reactor.every(1000, () => console.log(reactor.stats()));
 * await reactor.close();
 * ```
 * @module
 */
import type * as zmq from "zeromq";
import type { Clock } from "./clock.js";
import { TypedEmitter } from "./emitter.js";
import { ClosedError, InvalidOptionError, PeerUnreachableError, QueueFullError, SocketError, zmqErrorCode } from "./errors.js";
import { toFrame, type FrameLike, type MessageLike } from "./frames.js";
import { intOption, enumOption, functionOption, optionsObject, signalOption, stringOption, boolOption, clockOption, type Bag } from "./options.js";
import { BoundedQueue, type OverflowPolicy } from "./queue.js";
import { Scheduler, type TicketList, type Timer, type Ticket } from "./timers.js";

/**
 * Overflow policy of a socket's send queue: the {@link OverflowPolicy}s, or `wait`, where
 * `send()` returns a promise that resolves once the message is queued.
 */
export type SendOverflow = OverflowPolicy | "wait";

/** The send overflow policies. */
export const SEND_OVERFLOW_POLICIES: readonly SendOverflow[] = ["reject", "drop-newest", "drop-oldest", "wait"];

/** Why a message was dropped. */
export type DropReason =
  /** the send queue was full and its policy dropped it */
  | "queue-full"
  /** zeromq refused it at the high-water mark (`EAGAIN`, e.g. ROUTER `mandatory` + `sendTimeout`) */
  | "hwm"
  /** a ROUTER had no peer with that routing id (`EHOSTUNREACH`) */
  | "unroutable"
  /** the socket or reactor was closed with the message still queued */
  | "closed"
  /** the send failed for another reason (reported as `socket:error` too) */
  | "error";

/** What `send()` returns: a boolean (queued or written), or a promise of one under `wait`. */
export type SendResult<P extends SendOverflow> = P extends "wait" ? Promise<boolean> : boolean;

/** A message callback. Returning a promise is allowed; it is not awaited, but its rejection is reported. */
export type MessageHandler = (message: Buffer[], handle: SocketHandle) => void | Promise<unknown>;

/** Options of {@link Reactor.add}. */
export interface AddOptions<P extends SendOverflow = SendOverflow> {
  /**
   * Called for every received message. Omit for send-only sockets. The read pump waits for
   * messages, so the socket's `receiveTimeout` is set to -1 (a timeout would only wake it up
   * with nothing to read).
   */
  readonly onMessage?: MessageHandler;
  /** Name used in events and stats. Default `socket-N`. */
  readonly name?: string;
  /** Maximum messages held in the send queue (beyond the one zeromq is sending). Default: the reactor's. */
  readonly sendQueueLimit?: number;
  /** What `send()` does when the queue is full. Default: the reactor's. */
  readonly overflow?: P;
  /** Linger (ms) applied when the socket is closed. Default: the reactor's. */
  readonly linger?: number;
  /**
   * Pass the socket's monitor events through as `socket:event`. Default false. No pattern
   * uses it: with zeromq.js 6.8 / libzmq 4.3.5, a process that keeps closing and re-creating
   * monitored sockets was seen (twice, by separate work) to get EADDRINUSE on a monitor
   * endpoint and then stall its other sockets; keep monitored sockets few and long-lived.
   */
  readonly monitor?: boolean;
}

/** Payload of `handler:error`. */
export interface HandlerErrorEvent {
  /** Where the error came from. */
  source: "message" | "timer" | "ticket" | "listener";
  /** Socket name, for `message`. */
  socket?: string;
  error: unknown;
}

/** Payload of `message:dropped`. */
export interface DropEvent {
  socket: string;
  reason: DropReason;
  message: MessageLike;
}

/** Events of a {@link Reactor}. */
export interface ReactorEvents {
  [event: string]: unknown[];
  /** A message callback, timer, ticket or event listener threw. */
  "handler:error": [HandlerErrorEvent];
  /** A ROUTER could not route a message (`EHOSTUNREACH`): the peer is gone. */
  "peer:unreachable": [{ socket: string; routingId: Buffer; error: PeerUnreachableError }];
  /** A message was dropped (see {@link DropReason}). */
  "message:dropped": [DropEvent];
  /** A receive or send failed for an unexpected reason. */
  "socket:error": [{ socket: string; error: SocketError }];
  /** A monitor event of a socket added with `monitor: true`. */
  "socket:event": [{ socket: string; event: zmq.Event }];
  /** `close()` was called: sockets and timers are about to close (objects sharing the reactor close too). */
  "reactor:closing": [];
  /** The reactor finished closing. */
  "reactor:closed": [];
}

/** Counters of one socket. */
export interface SocketStats {
  received: number;
  sent: number;
  queued: number;
  dropped: number;
  droppedQueueFull: number;
  droppedHwm: number;
  droppedUnroutable: number;
  droppedClosed: number;
  droppedError: number;
  handlerErrors: number;
  socketErrors: number;
}

/** Counters of a reactor: socket counters summed over all sockets it ever had, plus timers. */
export interface ReactorStats extends SocketStats {
  sockets: number;
  timersActive: number;
  timersFired: number;
  ticketsActive: number;
  ticketsExpired: number;
  timerErrors: number;
}

/** Options of {@link Reactor}. */
export interface ReactorOptions {
  /** Clock for timers and tickets. Default the system clock (tests pass a `ManualClock`). */
  readonly clock?: Clock;
  /** Aborting it closes the reactor. */
  readonly signal?: AbortSignal;
  /** Linger (ms) set on sockets as they close. Default 0: nothing queued survives a close. */
  readonly linger?: number;
  /** Default send queue limit per socket. Default 1000. */
  readonly sendQueueLimit?: number;
  /** Default overflow policy. Default `reject`. */
  readonly overflow?: SendOverflow;
  /** Default ticket delay for {@link Reactor.ticket}, ms. Default 3000. */
  readonly ticketDelay?: number;
}

const DROP_KEYS: Record<DropReason, keyof SocketStats> = {
  "queue-full": "droppedQueueFull",
  hwm: "droppedHwm",
  unroutable: "droppedUnroutable",
  closed: "droppedClosed",
  error: "droppedError",
};

function emptyStats(): SocketStats {
  return {
    received: 0,
    sent: 0,
    queued: 0,
    dropped: 0,
    droppedQueueFull: 0,
    droppedHwm: 0,
    droppedUnroutable: 0,
    droppedClosed: 0,
    droppedError: 0,
    handlerErrors: 0,
    socketErrors: 0,
  };
}

interface Waiter {
  message: MessageLike;
  resolve: (queued: boolean) => void;
}

type AnySocket = zmq.Socket & Partial<zmq.Readable> & Partial<zmq.Writable>;

/** Internal hooks a handle uses to talk to its reactor. */
interface ReactorLink {
  emit<K extends keyof ReactorEvents & string>(event: K, ...args: ReactorEvents[K]): void;
  retire(handle: SocketHandle): void;
}

/**
 * One socket registered with a {@link Reactor}: its read pump and bounded send queue.
 * Obtain it from {@link Reactor.add}.
 */
export class SocketHandle<S extends zmq.Socket = zmq.Socket, P extends SendOverflow = SendOverflow> {
  /** The zeromq socket. Do not call its `send()`/`receive()` yourself. */
  readonly socket: S;
  /** Name used in events and stats. */
  readonly name: string;
  /** The send queue's limit. */
  readonly sendQueueLimit: number;
  /** The send queue's overflow policy. */
  readonly overflow: P;

  readonly #link: ReactorLink;
  readonly #queue: BoundedQueue<MessageLike>;
  readonly #waiters: Waiter[] = [];
  readonly #stats = emptyStats();
  readonly #linger: number;
  #onMessage: MessageHandler | undefined;
  #inFlight: MessageLike | undefined;
  #sending = false;
  #flushWaiters: (() => void)[] = [];
  #closed = false;
  #closePromise: Promise<void> | undefined;
  #pumps: Promise<void>[] = [];
  #observer: zmq.Observer | undefined;

  /** @internal */
  constructor(link: ReactorLink, socket: S, name: string, limit: number, overflow: P, linger: number, onMessage: MessageHandler | undefined, monitor: boolean) {
    this.#link = link;
    this.socket = socket;
    this.name = name;
    this.sendQueueLimit = limit;
    this.overflow = overflow;
    this.#linger = linger;
    this.#onMessage = onMessage;
    this.#queue = new BoundedQueue<MessageLike>(limit, overflow === "wait" ? "reject" : overflow, `send queue of ${name}`);
    if (socket.type === ZMQ_ROUTER) {
      // A ROUTER with `mandatory` blocks a send while the peer is at its HWM and, when it has
      // no peer at all, until some peer connects: one slow or gone peer would stall the queue
      // for every other peer. With sendTimeout 0 those sends fail at once and are counted
      // (`hwm`, or `unroutable` + peer:unreachable).
      const writable = socket as unknown as zmq.Writable;
      if (writable.sendTimeout === -1) writable.sendTimeout = 0;
    }
    if (onMessage) {
      // A receive timeout makes every idle receive fail with EAGAIN; with 0 the pump would
      // spin on rejected promises and starve the event loop.
      const readable = socket as unknown as zmq.Readable;
      if (readable.receiveTimeout !== -1) readable.receiveTimeout = -1;
      this.#pumps.push(this.#pump());
    }
    if (monitor) {
      this.#observer = socket.events;
      this.#pumps.push(this.#monitor(this.#observer));
    }
  }

  /** True once {@link close} was called (or the reactor closed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Messages waiting in the send queue (not counting the one zeromq is sending). */
  get queued(): number {
    return this.#queue.size;
  }

  /** Counters of this socket. */
  stats(): SocketStats {
    return { ...this.#stats, queued: this.#queue.size + this.#waiters.length };
  }

  /** Replace the message callback (only for sockets added with one). */
  setHandler(onMessage: MessageHandler): void {
    if (!this.#onMessage) throw new TypeError("setHandler: this socket was added without onMessage, so it has no read pump");
    this.#onMessage = onMessage;
  }

  /**
   * Queue a message for sending. Returns true when it was written or queued, false when it
   * was dropped (counted, and reported as `message:dropped`). When the queue is full the
   * overflow policy decides: `reject` throws {@link QueueFullError}, `drop-newest` drops this
   * message, `drop-oldest` drops the oldest queued one, `wait` returns a promise that
   * resolves when the message enters the queue (false if the socket closes first). The
   * waiters are bounded too: under `wait`, once `sendQueueLimit` senders are already waiting,
   * `send()` throws {@link QueueFullError} at once (await the promises to get backpressure).
   */
  send(message: MessageLike): SendResult<P> {
    return this.#send(message) as SendResult<P>;
  }

  #send(message: MessageLike): boolean | Promise<boolean> {
    if (this.#closed) {
      this.#drop(message, "closed");
      return this.overflow === "wait" ? Promise.resolve(false) : false;
    }
    if (!this.#sending) {
      this.#write(message);
      return this.overflow === "wait" ? Promise.resolve(true) : true;
    }
    if (this.overflow === "wait") {
      if (!this.#queue.full) {
        this.#queue.push(message);
        return Promise.resolve(true);
      }
      if (this.#waiters.length >= this.sendQueueLimit) throw new QueueFullError(this.sendQueueLimit, `wait list of ${this.name}`);
      return new Promise<boolean>((resolve) => this.#waiters.push({ message, resolve }));
    }
    const { accepted, dropped } = this.#queue.push(message);
    if (dropped !== undefined) this.#drop(dropped, "queue-full");
    return accepted;
  }

  /** Resolves when the send queue is empty and zeromq has accepted the last message (or on close). */
  flush(): Promise<void> {
    if (!this.#sending || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#flushWaiters.push(resolve));
  }

  /**
   * Stop the read pump, drop what is still queued (counted as `closed`), set the linger and
   * close the socket. Resolves when the pumps have exited. Idempotent. After `close()` no
   * callback runs: a message whose receive completed while closing is discarded with the
   * socket, like those still inside zeromq.
   */
  close(linger: number = this.#linger): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#closed = true;
    for (const message of this.#queue.drain()) this.#drop(message, "closed");
    for (const waiter of this.#waiters.splice(0)) {
      this.#drop(waiter.message, "closed");
      waiter.resolve(false);
    }
    this.#settleFlush();
    try {
      this.socket.linger = linger;
    } catch {
      // already closed by its owner
    }
    try {
      this.socket.close();
    } catch {
      // already closed
    }
    // The monitor pump waits in events.receive(): close the observer too, so that wait ends
    // now rather than whenever libzmq reports the socket's end (it may not, under load).
    try {
      if (this.#observer && !this.#observer.closed) this.#observer.close();
    } catch {
      // already closed
    }
    this.#closePromise = Promise.all(this.#pumps).then(() => this.#link.retire(this));
    return this.#closePromise;
  }

  /** @internal */
  rawStats(): SocketStats {
    return this.#stats;
  }

  #write(message: MessageLike): void {
    this.#sending = true;
    this.#inFlight = message;
    let pending: Promise<void>;
    try {
      pending = (this.socket as AnySocket).send!(message as zmq.MessageLike[]);
    } catch (error) {
      this.#onSendError(error);
      return;
    }
    pending.then(this.#onSent, this.#onSendError);
  }

  readonly #onSent = (): void => {
    this.#stats.sent++;
    this.#inFlight = undefined;
    this.#next();
  };

  readonly #onSendError = (error: unknown): void => {
    const message = this.#inFlight!;
    this.#inFlight = undefined;
    if (this.#closed || this.socket.closed) {
      this.#drop(message, "closed");
    } else {
      const code = zmqErrorCode(error);
      if (code === "EHOSTUNREACH") {
        const routingId = toFrame(firstFrame(message));
        this.#drop(message, "unroutable");
        this.#link.emit("peer:unreachable", { socket: this.name, routingId, error: new PeerUnreachableError(routingId, { cause: error }) });
      } else if (code === "EAGAIN") {
        this.#drop(message, "hwm");
      } else {
        this.#stats.socketErrors++;
        this.#drop(message, "error");
        this.#link.emit("socket:error", { socket: this.name, error: new SocketError(`send on ${this.name} failed: ${String(error)}`, { cause: error }) });
      }
    }
    this.#next();
  };

  #next(): void {
    if (this.#closed) {
      this.#sending = false;
      this.#settleFlush();
      return;
    }
    const message = this.#queue.shift();
    if (message === undefined) {
      this.#sending = false;
      this.#settleFlush();
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#queue.push(waiter.message);
      waiter.resolve(true);
    }
    this.#write(message);
  }

  #settleFlush(): void {
    if (this.#flushWaiters.length === 0) return;
    for (const resolve of this.#flushWaiters.splice(0)) resolve();
  }

  #drop(message: MessageLike, reason: DropReason): void {
    this.#stats.dropped++;
    this.#stats[DROP_KEYS[reason]]++;
    this.#link.emit("message:dropped", { socket: this.name, reason, message });
  }

  async #pump(): Promise<void> {
    const socket = this.socket as AnySocket;
    while (!this.#closed) {
      let message: Buffer[];
      try {
        message = (await socket.receive!()) as Buffer[];
      } catch (error) {
        if (this.#closed || socket.closed) return;
        if (zmqErrorCode(error) === "EAGAIN") {
          // no message within a receive timeout set behind our back: not an error, but yield
          // to the event loop before trying again
          await new Promise<void>((resolve) => setImmediate(resolve));
          continue;
        }
        const code = zmqErrorCode(error);
        const busy = code === "EBUSY";
        this.#stats.socketErrors++;
        const why = busy ? "something else is receiving on this socket (another reactor, or a receive() call); its read pump stopped" : String(error);
        this.#link.emit("socket:error", { socket: this.name, error: new SocketError(`receive on ${this.name} failed: ${why}`, { cause: error }) });
        // EBUSY would fail again at once, forever: stop rather than spin.
        if (code === "ETERM" || busy) return;
        // Errors reject at once: yield to the event loop so a repeating one cannot starve it.
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      // A receive that completed while close() ran belongs to the closed socket: like the
      // messages still queued inside zeromq, it is discarded with it, never dispatched.
      if (this.#closed) return;
      this.#stats.received++;
      try {
        const result = this.#onMessage!(message, this as unknown as SocketHandle);
        if (result !== undefined && typeof (result as Promise<unknown>).then === "function") {
          (result as Promise<unknown>).then(undefined, (error: unknown) => this.#handlerError(error));
        }
      } catch (error) {
        this.#handlerError(error);
      }
    }
  }

  #handlerError(error: unknown): void {
    this.#stats.handlerErrors++;
    this.#link.emit("handler:error", { source: "message", socket: this.name, error });
  }

  async #monitor(events: zmq.Observer): Promise<void> {
    try {
      while (!this.#closed && !events.closed) {
        const event = await events.receive();
        this.#link.emit("socket:event", { socket: this.name, event });
      }
    } catch {
      // the observer closes with its socket
    } finally {
      if (!events.closed) events.close();
    }
  }
}

/**
 * ZMQ_PUB, ZMQ_PUSH, ZMQ_RADIO, ZMQ_SCATTER: socket types that never receive. zeromq.js gives
 * every socket a `receive()` method at runtime, so the type is what tells them apart.
 */
const SEND_ONLY_TYPES: ReadonlySet<number> = new Set([1, 8, 14, 17]);

/** ZMQ_ROUTER. */
const ZMQ_ROUTER = 6;

function firstFrame(message: MessageLike): FrameLike {
  return typeof message === "string" || message instanceof Uint8Array ? message : (message[0] ?? "");
}

/**
 * Owns sockets, timers and tickets; see the module documentation. Long-lived: create one
 * per component (or share one), and `close()` it (or abort its signal) when done.
 */
export class Reactor extends TypedEmitter<ReactorEvents> {
  /** The clock all timers and tickets run off. */
  readonly clock: Clock;
  readonly #scheduler: Scheduler;
  readonly #handles = new Set<SocketHandle>();
  readonly #retired = emptyStats();
  readonly #linger: number;
  readonly #limit: number;
  readonly #overflow: SendOverflow;
  readonly #ticketDelay: number;
  #defaultTickets: TicketList | undefined;
  #count = 0;
  #closePromise: Promise<void> | undefined;
  readonly #link: ReactorLink;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => void this.close();

  constructor(options?: ReactorOptions) {
    super();
    const o = optionsObject("Reactor", options);
    this.clock = clockOption("Reactor", o);
    this.#linger = intOption("Reactor", o, "linger", 0, -1);
    this.#limit = intOption("Reactor", o, "sendQueueLimit", 1000, 1);
    this.#overflow = enumOption("Reactor", o, "overflow", SEND_OVERFLOW_POLICIES, "reject");
    this.#ticketDelay = intOption("Reactor", o, "ticketDelay", 3000, 1);
    this.#signal = signalOption("Reactor", o);
    this.#scheduler = new Scheduler(this.clock, (error, source) => this.emit("handler:error", { source, error }), "Reactor");
    this.#link = {
      emit: (event, ...args) => this.emit(event, ...args),
      retire: (handle) => {
        if (!this.#handles.delete(handle)) return;
        const s = handle.rawStats();
        for (const key of Object.keys(s) as (keyof SocketStats)[]) this.#retired[key] += s[key];
      },
    };
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closePromise !== undefined;
  }

  /** The sockets currently registered. */
  get sockets(): readonly SocketHandle[] {
    return [...this.#handles];
  }

  /**
   * Register a socket. With `onMessage`, a read pump starts at once. The reactor now owns
   * the socket: it closes it on {@link close} (or on the handle's `close()`). A ROUTER whose
   * `sendTimeout` is -1 (the default) gets `sendTimeout` 0, so that a peer at its HWM, or gone
   * while `mandatory` is set, never blocks the send queue for the other peers.
   */
  add<S extends zmq.Socket, P extends SendOverflow = SendOverflow>(socket: S, options?: AddOptions<P>): SocketHandle<S, P> {
    if (this.closed) throw new ClosedError("Reactor.add: the reactor is closed");
    if (typeof socket !== "object" || socket === null || typeof (socket as { close?: unknown }).close !== "function") {
      throw new InvalidOptionError("socket", "Reactor.add: expected `socket` to be a zeromq socket, got " + String(socket));
    }
    if (socket.closed) throw new ClosedError("Reactor.add: the socket is closed");
    for (const h of this.#handles) {
      if (h.socket === socket) throw new TypeError("Reactor.add: this socket is already registered");
    }
    const o = optionsObject("Reactor.add", options);
    const onMessage = functionOption<MessageHandler, undefined>("Reactor.add", o, "onMessage", undefined);
    if (onMessage && (typeof (socket as AnySocket).receive !== "function" || SEND_ONLY_TYPES.has(socket.type))) {
      throw new InvalidOptionError("onMessage", "Reactor.add: `onMessage` was given but this socket type cannot receive");
    }
    const name = stringOption("Reactor.add", o, "name", `socket-${++this.#count}`);
    const limit = intOption("Reactor.add", o, "sendQueueLimit", this.#limit, 1);
    const overflow = enumOption("Reactor.add", o, "overflow", SEND_OVERFLOW_POLICIES, this.#overflow) as P;
    const linger = intOption("Reactor.add", o, "linger", this.#linger, -1);
    const monitor = boolOption("Reactor.add", o, "monitor", false);
    const handle = new SocketHandle<S, P>(this.#link, socket, name, limit, overflow, linger, onMessage, monitor);
    this.#handles.add(handle as unknown as SocketHandle);
    return handle;
  }

  /** Run `fn` once after `ms` milliseconds. Cancellable from anywhere, including `fn`. */
  after(ms: number, fn: () => void): Timer {
    return this.#scheduler.after(ms, fn);
  }

  /** Run `fn` every `ms` milliseconds (>= 1) until cancelled. Does not drift. */
  every(ms: number, fn: () => void): Timer {
    return this.#scheduler.every(ms, fn);
  }

  /**
   * A ticket with the reactor's `ticketDelay`: calls `fn` once, `ticketDelay` ms after its
   * creation or last `reset()`. Reset and cancel are O(1).
   */
  ticket(fn: () => void): Ticket {
    if (typeof fn !== "function") throw new InvalidOptionError("fn", "Reactor.ticket: expected `fn` to be a function");
    this.#defaultTickets ??= this.#scheduler.tickets(this.#ticketDelay);
    return this.#defaultTickets.add(fn);
  }

  /** A list of tickets sharing delay `delay` (ms, >= 1); add tickets with `list.add(fn)`. */
  tickets(delay: number): TicketList {
    return this.#scheduler.tickets(delay);
  }

  /** Counters (sockets that were closed keep counting in the totals). */
  stats(): ReactorStats {
    const total = { ...this.#retired };
    for (const h of this.#handles) {
      const s = h.stats();
      for (const key of Object.keys(s) as (keyof SocketStats)[]) total[key] += s[key];
    }
    const t = this.#scheduler.stats();
    return {
      ...total,
      sockets: this.#handles.size,
      timersActive: t.timersActive,
      timersFired: t.timersFired,
      ticketsActive: t.ticketsActive,
      ticketsExpired: t.ticketsExpired,
      timerErrors: t.callbackErrors,
    };
  }

  /**
   * Cancel all timers and tickets, close every socket with its linger, and resolve once all
   * read pumps have exited. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    let done!: () => void;
    this.#closePromise = new Promise<void>((resolve) => (done = resolve));
    // Objects sharing this reactor close themselves on this event (see Lifecycle).
    this.emit("reactor:closing");
    this.#scheduler.close();
    const closing = [...this.#handles].map((h) => h.close());
    void Promise.all(closing).then(() => {
      this.emit("reactor:closed");
      done();
    });
    return this.#closePromise;
  }

  protected override onListenerError(event: string, error: unknown): void {
    if (event === "handler:error") {
      super.onListenerError(event, error);
      return;
    }
    this.emit("handler:error", { source: "listener", error });
  }

  protected override emit<K extends keyof ReactorEvents & string>(event: K, ...args: ReactorEvents[K]): void {
    if (event === "handler:error" && this.listenerCount("handler:error") === 0) {
      const { error } = args[0] as HandlerErrorEvent;
      process.emitWarning(`zeromq-patterns: unhandled ${(args[0] as HandlerErrorEvent).source} error (listen for "handler:error"): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return;
    }
    super.emit(event, ...args);
  }
}

/** What {@link reactorOption} returns. */
export interface ReactorChoice {
  reactor: Reactor;
  /** True when the reactor was created here: the owner closes it in its own `close()`. */
  owned: boolean;
}

/**
 * The `reactor` option every long-lived pattern object takes: the `Reactor` given (shared;
 * the object never closes it) or, when absent, a new one made with `defaults` that the object
 * owns and closes. Throws an {@link InvalidOptionError} naming the option for anything else.
 */
export function reactorOption(owner: string, bag: Bag, defaults?: ReactorOptions, name = "reactor"): ReactorChoice {
  const given = bag[name];
  if (given === undefined) return { reactor: new Reactor(defaults), owned: true };
  if (!(given instanceof Reactor)) throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be a Reactor, got ${String(given)}`);
  return { reactor: given, owned: false };
}
