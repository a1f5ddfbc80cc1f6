/**
 * The dispatch engine: the socket-free core under every broker (Simple Pirate, 6/PPP,
 * Majordomo). A broker parses what its sockets receive, tells the engine (`request`,
 * `ready`, `reply`, `heartbeat`, `remove`, ...), and the engine answers through the
 * {@link DispatchTransport} the broker supplies (`deliver` a request to a worker,
 * `heartbeat` a worker, tell a client its request `expired`). The engine owns:
 * - ready workers per service, least recently used first (a single-service broker uses the
 *   service `""`);
 * - a bounded backlog per service (`maxPending`, `pendingOverflow`) and a deadline for a
 *   request waiting in it (`pendingTimeout`);
 * - the in-flight table (worker -> request) and redelivery of a dead or unreachable
 *   worker's request at the head of its backlog, up to `maxRedeliveries` times;
 * - heartbeats out to every worker, idle or busy, each `heartbeatInterval`, and expiry of a
 *   worker silent for `heartbeatInterval × heartbeatLiveness` (one O(1) ticket per worker);
 * - `maxWorkers`, `maxServices`, counters ({@link Dispatcher.stats}) and typed events with
 *   one payload shape for every broker.
 *
 * Timers and tickets run on the reactor's clock, so tests drive it with a `ManualClock` and
 * no sockets. The hot path (request in -> deliver; reply in -> next request) allocates one
 * small record per request and no closures: this is where a faster data path could plug in.
 *
 * ```ts
 * const engine = new Dispatcher<Buffer[], undefined>({
 *   reactor,
 *   transport: { deliver: (worker, frames) => backend.send([worker.id, ...frames]) },
 * });
 * engine.ready(workerId, "", undefined);          // a worker said READY
 * engine.request("", clientId, frames);          // -> transport.deliver(worker, frames)
 * // a reply from workerId naming clientId: forward it only when it answers what the worker holds
 * if (engine.answer(workerId, clientId) !== undefined) frontend.send(reply);
 * ```
 * @module
 */
import { TypedEmitter } from "./emitter.js";
import { InvalidOptionError } from "./errors.js";
import { framesEqual, idKey } from "./frames.js";
import { HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS } from "./heartbeat.js";
import { enumOption, intOption, optionsObject, type Bag } from "./options.js";
import type { LifecycleOptions } from "./lifecycle.js";
import { OVERFLOW_POLICIES, type OverflowPolicy } from "./queue.js";
import { Reactor } from "./reactor.js";
import type { Ticket, TicketList, Timer } from "./timers.js";

/** Defaults shared by every broker (see each pattern's README). */
export const DISPATCH_DEFAULTS = {
  heartbeatInterval: HEARTBEAT_INTERVAL,
  heartbeatLiveness: HEARTBEAT_LIVENESS,
  maxPending: 1000,
  /** A new request is likelier still awaited by its client than the oldest one. */
  pendingOverflow: "drop-oldest" as OverflowPolicy,
  /** Below the clients' 2500 ms `requestTimeout`: the client hears an expiry answer, and a stale copy is not served after its client retried. */
  pendingTimeout: 2000,
  maxRedeliveries: 3,
  maxWorkers: 10_000,
  maxServices: 10_000,
  /** A busy worker is never given up for being slow (heartbeats still expire a silent one). */
  busyTimeout: 0,
} as const;

/**
 * The options every broker built on the engine takes (Simple Pirate, 6/PPP, Majordomo),
 * documented once. Brokers without heartbeats (Simple Pirate) take {@link BacklogOptions}.
 */
export interface BacklogOptions extends LifecycleOptions {
  /** Requests a backlog (one per service) holds while no worker is ready. Default 1000. */
  readonly maxPending?: number;
  /** What a full backlog does with a new request. Default `drop-oldest` (`reject` and `drop-newest` refuse the new one). */
  readonly pendingOverflow?: OverflowPolicy;
  /**
   * How long a request may wait for a worker, ms (0 = for ever). Default 2000: below the
   * clients' 2500 ms `requestTimeout`, so a client hears an expiry answer (Majordomo) and no
   * stale copy is served after its client retried.
   */
  readonly pendingTimeout?: number;
  /** Redeliveries of a request whose worker died, became unreachable or said READY again. Default 3. */
  readonly maxRedeliveries?: number;
  /**
   * Workers known at once. A READY from a new worker past it is rejected and counted
   * (`worker:rejected`); the worker hears no heartbeats, so it reconnects later and tries
   * again. Default 10000.
   */
  readonly maxWorkers?: number;
  /** Send queue limit of each socket. Default 10000. */
  readonly sendQueueLimit?: number;
  /**
   * How long a worker may hold one request, ms (0 = for ever). A worker busy longer is taken
   * as hung: removed (`worker:disconnected`, reason `busy-timeout`, counted in
   * `workersTimedOut`) and its request redelivered per `maxRedeliveries`. A worker that
   * heartbeats while its handler never settles is otherwise never removed. Default 0.
   */
  readonly busyTimeout?: number;
}

/** {@link BacklogOptions} plus heartbeating (6/PPP, Majordomo). */
export interface BrokerOptions extends BacklogOptions {
  /** Heartbeat period to every worker, idle or busy, ms. Default the spec's: 6/PPP 1000, MDP 2500. */
  readonly heartbeatInterval?: number;
  /** Silent intervals after which a worker is dead (its request is redelivered). Default 3. */
  readonly heartbeatLiveness?: number;
}

/** The validated settings of a {@link Dispatcher}. */
export interface DispatchConfig {
  /** Heartbeat period, ms; 0 = no heartbeats and no expiry (Simple Pirate). */
  readonly heartbeatInterval: number;
  /** Silent intervals after which a worker is dead. */
  readonly heartbeatLiveness: number;
  /** Requests a service's backlog holds while no worker is ready. */
  readonly maxPending: number;
  /** What a full backlog does with a new request (`reject` and `drop-newest` both refuse it). */
  readonly pendingOverflow: OverflowPolicy;
  /** How long a request may wait in a backlog, ms (0 = for ever). */
  readonly pendingTimeout: number;
  /** Redeliveries of a request whose worker died or became unreachable. */
  readonly maxRedeliveries: number;
  /** Most workers known at once. */
  readonly maxWorkers: number;
  /** Most services at once; a request for a new service past it is dropped (a READY always registers). */
  readonly maxServices: number;
  /** How long a worker may hold one request before it is removed as hung, ms (0 = for ever). */
  readonly busyTimeout: number;
}

/** Per-broker defaults for {@link dispatchConfig}. */
export interface DispatchConfigDefaults {
  /** Default heartbeat interval (6/PPP 1000, MDP 2500). */
  readonly heartbeatInterval?: number;
  /** False for brokers without heartbeats (Simple Pirate): the heartbeat options are not read. */
  readonly heartbeats?: boolean;
}

/**
 * Validate the engine's options in `bag` (every one optional) with `owner`'s name in the
 * errors. Brokers call it before `super()` so that a bad option throws before anything exists.
 */
export function dispatchConfig(owner: string, bag: Bag, defaults: DispatchConfigDefaults = {}): DispatchConfig {
  const heartbeats = defaults.heartbeats ?? true;
  return {
    heartbeatInterval: heartbeats ? intOption(owner, bag, "heartbeatInterval", defaults.heartbeatInterval ?? DISPATCH_DEFAULTS.heartbeatInterval, 1) : 0,
    heartbeatLiveness: heartbeats ? intOption(owner, bag, "heartbeatLiveness", DISPATCH_DEFAULTS.heartbeatLiveness, 1) : DISPATCH_DEFAULTS.heartbeatLiveness,
    maxPending: intOption(owner, bag, "maxPending", DISPATCH_DEFAULTS.maxPending, 1),
    pendingOverflow: enumOption(owner, bag, "pendingOverflow", OVERFLOW_POLICIES, DISPATCH_DEFAULTS.pendingOverflow),
    pendingTimeout: intOption(owner, bag, "pendingTimeout", DISPATCH_DEFAULTS.pendingTimeout, 0),
    maxRedeliveries: intOption(owner, bag, "maxRedeliveries", DISPATCH_DEFAULTS.maxRedeliveries, 0),
    maxWorkers: intOption(owner, bag, "maxWorkers", DISPATCH_DEFAULTS.maxWorkers, 1),
    maxServices: intOption(owner, bag, "maxServices", DISPATCH_DEFAULTS.maxServices, 1),
    busyTimeout: intOption(owner, bag, "busyTimeout", DISPATCH_DEFAULTS.busyTimeout, 0),
  };
}

/** A worker as the engine shows it to the broker (read-only; valid until it is removed). */
export interface DispatchWorker<W = unknown, R = unknown> {
  /** Routing id. */
  readonly id: Buffer;
  /** The service it serves (`""` for single-service brokers). */
  readonly service: string;
  /** What the broker attached at READY (e.g. the MDP version). */
  readonly data: W;
  /** The request it is working on, if busy. */
  readonly request: R | undefined;
  /** The client of that request, if busy. */
  readonly client: Buffer | undefined;
  /** Clock time it was last heard from. */
  readonly lastSeen: number;
  /** False once it was removed (expired, disconnected, shut down). */
  readonly active: boolean;
}

/** What a broker supplies: the wire side of the engine's decisions. */
export interface DispatchTransport<R, W> {
  /**
   * Send `request` to `worker` (a first delivery or a redelivery). When the send fails (the
   * worker is gone, its pipe is full), call {@link Dispatcher.unreachable}: the worker is
   * removed and the request redelivered.
   */
  deliver(worker: DispatchWorker<W, R>, request: R, client: Buffer): void;
  /** Send a heartbeat to `worker` (every `heartbeatInterval`, busy workers too). */
  heartbeat?(worker: DispatchWorker<W, R>): void;
  /** `request` waited `pendingTimeout` ms in its backlog and was taken out: tell its client, if the protocol can. */
  expired?(request: R, client: Buffer, service: string): void;
  /**
   * `request` lost its worker `from` (`deliveries` so far) and is within `maxRedeliveries`:
   * return false to drop it instead (`request:dropped`, reason `redeliveries`), e.g. because
   * it was the cause. Absent: always redelivered.
   */
  redeliver?(request: R, client: Buffer, from: Buffer, deliveries: number): boolean;
  /**
   * `request` from `client` goes into a backlog (a first wait or a redelivery): return what
   * to hold instead, e.g. its frames packed into one buffer (`packFrames`) and the client
   * id as a view into it, so that a waiting request costs about its size. `deliver` and
   * `expired` then get the held form. Default: hold them as they are.
   */
  hold?(request: R, client: Buffer): Held<R>;
}

/** What {@link DispatchTransport.hold} returns. */
export interface Held<R> {
  readonly request: R;
  readonly client: Buffer;
}

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions<R, W> extends Partial<DispatchConfig> {
  /** Timers and expiry tickets run here (tests: `new Reactor({ clock: new ManualClock() })`). */
  readonly reactor: Reactor;
  readonly transport: DispatchTransport<R, W>;
}

/** Why a worker was removed (other than by heartbeat expiry). */
export type WorkerRemoveReason =
  /** It said goodbye (MDP DISCONNECT). */
  | "disconnect"
  /** A send to it failed: it is gone, or its pipe is full. */
  | "unreachable"
  /** It broke its protocol (the broker may tell it so, e.g. MDP DISCONNECT). */
  | "unexpected"
  /** It held one request longer than `busyTimeout`. */
  | "busy-timeout";

/** Why a request was dropped unanswered. */
export type DispatchDropReason =
  /** Its service's backlog was full (`pendingOverflow`). */
  | "overflow"
  /** It named a new service past `maxServices`. */
  | "max-services"
  /** Its workers died `maxRedeliveries + 1` times (or the transport's `redeliver()` said no). */
  | "redeliveries"
  /** The broker closed. */
  | "closed";

/** Why a reply was not forwarded (see {@link Dispatcher.answer}). */
export type UnexpectedReplyReason =
  /** The peer is not a worker: it never sent READY, or it was removed. */
  | "not a worker"
  /** The worker holds no request (a late or forged reply). */
  | "no request"
  /** The worker holds a request of another client (a forged reply, or a late one for an earlier request). */
  | "other client";

/** Events of the engine, and of every broker (one payload shape for all three). */
export interface DispatchEvents {
  [event: string]: unknown[];
  /** A worker registered (`again`: it was known, and starts over: its request, if any, is redelivered). `workers`: known now. */
  "worker:ready": [{ id: Buffer; service: string; again: boolean; workers: number }];
  /** A worker was silent for `heartbeatInterval × heartbeatLiveness` ms and was removed. */
  "worker:expired": [{ id: Buffer; service: string; busy: boolean; silentMs: number }];
  /** A worker was removed for `reason`; its request, if any, is redelivered. */
  "worker:disconnected": [{ id: Buffer; service: string; busy: boolean; reason: WorkerRemoveReason }];
  /** A peer was not taken as a worker (worker table full, a command before READY, a reserved service). */
  "worker:rejected": [{ id: Buffer; service: string; reason: string }];
  /** The request of a dead worker went back to the head of its backlog (`attempt`: 1 for the first redelivery). */
  "request:redelivered": [{ service: string; client: Buffer; attempt: number; from: Buffer }];
  /** A request was dropped unanswered. */
  "request:dropped": [{ service: string; client: Buffer; reason: DispatchDropReason }];
  /** A request waited `pendingTimeout` ms in its backlog and was taken out (the broker answers it if its protocol can). */
  "request:expired": [{ service: string; client: Buffer; waitedMs: number }];
  /** A reply could not be sent to its client (gone, or over its high-water mark). */
  "reply:dropped": [{ client: Buffer; reason: string }];
  /** A reply that answers no request the peer holds was dropped, never forwarded (`id`: the peer; `client`: whom it named). */
  "reply:unexpected": [{ id: Buffer; client: Buffer; service: string; reason: UnexpectedReplyReason }];
}

/** The event names of {@link DispatchEvents}, for brokers that relay them. */
export const DISPATCH_EVENTS = [
  "worker:ready",
  "worker:expired",
  "worker:disconnected",
  "worker:rejected",
  "request:redelivered",
  "request:dropped",
  "request:expired",
  "reply:dropped",
  "reply:unexpected",
] as const satisfies readonly (keyof DispatchEvents)[];

/** Counters of a {@link Dispatcher} (every broker's `stats()` starts with them). */
export interface DispatchStats {
  /** Client requests received (accepted or not). */
  requests: number;
  /** Deliveries to workers, redeliveries included. */
  dispatched: number;
  /** Replies that completed a request. */
  replies: number;
  /** Replies dropped because they answer no request their peer holds (all reasons; never forwarded). */
  unexpectedReplies: number;
  /** Of those, from a known worker that had no request in flight. */
  lateReplies: number;
  /** Requests put back at the head of their backlog after their worker died. */
  redelivered: number;
  /** Requests that waited `pendingTimeout` ms and were taken out. */
  requestsExpired: number;
  /** Requests dropped unanswered, all reasons. */
  dropped: number;
  droppedOverflow: number;
  droppedServices: number;
  droppedRedeliveries: number;
  droppedClosed: number;
  /** Replies that could not reach their client. */
  droppedReplies: number;
  /** READYs received (first, repeated and rejected ones). */
  readies: number;
  /** READYs from a worker already known. */
  duplicateReady: number;
  /** Peers not taken as workers. */
  rejected: number;
  /** Workers removed by heartbeat expiry. */
  workersExpired: number;
  /** Workers removed for any other reason (DISCONNECT, unreachable, protocol error). */
  workersDisconnected: number;
  /** Of those, unreachable. */
  workersUnreachable: number;
  /** Of those, busy longer than `busyTimeout`. */
  workersTimedOut: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Workers known now. */
  workers: number;
  /** Workers ready for a request now. */
  idle: number;
  /** Requests waiting now, all services. */
  pending: number;
  /** Services now (with workers or waiting requests). */
  services: number;
}

/** One request: in a backlog (linked in its service's list and the deadline list) or in flight. */
class Job<R> {
  /** Service backlog, oldest first. */
  prev: Job<R> | undefined = undefined;
  next: Job<R> | undefined = undefined;
  /** Deadline list, soonest first. */
  sooner: Job<R> | undefined = undefined;
  later: Job<R> | undefined = undefined;
  queued = false;
  /** Deadline in its backlog (with `pendingTimeout`; it was queued at `due - pendingTimeout`). */
  due = 0;
  deliveries = 0;

  constructor(
    readonly service: Service<R>,
    public client: Buffer,
    public payload: R,
  ) {}
}

class Service<R> {
  head: Job<R> | undefined = undefined;
  tail: Job<R> | undefined = undefined;
  size = 0;
  /** Ready workers, least recently used first. */
  idleHead: Worker<R, unknown> | undefined = undefined;
  idleTail: Worker<R, unknown> | undefined = undefined;
  workers = 0;

  constructor(readonly name: string) {}
}

class Worker<R, W> implements DispatchWorker<W, R> {
  job: Job<R> | undefined = undefined;
  ticket: Ticket | undefined = undefined;
  /** With `busyTimeout`: armed while it holds a request (one ticket per worker, re-armed per delivery). */
  busy: Ticket | undefined = undefined;
  idlePrev: Worker<R, unknown> | undefined = undefined;
  idleNext: Worker<R, unknown> | undefined = undefined;
  isIdle = false;
  active = true;

  constructor(
    readonly id: Buffer,
    readonly key: string,
    readonly home: Service<R>,
    readonly data: W,
    public lastSeen: number,
  ) {}

  get service(): string {
    return this.home.name;
  }

  get request(): R | undefined {
    return this.job?.payload;
  }

  get client(): Buffer | undefined {
    return this.job?.client;
  }
}

type AnyWorker<R> = Worker<R, unknown>;

/** See the module documentation. `R`: the broker's request record; `W`: what it keeps per worker. */
export class Dispatcher<R, W = undefined> extends TypedEmitter<DispatchEvents> {
  /** The validated settings (heartbeats, backlog, deadline, redeliveries, limits). */
  readonly settings: DispatchConfig;
  readonly #reactor: Reactor;
  readonly #transport: DispatchTransport<R, W>;
  readonly #services = new Map<string, Service<R>>();
  readonly #workers = new Map<string, AnyWorker<R>>();
  readonly #tickets: TicketList | undefined;
  readonly #busyTickets: TicketList | undefined;
  #tick: Timer | undefined;
  #sooner: Job<R> | undefined;
  #later: Job<R> | undefined;
  #deadline: Timer | undefined;
  #pending = 0;
  #idle = 0;
  #closed = false;
  readonly #s = {
    requests: 0,
    dispatched: 0,
    replies: 0,
    unexpectedReplies: 0,
    lateReplies: 0,
    redelivered: 0,
    requestsExpired: 0,
    droppedOverflow: 0,
    droppedServices: 0,
    droppedRedeliveries: 0,
    droppedClosed: 0,
    droppedReplies: 0,
    readies: 0,
    duplicateReady: 0,
    rejected: 0,
    workersExpired: 0,
    workersDisconnected: 0,
    workersUnreachable: 0,
    workersTimedOut: 0,
    heartbeatsSent: 0,
    heartbeatsReceived: 0,
  };

  constructor(options: DispatcherOptions<R, W>, owner = "Dispatcher") {
    super();
    const o = optionsObject(owner, options);
    if (!(o.reactor instanceof Reactor)) throw new InvalidOptionError("reactor", `${owner}: expected \`reactor\` to be a Reactor`);
    const transport = o.transport as DispatchTransport<R, W> | undefined;
    if (typeof transport !== "object" || transport === null || typeof transport.deliver !== "function") {
      throw new InvalidOptionError("transport", `${owner}: expected \`transport\` to be an object with a \`deliver\` function`);
    }
    this.settings = dispatchConfig(owner, o, { heartbeats: o.heartbeatInterval !== 0 });
    this.#reactor = o.reactor;
    this.#transport = transport;
    if (this.settings.heartbeatInterval > 0) this.#tickets = this.#reactor.tickets(this.settings.heartbeatInterval * this.settings.heartbeatLiveness);
    if (this.settings.busyTimeout > 0) this.#busyTickets = this.#reactor.tickets(this.settings.busyTimeout);
  }

  /** True once {@link shutdown} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Counters (see {@link DispatchStats}). */
  stats(): DispatchStats {
    const s = this.#s;
    return {
      ...s,
      dropped: s.droppedOverflow + s.droppedServices + s.droppedRedeliveries + s.droppedClosed,
      workers: this.#workers.size,
      idle: this.#idle,
      pending: this.#pending,
      services: this.#services.size,
    };
  }

  /** The worker with routing id `id`, if known. */
  worker(id: Buffer): DispatchWorker<W, R> | undefined {
    return this.#workers.get(idKey(id)) as DispatchWorker<W, R> | undefined;
  }

  /** Names of the services that have at least one worker. */
  services(): string[] {
    const names: string[] = [];
    for (const s of this.#services.values()) if (s.workers > 0) names.push(s.name);
    return names;
  }

  /** True when `service` has at least one worker. */
  hasWorkers(service: string): boolean {
    return (this.#services.get(service)?.workers ?? 0) > 0;
  }

  // ---- commands from clients -----------------------------------------------------------

  /**
   * A client's request for `service`: delivered to the least recently used ready worker, or
   * held in the service's backlog. Returns false when it was dropped (counted, `request:dropped`).
   */
  request(service: string, client: Buffer, payload: R): boolean {
    this.#s.requests++;
    if (this.#closed) {
      this.#dropped(service, client, "closed");
      return false;
    }
    let svc = this.#services.get(service);
    if (svc === undefined) {
      // A request alone would create a service (and its backlog): bound them.
      if (this.#services.size >= this.settings.maxServices) {
        this.#dropped(service, client, "max-services");
        return false;
      }
      svc = new Service<R>(service);
      this.#services.set(service, svc);
    }
    const job = new Job<R>(svc, client, payload);
    const worker = svc.idleHead;
    if (worker !== undefined && svc.head === undefined) {
      this.#unlinkIdle(worker);
      this.#deliver(worker, job);
      return true;
    }
    const accepted = this.#enqueue(job);
    this.#dispatch(svc);
    return accepted;
  }

  // ---- commands from workers -----------------------------------------------------------

  /**
   * A worker said READY for `service`. A new worker is registered (unless `maxWorkers` are
   * known: then it is rejected and false returned) and gets the next waiting request. A known
   * worker starts over: its request, if any, is redelivered, and it is ready again (last in
   * the LRU order). A known worker naming another service is removed first (`unexpected`).
   */
  ready(id: Buffer, service: string, data: W): boolean {
    if (this.#closed) return false;
    this.#s.readies++;
    const key = idKey(id);
    let worker = this.#workers.get(key);
    if (worker !== undefined && worker.home.name !== service) {
      this.#remove(worker, "unexpected");
      worker = undefined;
    }
    if (worker !== undefined) {
      this.#s.duplicateReady++;
      this.#touch(worker);
      const job = worker.job;
      worker.job = undefined;
      worker.busy?.cancel();
      if (worker.isIdle) this.#unlinkIdle(worker);
      if (job) this.#redeliver(job, worker.id);
      this.emit("worker:ready", { id: worker.id, service, again: true, workers: this.#workers.size });
      // Last in the LRU order; a redelivered request goes to the least recently used worker.
      this.#linkIdle(worker);
      this.#dispatch(worker.home);
      return true;
    }
    if (this.#workers.size >= this.settings.maxWorkers) {
      this.reject(id, "worker table full", service);
      return false;
    }
    let svc = this.#services.get(service);
    if (svc === undefined) {
      svc = new Service<R>(service);
      this.#services.set(service, svc);
    }
    const created = new Worker<R, W>(id, key, svc, data, this.#reactor.clock.now());
    const fresh = created as unknown as AnyWorker<R>;
    if (this.#tickets) created.ticket = this.#tickets.add(() => this.#expire(fresh));
    if (this.#busyTickets) {
      created.busy = this.#busyTickets.add(() => this.#busyTooLong(fresh));
      created.busy.cancel();
    }
    svc.workers++;
    this.#workers.set(key, fresh);
    if (this.#tick === undefined && this.settings.heartbeatInterval > 0) this.#tick = this.#reactor.every(this.settings.heartbeatInterval, this.#onTick);
    this.emit("worker:ready", { id, service, again: false, workers: this.#workers.size });
    this.#free(fresh);
    return true;
  }

  /**
   * `worker` answered. Returns the request it answered (the worker is then ready again and
   * gets the next waiting request), or undefined when it had none in flight (a late reply,
   * counted in `lateReplies`). Either way it counts as traffic from the worker. It does not
   * check whom the reply names: for a reply from the wire use {@link answer}.
   */
  reply(worker: DispatchWorker<W, R>): R | undefined {
    const w = worker as unknown as AnyWorker<R>;
    if (!w.active) return undefined;
    this.#touch(w);
    const job = w.job;
    if (job === undefined) {
      this.#s.lateReplies++;
      return undefined;
    }
    w.job = undefined;
    w.busy?.cancel();
    this.#s.replies++;
    this.#free(w);
    return job.payload;
  }

  /**
   * The peer `id` sent a reply naming `client` (`final` false: an 18/MDP PARTIAL, after
   * which the request stays held). Returns the request it answers, when `id` is a worker
   * that holds a request of `client`: forward the reply (a final one completes the request,
   * as {@link reply}). Otherwise returns undefined: the reply answers nothing this peer
   * holds (it never sent READY, holds no request, or holds another client's) and must be
   * dropped, never forwarded; it is counted (`unexpectedReplies`) and reported
   * (`reply:unexpected`). A known worker's reply is traffic from it either way.
   */
  answer(id: Buffer, client: Buffer, final = true): R | undefined {
    const worker = this.#workers.get(idKey(id));
    if (worker === undefined) return this.#unexpected(id, client, "", "not a worker");
    this.#touch(worker);
    const job = worker.job;
    if (job === undefined) {
      this.#s.lateReplies++;
      return this.#unexpected(id, client, worker.home.name, "no request");
    }
    if (!framesEqual(job.client, client)) return this.#unexpected(id, client, worker.home.name, "other client");
    if (!final) return job.payload;
    return this.reply(worker as unknown as DispatchWorker<W, R>);
  }

  /** `worker` sent a HEARTBEAT: counted, and its expiry pushed back. */
  heartbeat(worker: DispatchWorker<W, R>): void {
    this.#s.heartbeatsReceived++;
    this.touch(worker);
  }

  /** Other traffic from `worker` (e.g. an MDP PARTIAL): its expiry is pushed back. */
  touch(worker: DispatchWorker<W, R>): void {
    const w = worker as unknown as AnyWorker<R>;
    if (w.active) this.#touch(w);
  }

  /** Remove `worker` for `reason` (`worker:disconnected`); its request, if any, is redelivered. */
  remove(worker: DispatchWorker<W, R>, reason: WorkerRemoveReason): boolean {
    const w = worker as unknown as AnyWorker<R>;
    if (!w.active) return false;
    this.#remove(w, reason);
    return true;
  }

  /** A send to `id` failed (gone, pipe full): remove that worker, if known, and redeliver its request. */
  unreachable(id: Buffer): boolean {
    const worker = this.#workers.get(idKey(id));
    if (worker === undefined) return false;
    this.#remove(worker, "unreachable");
    return true;
  }

  /** A peer is not taken as a worker (counted, `worker:rejected`). */
  reject(id: Buffer, reason: string, service = ""): void {
    this.#s.rejected++;
    this.emit("worker:rejected", { id, service, reason });
  }

  /** A reply could not be sent to `client` (counted, `reply:dropped`). */
  replyDropped(client: Buffer, reason: string): void {
    this.#s.droppedReplies++;
    this.emit("reply:dropped", { client, reason });
  }

  /**
   * Stop: drop every waiting and in-flight request (counted as `droppedClosed`), forget every
   * worker and cancel the timers and tickets. Later commands are ignored (requests are
   * counted as dropped). Idempotent.
   */
  shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tick?.cancel();
    this.#deadline?.cancel();
    for (const svc of this.#services.values()) {
      for (let job = svc.head; job !== undefined; job = svc.head) {
        this.#unqueue(job);
        this.#dropped(svc.name, job.client, "closed");
      }
    }
    for (const worker of this.#workers.values()) {
      worker.active = false;
      worker.ticket?.cancel();
      worker.busy?.cancel();
      const job = worker.job;
      worker.job = undefined;
      if (job) this.#dropped(job.service.name, job.client, "closed");
    }
    this.#workers.clear();
    this.#services.clear();
    this.#idle = 0;
  }

  // ---- internals -------------------------------------------------------------------------

  #unexpected(id: Buffer, client: Buffer, service: string, reason: UnexpectedReplyReason): undefined {
    this.#s.unexpectedReplies++;
    if (this.listenerCount("reply:unexpected") > 0) this.emit("reply:unexpected", { id, client, service, reason });
    return undefined;
  }

  #touch(worker: AnyWorker<R>): void {
    worker.lastSeen = this.#reactor.clock.now();
    worker.ticket?.reset();
  }

  /** Send `job` to `worker` (taken off the ready list). State first: the send may fail at once and come back as `unreachable`. */
  #deliver(worker: AnyWorker<R>, job: Job<R>): void {
    worker.job = job;
    worker.busy?.reset();
    job.deliveries++;
    this.#s.dispatched++;
    this.#transport.deliver(worker as unknown as DispatchWorker<W, R>, job.payload, job.client);
  }

  /** `worker` has nothing to do: give it the next waiting request, or make it ready. */
  #free(worker: AnyWorker<R>): void {
    const job = this.#next(worker.home);
    if (job !== undefined) this.#deliver(worker, job);
    else this.#linkIdle(worker);
  }

  /** Hand waiting requests to ready workers, oldest request and least recently used worker first. */
  #dispatch(svc: Service<R>): void {
    while (svc.idleHead !== undefined && svc.head !== undefined) {
      const job = this.#next(svc);
      if (job === undefined) return;
      const worker = svc.idleHead;
      this.#unlinkIdle(worker);
      this.#deliver(worker, job);
    }
  }

  /** Take the next waiting request of `svc`; requests already past their deadline expire instead. */
  #next(svc: Service<R>): Job<R> | undefined {
    let job = svc.head;
    if (job !== undefined && this.settings.pendingTimeout > 0) {
      const now = this.#reactor.clock.now();
      while (job !== undefined && job.due <= now) {
        this.#expireJob(job, now);
        job = svc.head;
      }
    }
    if (job !== undefined) this.#unqueue(job);
    return job;
  }

  /** Put `job` in its backlog (at the head for a redelivery), applying the overflow policy. */
  #enqueue(job: Job<R>, atHead = false): boolean {
    const svc = job.service;
    if (!atHead && svc.size >= this.settings.maxPending) {
      if (this.settings.pendingOverflow === "drop-oldest") {
        const oldest = svc.head!;
        this.#unqueue(oldest);
        this.#dropped(svc.name, oldest.client, "overflow");
      } else {
        this.#dropped(svc.name, job.client, "overflow");
        this.#maybeDeleteService(svc);
        return false;
      }
    }
    const hold = this.#transport.hold;
    if (hold !== undefined) {
      const held = hold.call(this.#transport, job.payload, job.client);
      job.payload = held.request;
      job.client = held.client;
    }
    const now = this.#reactor.clock.now();
    job.queued = true;
    if (atHead) {
      job.prev = undefined;
      job.next = svc.head;
      if (svc.head) svc.head.prev = job;
      else svc.tail = job;
      svc.head = job;
    } else {
      job.next = undefined;
      job.prev = svc.tail;
      if (svc.tail) svc.tail.next = job;
      else svc.head = job;
      svc.tail = job;
    }
    svc.size++;
    this.#pending++;
    if (this.settings.pendingTimeout > 0) {
      // Every job waits the same time from now: appending keeps the deadline list sorted.
      job.due = now + this.settings.pendingTimeout;
      job.sooner = this.#later;
      job.later = undefined;
      if (this.#later) this.#later.later = job;
      else this.#sooner = job;
      this.#later = job;
      if (this.#deadline === undefined) this.#deadline = this.#reactor.after(this.#sooner!.due - now, this.#onDeadline);
    }
    return true;
  }

  /** Take `job` out of its backlog and the deadline list. */
  #unqueue(job: Job<R>): void {
    if (!job.queued) return;
    const svc = job.service;
    job.queued = false;
    if (job.prev) job.prev.next = job.next;
    else svc.head = job.next;
    if (job.next) job.next.prev = job.prev;
    else svc.tail = job.prev;
    job.prev = job.next = undefined;
    svc.size--;
    this.#pending--;
    if (this.settings.pendingTimeout > 0) {
      if (job.sooner) job.sooner.later = job.later;
      else this.#sooner = job.later;
      if (job.later) job.later.sooner = job.sooner;
      else this.#later = job.sooner;
      job.sooner = job.later = undefined;
    }
  }

  #linkIdle(worker: AnyWorker<R>): void {
    const svc = worker.home;
    worker.isIdle = true;
    worker.idleNext = undefined;
    worker.idlePrev = svc.idleTail;
    if (svc.idleTail) svc.idleTail.idleNext = worker;
    else svc.idleHead = worker;
    svc.idleTail = worker;
    this.#idle++;
  }

  #unlinkIdle(worker: AnyWorker<R>): void {
    if (!worker.isIdle) return;
    const svc = worker.home;
    worker.isIdle = false;
    if (worker.idlePrev) worker.idlePrev.idleNext = worker.idleNext;
    else svc.idleHead = worker.idleNext;
    if (worker.idleNext) worker.idleNext.idlePrev = worker.idlePrev;
    else svc.idleTail = worker.idlePrev;
    worker.idlePrev = worker.idleNext = undefined;
    this.#idle--;
  }

  /** Take `worker` out of every table; returns its request, if it had one. */
  #forget(worker: AnyWorker<R>): Job<R> | undefined {
    worker.active = false;
    worker.ticket?.cancel();
    worker.busy?.cancel();
    this.#workers.delete(worker.key);
    this.#unlinkIdle(worker);
    worker.home.workers--;
    if (this.#workers.size === 0) {
      this.#tick?.cancel();
      this.#tick = undefined;
    }
    const job = worker.job;
    worker.job = undefined;
    return job;
  }

  #remove(worker: AnyWorker<R>, reason: WorkerRemoveReason): void {
    const job = this.#forget(worker);
    this.#s.workersDisconnected++;
    if (reason === "unreachable") this.#s.workersUnreachable++;
    else if (reason === "busy-timeout") this.#s.workersTimedOut++;
    this.emit("worker:disconnected", { id: worker.id, service: worker.home.name, busy: job !== undefined, reason });
    this.#afterLoss(worker, job);
  }

  /** `worker` held its request for `busyTimeout` ms: remove it as hung, its request redelivered. */
  #busyTooLong(worker: AnyWorker<R>): void {
    if (worker.active && !this.#closed && worker.job !== undefined) this.#remove(worker, "busy-timeout");
  }

  #expire(worker: AnyWorker<R>): void {
    if (!worker.active || this.#closed) return;
    const job = this.#forget(worker);
    this.#s.workersExpired++;
    this.emit("worker:expired", { id: worker.id, service: worker.home.name, busy: job !== undefined, silentMs: this.#reactor.clock.now() - worker.lastSeen });
    this.#afterLoss(worker, job);
  }

  /** A worker is gone: redeliver its request, serve what waits, drop an empty service. */
  #afterLoss(worker: AnyWorker<R>, job: Job<R> | undefined): void {
    const svc = worker.home;
    if (job) this.#redeliver(job, worker.id);
    this.#dispatch(svc);
    this.#maybeDeleteService(svc);
  }

  #redeliver(job: Job<R>, from: Buffer): void {
    const svc = job.service;
    if (job.deliveries > this.settings.maxRedeliveries || this.#transport.redeliver?.(job.payload, job.client, from, job.deliveries) === false) {
      this.#dropped(svc.name, job.client, "redeliveries");
      return;
    }
    this.#s.redelivered++;
    this.#enqueue(job, true);
    this.emit("request:redelivered", { service: svc.name, client: job.client, attempt: job.deliveries, from });
  }

  #expireJob(job: Job<R>, now: number): void {
    this.#unqueue(job);
    this.#s.requestsExpired++;
    const svc = job.service;
    this.emit("request:expired", { service: svc.name, client: job.client, waitedMs: now - (job.due - this.settings.pendingTimeout) });
    this.#transport.expired?.(job.payload, job.client, svc.name);
    this.#maybeDeleteService(svc);
  }

  #dropped(service: string, client: Buffer, reason: DispatchDropReason): void {
    const s = this.#s;
    if (reason === "overflow") s.droppedOverflow++;
    else if (reason === "max-services") s.droppedServices++;
    else if (reason === "redeliveries") s.droppedRedeliveries++;
    else s.droppedClosed++;
    this.emit("request:dropped", { service, client, reason });
  }

  #maybeDeleteService(svc: Service<R>): void {
    if (svc.workers === 0 && svc.size === 0 && this.#services.get(svc.name) === svc) this.#services.delete(svc.name);
  }

  /** The deadline timer: expire every request due by now, then wait for the next one. */
  readonly #onDeadline = (): void => {
    this.#deadline = undefined;
    if (this.#closed) return;
    const now = this.#reactor.clock.now();
    for (let job = this.#sooner; job !== undefined && job.due <= now; job = this.#sooner) this.#expireJob(job, now);
    if (this.#sooner !== undefined) this.#deadline = this.#reactor.after(this.#sooner.due - now, this.#onDeadline);
  };

  /** Heartbeat every worker, busy ones too (so a worker on a long request does not take the broker for dead). */
  readonly #onTick = (): void => {
    const heartbeat = this.#transport.heartbeat;
    for (const worker of this.#workers.values()) {
      this.#s.heartbeatsSent++;
      heartbeat?.call(this.#transport, worker as unknown as DispatchWorker<W, R>);
    }
  };
}
