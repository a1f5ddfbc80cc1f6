/**
 * Simple Pirate worker (Guide ch4): a REQ socket that says READY and then answers requests.
 * @module
 */
import * as zmq from "zeromq";
import {
  EMPTY,
  InvalidOptionError,
  WorkerBase,
  intOption,
  joinEnvelope,
  objectOption,
  optionsObject,
  splitEnvelope,
  workerConfig,
  type EnvelopeJob,
  type OverflowPolicy,
  type RequestFailure,
  type SocketHandle,
  type WorkerConfig,
  type WorkerEvents,
  type WorkerHandler,
  type WorkerOptions,
  type WorkerStats,
} from "../../src/index.js";
import { READY_FRAME } from "./protocol.js";

/** Options of {@link SimplePirateWorker}: the worker vocabulary (src/README.md, "Workers"), without heartbeats. */
export interface SimplePirateWorkerOptions extends WorkerOptions<WorkerHandler> {
  /** Routing id of the REQ socket (the Guide uses a random `"%04X-%04X"`). Default: libzmq's. */
  readonly identity?: string | Buffer;
  /** Linger (ms) when the socket closes. Default 0. */
  readonly linger?: number;
  /** Extra zeromq.js options for the REQ socket. */
  readonly socketOptions?: zmq.SocketOptions<zmq.Request>;
}

/** Counters of a {@link SimplePirateWorker}: the worker counters. */
export type SimplePirateWorkerStats = WorkerStats;

/** Events of a {@link SimplePirateWorker}: the worker events (src/README.md, "Workers"). */
export type SimplePirateWorkerEvents = WorkerEvents;

/**
 * Simple Pirate worker (Guide ch4 "Basic Reliable Queuing"): connects a REQ socket to the
 * queue's backend, sends READY (0x01), then for each request `[...envelope, EMPTY, ...body]`
 * calls `handler(body)` and replies `[...envelope, EMPTY, ...reply]`. A REQ socket must answer
 * before it can receive again, so when the handler fails (or a message has no envelope) and
 * there is no `errorReply`, the worker drops the request, opens a fresh socket and says READY
 * again (`link:lost`, `link:reconnecting` with delay 0, `link:connected`); the client's Lazy
 * Pirate retry takes care of the lost request.
 *
 * Simple Pirate has no heartbeats: if the queue restarts, this worker is not known to the new
 * queue until it reconnects with a new socket. Use Paranoid Pirate when that matters.
 * Starts connecting by itself once constructed (or call {@link start} and await it).
 */
export class SimplePirateWorker extends WorkerBase<EnvelopeJob, WorkerConfig<WorkerHandler>> {
  readonly #socketOptions: zmq.SocketOptions<zmq.Request>;
  readonly #linger: number;
  readonly #closing = new Set<Promise<void>>();
  #handle: SocketHandle<zmq.Request, OverflowPolicy> | undefined;
  #heard = false;
  #lastHeard = 0;
  #connects = 0;

  constructor(options: SimplePirateWorkerOptions) {
    const owner = "SimplePirateWorker";
    const o = optionsObject(owner, options);
    const config = workerConfig<WorkerHandler>(owner, o);
    const identity = o.identity;
    if (identity !== undefined && !((typeof identity === "string" || Buffer.isBuffer(identity)) && identity.length > 0 && identity.length <= 255)) {
      throw new InvalidOptionError("identity", `${owner}: expected \`identity\` to be a string or Buffer of 1..255 bytes, got ${String(identity)}`);
    }
    const linger = intOption(owner, o, "linger", 0, -1);
    const socketOptions = objectOption<zmq.SocketOptions<zmq.Request>>(owner, o, "socketOptions") ?? {};
    // A REQ socket takes one request at a time: the backlog never holds one.
    super(owner, o, config, 1, { linger });
    this.#linger = linger;
    this.#socketOptions = { ...socketOptions, ...(identity !== undefined ? { routingId: identity.toString() } : {}) };
  }

  /** True while a socket to the queue is open. */
  get connected(): boolean {
    return this.#handle !== undefined;
  }

  /** Counters (see {@link WorkerStats}). */
  stats(): SimplePirateWorkerStats {
    return { ...this.runner.stats(), connects: this.#connects, reconnects: Math.max(0, this.#connects - 1) };
  }

  protected onStart(): void {
    this.own(() => {
      this.#retire();
      return Promise.all(this.#closing);
    });
    this.#open();
  }

  protected sendReply(request: EnvelopeJob, reply: Buffer[]): boolean {
    return this.#handle?.send(joinEnvelope(request.envelope, reply.length > 0 ? reply : [EMPTY])) ?? false;
  }

  /** The REQ socket owes a reply it will not send: start again on a fresh one. */
  protected recover(_request: EnvelopeJob, reason: RequestFailure): void {
    this.#reopen(reason === "timeout" ? "request timed out" : "request failed");
  }

  #open(): void {
    const socket = new zmq.Request({ ...this.#socketOptions, linger: this.#linger });
    try {
      socket.connect(this.endpoint);
    } catch (error) {
      socket.close();
      throw new InvalidOptionError("endpoint", `SimplePirateWorker: cannot connect to \`endpoint\` ${JSON.stringify(this.endpoint)}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const attempt = ++this.#connects;
    const handle = this.reactor.add(socket, {
      name: `simple-pirate-worker-${attempt}`,
      linger: this.#linger,
      sendQueueLimit: this.config.sendQueueLimit,
      overflow: "drop-newest" as OverflowPolicy,
      onMessage: (frames) => {
        if (handle === this.#handle) this.#onMessage(frames);
      },
    });
    this.#handle = handle;
    this.#heard = false;
    this.#lastHeard = this.reactor.clock.now();
    this.emit("link:connected", { attempt, endpoint: this.endpoint });
    handle.send(READY_FRAME);
  }

  #retire(): void {
    const closing = this.#handle?.close(this.#linger);
    this.#handle = undefined;
    if (!closing) return;
    this.#closing.add(closing);
    void closing.then(() => this.#closing.delete(closing));
  }

  /** Drop the socket (and with it the request it owes a reply) and start again on a new one. */
  #reopen(reason: string): void {
    if (this.closed) return;
    this.#retire();
    this.runner.reset();
    this.emit("link:lost", { reason, silentMs: this.reactor.clock.now() - this.#lastHeard });
    this.emit("link:reconnecting", { delay: 0 });
    this.#open();
  }

  #onMessage(frames: Buffer[]): void {
    this.#lastHeard = this.reactor.clock.now();
    if (!this.#heard) {
      this.#heard = true;
      this.emit("link:established", { attempt: this.#connects, endpoint: this.endpoint });
    }
    const split = splitEnvelope(frames, 1);
    if (!split) {
      this.runner.malformed("link", "request without an address envelope", frames.length);
      return this.#reopen("malformed message");
    }
    this.runner.accept({ client: split.envelope[0]!, envelope: split.envelope, body: split.body });
  }
}
