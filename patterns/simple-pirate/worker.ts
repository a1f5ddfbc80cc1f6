/**
 * Simple Pirate worker (Guide ch4): a REQ socket that says READY and then answers requests.
 * @module
 */
import * as zmq from "zeromq";
import {
  EMPTY,
  Reactor,
  TypedEmitter,
  endpointOption,
  functionOption,
  intOption,
  joinEnvelope,
  objectOption,
  optionsObject,
  signalOption,
  splitEnvelope,
  toFrames,
  type RequestHandler,
  type SocketHandle,
  reactorOption,
} from "../../src/index.js";
import { READY_FRAME } from "./protocol.js";

/** Options of {@link SimplePirateWorker}. */
export interface SimplePirateWorkerOptions {
  /** The queue's backend endpoint. Required. */
  readonly endpoint: string;
  /** Turns request frames into reply frames (may be async). Required. */
  readonly handler: RequestHandler;
  /** Routing id of the REQ socket (the Guide uses a random `"%04X-%04X"`). Default: libzmq's. */
  readonly identity?: string | Buffer;
  /** Share a reactor (not closed by the worker). Default: the worker owns one. */
  readonly reactor?: Reactor;
  /** Aborting it closes the worker. */
  readonly signal?: AbortSignal;
  /** Linger (ms) when the socket closes. Default 0. */
  readonly linger?: number;
  /** Extra zeromq.js options for the REQ socket. */
  readonly socketOptions?: zmq.SocketOptions<zmq.Request>;
}

/** Counters of a {@link SimplePirateWorker}. */
export interface SimplePirateWorkerStats {
  /** Requests received. */
  requests: number;
  /** Replies sent. */
  replies: number;
  /** Requests whose handler threw or rejected (the request is dropped, the socket reset). */
  handlerErrors: number;
  /** Messages with no envelope (dropped, socket reset). */
  malformed: number;
  /** Sockets opened after the first (after a handler error or malformed message). */
  reopened: number;
}

/** Events of a {@link SimplePirateWorker}. */
export interface SimplePirateWorkerEvents {
  [event: string]: unknown[];
  /** The handler threw or rejected; the request got no reply. */
  "handler:error": [{ error: unknown; request: Buffer[] }];
  /** A message without an address envelope was dropped. */
  "message:malformed": [{ frames: Buffer[] }];
  /** The REQ socket was replaced (and READY sent again). */
  "socket:reopened": [{ reason: "handler-error" | "malformed" }];
}

/**
 * Simple Pirate worker (Guide ch4 "Basic Reliable Queuing"): connects a REQ socket to the
 * queue's backend, sends READY (0x01), then for each request `[...envelope, EMPTY, ...body]`
 * calls `handler(body)` and replies `[...envelope, EMPTY, ...reply]`. A REQ socket must answer
 * before it can receive again, so when the handler fails (or a message has no envelope) the
 * worker drops the request, opens a fresh socket and says READY again; the client's Lazy
 * Pirate retry takes care of the lost request.
 *
 * Simple Pirate has no heartbeats: if the queue restarts, this worker is not known to the new
 * queue until it reconnects with a new socket. Use Paranoid Pirate when that matters.
 */
export class SimplePirateWorker extends TypedEmitter<SimplePirateWorkerEvents> {
  /** The endpoint the worker connects to. */
  readonly endpoint: string;
  readonly #handler: RequestHandler;
  readonly #reactor: Reactor;
  readonly #ownsReactor: boolean;
  readonly #socketOptions: zmq.SocketOptions<zmq.Request>;
  readonly #linger: number;
  readonly #signal: AbortSignal | undefined;
  readonly #stats: SimplePirateWorkerStats = { requests: 0, replies: 0, handlerErrors: 0, malformed: 0, reopened: 0 };
  readonly #closing = new Set<Promise<void>>();
  #handle!: SocketHandle<zmq.Request>;
  #generation = 0;
  #closePromise: Promise<void> | undefined;
  readonly #onSignal = () => void this.close();

  constructor(options: SimplePirateWorkerOptions) {
    super();
    const o = optionsObject("SimplePirateWorker", options);
    this.endpoint = endpointOption("SimplePirateWorker", o, "endpoint");
    const handler = functionOption<RequestHandler, undefined>("SimplePirateWorker", o, "handler", undefined);
    if (!handler) throw new TypeError("SimplePirateWorker: expected `handler` to be a function, got undefined");
    this.#handler = handler;
    const identity = o.identity;
    if (identity !== undefined && !((typeof identity === "string" || Buffer.isBuffer(identity)) && identity.length > 0 && identity.length <= 255)) {
      throw new TypeError(`SimplePirateWorker: expected \`identity\` to be a string or Buffer of 1..255 bytes, got ${String(identity)}`);
    }
    this.#linger = intOption("SimplePirateWorker", o, "linger", 0, -1);
    this.#signal = signalOption("SimplePirateWorker", o);
    this.#socketOptions = { ...(objectOption<zmq.SocketOptions<zmq.Request>>("SimplePirateWorker", o, "socketOptions") ?? {}), ...(identity !== undefined ? { routingId: identity.toString() } : {}) };
    ({ reactor: this.#reactor, owned: this.#ownsReactor } = reactorOption("SimplePirateWorker", o, { linger: this.#linger }));
    this.#open();
    if (this.#signal?.aborted) queueMicrotask(() => void this.close());
    else this.#signal?.addEventListener("abort", this.#onSignal, { once: true });
  }

  /** Counters (see {@link SimplePirateWorkerStats}). */
  stats(): SimplePirateWorkerStats {
    return { ...this.#stats };
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closePromise !== undefined;
  }

  /** Close the socket (a request being handled gets no reply), and the reactor if owned. Idempotent. */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#signal?.removeEventListener("abort", this.#onSignal);
    this.#closePromise = (async () => {
      this.#retire();
      await Promise.all(this.#closing);
      if (this.#ownsReactor) await this.#reactor.close();
    })();
    return this.#closePromise;
  }

  #open(): void {
    const generation = ++this.#generation;
    const socket = new zmq.Request({ ...this.#socketOptions, linger: this.#linger });
    this.#handle = this.#reactor.add(socket, {
      name: `simple-pirate-worker-${generation}`,
      linger: this.#linger,
      onMessage: (frames) => this.#onRequest(frames, generation),
    });
    socket.connect(this.endpoint);
    this.#handle.send(READY_FRAME);
  }

  #retire(): void {
    const closing = this.#handle.close(this.#linger);
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }

  #reopen(reason: "handler-error" | "malformed"): void {
    if (this.closed) return;
    this.#retire();
    this.#open();
    this.#stats.reopened++;
    this.emit("socket:reopened", { reason });
  }

  async #onRequest(frames: Buffer[], generation: number): Promise<void> {
    const split = splitEnvelope(frames, 1);
    if (!split) {
      this.#stats.malformed++;
      this.emit("message:malformed", { frames });
      this.#reopen("malformed");
      return;
    }
    this.#stats.requests++;
    let reply: Buffer[];
    try {
      reply = toFrames(await this.#handler(split.body));
    } catch (error) {
      this.#stats.handlerErrors++;
      this.emit("handler:error", { error, request: split.body });
      if (generation === this.#generation) this.#reopen("handler-error");
      return;
    }
    if (generation !== this.#generation || this.closed) return;
    this.#stats.replies++;
    this.#handle.send(joinEnvelope(split.envelope, reply.length > 0 ? reply : [EMPTY]));
  }
}
