/**
 * A heartbeated DEALER link to one broker, with liveness and reconnect on a fresh socket.
 *
 * This is the client half of every "worker talks to a broker" protocol (6/PPP, 7/MDP,
 * 18/MDP, ZPS/1): on each (re)connect it sends a greeting (READY), sends a heartbeat whenever
 * nothing else went out for `heartbeatInterval`, treats any incoming message as a sign of
 * life, and when the broker has been silent for `heartbeatInterval × heartbeatLiveness` it
 * closes the socket (linger 0), waits an exponential backoff (1 s → 32 s by default, reset
 * by any incoming message) and reconnects on a new socket. It knows nothing of the wire
 * format: the pattern supplies the greeting, the heartbeat and the message handler.
 *
 * A {@link Lifecycle}: the constructor opens nothing; `start()` connects the first socket
 * (and rejects, leaving nothing open, when the endpoint cannot be connected or the greeting
 * throws); `close()` closes the socket and stops every timer.
 * @module
 */
import * as zmq from "zeromq";
import { InvalidOptionError } from "./errors.js";
import type { MessageLike } from "./frames.js";
import { Backoff, HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, Liveness, RECONNECT_INTERVAL, RECONNECT_MAX_INTERVAL } from "./heartbeat.js";
import { Lifecycle, type LifecycleOptions } from "./lifecycle.js";
import { endpointOption, enumOption, functionOption, intOption, objectOption, optionsObject, requiredOption, type Bag } from "./options.js";
import { OVERFLOW_POLICIES, type OverflowPolicy } from "./queue.js";
import type { SocketHandle } from "./reactor.js";
import type { Ticket, Timer } from "./timers.js";

/** The reactor send-queue limit per socket every worker uses by default. */
export const SEND_QUEUE_LIMIT = 10_000;

/** Options of {@link HeartbeatLink}. */
export interface HeartbeatLinkOptions extends LifecycleOptions {
  /** Broker endpoint to connect to. Required. */
  readonly endpoint: string;
  /** The message sent on every (re)connect, e.g. READY. Required. */
  readonly greeting: () => MessageLike;
  /** The heartbeat message. Required. */
  readonly heartbeat: () => MessageLike;
  /** Every message from the broker (liveness is already updated). Required. */
  readonly onMessage: (frames: Buffer[]) => void;
  /** ms between heartbeats (and liveness checks). Default 1000 (6/PPP). */
  readonly heartbeatInterval?: number;
  /** Silent intervals before the broker is taken as dead. Default 3. */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay, ms. Default 1000 (6/PPP `INTERVAL_INIT`). */
  readonly reconnectInterval?: number;
  /** Reconnect delay cap, ms. Default 32000 (6/PPP `INTERVAL_MAX`). */
  readonly reconnectMaxInterval?: number;
  /** Options for each new DEALER (e.g. `routingId`, HWMs, CURVE keys). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer> | (() => zmq.SocketOptions<zmq.Dealer>);
  /** Send queue limit. Default 10000. */
  readonly sendQueueLimit?: number;
  /** Send queue overflow policy. Default `drop-newest` (drops are counted). */
  readonly overflow?: OverflowPolicy;
}

/** Events of a {@link HeartbeatLink} (the workers re-emit them under the same names). */
export interface HeartbeatLinkEvents {
  [event: string]: unknown[];
  /** A new socket connected and the greeting was queued. `attempt` counts from 1. */
  "link:connected": [{ attempt: number; endpoint: string }];
  /** The first message from the broker on this socket arrived: the broker knows us. */
  "link:established": [{ attempt: number; endpoint: string }];
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

interface LinkConfig {
  endpoint: string;
  greeting: () => MessageLike;
  heartbeat: () => MessageLike;
  onMessage: (frames: Buffer[]) => void;
  heartbeatInterval: number;
  heartbeatLiveness: number;
  reconnectInterval: number;
  reconnectMaxInterval: number;
  socketOptions: HeartbeatLinkOptions["socketOptions"];
  sendQueueLimit: number;
  overflow: OverflowPolicy;
}

/** A required function option. */
function requiredFunction<F extends (...args: never[]) => unknown>(owner: string, o: Bag, name: string): F {
  requiredOption(owner, o, name, "a function");
  return functionOption<F, undefined>(owner, o, name, undefined)!;
}

function linkConfig(o: Bag): LinkConfig {
  const owner = "HeartbeatLink";
  const reconnectInterval = intOption(owner, o, "reconnectInterval", RECONNECT_INTERVAL, 0);
  if (o.socketOptions !== undefined && typeof o.socketOptions !== "function") objectOption(owner, o, "socketOptions");
  return {
    endpoint: endpointOption(owner, o, "endpoint"),
    greeting: requiredFunction(owner, o, "greeting"),
    heartbeat: requiredFunction(owner, o, "heartbeat"),
    onMessage: requiredFunction(owner, o, "onMessage"),
    heartbeatInterval: intOption(owner, o, "heartbeatInterval", HEARTBEAT_INTERVAL, 1),
    heartbeatLiveness: intOption(owner, o, "heartbeatLiveness", HEARTBEAT_LIVENESS, 1),
    reconnectInterval,
    reconnectMaxInterval: intOption(owner, o, "reconnectMaxInterval", Math.max(RECONNECT_MAX_INTERVAL, reconnectInterval), reconnectInterval),
    socketOptions: o.socketOptions as HeartbeatLinkOptions["socketOptions"],
    sendQueueLimit: intOption(owner, o, "sendQueueLimit", SEND_QUEUE_LIMIT, 1),
    overflow: enumOption(owner, o, "overflow", OVERFLOW_POLICIES, "drop-newest"),
  };
}

/** See the module documentation. */
export class HeartbeatLink extends Lifecycle<HeartbeatLinkEvents> {
  readonly endpoint: string;
  readonly heartbeatInterval: number;
  readonly heartbeatLiveness: number;
  readonly #c: LinkConfig;
  readonly #backoff: Backoff;
  readonly #liveness: Liveness;
  /** Fires when nothing went out for `heartbeatInterval`: time for a heartbeat. Every send resets it (O(1)). */
  #idle: Ticket | undefined;
  #handle: SocketHandle<zmq.Dealer, OverflowPolicy> | undefined;
  /** True once the broker spoke on the current socket. */
  #heard = false;
  #reconnectTimer: Timer | undefined;
  #retired = new Set<Promise<void>>();
  #stats: HeartbeatLinkStats = { connects: 0, reconnects: 0, heartbeatsSent: 0, received: 0, sent: 0, dropped: 0 };

  constructor(options: HeartbeatLinkOptions) {
    const o = optionsObject("HeartbeatLink", options);
    const c = linkConfig(o);
    super("HeartbeatLink", o);
    this.#c = c;
    this.endpoint = c.endpoint;
    this.heartbeatInterval = c.heartbeatInterval;
    this.heartbeatLiveness = c.heartbeatLiveness;
    this.#backoff = new Backoff({ initial: c.reconnectInterval, max: c.reconnectMaxInterval });
    this.#liveness = new Liveness({ interval: c.heartbeatInterval, liveness: c.heartbeatLiveness, clock: this.reactor.clock });
  }

  /** True while a socket is open (between connect and loss). */
  get connected(): boolean {
    return this.#handle !== undefined;
  }

  /** Counters. */
  stats(): HeartbeatLinkStats {
    return { ...this.#stats };
  }

  /**
   * Send a message to the broker. Returns false (counted as dropped) when no socket is open
   * (not started yet, or between sockets) or the send queue dropped it. Throws
   * {@link ClosedError} once closed.
   */
  send(message: MessageLike): boolean {
    this.assertOpen("send");
    if (!this.#handle) {
      this.#stats.dropped++;
      return false;
    }
    const ok = this.#handle.send(message);
    if (ok) {
      this.#stats.sent++;
      this.#idle?.reset();
    } else this.#stats.dropped++;
    return ok;
  }

  /**
   * Drop the current socket and reconnect on a new one after the backoff delay (e.g. when
   * the broker sent DISCONNECT). Does nothing before start or once closed.
   */
  reconnect(reason = "requested"): void {
    if (this.closed || this.state === "new") return;
    this.#lose(reason);
  }

  protected onStart(): void {
    const reactor = this.reactor;
    // The heartbeat runs off its own idle ticket, not off the liveness tick: sampling "is a
    // heartbeat due?" with a timer of the same period skips every other heartbeat whenever
    // the timer fires a little earlier after the send than the send was after its tick.
    this.#idle = this.ownTimer(reactor.tickets(this.heartbeatInterval).add(() => this.#onIdle()));
    this.ownTimer(reactor.every(this.heartbeatInterval, () => this.#onTick()));
    this.own(() => this.#closeSockets());
    this.#connect();
  }

  #closeSockets(): Promise<unknown> {
    this.#reconnectTimer?.cancel();
    this.#retire();
    return Promise.all(this.#retired);
  }

  /** Close the current socket (linger 0), if any; its close is awaited by `close()`. */
  #retire(): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (!handle) return;
    const closing = handle.close(0);
    this.#retired.add(closing);
    void closing.then(() => this.#retired.delete(closing));
  }

  #connect(): void {
    if (this.closed) return;
    const c = this.#c;
    const opts = typeof c.socketOptions === "function" ? c.socketOptions() : (c.socketOptions ?? {});
    const socket = new zmq.Dealer({ linger: 0, ...opts });
    try {
      socket.connect(this.endpoint);
    } catch (error) {
      socket.close();
      throw new InvalidOptionError("endpoint", `HeartbeatLink: cannot connect to \`endpoint\` ${JSON.stringify(this.endpoint)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#handle = this.reactor.add(socket, {
      name: `link:${this.endpoint}`,
      sendQueueLimit: c.sendQueueLimit,
      overflow: c.overflow,
      linger: 0,
      onMessage: (frames) => {
        this.#stats.received++;
        this.#liveness.heard();
        this.#backoff.reset();
        if (!this.#heard) {
          this.#heard = true;
          this.emit("link:established", { attempt: this.#stats.connects, endpoint: this.endpoint });
        }
        c.onMessage(frames);
      },
    });
    this.#heard = false;
    this.#stats.connects++;
    this.#liveness.heard();
    this.emit("link:connected", { attempt: this.#stats.connects, endpoint: this.endpoint });
    this.send(c.greeting());
  }

  #onTick(): void {
    if (this.#handle && this.#liveness.expired) this.#lose("heartbeat timeout");
  }

  #onIdle(): void {
    if (!this.#handle || this.closed) return; // the next connect's greeting re-arms it
    this.#idle?.reset(); // even if this heartbeat is dropped
    if (this.send(this.#c.heartbeat())) this.#stats.heartbeatsSent++;
  }

  #lose(reason: string): void {
    const silentMs = this.reactor.clock.now() - this.#liveness.lastHeard;
    this.#retire();
    this.emit("link:lost", { reason, silentMs });
    this.#reconnectTimer?.cancel();
    const delay = this.#backoff.next();
    this.#stats.reconnects++;
    this.emit("link:reconnecting", { delay });
    this.#reconnectTimer = this.reactor.after(delay, () => {
      this.#reconnectTimer = undefined;
      try {
        this.#connect();
      } catch (error) {
        // Try again after the next backoff step instead of stopping for good; the error is
        // still reported (handler:error on the reactor).
        if (!this.closed) this.#lose(`connect failed: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
    });
  }
}
