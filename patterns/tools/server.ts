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
import { fileURLToPath } from "node:url";
import { ParanoidPirateQueue, type ParanoidPirateQueueStats } from "../paranoid-pirate/index.js";
import {
  ClosedError,
  InvalidOptionError,
  TypedEmitter,
  endpointsOption,
  idKey,
  intOption,
  optionsObject,
  signalOption,
  stringOption,
  endpointOption,
  type Timer,
} from "../../src/index.js";
import { ControlServer } from "./control.js";
import { WORKER_CONFIG_ENV, type ServeWorkerConfig } from "./serve-worker.js";

/** Options of {@link JobServer}. */
export interface JobServerOptions {
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
  /** Requests held longer than this while no worker is ready are dropped, ms. Default 30000. */
  readonly pendingTimeout?: number;
  /** Requests held at most while no worker is ready. Default 10000. */
  readonly maxPending?: number;
  /** Control endpoint (ROUTER answering `STATUS`). Default: none. */
  readonly control?: string;
  /** The worker entry script. Default: the bundled `serve-worker.js`. */
  readonly workerScript?: string;
  /** Aborting it stops the server (drains first, as {@link JobServer.close}). */
  readonly signal?: AbortSignal;
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
  /** Workers purged by the queue (silent, or unreachable), and killed if still running. */
  purged: number;
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
  /** The current floor of the pool. */
  minWorkers: number;
  /** The current ceiling of the pool. */
  maxWorkers: number;
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
  /** The pool grew or shrank by one (a signal or a scaling decision). */
  "pool:scaled": [{ direction: "up" | "down"; reason: string; workers: number }];
  /** A rolling restart (SIGHUP) began. */
  "pool:restarting": [{ workers: number }];
  /** A rolling restart finished. */
  "pool:restarted": [{ workers: number }];
  /** Shutdown began: waiting for waiting and running requests. */
  "server:draining": [{ pending: number }];
  /** Every worker has exited and the queue is closed. */
  "server:closed": [];
}

interface Child {
  id: string;
  proc: ChildProcess;
  state: WorkerChildState;
  started: number;
  exited: Promise<void>;
  /** Kills the child if it does not become ready in time, or does not leave in time when retiring. */
  killTimer?: Timer;
}

const DEFAULT_WORKER_SCRIPT = fileURLToPath(new URL("./serve-worker.js", import.meta.url));

/**
 * Net::Server::ZMQ, rebuilt on 6/PPP: {@link start} binds the queue and forks `minWorkers`
 * children; {@link addWorker}/{@link removeWorker} (SIGTTIN/SIGTTOU), {@link restartWorkers}
 * (SIGHUP) and {@link close} (SIGTERM) are what `zpatterns serve` wires to signals.
 */
export class JobServer extends TypedEmitter<JobServerEvents> {
  /** The 6/PPP queue the parent runs (its `endpoints` hold the bound frontend/backend). */
  readonly queue: ParanoidPirateQueue;
  /** 6/PPP heartbeat interval, ms. */
  readonly heartbeatInterval: number;
  /** 6/PPP liveness. */
  readonly heartbeatLiveness: number;
  readonly #handler: string;
  readonly #workerScript: string;
  readonly #scaleInterval: number;
  readonly #idleTimeout: number;
  readonly #retireTimeout: number;
  readonly #startTimeout: number;
  readonly #controlSpec: string | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #children = new Map<string, Child>();
  /** Ids of workers that exited after being retired, until the queue forgets them. */
  readonly #retired = new Set<string>();
  readonly #counters: JobServerCounters = { started: 0, exited: 0, crashed: 0, purged: 0, scaledUp: 0, scaledDown: 0, restarts: 0 };
  #min: number;
  #max: number;
  #seq = 0;
  #lastBusy = 0;
  #crashStreak = 0;
  #respawnAt = 0;
  #scaleTimer: Timer | undefined;
  #control: ControlServer | undefined;
  #restarting: Promise<void> | undefined;
  #draining = false;
  #closing: Promise<void> | undefined;
  readonly #onAbort = () => void this.close();

  constructor(options: JobServerOptions) {
    super();
    const owner = "JobServer";
    const o = optionsObject(owner, options);
    const frontend = endpointsOption(owner, o, "frontend");
    const backend = endpointsOption(owner, o, "backend");
    this.#handler = stringOption(owner, o, "handler", undefined) ?? invalid("handler", "a handler name or module path");
    this.#min = intOption(owner, o, "minWorkers", 1, 0);
    this.#max = intOption(owner, o, "maxWorkers", Math.max(4, this.#min), 1);
    if (this.#max < this.#min) invalid("maxWorkers", `an integer >= minWorkers (${this.#min})`);
    this.heartbeatInterval = intOption(owner, o, "heartbeatInterval", 1000, 1);
    this.heartbeatLiveness = intOption(owner, o, "heartbeatLiveness", 3, 1);
    this.#scaleInterval = intOption(owner, o, "scaleInterval", 500, 1);
    this.#idleTimeout = intOption(owner, o, "idleTimeout", 10_000, 1);
    this.#retireTimeout = intOption(owner, o, "retireTimeout", 30_000, 1);
    this.#startTimeout = intOption(owner, o, "startTimeout", 30_000, 1);
    const pendingTimeout = intOption(owner, o, "pendingTimeout", 30_000, 0);
    const maxPending = intOption(owner, o, "maxPending", 10_000, 1);
    this.#controlSpec = o.control === undefined ? undefined : endpointOption(owner, o, "control");
    this.#workerScript = stringOption(owner, o, "workerScript", DEFAULT_WORKER_SCRIPT);
    this.#signal = signalOption(owner, o);
    this.queue = new ParanoidPirateQueue({
      frontend,
      backend,
      heartbeatInterval: this.heartbeatInterval,
      heartbeatLiveness: this.heartbeatLiveness,
      pendingTimeout,
      maxPending,
      // A worker killed mid-request costs one delivery; keep going while children are replaced.
      maxRedeliveries: 10,
    });
    this.queue.on("worker:ready", ({ id }) => this.#onReady(id));
    this.queue.on("worker:expired", ({ id, silentMs, busy }) => this.#onPurged(id, `silent for ${silentMs} ms${busy ? " while busy" : ""}`));
    this.queue.on("worker:disconnected", ({ id, reason }) => this.#onPurged(id, reason));
  }

  /** Lowest and highest pool size (signals move them when they push past them). */
  get limits(): { minWorkers: number; maxWorkers: number } {
    return { minWorkers: this.#min, maxWorkers: this.#max };
  }

  /** The control endpoint as bound, if any. */
  get controlEndpoint(): string | undefined {
    return this.#control?.endpoint;
  }

  /**
   * Bind queue (and control endpoint), fork `minWorkers` children, start scaling. When a
   * bind fails the server is closed (nothing stays bound) and the error rethrown.
   */
  async start(): Promise<void> {
    if (this.#closing) throw new ClosedError("JobServer is closed");
    try {
      await this.queue.start();
      if (this.#controlSpec !== undefined) this.#control = await ControlServer.bind(this.queue.reactor, this.#controlSpec, () => this.status());
    } catch (error) {
      await this.close(0);
      throw error;
    }
    const now = this.queue.reactor.clock.now();
    this.#lastBusy = now;
    for (let i = 0; i < this.#min; i++) this.#spawn("minimum");
    this.#scaleTimer = this.queue.reactor.every(this.#scaleInterval, () => this.#scale());
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
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
    const now = this.queue.reactor.clock.now();
    const children = [...this.#children.values()].map((c) => ({ id: c.id, pid: c.proc.pid, state: c.state, uptimeMs: now - c.started }));
    return {
      workers: this.workers,
      ready: children.filter((c) => c.state === "ready").length,
      minWorkers: this.#min,
      maxWorkers: this.#max,
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
   * SIGTTIN: one more worker, now. The signal is authoritative: the limits move so that
   * scaling keeps the new size as a floor (`minWorkers`, and `maxWorkers` if needed).
   */
  addWorker(reason = "SIGTTIN"): void {
    if (this.#closing) return;
    const n = this.workers + 1;
    this.#min = Math.max(this.#min, n);
    this.#max = Math.max(this.#max, n);
    this.#counters.scaledUp++;
    this.#spawn(reason);
    this.emit("pool:scaled", { direction: "up", reason, workers: this.workers });
  }

  /**
   * SIGTTOU: one worker fewer, now (it finishes its request first). The new size becomes the
   * ceiling (`maxWorkers`, and `minWorkers` if needed). False when there is no worker.
   */
  removeWorker(reason = "SIGTTOU"): boolean {
    if (this.#closing) return false;
    const victim = this.#pickVictim();
    if (!victim) return false;
    const n = this.workers - 1;
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
   */
  restartWorkers(): Promise<void> {
    this.#restarting ??= (async () => {
      this.#counters.restarts++;
      const old = [...this.#children.values()].filter((c) => c.state !== "retiring");
      this.emit("pool:restarting", { workers: old.length });
      for (const child of old) {
        if (this.#closing) break;
        if (!this.#children.has(child.id) || child.state === "retiring") continue;
        const fresh = this.#spawn("restart");
        // Keep the old worker when its replacement fails to start (the crash handling refills).
        if (!(await this.#whenReady(fresh))) continue;
        if (this.#closing) break;
        if (this.#children.get(child.id) === child && (child.state as WorkerChildState) !== "retiring") this.#retire(child, "restart");
        await child.exited;
      }
      this.emit("pool:restarted", { workers: this.workers });
    })().finally(() => (this.#restarting = undefined));
    return this.#restarting;
  }

  /**
   * SIGTERM: stop growing, wait (at most `timeout` ms) until no request is waiting or
   * running, then retire every worker and close the queue. Idempotent.
   */
  close(timeout = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      this.#draining = true;
      this.emit("server:draining", { pending: this.queue.stats().pending });
      this.#scaleTimer?.cancel();
      const deadline = Date.now() + timeout;
      while (Date.now() < deadline && !this.queue.closed) {
        const q = this.queue.stats();
        if (q.pending === 0 && q.idle >= q.workers) break;
        await new Promise<void>((resolve) => this.queue.reactor.after(20, resolve));
      }
      const children = [...this.#children.values()];
      for (const child of children) if (child.state !== "retiring") this.#retire(child, "shutdown");
      await Promise.all(children.map((c) => c.exited));
      await this.queue.close();
      this.emit("server:closed");
    })();
    return this.#closing;
  }

  #spawn(reason: string): Child {
    const id = `w${++this.#seq}-${process.pid}`;
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
      started: this.queue.reactor.clock.now(),
      exited: new Promise((resolve) => proc.once("exit", (code, signal) => {
        this.#onExit(child, code, signal);
        resolve();
      })),
    };
    child.killTimer = this.queue.reactor.after(this.#startTimeout, () => {
      if (child.state !== "starting") return;
      this.emit("worker:purged", { id, pid: proc.pid, reason: `not ready after ${this.#startTimeout} ms` });
      this.#counters.purged++;
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

  #onPurged(routingId: Buffer, reason: string): void {
    const key = idKey(routingId);
    // A worker we retired is forgotten by the queue once it has gone: expected, not a purge.
    if (this.#retired.delete(key)) return;
    const child = this.#children.get(key);
    if (child?.state === "retiring") return;
    this.#counters.purged++;
    this.emit("worker:purged", { id: idKey(routingId), pid: child?.proc.pid, reason });
    // A child the queue gave up on is hung or cut off: kill it, the exit handler replaces it.
    child?.proc.kill("SIGKILL");
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
    child.killTimer = this.queue.reactor.after(this.#retireTimeout, () => child.proc.kill("SIGKILL"));
  }

  #onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    child.killTimer?.cancel();
    this.#children.delete(child.id);
    if (child.state === "retiring") {
      this.#retired.add(child.id);
      // Bounded: the queue forgets a gone worker within one heartbeat or liveness period.
      if (this.#retired.size > 1000) this.#retired.delete(this.#retired.values().next().value!);
    }
    this.#counters.exited++;
    const expected = child.state === "retiring";
    this.emit("worker:exited", { id: child.id, pid: child.proc.pid, code, signal, expected });
    if (expected || this.#closing) return;
    this.#counters.crashed++;
    // A child that dies young is crash-looping: replace it with a growing delay (100 ms -> 5 s).
    const now = this.queue.reactor.clock.now();
    this.#crashStreak = now - child.started < 2000 ? this.#crashStreak + 1 : 0;
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
    if (this.#closing) return;
    const now = this.queue.reactor.clock.now();
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

function invalid(option: string, expected: string): never {
  throw new InvalidOptionError(option, `JobServer: expected \`${option}\` to be ${expected}`);
}
