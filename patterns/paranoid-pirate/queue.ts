/**
 * The 6/PPP queue: a ROUTER frontend for clients, a ROUTER backend for workers, an LRU of
 * ready workers with heartbeats both ways and expiry, and redelivery of the requests of
 * workers that die while busy.
 * @module
 */
import * as zmq from "zeromq";
import {
  BoundedQueue,
  HEARTBEAT_INTERVAL,
  HEARTBEAT_LIVENESS,
  PeerTable,
  Reactor,
  TypedEmitter,
  ClosedError,
  endpointsOption,
  enumOption,
  intOption,
  optionsObject,
  signalOption,
  type PeerEntry,
  type SocketHandle,
  type Timer,
  type ReactorEvents,
  toFrame,
  type FrameLike,
  reactorOption,
} from "../../src/index.js";
import { HEARTBEAT_FRAME, checkClientRequest, parseWorkerMessage } from "./protocol.js";

/** What the queue does with a new request when its backlog is full. */
export type PendingOverflow = "drop-oldest" | "drop-newest";

/** Options of {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueOptions {
  /** Endpoint(s) the client-facing ROUTER binds (e.g. `tcp://*:5555`; port `*` picks one). */
  readonly frontend: string | readonly string[];
  /** Endpoint(s) the worker-facing ROUTER binds. */
  readonly backend: string | readonly string[];
  /** 6/PPP heartbeat interval, ms. Default 1000. */
  readonly heartbeatInterval?: number;
  /** Intervals of silence after which a worker is purged. Default 3. */
  readonly heartbeatLiveness?: number;
  /** Requests held while no worker is ready. Default 1000. */
  readonly maxPending?: number;
  /** What happens to a request arriving when the backlog is full. Default `drop-oldest`. */
  readonly overflow?: PendingOverflow;
  /** A held request older than this (ms) is dropped unsent; 0 = never. Default 10000. */
  readonly pendingTimeout?: number;
  /** How often one request may be redelivered after its worker died. Default 3. */
  readonly maxRedeliveries?: number;
  /**
   * Most workers known at once. A READY from a new worker past it is rejected and counted
   * (`worker:rejected`, reason "worker table full"); the worker hears no heartbeats, so it
   * reconnects later and tries again. Default 10000.
   */
  readonly maxWorkers?: number;
  /** Send queue limit of each socket. Default 10000. */
  readonly sendQueueLimit?: number;
  /** Reactor to run on (it is not closed by {@link ParanoidPirateQueue.close}). Default: an own one. */
  readonly reactor?: Reactor;
  /** Aborting it closes the queue. */
  readonly signal?: AbortSignal;
}

/** Why a request was dropped. */
export type RequestDropReason = "overflow" | "deadline" | "redeliveries" | "closed";

/** Events of a {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueEvents {
  [event: string]: unknown[];
  /** A worker sent READY. `again` is true when it was already known (see the README). */
  "worker:ready": [{ id: Buffer; again: boolean; workers: number }];
  /** A worker was silent for `heartbeatLiveness × heartbeatInterval` and was purged. */
  "worker:expired": [{ id: Buffer; silentMs: number; busy: boolean }];
  /** A send to a worker failed because it is gone (`EHOSTUNREACH`), or a request to it could not be sent (its pipe is full): purged at once. */
  "worker:unreachable": [{ id: Buffer; busy: boolean }];
  /** A peer that never sent READY sent something else: dropped (6/PPP: READY comes first). */
  "worker:rejected": [{ id: Buffer; reason: string }];
  /** The request of a dead worker was put back at the head of the backlog. */
  "request:redelivered": [{ attempt: number; from: Buffer }];
  /** A request was dropped (counted in `stats()`). */
  "request:dropped": [{ reason: RequestDropReason; frames: Buffer[] }];
  /** A reply could not be delivered to its client (gone or over its high-water mark). */
  "reply:dropped": [{ reason: string }];
  /** A message broke 6/PPP: counted and dropped. */
  "message:malformed": [{ socket: "frontend" | "backend"; reason: string; frames: number }];
  /** The queue finished closing. */
  "queue:closed": [];
}

/** Counters of a {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueStats {
  /** Well-formed client requests received. */
  requests: number;
  /** Requests sent to workers (first deliveries and redeliveries). */
  dispatched: number;
  /** Replies forwarded to clients. */
  replies: number;
  /** Replies from a worker that was not busy with a request (forwarded all the same). */
  lateReplies: number;
  /** Requests redelivered after their worker died. */
  redelivered: number;
  /** Requests dropped, all reasons. */
  dropped: number;
  droppedOverflow: number;
  droppedDeadline: number;
  droppedRedeliveries: number;
  droppedClosed: number;
  /** Replies that could not reach their client. */
  droppedReplies: number;
  /** Malformed messages, both sockets. */
  malformed: number;
  /** READY commands received (first and repeated). */
  readies: number;
  /** READY from a worker already known. */
  duplicateReady: number;
  /** Messages from peers that had not sent READY. */
  rejected: number;
  /** Workers purged by heartbeat expiry. */
  expired: number;
  /** Workers purged because the ROUTER could not reach them. */
  unreachable: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Workers known now. */
  workers: number;
  /** Workers ready for a request now. */
  idle: number;
  /** Requests held now. */
  pending: number;
}

interface Job {
  /** The client's message as the frontend received it: `[clientId, ...addresses, EMPTY, ...content]`. */
  frames: Buffer[];
  arrived: number;
  deliveries: number;
}

interface WorkerState {
  job: Job | undefined;
}

type Entry = PeerEntry<WorkerState>;

let instances = 0;

/**
 * 6/PPP queue (the Guide's Paranoid Pirate queue, hardened). Clients connect REQ or DEALER
 * sockets to the frontend; {@link ParanoidPirateWorker}s (or any 6/PPP worker) connect to
 * the backend. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateQueue extends TypedEmitter<ParanoidPirateQueueEvents> {
  /** Heartbeat interval, ms. */
  readonly heartbeatInterval: number;
  /** Heartbeat liveness. */
  readonly heartbeatLiveness: number;
  /** Redelivery limit per request. */
  readonly maxRedeliveries: number;
  /** Most workers known at once. */
  readonly maxWorkers: number;
  /** Pending deadline, ms (0 = none). */
  readonly pendingTimeout: number;
  /** Bound endpoints (resolved, e.g. the port picked for `*`), filled by {@link start}. */
  readonly endpoints: { frontend: string[]; backend: string[] } = { frontend: [], backend: [] };

  readonly #frontendSpecs: string[];
  readonly #backendSpecs: string[];
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  readonly #sendQueueLimit: number;
  readonly #signal: AbortSignal | undefined;
  readonly #pending: BoundedQueue<Job>;
  readonly #workers: PeerTable<WorkerState>;
  /** Ready workers, least recently used first. */
  readonly #idle = new Map<string, Entry>();
  readonly #name: string;
  #frontend: SocketHandle<zmq.Router> | undefined;
  #backend: SocketHandle<zmq.Router> | undefined;
  #tick: Timer | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #offReactor: (() => void)[] = [];
  readonly #s = {
    requests: 0,
    dispatched: 0,
    replies: 0,
    lateReplies: 0,
    redelivered: 0,
    droppedOverflow: 0,
    droppedDeadline: 0,
    droppedRedeliveries: 0,
    droppedClosed: 0,
    droppedReplies: 0,
    malformed: 0,
    readies: 0,
    duplicateReady: 0,
    rejected: 0,
    expired: 0,
    unreachable: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
  };

  constructor(options: ParanoidPirateQueueOptions) {
    super();
    const owner = "ParanoidPirateQueue";
    const o = optionsObject(owner, options);
    this.#frontendSpecs = endpointsOption(owner, o, "frontend");
    this.#backendSpecs = endpointsOption(owner, o, "backend");
    this.heartbeatInterval = intOption(owner, o, "heartbeatInterval", HEARTBEAT_INTERVAL, 1);
    this.heartbeatLiveness = intOption(owner, o, "heartbeatLiveness", HEARTBEAT_LIVENESS, 1);
    const maxPending = intOption(owner, o, "maxPending", 1000, 1);
    const overflow = enumOption<PendingOverflow>(owner, o, "overflow", ["drop-oldest", "drop-newest"], "drop-oldest");
    this.pendingTimeout = intOption(owner, o, "pendingTimeout", 10_000, 0);
    this.maxRedeliveries = intOption(owner, o, "maxRedeliveries", 3, 0);
    this.maxWorkers = intOption(owner, o, "maxWorkers", 10_000, 1);
    this.#sendQueueLimit = intOption(owner, o, "sendQueueLimit", 10_000, 1);
    ({ reactor: this.#reactor, owned: this.#ownReactor } = reactorOption(owner, o));
    this.#signal = signalOption(owner, o);
    this.#name = `ppp-queue-${++instances}`;
    this.#pending = new BoundedQueue<Job>(maxPending, overflow, `pending requests of ${this.#name}`);
    this.#workers = new PeerTable<WorkerState>(this.#reactor, this.heartbeatInterval * this.heartbeatLiveness, (entry) => this.#onExpire(entry));
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The reactor the queue runs on. */
  get reactor(): Reactor {
    return this.#reactor;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Bind both sockets and start heartbeating. Resolves when bound (then {@link endpoints}
   * holds the resolved endpoints). Idempotent.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.closed) throw new ClosedError("ParanoidPirateQueue is closed");
    const frontend = new zmq.Router({ mandatory: true, sendTimeout: 0, linger: 0 });
    const backend = new zmq.Router({ mandatory: true, sendTimeout: 0, linger: 0, handover: true });
    try {
      for (const ep of this.#frontendSpecs) {
        await frontend.bind(ep);
        this.endpoints.frontend.push(frontend.lastEndpoint!);
      }
      for (const ep of this.#backendSpecs) {
        await backend.bind(ep);
        this.endpoints.backend.push(backend.lastEndpoint!);
      }
    } catch (error) {
      frontend.close();
      backend.close();
      throw error;
    }
    if (this.closed) {
      frontend.close();
      backend.close();
      throw new ClosedError("ParanoidPirateQueue was closed while starting");
    }
    const limit = this.#sendQueueLimit;
    this.#frontend = this.#reactor.add(frontend, { name: `${this.#name}:frontend`, onMessage: this.#onFrontend, sendQueueLimit: limit, overflow: "drop-newest" });
    this.#backend = this.#reactor.add(backend, { name: `${this.#name}:backend`, onMessage: this.#onBackend, sendQueueLimit: limit, overflow: "drop-newest" });
    this.#offReactor.push(
      this.#reactor.on("peer:unreachable", this.#onUnreachable),
      this.#reactor.on("message:dropped", this.#onDropped),
    );
    this.#tick = this.#reactor.every(this.heartbeatInterval, () => this.#onTick());
  }

  /** Counters. */
  stats(): ParanoidPirateQueueStats {
    const s = this.#s;
    return {
      ...s,
      dropped: s.droppedOverflow + s.droppedDeadline + s.droppedRedeliveries + s.droppedClosed,
      workers: this.#workers.size,
      idle: this.#idle.size,
      pending: this.#pending.size,
    };
  }

  /**
   * Stop: drop held requests (counted as `droppedClosed`), forget the workers, close both
   * sockets (linger 0) and, if the queue made its own reactor, the reactor. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#tick?.cancel();
    for (const job of this.#pending.drain()) this.#drop(job, "closed");
    for (const entry of this.#workers.values()) if (entry.state.job) this.#drop(entry.state.job, "closed");
    this.#workers.clear();
    this.#idle.clear();
    for (const off of this.#offReactor.splice(0)) off();
    const starting = this.#starting?.catch(() => undefined);
    this.#closing = (async () => {
      await starting;
      await Promise.all([this.#frontend?.close(0), this.#backend?.close(0)]);
      if (this.#ownReactor) await this.#reactor.close();
      this.emit("queue:closed");
    })();
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

  // ---- frontend: client requests ----

  readonly #onFrontend = (frames: Buffer[]): void => {
    const bad = checkClientRequest(frames);
    if (bad !== undefined) return this.#malformed("frontend", bad, frames.length);
    this.#s.requests++;
    const job: Job = { frames, arrived: this.#reactor.clock.now(), deliveries: 0 };
    if (this.#pending.size === 0 && this.#idle.size > 0) {
      this.#deliver(job);
      return;
    }
    const { dropped } = this.#pending.push(job);
    if (dropped) this.#drop(dropped, "overflow");
    this.#dispatch();
  };

  /** Hand held requests to ready workers, oldest first, skipping those past the deadline. */
  #dispatch(): void {
    while (this.#idle.size > 0 && this.#pending.size > 0) {
      const job = this.#pending.shift()!;
      if (this.#pastDeadline(job)) {
        this.#drop(job, "deadline");
        continue;
      }
      this.#deliver(job);
    }
  }

  /** Send `job` to the least recently used ready worker (there must be one). */
  #deliver(job: Job): void {
    const entry = this.#idle.values().next().value as Entry;
    this.#idle.delete(entry.key);
    entry.state.job = job;
    job.deliveries++;
    this.#s.dispatched++;
    const out = new Array<Buffer>(job.frames.length + 1);
    out[0] = entry.id;
    for (let i = 0; i < job.frames.length; i++) out[i + 1] = job.frames[i]!;
    this.#backend!.send(out);
  }

  #pastDeadline(job: Job): boolean {
    return this.pendingTimeout > 0 && this.#reactor.clock.now() - job.arrived > this.pendingTimeout;
  }

  // ---- backend: worker commands ----

  readonly #onBackend = (frames: Buffer[]): void => {
    const cmd = parseWorkerMessage(frames, 1);
    const id = frames[0]!;
    switch (cmd.type) {
      case "reply": {
        const entry = this.#workers.touch(id);
        if (!entry) return this.#reject(id, "reply before READY");
        frames.shift();
        const job = entry.state.job;
        if (job) {
          entry.state.job = undefined;
          this.#s.replies++;
          this.#idle.set(entry.key, entry);
        } else {
          this.#s.lateReplies++;
        }
        this.#frontend!.send(frames);
        if (this.#pending.size > 0) this.#dispatch();
        return;
      }
      case "heartbeat": {
        this.#s.heartbeatsReceived++;
        if (!this.#workers.touch(id)) this.#reject(id, "HEARTBEAT before READY");
        return;
      }
      case "ready":
        return this.#onReady(id);
      default:
        return this.#malformed("backend", cmd.reason, frames.length);
    }
  };

  #onReady(id: Buffer): void {
    this.#s.readies++;
    let entry = this.#workers.touch(id);
    const again = entry !== undefined;
    if (entry) {
      // A known worker started a new conversation (6/PPP: it lost us and reconnected, or a
      // new connection took over its identity): whatever it was serving is lost.
      this.#s.duplicateReady++;
      const job = entry.state.job;
      entry.state.job = undefined;
      this.#idle.delete(entry.key);
      this.#idle.set(entry.key, entry);
      if (job) this.#redeliver(job, id);
    } else {
      if (this.#workers.size >= this.maxWorkers) return this.#reject(id, "worker table full");
      entry = this.#workers.add(Buffer.from(id), { job: undefined });
      this.#idle.set(entry.key, entry);
    }
    this.emit("worker:ready", { id: entry.id, again, workers: this.#workers.size });
    this.#dispatch();
  }

  #reject(id: Buffer, reason: string): void {
    this.#s.rejected++;
    this.emit("worker:rejected", { id, reason });
  }

  #onExpire(entry: Entry): void {
    this.#idle.delete(entry.key);
    this.#s.expired++;
    const job = entry.state.job;
    entry.state.job = undefined;
    this.emit("worker:expired", { id: entry.id, silentMs: this.#reactor.clock.now() - entry.lastSeen, busy: job !== undefined });
    if (job) this.#redeliver(job, entry.id);
    this.#dispatch();
  }

  readonly #onUnreachable = (e: ReactorEvents["peer:unreachable"][0]): void => {
    if (e.socket === this.#frontend?.name) {
      this.#s.droppedReplies++;
      this.emit("reply:dropped", { reason: "client unreachable" });
      return;
    }
    if (e.socket !== this.#backend?.name) return;
    this.#purge(e.routingId);
  };

  /** Drop a worker the backend cannot send to; redeliver its request. */
  #purge(routingId: Buffer): void {
    const entry = this.#workers.delete(routingId);
    if (!entry) return;
    this.#idle.delete(entry.key);
    this.#s.unreachable++;
    const job = entry.state.job;
    entry.state.job = undefined;
    this.emit("worker:unreachable", { id: entry.id, busy: job !== undefined });
    if (job) this.#redeliver(job, entry.id);
    this.#dispatch();
  }

  readonly #onDropped = (e: ReactorEvents["message:dropped"][0]): void => {
    // Unroutable drops are handled by #onUnreachable; these are HWM or queue-full drops.
    if (e.reason === "unroutable" || e.reason === "closed") return;
    if (e.socket === this.#frontend?.name) {
      this.#s.droppedReplies++;
      this.emit("reply:dropped", { reason: e.reason });
    } else if (e.socket === this.#backend?.name && Array.isArray(e.message) && e.message.length > 2) {
      // A request that never left (the worker's pipe is full, or the send queue): the
      // worker would stay busy with it for ever and the request would be lost. Purge the
      // worker like an unreachable one and redeliver. (A dropped heartbeat is harmless.)
      this.#purge(toFrame(e.message[0] as FrameLike));
    }
  };

  #redeliver(job: Job, from: Buffer): void {
    if (job.deliveries > this.maxRedeliveries) {
      this.#drop(job, "redeliveries");
      return;
    }
    this.#s.redelivered++;
    this.#pending.unshift(job);
    this.emit("request:redelivered", { attempt: job.deliveries, from });
  }

  #drop(job: Job, reason: RequestDropReason): void {
    switch (reason) {
      case "overflow":
        this.#s.droppedOverflow++;
        break;
      case "deadline":
        this.#s.droppedDeadline++;
        break;
      case "redeliveries":
        this.#s.droppedRedeliveries++;
        break;
      default:
        this.#s.droppedClosed++;
    }
    this.emit("request:dropped", { reason, frames: job.frames });
  }

  #malformed(socket: "frontend" | "backend", reason: string, frames: number): void {
    this.#s.malformed++;
    this.emit("message:malformed", { socket, reason, frames });
  }

  // ---- heartbeats and deadlines ----

  #onTick(): void {
    const backend = this.#backend;
    if (!backend) return;
    // 6/PPP: the queue heartbeats every worker, busy ones too, so a worker running a long
    // request does not take the queue for dead.
    for (const entry of this.#workers.values()) {
      backend.send([entry.id, HEARTBEAT_FRAME]);
      this.#s.heartbeatsSent++;
    }
    if (this.pendingTimeout > 0) {
      while (this.#pending.size > 0 && this.#pastDeadline(this.#pending.peek()!)) this.#drop(this.#pending.shift()!, "deadline");
    }
  }
}
