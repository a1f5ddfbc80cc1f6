/**
 * Lazy Pirate client (Guide ch4): reliable request-reply on a REQ socket, so it talks to any
 * REP server (or anything that answers like one: ROUTER brokers, Simple Pirate queues).
 * @module
 */
import * as zmq from "zeromq";
import {
  InvalidOptionError,
  RequestClient,
  SocketError,
  functionOption,
  intOption,
  isMessageLike,
  objectOption,
  optionsObject,
  requestSettings,
  toFrames,
  type Attempt,
  type MessageLike,
  type RequestAdapter,
  type RequestCallOptions,
  type SocketHandle,
} from "../../src/index.js";
import type { ClientOptions, LazyPirateEvents, LazyPirateStats, ReopenReason } from "./common.js";

/** Options of {@link LazyPirateClient} (a REQ socket has one request in flight: no `maxInFlight`). */
export interface LazyPirateOptions extends Omit<ClientOptions, "maxInFlight"> {
  /** zeromq.js options for each REQ socket it opens (`linger` is taken from `linger`). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Request>;
  /**
   * Decide whether `reply` answers `request` (the Guide checks that the reply carries the
   * request's sequence number). A refused reply is discarded (`reply:discarded`, reason
   * `rejected`) and the attempt keeps waiting until its timeout. Default: accept every reply.
   */
  readonly accept?: (reply: Buffer[], request: Buffer[]) => boolean;
}

const OWNER = "LazyPirateClient";

/**
 * Lazy Pirate client (Guide ch4 "Client-Side Reliability"): sends each request on a REQ
 * socket and waits `requestTimeout` ms for the reply; on timeout it closes the socket with
 * linger 0, opens a new one (on the next endpoint, when several are given) and resends the
 * same request, up to `retries` times, then rejects with `RequestAbandonedError`.
 *
 * Requests are serialized (a REQ socket has one request outstanding): the others wait in a
 * bounded queue. Each may carry its own `signal`, `requestTimeout` and `retries`. The client
 * starts on its first request (or `start()`).
 *
 * ```ts
 * const client = new LazyPirateClient({ endpoint: "tcp://127.0.0.1:5555" });
 * const reply = await client.request(["hello"]);
 * await client.close();
 * ```
 */
export class LazyPirateClient extends RequestClient<Buffer[], LazyPirateEvents> {
  readonly #accept: ((reply: Buffer[], request: Buffer[]) => boolean) | undefined;
  readonly #linger: number;
  readonly #socketOptions: zmq.SocketOptions<zmq.Request>;
  #handle: SocketHandle<zmq.Request> | undefined;
  /** The attempt on the current socket, waiting for its reply. */
  #waiting: Attempt<Buffer[]> | undefined;
  #waitingAttempt = 0;
  #generation = 0;
  #reopened = 0;
  readonly #retiring = new Set<Promise<void>>();

  constructor(options: LazyPirateOptions) {
    const o = optionsObject(OWNER, options);
    const settings = requestSettings(OWNER, o, { maxInFlight: 1, maxInFlightLimit: 1, exactlyOnce: true });
    const accept = functionOption<(reply: Buffer[], request: Buffer[]) => boolean, undefined>(OWNER, o, "accept", undefined);
    const linger = intOption(OWNER, o, "linger", 0, -1);
    const socketOptions = { ...(objectOption<zmq.SocketOptions<zmq.Request>>(OWNER, o, "socketOptions") ?? {}) };
    super(OWNER, o, settings, { linger });
    this.#accept = accept;
    this.#linger = linger;
    this.#socketOptions = socketOptions;
  }

  protected adapter(): RequestAdapter<Buffer[]> {
    return {
      send: (a) => this.#send(a),
      reset: (_a, reason) => this.#reset(reason),
      release: (id) => {
        if (this.#waiting?.id === id) this.#waiting = undefined;
      },
    };
  }

  /**
   * Send `payload` (one frame or several) and resolve with the reply frames. Rejects with
   * `RequestAbandonedError` (a `TimeoutError`) after the last attempt, `AbortedError` when
   * `options.signal` aborts, `QueueFullError` when the pending queue overflows,
   * `ClosedError` when the client closes first, `InvalidOptionError` for bad arguments.
   */
  request(payload: MessageLike, options?: RequestCallOptions): Promise<Buffer[]> {
    if (!isMessageLike(payload)) return Promise.reject(new InvalidOptionError("payload", `${OWNER}.request: expected \`payload\` to be a frame or a non-empty array of frames`));
    return this.submit(toFrames(payload), options);
  }

  /** Counters (see {@link LazyPirateStats}). */
  stats(): LazyPirateStats {
    return { ...this.engineStats(), reopened: this.#reopened, malformed: 0 };
  }

  protected onStart(): void {
    this.#open();
    this.own(async () => {
      this.#retire();
      await Promise.all(this.#retiring);
    });
  }

  /** Start on first use; the socket exists when `start()` returns (onStart is synchronous). */
  #send(a: Attempt<Buffer[]>): void {
    if (!this.#handle) throw new SocketError(`${OWNER}: no socket (the client did not start)`);
    this.#waiting = a;
    this.#waitingAttempt = a.attempt;
    this.#handle.send(this.stamped(a.id, a.request));
  }

  /** The REQ socket now waits for a reply that may never come (strict FSM): replace it. */
  #reset(reason: ReopenReason): void {
    this.#waiting = undefined;
    this.#retire();
    this.#open();
    this.#reopened++;
    this.emit("socket:reopened", { reason, endpoint: this.endpoint, count: this.#reopened });
  }

  #open(): void {
    const socket = new zmq.Request({ ...this.#socketOptions, linger: this.#linger });
    this.#handle = this.reactor.add(socket, {
      name: `lazy-pirate-req-${++this.#generation}`,
      linger: this.#linger,
      sendQueueLimit: 1,
      overflow: "drop-oldest",
      onMessage: (reply) => this.#onReply(reply),
    });
    socket.connect(this.endpoint);
  }

  #retire(): void {
    const handle = this.#handle;
    if (!handle) return;
    this.#handle = undefined;
    const closing = handle.close(this.#linger);
    this.#retiring.add(closing);
    void closing.then(() => this.#retiring.delete(closing));
  }

  // A retired socket never calls back (the reactor dispatches nothing after a handle's
  // close()), so a reply here answers the attempt on the current socket, if one waits.
  #onReply(reply: Buffer[]): void {
    const a = this.#waiting;
    if (a === undefined) return void this.engine.discard("unknown");
    if (this.#accept && !this.#accept(reply, a.request)) return void this.engine.discard("rejected", a.id);
    this.#waiting = undefined;
    this.engine.resolve(a.id, reply, this.#waitingAttempt);
  }
}
