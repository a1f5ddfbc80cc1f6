/**
 * A preforking job server after Net::Server::ZMQ: the parent runs a 6/PPP queue
 * ({@link ParanoidPirateQueue}, ROUTER to ROUTER), a pool of forked Node children each runs a
 * {@link ParanoidPirateWorker} with the user's handler. Clients are plain REQ sockets.
 *
 * Where Net::Server::ZMQ falls short, this one does not: a dead worker is purged by
 * heartbeat (or at once when unreachable) and its request redelivered, never left on the
 * ready list; the pool grows when requests wait and shrinks when idle, without waiting for
 * a signal; workers and queue heartbeat each other.
 * @module
 */
import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { v4 as uuidv4 } from "uuid";
import { ParanoidPirateQueue, type ParanoidPirateQueueOptions, type ParanoidPirateQueueStats } from "../paranoid-pirate/index.js";
import {
  OVERFLOW_POLICIES,
  type OverflowPolicy,
  InvalidOptionError,
  Lifecycle,
  endpointsOption,
  boolOption,
  enumOption,
  idKey,
  intOption,
  optionsObject,
  requiredOption,
  stringOption,
  type CloseCause,
  type DispatchTransport,
  type QueueRequest,
  requestFrames,
  type LifecycleOptions,
} from "../../src/index.js";
import { ControlServer, controlBindOption } from "./control.js";
import { WORKER_CONFIG_ENV, type ServeWorkerConfig } from "./serve-worker.js";

/** What a full backlog does with a new request (the queue's {@link OverflowPolicy}). */
export type JobServerPendingOverflow = OverflowPolicy;

/** Redeliveries a request may have: a rolling restart retires every worker in turn. */
export const JOB_MAX_REDELIVERIES = 10;

/**
 * The job server's handler timeout, ms: a worker whose handler runs longer is killed (by the
 * parent: a handler that blocks its event loop cannot time itself out) and replaced.
 * Finite, unlike the workers' 0: one hung handler per worker would stop the server for good.
 */
export const JOB_HANDLER_TIMEOUT = 30_000;

/**
 * Workers a request may cost before it is poison: killed past the handler timeout, or gone
 * silent or dead while holding it (a retirement does not count).
 */
export const JOB_MAX_KILLS = 2;

/** How long a poison request's content stays quarantined, ms: a client's resends of it are refused meanwhile. */
export const JOB_QUARANTINE_TIMEOUT = 600_000;

/** Poison contents quarantined at most (the oldest leaves first). */
export const JOB_QUARANTINE_LIMIT = 1000;

/** Options of {@link JobServer}. */
export interface JobServerOptions extends LifecycleOptions {
  /** Endpoint(s) clients (REQ) connect to. */
  readonly frontend: string | readonly string[];
  /** Endpoint(s) the worker children connect to. Use `tcp://127.0.0.1:*` or an `ipc://` path. */
  readonly backend: string | readonly string[];
  /** The handler each worker runs: `echo`, `upper` or a path to a module (default export). */
  readonly handler: string;
  /** Workers kept at least (Net::Server's min_servers). Default 1. */
  readonly minWorkers?: number;
  /** Workers at most (max_servers). Default 4. */
  readonly maxWorkers?: number;
  /** 6/PPP heartbeat interval between queue and workers, ms. Default 1000. */
  readonly heartbeatInterval?: number;
  /** 6/PPP liveness. Default 3. */
  readonly heartbeatLiveness?: number;
  /** How often the pool size is reconsidered, ms. Default 500. */
  readonly scaleInterval?: number;
  /** Shrink by one worker after the pool has had idle workers for this long, ms. Default 10000. */
  readonly idleTimeout?: number;
  /** A new worker that has not sent READY after this many ms is killed (and replaced), ms. Default 30000. */
  readonly startTimeout?: number;
  /** A retiring worker still running after this many ms is killed, ms. Default 30000. */
  readonly retireTimeout?: number;
  /** Requests held longer than this while no worker is ready are dropped, ms (0 = never). Default: the 6/PPP queue's. */
  readonly pendingTimeout?: number;
  /** Requests held at most while no worker is ready. Default: the 6/PPP queue's (1000). */
  readonly maxPending?: number;
  /** What a request arriving at a full backlog drops. Default: the 6/PPP queue's (`drop-oldest`). */
  readonly pendingOverflow?: JobServerPendingOverflow;
  /**
   * Redeliveries of a request whose worker died. Default 10, not the queue's 3: a worker
   * killed mid-request costs one delivery, and the job server keeps going while children
   * are replaced (a rolling restart retires every worker).
   */
  readonly maxRedeliveries?: number;
  /**
   * How long a worker may run one request, ms (0 = for ever). The parent enforces it: a
   * worker past it is killed (SIGKILL; even one whose handler blocks its event loop) and
   * replaced, and its request redelivered per `maxRedeliveries`. Default 30000.
   */
  readonly handlerTimeout?: number;
  /**
   * Workers a request may cost (its worker killed past `handlerTimeout`, or silent or dead
   * while holding it; not one we were retiring) before it is dropped as poison
   * (`request:poisoned`); a request whose every delivery cost a worker is poison too. Default 2.
   */
  readonly maxKills?: number;
  /**
   * How long the content of a poison request stays quarantined, ms (0 = not at all): a
   * request with the same content frames is refused at once (`request:quarantined`, counted
   * in `quarantined`) instead of costing more workers. At most 1000 contents. Default 600000.
   */
  readonly quarantineTimeout?: number;
  /** How long `close()` waits for waiting and running requests before stopping the workers, ms. Default 10000. */
  readonly drainTimeout?: number;
  /** Control endpoint (ROUTER answering `STATUS`): loopback `tcp://`, `ipc://` or `inproc://` unless `controlRemote`. Default: none. */
  readonly control?: string;
  /** Allow the control endpoint to bind beyond loopback (it answers anyone who reaches it). Default false. */
  readonly controlRemote?: boolean;
  /** The worker entry script. Default: the bundled `serve-worker.js`. */
  readonly workerScript?: string;
}

/** State of one worker child. */
export type WorkerChildState = "starting" | "ready" | "retiring";

/** One worker child, as {@link JobServer.status} reports it. */
export interface WorkerChildInfo {
  /** The worker's routing id at the queue. */
  id: string;
  /** The child's process id. */
  pid: number | undefined;
  /** Starting (forked, no READY yet), ready, or retiring (finishing its request). */
  state: WorkerChildState;
  /** Time since the fork, ms. */
  uptimeMs: number;
}

/** Counters of a {@link JobServer}. */
export interface JobServerCounters {
  /** Children forked. */
  started: number;
  /** Children that exited, all reasons. */
  exited: number;
  /** Children that exited without being asked to (crashes, kills). */
  crashed: number;
  /** Our workers purged (silent, unreachable, never ready, past the handler timeout), and killed if still running. */
  purged: number;
  /** Of those, killed for running one request past `handlerTimeout`. */
  timedOut: number;
  /** Requests dropped as poison: they cost `maxKills` workers, or one on each delivery (see the README). */
  poisoned: number;
  /** Requests refused because their content is quarantined as poison (dropped: the client hears nothing). */
  quarantined: number;
  /** Backend peers refused: not one of our children (never forked by us), so never given a request (each id counted once among the last 1000). */
  rejected: number;
  /** Messages from those peers, all refused unread. */
  rejectedMessages: number;
  /** SIGTTIN/SIGTTOU (addWorker/removeWorker) refused at `maxWorkers`/`minWorkers`. */
  refused: number;
  /** Scaling decisions that added / removed a worker (signals included). */
  scaledUp: number;
  /** ... and removed one. */
  scaledDown: number;
  /** Rolling restarts (SIGHUP) begun. */
  restarts: number;
}

/** What the control endpoint answers and `zpatterns status` prints. */
export interface JobServerStatus {
  /** Live workers (starting or ready; retiring ones are not counted). */
  workers: number;
  /** Live workers that sent READY. */
  ready: number;
  /** The current floor of the pool (SIGTTIN raises it, never past `bounds.maxWorkers`). */
  minWorkers: number;
  /** The current ceiling of the pool (SIGTTOU lowers it, never below `bounds.minWorkers`). */
  maxWorkers: number;
  /** The configured `minWorkers`/`maxWorkers`, which no signal crosses. */
  bounds: { minWorkers: number; maxWorkers: number };
  /** The handler timeout the parent enforces, ms (0 = none). */
  handlerTimeout: number;
  /** Requests waiting for a worker. */
  pending: number;
  /** Workers idle at the queue. */
  idle: number;
  /** True once shutdown began. */
  draining: boolean;
  /** Every child, retiring ones included. */
  children: WorkerChildInfo[];
  /** Pool counters since start. */
  counters: JobServerCounters;
  /** The 6/PPP queue's counters. */
  queue: ParanoidPirateQueueStats;
  /** The control endpoint's counters (requests answered, malformed messages dropped). */
  control: { requests: number; malformed: number };
}

/** Events of a {@link JobServer} (`zpatterns serve` logs each). */
export interface JobServerEvents {
  [event: string]: unknown[];
  /** A child was forked (`reason`: minimum, SIGTTIN, restart, requests waiting, replace crashed worker, ...). */
  "worker:started": [{ id: string; pid: number | undefined; reason: string }];
  /** A child's worker sent 6/PPP READY to the queue. */
  "worker:ready": [{ id: string; pid: number | undefined }];
  /** A child exited; `expected` is false for crashes and kills. */
  "worker:exited": [{ id: string; pid: number | undefined; code: number | null; signal: string | null; expected: boolean }];
  /** The queue gave up on a worker (silent, unreachable) or it never became ready; it is killed if still running. */
  "worker:purged": [{ id: string; pid: number | undefined; reason: string }];
  /** A worker was asked to finish its request and leave (SIGTTOU, SIGHUP, idle, shutdown). */
  "worker:retiring": [{ id: string; pid: number | undefined; reason: string }];
  /** A signal (SIGTTIN/SIGTTOU) was refused: the pool is at the configured `limit`. */
  "pool:refused": [{ direction: "up" | "down"; reason: string; workers: number; limit: number }];
  /** A request cost `kills` workers (`maxKills`, or all its `deliveries`): dropped as poison (its client hears nothing), its content quarantined. */
  "request:poisoned": [{ client: Buffer; kills: number; deliveries: number }];
  /** A request whose content is quarantined as poison was refused (dropped unanswered, never delivered). */
  "request:quarantined": [{ client: Buffer }];
  /** The pool grew or shrank by one (a signal or a scaling decision). */
  "pool:scaled": [{ direction: "up" | "down"; reason: string; workers: number }];
  /** A rolling restart (SIGHUP) began. */
  "pool:restarting": [{ workers: number }];
  /** A rolling restart finished. */
  "pool:restarted": [{ workers: number }];
  /** Shutdown began: waiting for waiting and running requests. (`lifecycle:closed` follows once every worker has exited and the queue is closed.) */
  "server:draining": [{ pending: number }];
}

interface Child {
  id: string;
  proc: ChildProcess;
  state: WorkerChildState;
  started: number;
  exited: Promise<void>;
  /** Kills the child if it does not become ready in time, or does not leave in time when retiring. */
  killTimer?: { cancel(): void };
  /** We killed it (purged): its exit is no crash loop, replace it at once. */
  killed?: boolean;
}

/** The content frames of a client request (after the envelope's empty delimiter), hashed. */
function contentDigest(frames: readonly Buffer[]): string {
  const hash = createHash("sha256");
  let i = frames.findIndex((f, at) => at > 0 && f.length === 0) + 1;
  for (; i < frames.length; i++) hash.update(String(frames[i]!.length)).update(":").update(frames[i]!);
  return hash.digest("hex");
}

/** What the job server tells its queue, and hears from it. */
interface JobQueueHooks {
  /** `id` is one of our children's. */
  isChild(id: Buffer): boolean;
  /** Worker `id` was lost while busy not by our doing (not a retirement): its request's fault. */
  lostByFault(id: Buffer): boolean;
  /** A request was refused: its content is quarantined. */
  quarantined(client: Buffer): void;
  /** A request was dropped as poison. */
  poisoned(client: Buffer, kills: number, deliveries: number): void;
}

/** Per request (keyed by the frames the engine holds for it, the same across redeliveries). */
interface JobRecord {
  deliveries: number;
  /** Workers it cost: killed past the handler timeout, or silent or dead while holding it. */
  kills: number;
}

/**
 * The job server's queue: a 6/PPP queue that
 * - takes only our children as workers: a backend peer whose routing id is not a child's
 *   (all are random uuids) is refused before the queue parses what it says: counted
 *   (`worker:rejected`), never given a request, never forwarded;
 * - counts the workers each request cost, and drops it as poison once it cost `maxKills`
 *   (or all its deliveries did); then quarantines its content for `quarantineTimeout` ms:
 *   the same content is refused at once.
 */
class JobQueue extends ParanoidPirateQueue {
  /** The request each worker was last given (one entry per worker). */
  readonly #held = new Map<string, QueueRequest>();
  readonly #records = new WeakMap<QueueRequest, JobRecord>();
  /** Digest of a poison's content -> clock time it leaves the quarantine; insertion order = age. */
  readonly #quarantine = new Map<string, number>();
  /** The request of the worker just lost (the engine's drop that may follow names only its client). */
  #lost: QueueRequest | undefined;

  constructor(
    options: ParanoidPirateQueueOptions,
    private readonly limits: { maxKills: number; quarantineTimeout: number },
    private readonly hooks: JobQueueHooks,
  ) {
    super(options);
    const lost = (id: Buffer, busy: boolean, fault: boolean) => {
      const key = idKey(id);
      const frames = busy ? this.#held.get(key) : undefined;
      this.#held.delete(key);
      this.#lost = frames;
      const record = frames && this.#records.get(frames);
      if (record && (fault || this.hooks.lostByFault(id))) record.kills++;
    };
    this.on("worker:expired", ({ id, busy }) => lost(id, busy, false));
    this.on("worker:disconnected", ({ id, busy, reason }) => lost(id, busy, reason === "busy-timeout"));
    // A busy worker's READY again gives its request back too (no worker lost).
    this.on("worker:ready", ({ id, again }) => void (again && (this.#lost = this.#held.get(idKey(id)))));
    this.on("request:dropped", ({ client, reason }) => {
      const frames = this.#lost;
      this.#lost = undefined;
      const record = frames && this.#records.get(frames);
      if (reason !== "redeliveries" || !record || !requestFrames(frames)[0]!.equals(client)) return;
      if (record.kills < this.limits.maxKills && record.kills < record.deliveries) return;
      this.hooks.poisoned(client, record.kills, record.deliveries);
      if (this.limits.quarantineTimeout === 0) return;
      if (this.#quarantine.size >= JOB_QUARANTINE_LIMIT) this.#quarantine.delete(this.#quarantine.keys().next().value!);
      this.#quarantine.set(contentDigest(requestFrames(frames)), this.reactor.clock.now() + this.limits.quarantineTimeout);
    });
  }

  // A request's record follows it into its packed, waiting form.
  protected override repacked(from: QueueRequest, to: QueueRequest): void {
    const record = this.#records.get(from);
    if (record) this.#records.set(to, record);
  }

  protected override transport(): DispatchTransport<QueueRequest, undefined> {
    const wire = super.transport();
    return {
      ...wire,
      deliver: (worker, frames, client) => {
        this.#held.set(idKey(worker.id), frames);
        const record = this.#records.get(frames);
        if (record) record.deliveries++;
        else this.#records.set(frames, { deliveries: 1, kills: 0 });
        wire.deliver(worker, frames, client);
      },
      // A request that cost maxKills workers is not given another.
      redeliver: (frames) => (this.#records.get(frames)?.kills ?? 0) < this.limits.maxKills,
    };
  }

  // (ParanoidPirateQueue's admit() declares no parameter; the broker passes the request.)
  protected override admit(...request: Buffer[][]): boolean {
    if (!super.admit()) return false;
    if (this.#quarantine.size === 0) return true;
    const frames = request[0]!;
    const key = contentDigest(frames);
    const until = this.#quarantine.get(key);
    if (until === undefined) return true;
    if (until <= this.reactor.clock.now()) {
      this.#quarantine.delete(key);
      return true;
    }
    this.hooks.quarantined(frames[0]!);
    return false;
  }

  protected override onBackend(frames: Buffer[]): void {
    if (this.hooks.isChild(frames[0]!)) return super.onBackend(frames);
    this.engine.reject(frames[0]!, "not a worker of this server");
  }
}

const DEFAULT_WORKER_SCRIPT = fileURLToPath(new URL("./serve-worker.js", import.meta.url));

/** The validated options, read before the base class is constructed. */
function jobServerConfig(options: JobServerOptions) {
  const owner = "JobServer";
  const o = optionsObject(owner, options);
  requiredOption(owner, o, "frontend", "an endpoint or a list of endpoints");
  requiredOption(owner, o, "backend", "an endpoint or a list of endpoints");
  requiredOption(owner, o, "handler", "a handler name or module path");
  const minWorkers = intOption(owner, o, "minWorkers", 1, 0);
  const maxWorkers = intOption(owner, o, "maxWorkers", Math.max(4, minWorkers), 1);
  if (maxWorkers < minWorkers) throw new InvalidOptionError("maxWorkers", `${owner}: expected \`maxWorkers\` to be an integer >= minWorkers (${minWorkers}), got ${maxWorkers}`);
  const optional = <T>(name: string, read: () => T): T | undefined => (o[name] === undefined ? undefined : read());
  return {
    bag: o,
    frontend: endpointsOption(owner, o, "frontend"),
    backend: endpointsOption(owner, o, "backend"),
    handler: stringOption(owner, o, "handler", ""),
    minWorkers,
    maxWorkers,
    heartbeatInterval: intOption(owner, o, "heartbeatInterval", 1000, 1),
    heartbeatLiveness: intOption(owner, o, "heartbeatLiveness", 3, 1),
    scaleInterval: intOption(owner, o, "scaleInterval", 500, 1),
    idleTimeout: intOption(owner, o, "idleTimeout", 10_000, 1),
    retireTimeout: intOption(owner, o, "retireTimeout", 30_000, 1),
    startTimeout: intOption(owner, o, "startTimeout", 30_000, 1),
    drainTimeout: intOption(owner, o, "drainTimeout", 10_000, 0),
    pendingTimeout: optional("pendingTimeout", () => intOption(owner, o, "pendingTimeout", 0, 0)),
    maxPending: optional("maxPending", () => intOption(owner, o, "maxPending", 1, 1)),
    pendingOverflow: optional("pendingOverflow", () => enumOption<JobServerPendingOverflow>(owner, o, "pendingOverflow", OVERFLOW_POLICIES, "drop-oldest")),
    maxRedeliveries: intOption(owner, o, "maxRedeliveries", JOB_MAX_REDELIVERIES, 0),
    handlerTimeout: intOption(owner, o, "handlerTimeout", JOB_HANDLER_TIMEOUT, 0),
    quarantineTimeout: intOption(owner, o, "quarantineTimeout", JOB_QUARANTINE_TIMEOUT, 0),
    maxKills: intOption(owner, o, "maxKills", JOB_MAX_KILLS, 1),
    controlRemote: boolOption(owner, o, "controlRemote", false),
    control: o.control === undefined ? undefined : controlBindOption(owner, o, "control", boolOption(owner, o, "controlRemote", false)),
    workerScript: stringOption(owner, o, "workerScript", DEFAULT_WORKER_SCRIPT),
  };
}

/**
 * Net::Server::ZMQ, rebuilt on 6/PPP: `start()` binds the control endpoint (if any) and the
 * queue and forks `minWorkers` children; {@link addWorker}/{@link removeWorker}
 * (SIGTTIN/SIGTTOU), {@link restartWorkers} (SIGHUP) and `close()` (SIGTERM: drain for at
 * most `drainTimeout` ms, then stop the workers) are what `zpatterns serve` wires to signals.
 * The queue runs on the server's reactor.
 */
export class JobServer extends Lifecycle<JobServerEvents> {
  /** The 6/PPP queue the parent runs (its `endpoints` hold the bound frontend/backend). */
  readonly queue: ParanoidPirateQueue;
  /** 6/PPP heartbeat interval, ms. */
  readonly heartbeatInterval: number;
  /** 6/PPP liveness. */
  readonly heartbeatLiveness: number;
  /** How long a worker may run one request before the parent kills it, ms (0 = for ever). */
  readonly handlerTimeout: number;
  readonly #handler: string;
  readonly #workerScript: string;
  readonly #scaleInterval: number;
  readonly #idleTimeout: number;
  readonly #retireTimeout: number;
  readonly #startTimeout: number;
  readonly #drainTimeout: number;
  readonly #controlSpec: string | undefined;
  readonly #children = new Map<string, Child>();
  /** Ids of workers that exited (true: after being retired), until the queue forgets them. */
  readonly #gone = new Map<string, boolean>();
  /** Ids of foreign backend peers seen lately (bounded), so that each is counted once. */
  readonly #rejectedPeers = new Set<string>();
  readonly #counters: JobServerCounters = { started: 0, exited: 0, crashed: 0, purged: 0, timedOut: 0, poisoned: 0, quarantined: 0, rejected: 0, rejectedMessages: 0, refused: 0, scaledUp: 0, scaledDown: 0, restarts: 0 };
  /** The configured bounds: no signal moves the pool past them. */
  readonly #bounds: { minWorkers: number; maxWorkers: number };
  #min: number;
  #max: number;
  #lastBusy = 0;
  #crashStreak = 0;
  #respawnAt = 0;
  #control: ControlServer | undefined;
  #restarting: Promise<void> | undefined;
  #draining = false;
  /** The start got as far as forking the first children. */
  #begun = false;

  constructor(options: JobServerOptions) {
    const c = jobServerConfig(options);
    super("JobServer", c.bag);
    this.#handler = c.handler;
    this.#min = c.minWorkers;
    this.#max = c.maxWorkers;
    this.#bounds = { minWorkers: c.minWorkers, maxWorkers: c.maxWorkers };
    this.handlerTimeout = c.handlerTimeout;
    this.heartbeatInterval = c.heartbeatInterval;
    this.heartbeatLiveness = c.heartbeatLiveness;
    this.#scaleInterval = c.scaleInterval;
    this.#idleTimeout = c.idleTimeout;
    this.#retireTimeout = c.retireTimeout;
    this.#startTimeout = c.startTimeout;
    this.#drainTimeout = c.drainTimeout;
    this.#controlSpec = c.control;
    this.#workerScript = c.workerScript;
    // Opens nothing: the queue binds in start().
    this.queue = new JobQueue({
      frontend: c.frontend,
      backend: c.backend,
      heartbeatInterval: this.heartbeatInterval,
      heartbeatLiveness: this.heartbeatLiveness,
      ...(c.pendingTimeout === undefined ? {} : { pendingTimeout: c.pendingTimeout }),
      ...(c.maxPending === undefined ? {} : { maxPending: c.maxPending }),
      ...(c.pendingOverflow === undefined ? {} : { pendingOverflow: c.pendingOverflow }),
      maxRedeliveries: c.maxRedeliveries,
      busyTimeout: c.handlerTimeout,
      reactor: this.reactor,
    }, { maxKills: c.maxKills, quarantineTimeout: c.quarantineTimeout }, {
      isChild: (id) => this.#children.has(idKey(id)),
      lostByFault: (id) => {
        const child = this.#children.get(idKey(id));
        return child ? child.state !== "retiring" : this.#gone.get(idKey(id)) === false;
      },
      quarantined: (client) => {
        this.#counters.quarantined++;
        this.emit("request:quarantined", { client });
      },
      poisoned: (client, kills, deliveries) => {
        this.#counters.poisoned++;
        this.emit("request:poisoned", { client, kills, deliveries });
      },
    });
    this.queue.on("worker:ready", ({ id }) => this.#onReady(id));
    this.queue.on("worker:expired", ({ id, silentMs, busy }) => this.#onPurged(id, `silent for ${silentMs} ms${busy ? " while busy" : ""}`));
    this.queue.on("worker:disconnected", ({ id, reason }) => this.#onPurged(id, reason === "busy-timeout" ? `handler ran past ${this.handlerTimeout} ms` : reason, reason === "busy-timeout"));
    // A peer the queue refused that is none of our children (a command before READY from a child is its own business).
    this.queue.on("worker:rejected", ({ id }) => {
      const key = idKey(id);
      if (this.#children.has(key) || this.#gone.has(key)) return;
      this.#counters.rejectedMessages++;
      if (this.#rejectedPeers.has(key)) return;
      this.#counters.rejected++;
      this.#rejectedPeers.add(key);
      if (this.#rejectedPeers.size > 1000) this.#rejectedPeers.delete(this.#rejectedPeers.values().next().value!);
    });
  }

  /** Lowest and highest pool size (signals move them when they push past them). */
  get limits(): { minWorkers: number; maxWorkers: number } {
    return { minWorkers: this.#min, maxWorkers: this.#max };
  }

  /** The control endpoint as bound, if any. */
  get controlEndpoint(): string | undefined {
    return this.#control?.endpoint;
  }

  /** Live children (starting or ready). */
  get workers(): number {
    let n = 0;
    for (const c of this.#children.values()) if (c.state !== "retiring") n++;
    return n;
  }

  /** Status snapshot (what the control endpoint answers). */
  status(): JobServerStatus {
    const q = this.queue.stats();
    const now = this.reactor.clock.now();
    const children = [...this.#children.values()].map((c) => ({ id: c.id, pid: c.proc.pid, state: c.state, uptimeMs: now - c.started }));
    return {
      workers: this.workers,
      ready: children.filter((c) => c.state === "ready").length,
      minWorkers: this.#min,
      maxWorkers: this.#max,
      bounds: { ...this.#bounds },
      handlerTimeout: this.handlerTimeout,
      pending: q.pending,
      idle: q.idle,
      draining: this.#draining,
      children,
      counters: { ...this.#counters },
      queue: q,
      control: this.#control?.stats() ?? { requests: 0, malformed: 0 },
    };
  }

  /**
   * SIGTTIN: one more worker, now. The signal is authoritative within the configured bounds:
   * scaling keeps the new size as a floor (`minWorkers`, and `maxWorkers` if needed). At the
   * configured `maxWorkers` it is refused (`pool:refused`, counted in `refused`): no number
   * of signals forks past it. False when refused or not running.
   */
  addWorker(reason = "SIGTTIN"): boolean {
    if (this.state !== "running") return false;
    const n = this.workers + 1;
    if (n > this.#bounds.maxWorkers) return this.#refuse("up", reason, this.#bounds.maxWorkers);
    this.#min = Math.max(this.#min, n);
    this.#max = Math.max(this.#max, n);
    this.#counters.scaledUp++;
    this.#spawn(reason);
    this.emit("pool:scaled", { direction: "up", reason, workers: this.workers });
    return true;
  }

  /**
   * SIGTTOU: one worker fewer, now (it finishes its request first). The new size becomes the
   * ceiling (`maxWorkers`, and `minWorkers` if needed); at the configured `minWorkers` it is
   * refused (`pool:refused`). False when refused, when there is no worker, or not running.
   */
  removeWorker(reason = "SIGTTOU"): boolean {
    if (this.state !== "running") return false;
    const n = this.workers - 1;
    if (n < this.#bounds.minWorkers) return this.#refuse("down", reason, this.#bounds.minWorkers);
    const victim = this.#pickVictim();
    if (!victim) return false;
    this.#min = Math.min(this.#min, n);
    this.#max = Math.max(1, Math.min(this.#max, n));
    this.#counters.scaledDown++;
    this.#retire(victim, reason);
    this.emit("pool:scaled", { direction: "down", reason, workers: this.workers });
    return true;
  }

  /**
   * SIGHUP: replace every worker, one at a time: fork the new one, wait for its READY, then
   * retire an old one (which finishes its request). Requests keep flowing throughout.
   * Resolves at once unless running.
   */
  restartWorkers(): Promise<void> {
    if (this.state !== "running") return this.#restarting ?? Promise.resolve();
    this.#restarting ??= (async () => {
      this.#counters.restarts++;
      const old = [...this.#children.values()].filter((c) => c.state !== "retiring");
      this.emit("pool:restarting", { workers: old.length });
      for (const child of old) {
        if (this.closed) break;
        if (!this.#children.has(child.id) || child.state === "retiring") continue;
        const fresh = this.#spawn("restart");
        // Keep the old worker when its replacement fails to start (the crash handling refills).
        if (!(await this.#whenReady(fresh))) continue;
        if (this.closed) break;
        if (this.#children.get(child.id) === child && (child.state as WorkerChildState) !== "retiring") this.#retire(child, "restart");
        await child.exited;
      }
      this.emit("pool:restarted", { workers: this.workers });
    })().finally(() => (this.#restarting = undefined));
    return this.#restarting;
  }

  /**
   * Bind the control endpoint (if any), then the queue, fork `minWorkers` children and start
   * scaling. A failed bind leaves nothing bound (the base class closes what was opened).
   */
  protected async onStart(): Promise<void> {
    if (this.#controlSpec !== undefined) {
      const control = new ControlServer({ bind: this.#controlSpec, status: () => this.status(), reactor: this.reactor });
      this.own(() => control.close());
      await control.start();
      this.#control = control;
    }
    await this.queue.start();
    this.#lastBusy = this.reactor.clock.now();
    this.#begun = true;
    for (let i = 0; i < this.#min; i++) this.#spawn("minimum");
    this.ownTimer(this.reactor.every(this.#scaleInterval, () => this.#scale()));
  }

  /**
   * SIGTERM: stop growing, wait (at most `drainTimeout` ms) until no request is waiting or
   * running, then retire every worker, wait for them to exit and close the queue.
   */
  protected override async onClose(cause: CloseCause): Promise<void> {
    if (this.#begun) {
      this.#draining = true;
      this.emit("server:draining", { pending: this.queue.stats().pending });
      // A shared reactor that closed has no timers and no queue left: no drain then.
      if (cause !== "reactor") {
        const deadline = Date.now() + this.#drainTimeout;
        while (Date.now() < deadline && !this.queue.closed) {
          const q = this.queue.stats();
          if (q.pending === 0 && q.idle >= q.workers) break;
          await new Promise<void>((resolve) => this.reactor.after(20, resolve));
        }
      }
    }
    const children = [...this.#children.values()];
    for (const child of children) if (child.state !== "retiring") this.#retire(child, "shutdown");
    await Promise.all(children.map((c) => c.exited));
    await this.queue.close();
  }

  #refuse(direction: "up" | "down", reason: string, limit: number): false {
    this.#counters.refused++;
    this.emit("pool:refused", { direction, reason, workers: this.workers, limit });
    return false;
  }

  /** A timer on the reactor, or (once the reactor is closing, its timers inert) a Node timer. */
  #after(ms: number, fn: () => void): { cancel(): void } {
    if (!this.reactor.closed) return this.reactor.after(ms, fn);
    const t = setTimeout(fn, ms).unref();
    return { cancel: () => clearTimeout(t) };
  }

  #spawn(reason: string): Child {
    // Unguessable: a backend peer can neither take over a worker's id nor pass for a child.
    const id = uuidv4();
    const config: ServeWorkerConfig = {
      id,
      endpoint: this.queue.endpoints.backend[0]!,
      handler: this.#handler,
      heartbeatInterval: this.heartbeatInterval,
      heartbeatLiveness: this.heartbeatLiveness,
    };
    const proc = fork(this.#workerScript, [], {
      env: { ...process.env, [WORKER_CONFIG_ENV]: JSON.stringify(config) },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    proc.on("error", () => {
      // reported through "exit"; a failed IPC send to a dying child lands here
    });
    const child: Child = {
      id,
      proc,
      state: "starting",
      started: this.reactor.clock.now(),
      exited: new Promise((resolve) => proc.once("exit", (code, signal) => {
        this.#onExit(child, code, signal);
        resolve();
      })),
    };
    child.killTimer = this.#after(this.#startTimeout, () => {
      if (child.state !== "starting") return;
      this.emit("worker:purged", { id, pid: proc.pid, reason: `not ready after ${this.#startTimeout} ms` });
      this.#counters.purged++;
      child.killed = true;
      proc.kill("SIGKILL");
    });
    this.#children.set(id, child);
    this.#counters.started++;
    this.emit("worker:started", { id, pid: proc.pid, reason });
    return child;
  }

  /** Resolves true once `child` sent READY, false if it exited first. */
  #whenReady(child: Child): Promise<boolean> {
    if (child.state !== "starting") return Promise.resolve(child.state === "ready" && this.#children.has(child.id));
    return new Promise((resolve) => {
      const done = (ready: boolean) => {
        offReady();
        offExit();
        resolve(ready);
      };
      const offReady = this.on("worker:ready", ({ id }) => id === child.id && done(true));
      const offExit = this.on("worker:exited", ({ id }) => id === child.id && done(false));
    });
  }

  #onReady(routingId: Buffer): void {
    const child = this.#children.get(idKey(routingId));
    if (!child || child.state !== "starting") return;
    child.state = "ready";
    child.killTimer?.cancel();
    this.emit("worker:ready", { id: child.id, pid: child.proc.pid });
  }

  /** The queue gave up on worker `routingId` (only our children are workers there). */
  #onPurged(routingId: Buffer, reason: string, timedOut = false): void {
    const key = idKey(routingId);
    const child = this.#children.get(key);
    if (child === undefined) {
      // Gone already: a worker we retired is forgotten by the queue once it has left (expected);
      // a crashed one is purged.
      const retired = this.#gone.get(key);
      this.#gone.delete(key);
      if (retired !== false) return;
    } else if (child.state === "retiring" && !timedOut) return;
    this.#counters.purged++;
    if (timedOut) this.#counters.timedOut++;
    this.emit("worker:purged", { id: key, pid: child?.proc.pid, reason });
    if (!child) return;
    // Hung (its handler overran, or it went silent: an event loop that blocks) or cut off:
    // kill it; the exit handler replaces it at once.
    child.killed = true;
    child.proc.kill("SIGKILL");
  }

  #retire(child: Child, reason: string): void {
    child.state = "retiring";
    this.emit("worker:retiring", { id: child.id, pid: child.proc.pid, reason });
    try {
      child.proc.send({ cmd: "stop" });
    } catch {
      child.proc.kill("SIGTERM");
    }
    child.killTimer?.cancel();
    child.killTimer = this.#after(this.#retireTimeout, () => child.proc.kill("SIGKILL"));
  }

  #onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    child.killTimer?.cancel();
    this.#children.delete(child.id);
    const expected = child.state === "retiring" && !child.killed;
    this.#gone.set(child.id, expected);
    // Bounded: the queue forgets a gone worker within one heartbeat or liveness period.
    if (this.#gone.size > 1000) this.#gone.delete(this.#gone.keys().next().value!);
    this.#counters.exited++;
    this.emit("worker:exited", { id: child.id, pid: child.proc.pid, code, signal, expected });
    if (child.state === "retiring" || this.closed) return;
    this.#counters.crashed++;
    // A child that dies young on its own is crash-looping: replace it with a growing delay
    // (100 ms -> 5 s). One we killed (purged: hung, silent) is replaced at once.
    const now = this.reactor.clock.now();
    this.#crashStreak = child.killed ? 0 : now - child.started < 2000 ? this.#crashStreak + 1 : 0;
    this.#respawnAt = now + (this.#crashStreak === 0 ? 0 : Math.min(5000, 100 * 2 ** (this.#crashStreak - 1)));
    if (this.#respawnAt <= now) this.#spawn("replace crashed worker");
    // else the scaling tick refills the pool once #respawnAt has passed
  }

  /** A worker to retire: one still starting, else the newest ready one. */
  #pickVictim(): Child | undefined {
    const live = [...this.#children.values()].filter((c) => c.state !== "retiring");
    return live.find((c) => c.state === "starting") ?? live[live.length - 1];
  }

  #scale(): void {
    if (this.closed) return;
    const now = this.reactor.clock.now();
    const q = this.queue.stats();
    const workers = this.workers;
    if (workers < this.#min) {
      if (now >= this.#respawnAt) this.#spawn("below minimum");
      return;
    }
    if (q.pending > 0 || q.idle === 0) this.#lastBusy = now;
    if (q.pending > 0) {
      const starting = [...this.#children.values()].some((c) => c.state === "starting");
      if (workers < this.#max && !starting && !this.#restarting) {
        this.#counters.scaledUp++;
        this.#spawn(`${q.pending} requests waiting`);
        this.emit("pool:scaled", { direction: "up", reason: `${q.pending} requests waiting`, workers: this.workers });
      }
      return;
    }
    if (workers > this.#min && q.idle > 0 && now - this.#lastBusy >= this.#idleTimeout && !this.#restarting) {
      const victim = this.#pickVictim();
      if (!victim) return;
      this.#counters.scaledDown++;
      this.#retire(victim, `idle for ${now - this.#lastBusy} ms`);
      this.#lastBusy = now;
      this.emit("pool:scaled", { direction: "down", reason: "idle", workers: this.workers });
    }
  }
}
