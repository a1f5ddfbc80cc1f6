/**
 * The Majordomo client (7/MDP 0.1 or 18/MDP 0.2 MDP/Client) with Lazy Pirate retries.
 *
 * Each request in flight has its own DEALER socket (a "lane"), so replies are matched to
 * requests without changing the wire format, and a request that times out can be resent on
 * a fresh socket (the old one is closed with linger 0, so a late reply cannot be taken for
 * the answer to a later request). Lanes are reused; up to `maxInFlight` requests run at once
 * (the asynchronous mode); further requests wait in a bounded queue.
 * @module
 */
import * as zmq from "zeromq";
import {
  AbortedError,
  BoundedQueue,
  ClosedError,
  QueueFullError,
  Reactor,
  TimeoutError,
  TypedEmitter,
  endpointOption,
  intOption,
  objectOption,
  optionsObject,
  signalOption,
  type MessageLike,
  type SocketHandle,
  type Timer,
  reactorOption,
} from "../../src/index.js";
import { versionOption } from "./options.js";
import { clientRequest, isExpiredBody, isServiceName, parseClientInbound, type MdpVersion } from "./protocol.js";

/** The broker answered that no worker for the service turned up in time (see README "Expired requests"). */
export class ServiceExpiredError extends TimeoutError {
  /** The service asked for. */
  readonly service: string;
  /** The broker's answer frames (`"504"`, `"mmi.expired: ..."`). */
  readonly reply: Buffer[];
  constructor(service: string, reply: Buffer[]) {
    super(`Majordomo broker expired the request: ${reply[1]?.toString() ?? "no worker"}`);
    this.service = service;
    this.reply = reply;
  }
}

/** Options of {@link MajordomoClient}. */
export interface MajordomoClientOptions {
  /** Broker endpoint. */
  readonly endpoint: string;
  /** 1 = MDP/0.1 (default), 2 = MDP/0.2 (streaming replies). */
  readonly version?: MdpVersion;
  /** ms to wait for a reply (for 0.2: for each PARTIAL/FINAL) before resending. Default 2500. */
  readonly timeout?: number;
  /** Resends before a request is abandoned. Default 3. */
  readonly retries?: number;
  /** Requests in flight at once (one socket each). Default 100. */
  readonly maxInFlight?: number;
  /** Requests waiting for a free socket; beyond it `request()` rejects with QueueFullError. Default 1000. */
  readonly pendingLimit?: number;
  /** Chunks a {@link MajordomoClient.stream} buffers for a slow consumer. Default 10000. */
  readonly streamBufferLimit?: number;
  /** Options for each DEALER. */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
  /** Share a reactor (not closed by {@link MajordomoClient.close}). */
  readonly reactor?: Reactor;
  /** Aborting it closes the client. */
  readonly signal?: AbortSignal;
}

/** Options of one request. */
export interface RequestOptions {
  /** Abort this request (rejects with AbortedError). */
  readonly signal?: AbortSignal;
  /** Overrides the client's timeout, ms. */
  readonly timeout?: number;
  /** Overrides the client's retries. */
  readonly retries?: number;
  /** 18/MDP: called with each PARTIAL body. */
  readonly onPartial?: (body: Buffer[]) => void;
}

/** Counters of a {@link MajordomoClient}. */
export interface MajordomoClientStats {
  requests: number;
  replies: number;
  partials: number;
  retries: number;
  /** Requests abandoned after their last retry. */
  abandoned: number;
  /** Requests the broker answered with the expiry answer. */
  expired: number;
  aborted: number;
  /** Replies that were not valid MDP for this client (dropped). */
  malformed: number;
  /** Replies that arrived on an idle socket (dropped). */
  stale: number;
  /** Sockets opened. */
  sockets: number;
  /** Requests waiting for a free socket now. */
  pending: number;
  /** Requests in flight now. */
  inFlight: number;
}

/** Events of a {@link MajordomoClient}. */
export interface MajordomoClientEvents {
  [event: string]: unknown[];
  /** No reply in time: resending on a new socket. `attempt` counts from 2. */
  "request:retry": [{ service: string; attempt: number }];
  "request:abandoned": [{ service: string; attempts: number }];
  "message:malformed": [{ reason: string }];
}

interface Job {
  readonly service: string;
  readonly frames: Buffer[];
  readonly timeout: number;
  retriesLeft: number;
  attempts: number;
  partials: number;
  readonly onPartial: ((body: Buffer[]) => void) | undefined;
  readonly resolve: (body: Buffer[]) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  lane: Lane | undefined;
}

interface Lane {
  handle: SocketHandle<zmq.Dealer, "drop-newest"> | undefined;
  job: Job | undefined;
  timer: Timer | undefined;
}

/** 7/MDP / 18/MDP client; see the module documentation. */
export class MajordomoClient extends TypedEmitter<MajordomoClientEvents> {
  readonly endpoint: string;
  readonly version: MdpVersion;
  readonly timeout: number;
  readonly retries: number;
  readonly maxInFlight: number;
  readonly #streamLimit: number;
  readonly #socketOptions: zmq.SocketOptions<zmq.Dealer> | undefined;
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #lanes: Lane[] = [];
  readonly #idle: Lane[] = [];
  readonly #pending: BoundedQueue<Job>;
  readonly #stats = { requests: 0, replies: 0, partials: 0, retries: 0, abandoned: 0, expired: 0, aborted: 0, malformed: 0, stale: 0, sockets: 0 };
  #closing: Promise<void> | undefined;
  /** Unsubscribes from a shared reactor's `reactor:closed`. */
  #offReactor: (() => void) | undefined;

  constructor(options: MajordomoClientOptions) {
    super();
    const o = optionsObject("MajordomoClient", options);
    this.endpoint = endpointOption("MajordomoClient", o, "endpoint");
    this.version = versionOption("MajordomoClient", o);
    this.timeout = intOption("MajordomoClient", o, "timeout", 2500, 1);
    this.retries = intOption("MajordomoClient", o, "retries", 3, 0);
    this.maxInFlight = intOption("MajordomoClient", o, "maxInFlight", 100, 1);
    const pendingLimit = intOption("MajordomoClient", o, "pendingLimit", 1000, 1);
    this.#streamLimit = intOption("MajordomoClient", o, "streamBufferLimit", 10_000, 1);
    this.#socketOptions = objectOption("MajordomoClient", o, "socketOptions");
    this.#signal = signalOption("MajordomoClient", o);
    ({ reactor: this.#reactor, owned: this.#ownReactor } = reactorOption("MajordomoClient", o));
    this.#pending = new BoundedQueue<Job>(pendingLimit, "reject", "pending request queue");
    // A shared reactor closed under us cancels our timers and closes our sockets: close too,
    // or every request in flight or waiting would stay pending for ever.
    if (!this.#ownReactor) this.#offReactor = this.#reactor.on("reactor:closed", this.#onAbort);
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Counters. */
  stats(): MajordomoClientStats {
    return { ...this.#stats, pending: this.#pending.size, inFlight: this.#lanes.length - this.#idle.length };
  }

  /**
   * MDP/Client REQUEST: send `body` to `service` and resolve with the reply body (for 0.2,
   * the FINAL body; PARTIAL bodies go to `onPartial`). Resends on a fresh socket after
   * `timeout` ms, `retries` times, then rejects with {@link TimeoutError}. Rejects with
   * {@link ServiceExpiredError} when the broker expired the request (no worker),
   * {@link AbortedError} when `signal` aborts, {@link ClosedError} when the client closes.
   */
  request(service: string, body: MessageLike, options: RequestOptions = {}): Promise<Buffer[]> {
    if (typeof service !== "string" || !isServiceName(service)) throw new TypeError(`MajordomoClient.request: expected \`service\` to be a printable service name, got ${JSON.stringify(service)}`);
    const o = optionsObject("MajordomoClient.request", options);
    const timeout = intOption("MajordomoClient.request", o, "timeout", this.timeout, 1);
    const retries = intOption("MajordomoClient.request", o, "retries", this.retries, 0);
    const signal = signalOption("MajordomoClient.request", o);
    const onPartial = o.onPartial as RequestOptions["onPartial"];
    if (onPartial !== undefined && typeof onPartial !== "function") throw new TypeError("MajordomoClient.request: expected `onPartial` to be a function");
    if (this.closed) return Promise.reject(new ClosedError("MajordomoClient is closed"));
    if (signal?.aborted) return Promise.reject(new AbortedError("request aborted", { cause: signal.reason }));
    const frames = clientRequest(this.version, service, body);
    return new Promise<Buffer[]>((resolve, reject) => {
      const job: Job = { service, frames, timeout, retriesLeft: retries, attempts: 0, partials: 0, onPartial, resolve, reject, signal, onAbort: undefined, lane: undefined };
      if (signal) {
        job.onAbort = () => {
          this.#stats.aborted++;
          this.#settle(job, new AbortedError("request aborted", { cause: signal.reason }), true);
        };
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#stats.requests++;
      const lane = this.#idle.pop() ?? (this.#lanes.length < this.maxInFlight ? this.#newLane() : undefined);
      if (lane) return this.#start(lane, job);
      try {
        this.#pending.push(job);
      } catch (error) {
        this.#settle(job, error instanceof QueueFullError ? error : new QueueFullError(this.#pending.limit, "pending request queue"));
      }
    });
  }

  /**
   * 18/MDP: send a request and iterate over the reply: every PARTIAL body, then the FINAL
   * body. Breaking out of the loop abandons the request. Under 0.1 it yields the one reply.
   */
  async *stream(service: string, body: MessageLike, options: Omit<RequestOptions, "onPartial"> = {}): AsyncGenerator<Buffer[], void, undefined> {
    const given = signalOption("MajordomoClient.stream", optionsObject("MajordomoClient.stream", options));
    const stop = new AbortController();
    const signal = given ? AbortSignal.any([given, stop.signal]) : stop.signal;
    const chunks = new BoundedQueue<Buffer[]>(this.#streamLimit, "reject", "stream buffer");
    let wake: (() => void) | undefined;
    let done = false;
    let failure: unknown;
    const push = (chunk: Buffer[]) => {
      try {
        chunks.push(chunk);
      } catch (error) {
        failure = error;
        stop.abort(error);
      }
      wake?.();
    };
    this.request(service, body, { ...options, signal, onPartial: push }).then(
      (final) => {
        push(final);
        done = true;
        wake?.();
      },
      (error: unknown) => {
        failure ??= error;
        done = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        const chunk = chunks.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (done) {
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      if (!done) stop.abort(new Error("stream closed by its consumer"));
    }
  }

  /** Reject everything pending with ClosedError and close all sockets. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#offReactor?.();
    const error = new ClosedError("MajordomoClient closed");
    for (const job of this.#pending.drain()) this.#settle(job, error);
    for (const lane of this.#lanes) if (lane.job) this.#settle(lane.job, error);
    const closing = this.#lanes.map((lane) => lane.handle?.close(0));
    this.#closing = Promise.all(closing).then(() => (this.#ownReactor ? this.#reactor.close() : undefined));
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

  #newLane(): Lane {
    const lane: Lane = { handle: undefined, job: undefined, timer: undefined };
    this.#lanes.push(lane);
    return lane;
  }

  #open(lane: Lane): SocketHandle<zmq.Dealer, "drop-newest"> {
    const socket = new zmq.Dealer({ linger: 0, ...this.#socketOptions });
    socket.connect(this.endpoint);
    this.#stats.sockets++;
    const handle: SocketHandle<zmq.Dealer, "drop-newest"> = this.#reactor.add(socket, {
      name: `mdp-client:${this.#stats.sockets}`,
      overflow: "drop-newest",
      sendQueueLimit: 16,
      linger: 0,
      onMessage: (frames): void => this.#onMessage(lane, handle, frames),
    });
    lane.handle = handle;
    return handle;
  }

  #reopen(lane: Lane): void {
    void lane.handle?.close(0);
    lane.handle = undefined;
  }

  #start(lane: Lane, job: Job): void {
    lane.job = job;
    job.lane = lane;
    this.#send(lane, job);
  }

  #send(lane: Lane, job: Job): void {
    job.attempts++;
    const handle = lane.handle ?? this.#open(lane);
    handle.send(job.frames);
    this.#arm(lane, job);
  }

  #arm(lane: Lane, job: Job): void {
    lane.timer?.cancel();
    lane.timer = this.#reactor.after(job.timeout, () => this.#onTimeout(lane, job));
  }

  #onMessage(lane: Lane, handle: SocketHandle<zmq.Dealer, "drop-newest">, frames: Buffer[]): void {
    const job = lane.job;
    if (!job || lane.handle !== handle) {
      this.#stats.stale++;
      return;
    }
    const msg = parseClientInbound(frames, this.version);
    if (!msg.ok || msg.service !== job.service) {
      this.#stats.malformed++;
      this.emit("message:malformed", { reason: msg.ok ? `reply for service ${msg.service}, expected ${job.service}` : msg.reason });
      return;
    }
    if (!msg.final) {
      this.#stats.partials++;
      job.partials++;
      this.#arm(lane, job);
      job.onPartial?.(msg.body);
      return;
    }
    this.#stats.replies++;
    if (isExpiredBody(msg.body)) {
      this.#stats.expired++;
      this.#settle(job, new ServiceExpiredError(job.service, msg.body));
    } else this.#settle(job, undefined, false, msg.body);
  }

  #onTimeout(lane: Lane, job: Job): void {
    if (lane.job !== job) return;
    // A half-streamed reply cannot be resent without repeating what was already delivered.
    if (job.retriesLeft > 0 && job.partials === 0) {
      job.retriesLeft--;
      this.#stats.retries++;
      this.#reopen(lane);
      this.emit("request:retry", { service: job.service, attempt: job.attempts + 1 });
      this.#send(lane, job);
      return;
    }
    this.#stats.abandoned++;
    this.emit("request:abandoned", { service: job.service, attempts: job.attempts });
    this.#settle(job, new TimeoutError(`no reply from service ${job.service} after ${job.attempts} attempt(s) of ${job.timeout} ms`), true);
  }

  /** Finish a job (reply or error); free its lane (reopening it if it is dirty). */
  #settle(job: Job, error: unknown, dirty = false, reply?: Buffer[]): void {
    if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
    job.onAbort = undefined;
    const lane = job.lane;
    job.lane = undefined;
    if (lane && lane.job === job) {
      lane.timer?.cancel();
      lane.timer = undefined;
      lane.job = undefined;
      if (dirty) this.#reopen(lane);
      if (!this.closed) this.#release(lane);
    } else if (!lane) {
      this.#pending.removeWhere((j) => j === job);
    }
    if (error !== undefined) job.reject(error);
    else job.resolve(reply!);
  }

  #release(lane: Lane): void {
    const next = this.#pending.shift();
    if (next) this.#start(lane, next);
    else this.#idle.push(lane);
  }
}
