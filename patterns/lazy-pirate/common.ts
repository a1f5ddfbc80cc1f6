/**
 * The request machinery both Lazy Pirate clients share: option parsing, a bounded backlog
 * with an overflow policy, per-request timeout and abort, retries with backoff through
 * `p-retry`, counters and events. A subclass supplies the socket side: how an attempt is
 * sent and what happens to the socket when an attempt times out or is cancelled.
 * @module
 */
import pRetry from "p-retry";
import {
  AbortedError,
  BoundedQueue,
  ClosedError,
  OVERFLOW_POLICIES,
  QueueFullError,
  Reactor,
  TimeoutError,
  TypedEmitter,
  endpointOption,
  enumOption,
  intOption,
  isMessageLike,
  numberOption,
  objectOption,
  optionsObject,
  boolOption,
  signalOption,
  toFrames,
  type MessageLike,
  type OverflowPolicy,
  type Ticket,
  type TicketList,
  type Timer,
} from "../../src/index.js";

/** Lazy Pirate (Guide ch4) `REQUEST_TIMEOUT`: 2500 ms per attempt. */
export const REQUEST_TIMEOUT = 2500;
/** Lazy Pirate (Guide ch4) `REQUEST_RETRIES`: 3 (here: resends after the first attempt). */
export const REQUEST_RETRIES = 3;

/**
 * Backoff between attempts, handed to `p-retry`. The delay before resend n (1-based) is
 * `min(maxTimeout, minTimeout * factor^(n-1))`, times a random 1..2 with `randomize`.
 * The default `minTimeout: 0` resends at once when an attempt times out, as the Guide does:
 * the request timeout itself is the pause.
 */
export interface BackoffOptions {
  /** Delay before the first resend, ms. Default 0. */
  readonly minTimeout?: number;
  /** Upper bound of the delay, ms. Default Infinity. */
  readonly maxTimeout?: number;
  /** Growth factor of the delay. Default 2. */
  readonly factor?: number;
  /** Multiply each delay by a random factor between 1 and 2. Default false. */
  readonly randomize?: boolean;
}

/** Options both Lazy Pirate clients take. */
export interface ClientOptions {
  /** Endpoint to connect to (`tcp://127.0.0.1:5555`). Required. */
  readonly endpoint: string;
  /** Time to wait for a reply per attempt, ms. Default 2500 (`REQUEST_TIMEOUT`). */
  readonly requestTimeout?: number;
  /** Resends after the first attempt before the request is abandoned. Default 3. */
  readonly retries?: number;
  /** Delay between attempts (see {@link BackoffOptions}). Default: none beyond the timeout. */
  readonly backoff?: BackoffOptions;
  /** Requests that may wait for their turn. Default 100. */
  readonly maxQueued?: number;
  /**
   * When the backlog is full: `reject` (the new request rejects with `QueueFullError`),
   * `drop-newest` (same, counted as dropped), `drop-oldest` (the oldest waiting request
   * rejects with `QueueFullError` and is counted). Default `reject`.
   */
  readonly overflow?: OverflowPolicy;
  /** Aborting it closes the client. */
  readonly signal?: AbortSignal;
  /** Linger (ms) when a socket closes (on timeout, abort and close). Default 0. */
  readonly linger?: number;
  /** Share a reactor (not closed by the client). Default: the client owns one. */
  readonly reactor?: Reactor;
}

/** Options of one request. */
export interface RequestOptions {
  /** Aborting it rejects the request with `AbortedError` (and resets the socket if it was in flight). */
  readonly signal?: AbortSignal;
  /** Per-attempt timeout for this request, ms. Default: the client's `requestTimeout`. */
  readonly timeout?: number;
}

/** Why a socket was closed and opened again. */
export type ReopenReason = "timeout" | "abort";

/** Why a reply was discarded. */
export type DiscardReason =
  /** it arrived on a socket already retired, or when no request was waiting for it */
  | "stale"
  /** the `accept` option turned it down */
  | "rejected"
  /** its request id is not (or no longer) in flight: late, duplicate or unknown */
  | "unknown"
  /** it does not have the `[requestId, EMPTY, ...]` shape */
  | "malformed";

/** Events of the Lazy Pirate clients. */
export interface LazyPirateEvents {
  [event: string]: unknown[];
  /** An attempt timed out and the request is sent again (after the backoff delay). */
  "request:retry": [{ request: Buffer[]; attempt: number; retriesLeft: number; timeout: number }];
  /** The last attempt timed out: the request rejects with {@link RequestAbandonedError}. */
  "request:abandoned": [{ request: Buffer[]; attempts: number }];
  /** The REQ socket was closed (linger 0) and a fresh one connected. */
  "socket:reopened": [{ reason: ReopenReason; endpoint: string; count: number }];
  /** A reply was dropped because it answers no current request. */
  "reply:discarded": [{ reason: DiscardReason; reply: Buffer[] }];
}

/** Counters of a Lazy Pirate client. */
export interface LazyPirateStats {
  /** Requests accepted by `request()`. */
  requests: number;
  /** Requests answered. */
  replies: number;
  /** Resends after a timed-out attempt. */
  retries: number;
  /** Requests given up after the last attempt. */
  abandoned: number;
  /** Replies dropped (see {@link DiscardReason}); `malformed` ones are counted here too. */
  discarded: number;
  /** Replies that had no valid shape (pipelined mode). */
  malformed: number;
  /** Socket close/reopen cycles. */
  reopened: number;
  /** Requests rejected because their signal aborted. */
  aborted: number;
  /** Requests dropped by the backlog's overflow policy. */
  dropped: number;
  /** Requests rejected because the client closed. */
  closed: number;
  /** Requests waiting for their turn now. */
  queued: number;
  /** Requests being attempted now. */
  inFlight: number;
}

/** The request was abandoned: every attempt timed out. A {@link TimeoutError}. */
export class RequestAbandonedError extends TimeoutError {
  /** Attempts made. */
  readonly attempts: number;
  /** The request frames. */
  readonly request: Buffer[];
  constructor(request: Buffer[], attempts: number, timeout: number) {
    super(`No reply after ${attempts} attempt(s) of ${timeout} ms: request abandoned`);
    this.request = request;
    this.attempts = attempts;
  }
}

/** One attempt timed out (internal: drives the retries). */
class AttemptTimeoutError extends TimeoutError {}

/** A request on its way through the client. @internal */
export interface Job {
  readonly frames: Buffer[];
  readonly timeout: number;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (reply: Buffer[]) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  running: boolean;
  attempts: number;
  /** The attempt waiting for its reply, if any. */
  attempt: { resolve: (reply: Buffer[]) => void; reject: (error: unknown) => void; timer: Timer | Ticket } | undefined;
  /** Aborts p-retry's backoff delay (only made when there is a delay). */
  controller: AbortController | undefined;
  onAbort: (() => void) | undefined;
  /** Pipelined mode: the request id. */
  id: Buffer | undefined;
  key: number;
}

/** Parsed common options. @internal */
export interface ClientSettings {
  endpoint: string;
  requestTimeout: number;
  retries: number;
  backoff: Required<BackoffOptions>;
  maxQueued: number;
  overflow: OverflowPolicy;
  linger: number;
  signal: AbortSignal | undefined;
  reactor: Reactor | undefined;
  socketOptions: Record<string, unknown>;
}

/** Validate the options both clients take. @internal */
export function parseClientOptions(owner: string, options: unknown): ClientSettings {
  const o = optionsObject(owner, options);
  const b = optionsObject(`${owner} backoff`, objectOption(owner, o, "backoff"));
  const reactor = o.reactor;
  if (reactor !== undefined && !(reactor instanceof Reactor)) throw new TypeError(`${owner}: expected \`reactor\` to be a Reactor, got ${String(reactor)}`);
  return {
    endpoint: endpointOption(owner, o, "endpoint"),
    requestTimeout: intOption(owner, o, "requestTimeout", REQUEST_TIMEOUT, 1),
    retries: intOption(owner, o, "retries", REQUEST_RETRIES, 0),
    backoff: {
      minTimeout: numberOption(owner, b, "minTimeout", 0, 0),
      maxTimeout: b.maxTimeout === Infinity ? Infinity : numberOption(owner, b, "maxTimeout", Infinity, 0),
      factor: numberOption(owner, b, "factor", 2, 0),
      randomize: boolOption(owner, b, "randomize", false),
    },
    maxQueued: intOption(owner, o, "maxQueued", 100, 0),
    overflow: enumOption(owner, o, "overflow", OVERFLOW_POLICIES, "reject"),
    linger: intOption(owner, o, "linger", 0, -1),
    signal: signalOption(owner, o),
    reactor: reactor as Reactor | undefined,
    socketOptions: { ...(objectOption<Record<string, unknown>>(owner, o, "socketOptions") ?? {}) },
  };
}

/**
 * Base of {@link LazyPirateClient} and {@link PipelinedClient}: requests, backlog, retries,
 * aborts, counters, events and lifecycle. `concurrency` requests are attempted at once.
 */
export abstract class RetryingClient extends TypedEmitter<LazyPirateEvents> {
  /** The endpoint the client connects to. */
  readonly endpoint: string;
  /** The reactor that runs the client's socket and timers. */
  protected readonly reactor: Reactor;
  protected readonly settings: ClientSettings;
  protected readonly counters: Omit<LazyPirateStats, "queued" | "inFlight">;
  readonly #owner: string;
  readonly #ownsReactor: boolean;
  readonly #backlog: BoundedQueue<Job>;
  readonly #concurrency: number;
  readonly #running = new Set<Job>();
  readonly #retryOptions: Parameters<typeof pRetry>[1];
  #tickets: TicketList | undefined;
  #closePromise: Promise<void> | undefined;
  readonly #onSignal = () => void this.close();
  /** Unsubscribes from the shared reactor's `reactor:closed` (undefined when the reactor is ours). */
  readonly #offReactor: (() => void) | undefined;

  protected constructor(owner: string, settings: ClientSettings, concurrency: number) {
    super();
    this.#owner = owner;
    this.settings = settings;
    this.endpoint = settings.endpoint;
    this.#concurrency = concurrency;
    this.#ownsReactor = settings.reactor === undefined;
    this.reactor = settings.reactor ?? new Reactor({ linger: settings.linger });
    this.counters = { requests: 0, replies: 0, retries: 0, abandoned: 0, discarded: 0, malformed: 0, reopened: 0, aborted: 0, dropped: 0, closed: 0 };
    // A zero limit still lets one request wait (BoundedQueue needs a positive limit); the
    // client only queues when every slot is busy.
    this.#backlog = new BoundedQueue<Job>(Math.max(settings.maxQueued, 1), settings.overflow, `request backlog of ${owner}`);
    const { minTimeout, maxTimeout, factor, randomize } = settings.backoff;
    this.#retryOptions = { retries: settings.retries, minTimeout, maxTimeout, factor, randomize, unref: true };
    // A shared reactor closed under us cancels our timers and closes our sockets: close too,
    // or every request in flight or queued would stay pending for ever.
    if (!this.#ownsReactor) this.#offReactor = this.reactor.on("reactor:closed", this.#onSignal);
    if (settings.signal?.aborted) queueMicrotask(() => void this.close());
    else settings.signal?.addEventListener("abort", this.#onSignal, { once: true });
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closePromise !== undefined;
  }

  /**
   * Send `payload` (one frame or several) and resolve with the reply frames. Rejects with
   * {@link RequestAbandonedError} (a `TimeoutError`) after the last attempt, `AbortedError`
   * when `options.signal` aborts, `QueueFullError` when the backlog overflows, `ClosedError`
   * when the client closes first.
   */
  request(payload: MessageLike, options?: RequestOptions): Promise<Buffer[]> {
    if (!isMessageLike(payload)) return Promise.reject(new TypeError(`${this.#owner}.request: expected \`payload\` to be a frame or a non-empty array of frames`));
    let timeout: number;
    let signal: AbortSignal | undefined;
    try {
      const o = optionsObject(`${this.#owner}.request`, options);
      timeout = intOption(`${this.#owner}.request`, o, "timeout", this.settings.requestTimeout, 1);
      signal = signalOption(`${this.#owner}.request`, o);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.closed) return Promise.reject(new ClosedError(`${this.#owner} is closed`));
    if (signal?.aborted) {
      this.counters.aborted++;
      return Promise.reject(new AbortedError("request aborted before it was sent", { cause: signal.reason }));
    }
    return new Promise<Buffer[]>((resolve, reject) => {
      const job: Job = { frames: toFrames(payload), timeout, signal, resolve, reject, settled: false, running: false, attempts: 0, attempt: undefined, controller: undefined, onAbort: undefined, id: undefined, key: 0 };
      if (this.#running.size < this.#concurrency && this.#backlog.size === 0) {
        this.counters.requests++;
        this.#watchAbort(job);
        this.#start(job);
        return;
      }
      if (this.settings.maxQueued === 0) {
        this.counters.dropped++;
        reject(new QueueFullError(0, `request backlog of ${this.#owner}`));
        return;
      }
      const { accepted, dropped } = this.#backlog.push(job); // throws QueueFullError under `reject`
      if (dropped) {
        this.counters.dropped++;
        this.#fail(dropped, new QueueFullError(this.settings.maxQueued, `request backlog of ${this.#owner}`));
      }
      if (accepted) {
        this.counters.requests++;
        this.#watchAbort(job);
      }
    });
  }

  /** Counters (see {@link LazyPirateStats}). */
  stats(): LazyPirateStats {
    return { ...this.counters, queued: this.#backlog.size, inFlight: this.#running.size };
  }

  /**
   * Reject every waiting and running request with `ClosedError`, close the socket (linger
   * from the options, default 0) and the reactor if the client owns it. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closePromise) return this.#closePromise;
    this.settings.signal?.removeEventListener("abort", this.#onSignal);
    this.#offReactor?.();
    const error = new ClosedError(`${this.#owner} closed`);
    for (const job of this.#backlog.drain()) this.#fail(job, error, "closed");
    for (const job of [...this.#running]) {
      this.#cancelAttempt(job, error);
      job.controller?.abort(error);
      this.#fail(job, error, "closed");
    }
    this.#closePromise = (async () => {
      await this.closeSockets();
      if (this.#ownsReactor) await this.reactor.close();
    })();
    return this.#closePromise;
  }

  /** Send attempt number `job.attempts` of `job` (the frames go out on the socket). */
  protected abstract sendAttempt(job: Job): void;
  /** The attempt of `job` ended without a reply (timeout or abort): reset what must be reset. */
  protected abstract attemptFailed(job: Job, reason: ReopenReason): void;
  /** The job left the client (answered, abandoned, aborted, dropped or closed). */
  protected abstract released(job: Job): void;
  /** Close the socket(s). */
  protected abstract closeSockets(): Promise<void>;

  /** A reply for `job` arrived: settle its current attempt. False if no attempt was waiting. */
  protected answer(job: Job, reply: Buffer[]): boolean {
    const attempt = job.attempt;
    if (!attempt) return false;
    job.attempt = undefined;
    attempt.timer.cancel();
    attempt.resolve(reply);
    return true;
  }

  /** Count and report a discarded reply. */
  protected discard(reason: DiscardReason, reply: Buffer[]): void {
    this.counters.discarded++;
    if (reason === "malformed") this.counters.malformed++;
    this.emit("reply:discarded", { reason, reply });
  }

  #watchAbort(job: Job): void {
    if (!job.signal) return;
    job.onAbort = () => {
      if (job.settled) return;
      const error = new AbortedError("request aborted", { cause: job.signal!.reason });
      if (!job.running) this.#backlog.removeWhere((j) => j === job);
      this.#cancelAttempt(job, error, "abort");
      job.controller?.abort(error);
      this.#fail(job, error, "aborted");
    };
    job.signal.addEventListener("abort", job.onAbort, { once: true });
  }

  #cancelAttempt(job: Job, error: unknown, reason?: ReopenReason): void {
    const attempt = job.attempt;
    if (!attempt) return;
    job.attempt = undefined;
    attempt.timer.cancel();
    if (reason) this.attemptFailed(job, reason);
    attempt.reject(error);
  }

  #fail(job: Job, error: unknown, counter?: "aborted" | "closed"): void {
    if (job.settled) return;
    job.settled = true;
    if (counter) this.counters[counter]++;
    this.#release(job);
    job.reject(error);
  }

  #release(job: Job): void {
    if (job.onAbort) job.signal!.removeEventListener("abort", job.onAbort);
    if (this.#running.delete(job)) this.released(job);
  }

  #start(job: Job): void {
    job.running = true;
    this.#running.add(job);
    // Fast path: the first attempt runs without p-retry; only a timeout hands the request
    // to p-retry, which replays that failure as its own first attempt and drives the rest.
    this.#attempt(job).then(
      (reply) => this.#succeed(job, reply),
      (first: unknown) => {
        if (!(first instanceof AttemptTimeoutError) || job.settled || this.settings.retries === 0) return this.#failed(job, first);
        return this.#retry(job, first);
      },
    );
  }

  #retry(job: Job, first: AttemptTimeoutError): Promise<void> {
    if (this.settings.backoff.minTimeout > 0) job.controller = new AbortController();
    return pRetry((n) => (n === 1 ? Promise.reject(first) : this.#attempt(job)), {
      ...this.#retryOptions,
      signal: job.controller?.signal,
      shouldRetry: ({ error }) => error instanceof AttemptTimeoutError && !job.settled,
      onFailedAttempt: ({ error, retriesLeft }) => {
        if (!(error instanceof AttemptTimeoutError) || job.settled || retriesLeft === 0) return;
        this.counters.retries++;
        this.emit("request:retry", { request: job.frames, attempt: job.attempts + 1, retriesLeft: retriesLeft - 1, timeout: job.timeout });
      },
    }).then(
      (reply) => this.#succeed(job, reply),
      (error: unknown) => this.#failed(job, error),
    );
  }

  #succeed(job: Job, reply: Buffer[]): void {
    if (!job.settled) {
      job.settled = true;
      this.counters.replies++;
      this.#release(job);
      job.resolve(reply);
    }
    this.#next();
  }

  #failed(job: Job, error: unknown): void {
    if (!job.settled) {
      if (error instanceof AttemptTimeoutError) {
        this.counters.abandoned++;
        this.emit("request:abandoned", { request: job.frames, attempts: job.attempts });
        error = new RequestAbandonedError(job.frames, job.attempts, job.timeout);
      }
      this.#fail(job, error);
    }
    this.#next();
  }

  #attempt(job: Job): Promise<Buffer[]> {
    if (job.settled) return Promise.reject(new ClosedError("request already settled"));
    return new Promise<Buffer[]>((resolve, reject) => {
      job.attempts++;
      const timer = this.#expire(job.timeout, () => {
        if (job.attempt?.timer !== timer) return;
        job.attempt = undefined;
        this.attemptFailed(job, "timeout");
        reject(new AttemptTimeoutError(`no reply within ${job.timeout} ms`));
      });
      job.attempt = { resolve, reject, timer };
      try {
        this.sendAttempt(job);
      } catch (error) {
        job.attempt = undefined;
        timer.cancel();
        reject(error);
      }
    });
  }

  /**
   * Start the timeout of an attempt: an O(1) expiry ticket for the client's own timeout
   * (one ticket list), a heap timer for per-request overrides.
   */
  #expire(timeout: number, fn: () => void): Timer | Ticket {
    if (timeout !== this.settings.requestTimeout) return this.reactor.after(timeout, fn);
    this.#tickets ??= this.reactor.tickets(timeout);
    return this.#tickets.add(fn);
  }

  #next(): void {
    while (!this.closed && this.#running.size < this.#concurrency) {
      const job = this.#backlog.shift();
      if (!job) return;
      this.#start(job);
    }
  }
}
