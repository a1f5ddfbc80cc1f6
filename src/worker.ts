/**
 * What the three workers (Simple Pirate, 6/PPP, 7/MDP) share, without sockets: their option
 * vocabulary, their events and counters, and the {@link RequestRunner} that runs a handler
 * for each request, one at a time, with a bounded backlog, an optional `handlerTimeout`, an
 * optional `errorReply`, and the rule that a reply whose connection is gone is dropped and
 * counted, never sent on a later connection. The pattern parses its wire, hands requests to
 * the runner and frames the replies it gets back (the base classes in src/worker-base.ts do
 * the wiring); the table of options, events and counters is in src/README.md ("Workers").
 * @module
 */
import type * as zmq from "zeromq";
import { ClosedError, TimeoutError } from "./errors.js";
import { toFrames, type MessageLike } from "./frames.js";
import { HEARTBEAT_LIVENESS, RECONNECT_INTERVAL, RECONNECT_MAX_INTERVAL } from "./heartbeat.js";
import type { LifecycleOptions } from "./lifecycle.js";
import { SEND_QUEUE_LIMIT, type HeartbeatLinkEvents } from "./link.js";
import { endpointOption, functionOption, intOption, objectOption, requiredOption, type Bag } from "./options.js";
import { BoundedQueue } from "./queue.js";
import { parseStamp, replyCacheOption, type ReplyCache, type ReplyCacheSpec } from "./exactly-once.js";
import type { Timer } from "./timers.js";

/** Default bound of a worker's backlog (requests waiting while the handler is busy). */
export const WORKER_MAX_PENDING = 1000;

/** What every handler gets besides the request frames. */
export interface RequestContext {
  /** Routing id of the client (opaque; empty when the request carried no address). */
  readonly client: Buffer;
  /**
   * Aborted when nobody will take the reply any more: the connection the request came on
   * was lost, the worker closed, or the handler ran past `handlerTimeout`.
   */
  readonly signal: AbortSignal;
  /**
   * Exactly-once: the request's stamp (`exactlyOnce` workers, stamped requests), the same on
   * every retry. A handler whose effect must survive the worker's process keeps its own record
   * under it, in the same store and transaction as the effect (src/README.md, "Exactly-once
   * requests").
   */
  readonly stamp?: RequestStamp | undefined;
}

/** Who sent a stamped request, and its sequence number (a decimal string). */
export interface RequestStamp {
  readonly clientId: string;
  readonly seq: string;
}

/** A worker's request handler: the request frames in, the reply frames out (may be async). */
export type WorkerHandler = (frames: Buffer[], ctx: RequestContext) => MessageLike | Promise<MessageLike>;

/** Options every worker takes. */
export interface WorkerOptions<H = WorkerHandler> extends LifecycleOptions {
  /** The broker's (queue's backend) endpoint. Required. */
  readonly endpoint: string;
  /** Runs each request. Required. */
  readonly handler: H;
  /**
   * A handler still running after this many ms is given up: its request fails (reason
   * `timeout`), its signal aborts, and its result, if it ever comes, is dropped. 0 = wait for
   * ever. Default 0.
   */
  readonly handlerTimeout?: number;
  /**
   * Reply to send when a handler fails (throws, rejects, times out, returns no message).
   * Default: none; the worker then does what its protocol does to get the request
   * redelivered (see the pattern's README).
   */
  readonly errorReply?: (error: unknown, request: Buffer[]) => MessageLike;
  /** Send queue limit of the worker's socket. Default 10000. */
  readonly sendQueueLimit?: number;
  /**
   * Exactly-once requests: answer a stamped request seen before from the reply cache instead
   * of running the handler again (src/README.md, "Exactly-once requests"). Default false.
   */
  readonly exactlyOnce?: boolean;
  /** Most replies the reply cache keeps (oldest evicted). Default 10000. */
  readonly replyCacheSize?: number;
  /** ms a reply stays in the reply cache. Default 60000. */
  readonly replyCacheTtl?: number;
  /** A `ReplyCache` shared with other workers of the process (implies `exactlyOnce`). */
  readonly replyCache?: ReplyCache;
}

/** Options of the heartbeated workers (6/PPP, 7/MDP). */
export interface HeartbeatWorkerOptions<H = WorkerHandler> extends WorkerOptions<H> {
  /** ms between heartbeats. Default the spec's: 6/PPP 1000, 7/MDP 2500. */
  readonly heartbeatInterval?: number;
  /** Silent intervals before the broker is taken as dead. Default 3. */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay, ms (doubles on each failure). Default 1000. */
  readonly reconnectInterval?: number;
  /** Reconnect delay cap, ms. Default 32000. */
  readonly reconnectMaxInterval?: number;
  /** Requests held while the handler is busy (newest dropped and counted beyond it). Default 1000. */
  readonly maxPending?: number;
  /** Options for each new DEALER socket (HWMs, CURVE keys, `routingId`, ...). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
}

/** Why a request got no reply from its handler. */
export type RequestFailure = "error" | "timeout";

/** Why a request was dropped before its handler ran. */
export type WorkerRequestDropReason = "overflow" | "reconnected" | "closed" | "duplicate";

/** Why a handler's reply did not go out. */
export type ReplyDropReason = "reconnected" | "closed" | "abandoned" | "unsent";

/** The events of every worker (the same names and payloads in the three patterns). */
export interface WorkerEvents extends HeartbeatLinkEvents {
  /** A request arrived (it runs now, or waits in the backlog). */
  "request:received": [{ client: Buffer; body: Buffer[] }];
  /** The handler threw, rejected, returned no message, or ran past `handlerTimeout`. */
  "request:failed": [{ client: Buffer; reason: RequestFailure; error: unknown }];
  /** A request was dropped before its handler ran. */
  "request:dropped": [{ client: Buffer; reason: WorkerRequestDropReason }];
  /** A reply went out. */
  "reply:sent": [{ client: Buffer }];
  /** A handler's reply was dropped (its connection was lost, the worker closed, it came after the timeout, or the socket refused it). */
  "reply:dropped": [{ client: Buffer; reason: ReplyDropReason }];
  /** A message from the broker broke the protocol: counted and dropped. */
  "message:malformed": [{ socket: string; reason: string; frames: number }];
  /**
   * Exactly-once: a stamped request seen before arrived; it is answered from the reply cache
   * (`cached`) or with the reply of the same request running now (`waiting`), not run again.
   */
  "request:duplicate": [{ client: Buffer; clientId: string; seq: string; answer: "cached" | "waiting" }];
}

/** The counters of every worker. */
export interface WorkerStats {
  /** Requests received. */
  requests: number;
  /** Replies sent. */
  replies: number;
  /** Requests whose handler failed (of which `timedOut` ran past `handlerTimeout`). */
  failed: number;
  timedOut: number;
  /** Requests dropped before their handler ran (backlog full, connection lost, closed). */
  droppedRequests: number;
  /** Replies dropped (connection lost, closed, after the timeout, refused by the socket). */
  droppedReplies: number;
  /** Messages from the broker that broke the protocol. */
  malformed: number;
  /** Handlers running now (0 or 1). */
  running: number;
  /** Requests waiting in the backlog. */
  pending: number;
  /** Sockets opened (the first and every reconnect). */
  connects: number;
  /** Connections given up (and reopened). */
  reconnects: number;
  /** Exactly-once: stamped requests seen before (cached, or waiting for the running original; run after all if that one fails). */
  duplicates: number;
  /** Of those, answered from the reply cache at once. */
  cacheHits: number;
  /** Replies in the reply cache now (a shared cache: all its workers'). */
  cacheEntries: number;
  /** Replies the cache evicted because it was full (a shared cache: all its workers'). */
  cacheEvictions: number;
  /** Replies the cache forgot after their TTL (a shared cache: all its workers'). */
  cacheExpired: number;
}

/** The counters of the heartbeated workers. */
export interface HeartbeatWorkerStats extends WorkerStats {
  heartbeatsSent: number;
  heartbeatsReceived: number;
}

/** The validated common options. */
export interface WorkerConfig<H> {
  endpoint: string;
  handler: H;
  handlerTimeout: number;
  errorReply: WorkerOptions["errorReply"];
  sendQueueLimit: number;
  /** Exactly-once: the reply cache's options, undefined when off. */
  replyCache: ReplyCacheSpec | undefined;
}

/** The validated options of a heartbeated worker. */
export interface HeartbeatWorkerConfig<H> extends WorkerConfig<H> {
  heartbeatInterval: number;
  heartbeatLiveness: number;
  reconnectInterval: number;
  reconnectMaxInterval: number;
  maxPending: number;
  socketOptions: zmq.SocketOptions<zmq.Dealer> | undefined;
}

/** Validate the options every worker takes (each error an `InvalidOptionError` naming it). */
export function workerConfig<H>(owner: string, o: Bag): WorkerConfig<H> {
  const endpoint = endpointOption(owner, o, "endpoint");
  requiredOption(owner, o, "handler", "a function");
  return {
    endpoint,
    handler: functionOption(owner, o, "handler", undefined) as H,
    handlerTimeout: intOption(owner, o, "handlerTimeout", 0, 0),
    errorReply: functionOption<NonNullable<WorkerOptions["errorReply"]>, undefined>(owner, o, "errorReply", undefined),
    sendQueueLimit: intOption(owner, o, "sendQueueLimit", SEND_QUEUE_LIMIT, 1),
    replyCache: replyCacheOption(owner, o),
  };
}

/** {@link workerConfig} plus the heartbeat, reconnect and backlog options. */
export function heartbeatWorkerConfig<H>(owner: string, o: Bag, heartbeatInterval: number): HeartbeatWorkerConfig<H> {
  const reconnectInterval = intOption(owner, o, "reconnectInterval", RECONNECT_INTERVAL, 0);
  return {
    ...workerConfig<H>(owner, o),
    heartbeatInterval: intOption(owner, o, "heartbeatInterval", heartbeatInterval, 1),
    heartbeatLiveness: intOption(owner, o, "heartbeatLiveness", HEARTBEAT_LIVENESS, 1),
    reconnectInterval,
    reconnectMaxInterval: intOption(owner, o, "reconnectMaxInterval", Math.max(RECONNECT_MAX_INTERVAL, reconnectInterval), reconnectInterval),
    maxPending: intOption(owner, o, "maxPending", WORKER_MAX_PENDING, 1),
    socketOptions: objectOption<zmq.SocketOptions<zmq.Dealer>>(owner, o, "socketOptions"),
  };
}

/** Emits one of the {@link WorkerEvents} on the worker. */
export type WorkerEmit = <K extends keyof WorkerEvents & string>(event: K, ...args: WorkerEvents[K]) => void;

/** One request as the runner sees it: who asked, what; the pattern adds its own fields. */
export interface WorkerJob {
  readonly client: Buffer;
  readonly body: Buffer[];
}

/** A request that carries the address stack its reply goes back with (Simple Pirate, 6/PPP). */
export interface EnvelopeJob extends WorkerJob {
  /** The addresses before the empty delimiter, outermost first (`client` is the first). */
  readonly envelope: Buffer[];
}

/** What the pattern plugs into a {@link RequestRunner}. */
export interface RequestRunnerHooks<J extends WorkerJob> {
  /** Run the handler (the pattern may wrap it, e.g. to consume a stream of partial replies). */
  run(job: J, ctx: RequestContext): MessageLike | Promise<MessageLike>;
  /** Frame and send the reply on the current connection; false when the socket refused it. */
  send(job: J, reply: Buffer[]): boolean;
  /**
   * A live request failed and `errorReply` gave nothing: do what the protocol does so the
   * broker redelivers it (READY again, a fresh socket, DISCONNECT and reconnect).
   */
  recover(job: J, reason: RequestFailure): void;
  /** Emit on the worker. */
  emit: WorkerEmit;
  /** Whether anyone listens to `event` (per-request payloads are built only then). Default: always. */
  listening?: (event: keyof WorkerEvents & string) => boolean;
}

/** Options of a {@link RequestRunner}. */
export interface RequestRunnerOptions {
  /** Backlog bound (newest dropped beyond it). */
  readonly maxPending: number;
  /** ms before a running handler is given up; 0 = never. */
  readonly handlerTimeout: number;
  readonly errorReply?: WorkerOptions["errorReply"];
  /** Where the timeout timers run: the worker's reactor (or a `Scheduler` on a `ManualClock`). */
  readonly timers: { after(ms: number, fn: () => void): Timer };
  /** Exactly-once: strip the stamps of requests and answer duplicates from this cache. */
  readonly replyCache?: ReplyCache | undefined;
}

interface Task<J> {
  readonly job: J;
  /** The connection epoch the request came on. */
  readonly epoch: number;
  settled: boolean;
  timer: Timer | undefined;
  controller: AbortController | undefined;
}

/** The `ctx` a handler gets: one small object per request, its signal made on first use. */
class TaskContext<J extends WorkerJob> implements RequestContext {
  constructor(
    private readonly task: Task<J>,
    /** True while the request's reply is still wanted. */
    private readonly wanted: (task: Task<J>) => boolean,
    readonly stamp: RequestStamp | undefined,
  ) {}

  get client(): Buffer {
    return this.task.job.client;
  }

  // Made on first use: most handlers never look at it.
  get signal(): AbortSignal {
    const task = this.task;
    if (!task.controller) {
      task.controller = new AbortController();
      if (!this.wanted(task)) task.controller.abort(new ClosedError("the request's reply is no longer wanted"));
    }
    return task.controller.signal;
  }
}

function isThenable(value: unknown): value is PromiseLike<MessageLike> {
  return value !== null && typeof value === "object" && typeof (value as PromiseLike<unknown>).then === "function";
}

/** The runner's counters (part of {@link WorkerStats}). */
export type RequestRunnerStats = Pick<
  WorkerStats,
  "requests" | "replies" | "failed" | "timedOut" | "droppedRequests" | "droppedReplies" | "malformed" | "running" | "pending" | "duplicates" | "cacheHits" | "cacheEntries" | "cacheEvictions" | "cacheExpired"
>;

/**
 * Runs a worker's requests one at a time (the brokers give a worker one request at a time;
 * more wait in a bounded backlog), on a connection epoch: {@link reset} when the connection
 * is lost, {@link close} when the worker closes. Socket-free: the pattern sends.
 */
export class RequestRunner<J extends WorkerJob> {
  readonly #o: RequestRunnerOptions;
  readonly #hooks: RequestRunnerHooks<J>;
  readonly #backlog: BoundedQueue<J>;
  /** Tasks whose handler has not settled (nor been given up). */
  readonly #tasks = new Set<Task<J>>();
  #epoch = 0;
  #closed = false;
  #pumping = false;
  readonly #s = { requests: 0, replies: 0, failed: 0, timedOut: 0, droppedRequests: 0, droppedReplies: 0, malformed: 0, duplicates: 0, cacheHits: 0 };
  /** Exactly-once: the cache key of each stamped job (its stamp stripped from the body). */
  readonly #keys = new WeakMap<J, { key: string; clientId: string; seq: string }>();

  constructor(options: RequestRunnerOptions, hooks: RequestRunnerHooks<J>) {
    this.#o = options;
    this.#hooks = hooks;
    this.#backlog = new BoundedQueue<J>(options.maxPending, "drop-newest", "worker backlog");
  }

  #listening(event: keyof WorkerEvents & string): boolean {
    return this.#hooks.listening?.(event) ?? true;
  }

  /** Counters. */
  stats(): RequestRunnerStats {
    const c = this.#o.replyCache?.stats();
    return { ...this.#s, running: this.#tasks.size, pending: this.#backlog.size, cacheEntries: c?.entries ?? 0, cacheEvictions: c?.evictions ?? 0, cacheExpired: c?.expired ?? 0 };
  }

  /** A request arrived: run it now, or queue it behind the one running. */
  accept(job: J): void {
    if (this.#o.replyCache) {
      const stamp = parseStamp(job.body[0]);
      if (typeof stamp === "string") {
        // Counted and given back the protocol's way (a dropped request would leave the broker
        // waiting for its reply: a REQ worker could not even receive the next one).
        this.malformed("link", stamp, job.body.length);
        if (!this.#closed) this.#hooks.recover(job, "error");
        return;
      }
      if (stamp) {
        job = { ...job, body: job.body.slice(1) };
        this.#keys.set(job, { key: stamp.key, clientId: stamp.clientId, seq: stamp.seq.toString() });
      }
    }
    this.#s.requests++;
    if (this.#listening("request:received")) this.#hooks.emit("request:received", { client: job.client, body: job.body });
    if (this.#closed) return this.#dropRequest(job, "closed");
    if (this.#tasks.size > 0 || this.#backlog.size > 0) {
      if (!this.#backlog.push(job).accepted) this.#dropRequest(job, "overflow");
      return;
    }
    this.#start(job);
  }

  /** Count and report a message that broke the protocol. */
  malformed(socket: string, reason: string, frames: number): void {
    this.#s.malformed++;
    this.#hooks.emit("message:malformed", { socket, reason, frames });
  }

  /** The connection was lost: drop the backlog; replies of running handlers will be dropped. */
  reset(): void {
    this.#endEpoch("reconnected");
  }

  /** The worker closes: as {@link reset}, and no timer survives. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const task of this.#tasks) task.timer?.cancel();
    this.#endEpoch("closed");
  }

  #endEpoch(reason: "reconnected" | "closed"): void {
    this.#epoch++;
    for (const task of this.#tasks) task.controller?.abort(new ClosedError(`the request's connection is gone (${reason})`));
    for (const job of this.#backlog.drain()) this.#dropRequest(job, reason);
  }

  #live(task: Task<J>): boolean {
    return task.epoch === this.#epoch && !this.#closed;
  }

  #dropRequest(job: J, reason: WorkerRequestDropReason): void {
    this.#s.droppedRequests++;
    this.#hooks.emit("request:dropped", { client: job.client, reason });
  }

  #dropReply(job: J, reason: ReplyDropReason): void {
    this.#s.droppedReplies++;
    this.#hooks.emit("reply:dropped", { client: job.client, reason });
  }

  readonly #wanted = (task: Task<J>): boolean => !task.settled && this.#live(task);

  #context(task: Task<J>): RequestContext {
    const stamped = this.#keys.get(task.job);
    return new TaskContext(task, this.#wanted, stamped && { clientId: stamped.clientId, seq: stamped.seq });
  }

  #start(job: J): void {
    const stamped = this.#keys.get(job);
    if (stamped && this.#duplicate(job, stamped)) return;
    const task: Task<J> = { job, epoch: this.#epoch, settled: false, timer: undefined, controller: undefined };
    this.#tasks.add(task);
    const key = stamped?.key;
    const cache = key === undefined ? undefined : this.#o.replyCache;
    cache?.begin(key!);
    let result: MessageLike | Promise<MessageLike>;
    try {
      result = this.#hooks.run(job, this.#context(task));
    } catch (error) {
      cache?.abandon(key!);
      this.#settle(task);
      return this.#fail(task, error, "error");
    }
    if (!isThenable(result)) {
      if (cache) remember(cache, key!, result);
      this.#settle(task);
      return this.#deliver(task, result);
    }
    // The cache follows the handler itself, not the runner's slot: a reply that comes after
    // handlerTimeout, or after the worker closed, is still kept for the duplicates to come.
    if (cache) result.then((reply) => remember(cache, key!, reply), () => cache.abandon(key!));
    const ms = this.#o.handlerTimeout;
    if (ms > 0 && !this.#closed) {
      task.timer = this.#o.timers.after(ms, () => {
        if (!this.#settle(task)) return;
        const error = new TimeoutError(`the handler ran past handlerTimeout (${ms} ms)`);
        task.controller?.abort(error);
        this.#fail(task, error, "timeout");
      });
    }
    result.then(
      (reply) => {
        if (!this.#settle(task)) return this.#dropReply(job, "abandoned");
        this.#deliver(task, reply);
      },
      (error: unknown) => {
        if (!this.#settle(task)) return this.#dropReply(job, "abandoned");
        this.#fail(task, error, "error");
      },
    );
  }

  /**
   * Exactly-once: `job` repeats a request this runner (or another sharing the cache) has run
   * or runs now. Answer it from the cache, or when the running one finishes; true when it is
   * taken care of, false when it must run (not seen, expired, or its first run failed).
   */
  #duplicate(job: J, stamped: { key: string; clientId: string; seq: string }): boolean {
    const cache = this.#o.replyCache!;
    const found = cache.lookup(stamped.key);
    if (found === undefined) return false;
    this.#s.duplicates++;
    const answer = found.state === "done" ? "cached" : "waiting";
    this.#hooks.emit("request:duplicate", { client: job.client, clientId: stamped.clientId, seq: stamped.seq, answer });
    if (found.state === "done") {
      this.#s.cacheHits++;
      this.#send(job, found.reply);
      return true;
    }
    const epoch = this.#epoch;
    const waiting = cache.wait(stamped.key, (reply) => {
      if (reply === undefined) {
        // The first run failed: this one runs the handler (unless its connection is gone).
        if (epoch !== this.#epoch || this.#closed) return this.#dropRequest(job, this.#closed ? "closed" : "reconnected");
        if (this.#tasks.size > 0 || this.#backlog.size > 0) {
          if (!this.#backlog.push(job).accepted) this.#dropRequest(job, "overflow");
        } else this.#start(job);
        return;
      }
      if (epoch !== this.#epoch || this.#closed) return this.#dropReply(job, this.#closed ? "closed" : "reconnected");
      this.#send(job, reply);
    });
    if (!waiting) {
      // Too many wait already: given back (the broker redelivers it later, when the reply may be cached).
      this.#dropRequest(job, "duplicate");
      this.#hooks.recover(job, "error");
    }
    return true;
  }

  /** The handler is done with (result, failure or timeout): free the slot. False when it already was. */
  #settle(task: Task<J>): boolean {
    if (task.settled) return false;
    task.settled = true;
    task.timer?.cancel();
    this.#tasks.delete(task);
    return true;
  }

  /** Send a handler's result (or fail the request when it is no message), then run the next. */
  #deliver(task: Task<J>, reply: MessageLike): void {
    if (!this.#live(task)) this.#dropReply(task.job, this.#closed ? "closed" : "reconnected");
    else {
      let frames: Buffer[] | undefined;
      try {
        frames = toFrames(reply);
      } catch (error) {
        // Not a message (undefined, a number, ...): a handler error, not a wedged worker.
        const what = reply === null ? "null" : typeof reply;
        return this.#fail(task, new TypeError(`the handler returned a ${what} that is not a message`, { cause: error }));
      }
      this.#send(task.job, frames);
    }
    this.#pump();
  }

  #send(job: J, frames: Buffer[]): void {
    if (this.#hooks.send(job, frames)) {
      this.#s.replies++;
      if (this.#listening("reply:sent")) this.#hooks.emit("reply:sent", { client: job.client });
    } else this.#dropReply(job, "unsent");
  }

  #fail(task: Task<J>, error: unknown, reason: RequestFailure = "error"): void {
    this.#s.failed++;
    if (reason === "timeout") this.#s.timedOut++;
    const { job } = task;
    this.#hooks.emit("request:failed", { client: job.client, reason, error });
    if (this.#live(task)) {
      const reply = this.#errorReply(job, error);
      if (reply) this.#send(job, reply);
      else this.#hooks.recover(job, reason);
    }
    this.#pump();
  }

  /** `errorReply`'s frames, or undefined when there is none (or it failed: reported too). */
  #errorReply(job: J, error: unknown): Buffer[] | undefined {
    if (!this.#o.errorReply) return undefined;
    try {
      const reply = this.#o.errorReply(error, job.body);
      return reply === undefined ? undefined : toFrames(reply);
    } catch (inner) {
      this.#hooks.emit("request:failed", { client: job.client, reason: "error", error: inner });
      return undefined;
    }
  }

  /** Start queued requests while the slot is free (a loop, so synchronous handlers do not recurse). */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#tasks.size === 0 && !this.#closed) {
        const job = this.#backlog.shift();
        if (!job) break;
        this.#start(job);
      }
    } finally {
      this.#pumping = false;
    }
  }
}

/** Keep a handler's result in the cache (a result that is no message counts as a failure). */
function remember(cache: ReplyCache, key: string, reply: MessageLike): void {
  let frames: Buffer[];
  try {
    frames = toFrames(reply);
  } catch {
    return cache.abandon(key);
  }
  cache.complete(key, frames);
}
