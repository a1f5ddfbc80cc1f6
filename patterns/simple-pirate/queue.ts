/**
 * Simple Pirate queue (Guide ch4): a least-recently-used load balancer between clients
 * (frontend ROUTER) and REQ workers (backend ROUTER).
 * @module
 */
import * as zmq from "zeromq";
import {
  BoundedQueue,
  ClosedError,
  EMPTY,
  Reactor,
  TypedEmitter,
  endpointsOption,
  enumOption,
  idKey,
  intOption,
  optionsObject,
  signalOption,
  type DropEvent,
  type SocketHandle,
  type SocketStats,
  reactorOption,
} from "../../src/index.js";
import { isRequest, parseBackend } from "./protocol.js";

/** What happens to a new request when the backlog of waiting requests is full. */
export type PendingOverflow = "drop-newest" | "drop-oldest";

/** Options of {@link SimplePirateQueue}. */
export interface SimplePirateQueueOptions {
  /** Endpoint(s) the client-facing ROUTER binds. `tcp://127.0.0.1:*` picks a port. Required. */
  readonly frontend: string | readonly string[];
  /** Endpoint(s) the worker-facing ROUTER binds. Required. */
  readonly backend: string | readonly string[];
  /** Share a reactor (not closed by the queue). Default: the queue owns one. */
  readonly reactor?: Reactor;
  /** Aborting it closes the queue. */
  readonly signal?: AbortSignal;
  /** Requests held while no worker is free. Default 1000. */
  readonly maxPending?: number;
  /** Which request goes when that backlog is full. Default `drop-newest`. */
  readonly overflow?: PendingOverflow;
  /** Idle workers remembered at most; further READYs are dropped (counted). Default 10000. */
  readonly maxWorkers?: number;
  /** Send queue limit of each ROUTER. Default 1000. */
  readonly sendQueueLimit?: number;
  /** Linger (ms) when the sockets close. Default 0. */
  readonly linger?: number;
}

/** Counters of a {@link SimplePirateQueue}. */
export interface SimplePirateQueueStats {
  /** Well-formed requests received from clients. */
  requests: number;
  /** Requests handed to a worker. */
  dispatched: number;
  /** Replies forwarded to clients. */
  replies: number;
  /** READY messages received. */
  ready: number;
  /** READYs from a worker that was already idle (kept once). */
  duplicateReady: number;
  /** Requests put back because their worker was gone (unroutable). */
  requeued: number;
  /** Idle workers now. */
  workers: number;
  /** Requests waiting for a worker now. */
  pending: number;
  /** Requests dropped by the backlog's overflow policy or on close. */
  dropped: number;
  /** READYs dropped because `maxWorkers` idle workers were already known. */
  droppedWorkers: number;
  /** Replies the frontend could not route (client gone) or dropped. */
  undeliverable: number;
  /** Malformed messages dropped (both sockets). */
  malformed: number;
  /** Of those, from clients. */
  malformedFrontend: number;
  /** Of those, from workers. */
  malformedBackend: number;
  /** Socket counters. */
  frontend: SocketStats;
  backend: SocketStats;
}

/** Events of a {@link SimplePirateQueue}. */
export interface SimplePirateQueueEvents {
  [event: string]: unknown[];
  /** A worker said READY (or finished a request) and is idle. */
  "worker:ready": [{ worker: Buffer }];
  /** A request was dropped: backlog overflow or close. */
  "request:dropped": [{ reason: "overflow" | "closed"; request: Buffer[] }];
  /** A malformed message was counted and dropped. */
  "message:malformed": [{ socket: "frontend" | "backend"; frames: Buffer[] }];
}

let instances = 0;

/**
 * Simple Pirate queue (Guide ch4 "Basic Reliable Queuing"): requests from the frontend go
 * to the least recently used idle worker; a worker announces itself with READY (0x01) and
 * becomes idle again with each reply, which is forwarded to the client. Address stacks are
 * forwarded untouched, so REQ clients and the pipelined DEALER client both work. Requests
 * wait in a bounded backlog while no worker is idle.
 *
 * ```ts
 * const queue = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
 * await queue.start();
 * console.log(queue.endpoints); // { frontend: ["tcp://127.0.0.1:40123"], backend: [...] }
 * ```
 */
export class SimplePirateQueue extends TypedEmitter<SimplePirateQueueEvents> {
  /** The bound endpoints (filled by {@link start}; wildcards resolved). */
  readonly endpoints: { frontend: string[]; backend: string[] } = { frontend: [], backend: [] };
  readonly #reactor: Reactor;
  readonly #ownsReactor: boolean;
  readonly #bind: { frontend: string[]; backend: string[] };
  readonly #idle = new Map<string, Buffer>();
  readonly #pending: BoundedQueue<Buffer[]>;
  readonly #maxWorkers: number;
  readonly #signal: AbortSignal | undefined;
  readonly #frontend: SocketHandle<zmq.Router>;
  readonly #backend: SocketHandle<zmq.Router>;
  readonly #stats = { requests: 0, dispatched: 0, replies: 0, ready: 0, duplicateReady: 0, requeued: 0, dropped: 0, droppedWorkers: 0, undeliverable: 0, malformed: 0, malformedFrontend: 0, malformedBackend: 0 };
  #startPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  readonly #offDropped: () => void;
  readonly #onSignal = () => void this.close();

  constructor(options: SimplePirateQueueOptions) {
    super();
    const o = optionsObject("SimplePirateQueue", options);
    this.#bind = { frontend: endpointsOption("SimplePirateQueue", o, "frontend"), backend: endpointsOption("SimplePirateQueue", o, "backend") };
    const maxPending = intOption("SimplePirateQueue", o, "maxPending", 1000, 1);
    const overflow = enumOption<PendingOverflow>("SimplePirateQueue", o, "overflow", ["drop-newest", "drop-oldest"], "drop-newest");
    this.#maxWorkers = intOption("SimplePirateQueue", o, "maxWorkers", 10_000, 1);
    const sendQueueLimit = intOption("SimplePirateQueue", o, "sendQueueLimit", 1000, 1);
    const linger = intOption("SimplePirateQueue", o, "linger", 0, -1);
    this.#signal = signalOption("SimplePirateQueue", o);
    ({ reactor: this.#reactor, owned: this.#ownsReactor } = reactorOption("SimplePirateQueue", o, { linger }));
    this.#pending = new BoundedQueue<Buffer[]>(maxPending, overflow, "pending requests of SimplePirateQueue");
    const n = ++instances;
    // `handover`: a peer that comes back with the same routing id (a worker or client that
    // reset its socket, a restarted process) takes the id over; without it libzmq ignores
    // the newcomer for as long as the old connection lingers.
    const add = (name: string, onMessage: (frames: Buffer[]) => void) =>
      this.#reactor.add(new zmq.Router({ mandatory: true, handover: true, linger }), { name, onMessage, sendQueueLimit, overflow: "drop-newest", linger });
    this.#frontend = add(`simple-pirate-frontend-${n}`, (frames) => this.#onFrontend(frames));
    this.#backend = add(`simple-pirate-backend-${n}`, (frames) => this.#onBackend(frames));
    this.#offDropped = this.#reactor.on("message:dropped", (e) => this.#onDropped(e));
    if (this.#signal?.aborted) queueMicrotask(() => void this.close());
    else this.#signal?.addEventListener("abort", this.#onSignal, { once: true });
  }

  /** Bind the frontend and backend endpoints. Resolves when all are bound. Idempotent. */
  start(): Promise<void> {
    this.#startPromise ??= (async () => {
      if (this.#closePromise) throw new ClosedError("SimplePirateQueue is closed");
      for (const [side, handle] of [["frontend", this.#frontend], ["backend", this.#backend]] as const) {
        for (const endpoint of this.#bind[side]) {
          await handle.socket.bind(endpoint);
          this.endpoints[side].push(handle.socket.lastEndpoint ?? endpoint);
        }
      }
    })();
    return this.#startPromise;
  }

  /** Counters (see {@link SimplePirateQueueStats}). */
  stats(): SimplePirateQueueStats {
    return { ...this.#stats, workers: this.#idle.size, pending: this.#pending.size, frontend: this.#frontend.stats(), backend: this.#backend.stats() };
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closePromise !== undefined;
  }

  /** Drop the waiting requests (counted), close both sockets, and the reactor if owned. Idempotent. */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.#signal?.removeEventListener("abort", this.#onSignal);
    for (const request of this.#pending.drain()) this.#drop(request, "closed");
    this.#idle.clear();
    this.#closePromise = (async () => {
      await Promise.all([this.#frontend.close(), this.#backend.close()]);
      this.#offDropped();
      if (this.#ownsReactor) await this.#reactor.close();
    })();
    return this.#closePromise;
  }

  #onFrontend(frames: Buffer[]): void {
    if (!isRequest(frames)) return this.#malformed("frontend", frames);
    this.#stats.requests++;
    const worker = this.#takeWorker();
    if (worker) return this.#dispatch(worker, frames);
    const { dropped } = this.#pending.push(frames);
    if (dropped) this.#drop(dropped, "overflow");
  }

  #onBackend(frames: Buffer[]): void {
    const message = parseBackend(frames);
    if (!message) return this.#malformed("backend", frames);
    if (message.kind === "ready") {
      this.#stats.ready++;
    } else {
      this.#stats.replies++;
      this.#frontend.send(message.reply);
    }
    this.#workerIdle(message.worker);
  }

  #workerIdle(worker: Buffer): void {
    const key = idKey(worker);
    if (this.#idle.has(key)) {
      this.#stats.duplicateReady++;
      return;
    }
    const request = this.#pending.shift();
    if (request) return this.#dispatch(worker, request);
    if (this.#idle.size >= this.#maxWorkers) {
      this.#stats.droppedWorkers++;
      return;
    }
    this.#idle.set(key, worker);
    this.emit("worker:ready", { worker });
  }

  #takeWorker(): Buffer | undefined {
    const first = this.#idle.entries().next();
    if (first.done) return undefined;
    this.#idle.delete(first.value[0]);
    return first.value[1];
  }

  #dispatch(worker: Buffer, request: Buffer[]): void {
    this.#stats.dispatched++;
    this.#backend.send([worker, EMPTY, ...request]);
  }

  #onDropped(e: DropEvent): void {
    if (e.socket === this.#frontend.name) {
      this.#stats.undeliverable++;
      return;
    }
    if (e.socket !== this.#backend.name || e.reason === "closed") return;
    const request = (e.message as Buffer[]).slice(2);
    if (e.reason !== "unroutable" && e.reason !== "hwm") return this.#drop(request, "overflow");
    // The worker is gone (or its pipe is full): give the request to another worker.
    this.#stats.requeued++;
    const worker = this.#takeWorker();
    if (worker) this.#dispatch(worker, request);
    else this.#pending.unshift(request);
  }

  #drop(request: Buffer[], reason: "overflow" | "closed"): void {
    this.#stats.dropped++;
    this.emit("request:dropped", { reason, request });
  }

  #malformed(socket: "frontend" | "backend", frames: Buffer[]): void {
    this.#stats.malformed++;
    this.#stats[socket === "frontend" ? "malformedFrontend" : "malformedBackend"]++;
    this.emit("message:malformed", { socket, frames });
  }
}
