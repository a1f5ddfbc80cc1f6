/**
 * A heartbeated DEALER link to one broker, with liveness and reconnect on a fresh socket.
 *
 * This is the client half of every "worker talks to a broker" protocol (6/PPP, 7/MDP,
 * 18/MDP): on each (re)connect it sends a greeting (READY), sends a heartbeat whenever
 * nothing else went out for `heartbeatInterval`, treats any incoming message as a sign of
 * life, and when the broker has been silent for `heartbeatInterval × heartbeatLiveness` it
 * closes the socket (linger 0), waits an exponential backoff (1 s → 32 s by default, reset
 * by any incoming message) and reconnects on a new socket. It knows nothing of the wire
 * format: the pattern supplies the greeting, the heartbeat and the message handler.
 * @module
 */
import * as zmq from "zeromq";
import { TypedEmitter } from "./emitter.js";
import { ClosedError } from "./errors.js";
import type { MessageLike } from "./frames.js";
import { Backoff, HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, HeartbeatSchedule, Liveness, RECONNECT_INTERVAL, RECONNECT_MAX_INTERVAL } from "./heartbeat.js";
import { endpointOption, functionOption, intOption, objectOption, optionsObject, signalOption, enumOption } from "./options.js";
import { OVERFLOW_POLICIES, type OverflowPolicy } from "./queue.js";
import type { Reactor, SocketHandle } from "./reactor.js";
import type { Timer } from "./timers.js";

/** Options of {@link HeartbeatLink}. */
export interface HeartbeatLinkOptions {
  /** The reactor that owns the link's sockets and timers. */
  readonly reactor: Reactor;
  /** Broker endpoint to connect to. */
  readonly endpoint: string;
  /** The message sent on every (re)connect, e.g. READY. */
  readonly greeting: () => MessageLike;
  /** The heartbeat message. */
  readonly heartbeat: () => MessageLike;
  /** Every message from the broker (liveness is already updated). */
  readonly onMessage: (frames: Buffer[]) => void;
  /** ms between heartbeats (and liveness checks). Default 1000 (6/PPP). */
  readonly heartbeatInterval?: number;
  /** Silent intervals before the broker is taken as dead. Default 3 (6/PPP). */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay, ms. Default 1000 (6/PPP `INTERVAL_INIT`). */
  readonly reconnectInterval?: number;
  /** Reconnect delay cap, ms. Default 32000 (6/PPP `INTERVAL_MAX`). */
  readonly reconnectMaxInterval?: number;
  /** Options for each new DEALER (e.g. `routingId`, HWMs, CURVE keys). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer> | (() => zmq.SocketOptions<zmq.Dealer>);
  /** Send queue limit. Default 1000. */
  readonly sendQueueLimit?: number;
  /** Send queue overflow policy. Default `drop-newest` (drops are counted). */
  readonly overflow?: OverflowPolicy;
  /** Aborting it closes the link. */
  readonly signal?: AbortSignal;
}

/** Events of a {@link HeartbeatLink}. */
export interface HeartbeatLinkEvents {
  [event: string]: unknown[];
  /** A new socket connected and the greeting was queued. `attempt` counts from 1. */
  "link:connected": [{ attempt: number; endpoint: string }];
  /** The broker was silent too long (or {@link HeartbeatLink.reconnect} was called). */
  "link:lost": [{ reason: string; silentMs: number }];
  /** A reconnect is scheduled after `delay` ms. */
  "link:reconnecting": [{ delay: number }];
}

/** Counters of a {@link HeartbeatLink}. */
export interface HeartbeatLinkStats {
  connects: number;
  reconnects: number;
  heartbeatsSent: number;
  received: number;
  sent: number;
  dropped: number;
}

/** See the module documentation. */
export class HeartbeatLink extends TypedEmitter<HeartbeatLinkEvents> {
  readonly endpoint: string;
  readonly heartbeatInterval: number;
  readonly heartbeatLiveness: number;
  readonly #reactor: Reactor;
  readonly #greeting: () => MessageLike;
  readonly #heartbeat: () => MessageLike;
  readonly #onMessage: (frames: Buffer[]) => void;
  readonly #socketOptions: HeartbeatLinkOptions["socketOptions"];
  readonly #limit: number;
  readonly #overflow: OverflowPolicy;
  readonly #backoff: Backoff;
  readonly #liveness: Liveness;
  readonly #schedule: HeartbeatSchedule;
  readonly #signal: AbortSignal | undefined;
  #handle: SocketHandle<zmq.Dealer, OverflowPolicy> | undefined;
  #tick: Timer;
  #reconnectTimer: Timer | undefined;
  #closing: Promise<void> | undefined;
  #retired: Promise<void>[] = [];
  #stats: HeartbeatLinkStats = { connects: 0, reconnects: 0, heartbeatsSent: 0, received: 0, sent: 0, dropped: 0 };

  constructor(options: HeartbeatLinkOptions) {
    super();
    const o = optionsObject("HeartbeatLink", options);
    const reactor = o.reactor as Reactor | undefined;
    if (!reactor || typeof reactor.add !== "function") throw new TypeError("HeartbeatLink: expected `reactor` to be a Reactor");
    this.#reactor = reactor;
    this.endpoint = endpointOption("HeartbeatLink", o, "endpoint");
    this.#greeting = functionOption<() => MessageLike, undefined>("HeartbeatLink", o, "greeting", undefined) ?? missing("greeting");
    this.#heartbeat = functionOption<() => MessageLike, undefined>("HeartbeatLink", o, "heartbeat", undefined) ?? missing("heartbeat");
    this.#onMessage = functionOption<(f: Buffer[]) => void, undefined>("HeartbeatLink", o, "onMessage", undefined) ?? missing("onMessage");
    this.heartbeatInterval = intOption("HeartbeatLink", o, "heartbeatInterval", HEARTBEAT_INTERVAL, 1);
    this.heartbeatLiveness = intOption("HeartbeatLink", o, "heartbeatLiveness", HEARTBEAT_LIVENESS, 1);
    const initial = intOption("HeartbeatLink", o, "reconnectInterval", RECONNECT_INTERVAL, 0);
    const max = intOption("HeartbeatLink", o, "reconnectMaxInterval", Math.max(RECONNECT_MAX_INTERVAL, initial), initial);
    if (o.socketOptions !== undefined && typeof o.socketOptions !== "function") objectOption("HeartbeatLink", o, "socketOptions");
    this.#socketOptions = o.socketOptions as HeartbeatLinkOptions["socketOptions"];
    this.#limit = intOption("HeartbeatLink", o, "sendQueueLimit", 1000, 1);
    this.#overflow = enumOption("HeartbeatLink", o, "overflow", OVERFLOW_POLICIES, "drop-newest");
    this.#signal = signalOption("HeartbeatLink", o);
    const clock = reactor.clock;
    this.#backoff = new Backoff({ initial, max });
    this.#liveness = new Liveness({ interval: this.heartbeatInterval, liveness: this.heartbeatLiveness, clock });
    this.#schedule = new HeartbeatSchedule(this.heartbeatInterval, clock);
    this.#tick = reactor.every(this.heartbeatInterval, () => this.#onTick());
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#connect();
    if (this.#signal?.aborted) void this.close();
  }

  /** True while a socket is open (between connect and loss). */
  get connected(): boolean {
    return this.#handle !== undefined;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Counters. */
  stats(): HeartbeatLinkStats {
    return { ...this.#stats };
  }

  /**
   * Send a message to the broker. Returns false (counted as dropped) when no socket is open
   * (the link is between sockets) or the send queue dropped it.
   */
  send(message: MessageLike): boolean {
    if (this.closed) throw new ClosedError("HeartbeatLink is closed");
    if (!this.#handle) {
      this.#stats.dropped++;
      return false;
    }
    const ok = this.#handle.send(message);
    if (ok) {
      this.#stats.sent++;
      this.#schedule.sent();
    } else this.#stats.dropped++;
    return ok;
  }

  /**
   * Drop the current socket and reconnect on a new one after the backoff delay (e.g. when
   * the broker sent DISCONNECT).
   */
  reconnect(reason = "requested"): void {
    if (this.closed) return;
    this.#lose(reason);
  }

  /** Close the socket and stop all timers. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#tick.cancel();
    this.#reconnectTimer?.cancel();
    const handle = this.#handle;
    this.#handle = undefined;
    this.#closing = Promise.all([handle?.close(0), ...this.#retired]).then(() => undefined);
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

  #connect(): void {
    if (this.closed || this.#reactor.closed) return;
    const opts = typeof this.#socketOptions === "function" ? this.#socketOptions() : (this.#socketOptions ?? {});
    const socket = new zmq.Dealer({ linger: 0, ...opts });
    socket.connect(this.endpoint);
    this.#handle = this.#reactor.add(socket, {
      name: `link:${this.endpoint}`,
      sendQueueLimit: this.#limit,
      overflow: this.#overflow,
      linger: 0,
      onMessage: (frames) => {
        this.#stats.received++;
        this.#liveness.heard();
        this.#backoff.reset();
        this.#onMessage(frames);
      },
    });
    this.#stats.connects++;
    this.#liveness.heard();
    this.emit("link:connected", { attempt: this.#stats.connects, endpoint: this.endpoint });
    this.send(this.#greeting());
  }

  #onTick(): void {
    if (!this.#handle) return;
    if (this.#liveness.expired) {
      this.#lose("heartbeat timeout");
      return;
    }
    // The tick and the last send jitter by a few ms, so a strict `due` check would skip
    // every other tick; a send more than half an interval ago already makes a heartbeat due.
    if (this.#reactor.clock.now() >= this.#schedule.dueAt - this.heartbeatInterval / 2) {
      if (this.send(this.#heartbeat())) this.#stats.heartbeatsSent++;
    }
  }

  #lose(reason: string): void {
    const silentMs = this.#reactor.clock.now() - this.#liveness.lastHeard;
    const handle = this.#handle;
    this.#handle = undefined;
    if (handle) {
      const closing = handle.close(0);
      this.#retired.push(closing);
      void closing.then(() => this.#retired.splice(this.#retired.indexOf(closing), 1));
    }
    this.emit("link:lost", { reason, silentMs });
    this.#reconnectTimer?.cancel();
    const delay = this.#backoff.next();
    this.#stats.reconnects++;
    this.emit("link:reconnecting", { delay });
    this.#reconnectTimer = this.#reactor.after(delay, () => {
      this.#reconnectTimer = undefined;
      this.#connect();
    });
  }
}

function missing(name: string): never {
  throw new TypeError(`HeartbeatLink: expected \`${name}\` to be a function, got undefined`);
}
