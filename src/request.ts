/**
 * The request engine every retrying client rides on (Lazy Pirate, pipelined, Majordomo,
 * Titanic; later Freelance and Binary Star): per-attempt timeout, retries with a backoff on
 * the reactor's clock, a bounded queue of requests waiting for their turn, a limit of
 * requests in flight, per-request `AbortSignal`, failover across endpoints, and one error for
 * a request given up ({@link RequestAbandonedError}).
 *
 * It opens no socket. A client is an adapter: the engine calls `adapter.send(attempt)` to put
 * an attempt on the wire and `adapter.reset(attempt, reason)` when an attempt ended without a
 * reply (a REQ socket must be replaced, a lane's socket closed); the client calls
 * `engine.resolve(id, reply)` when a reply comes in, `engine.reject(id, error)` when the peer
 * answered with a failure, `engine.extend(id)` when a partial reply proves the peer alive.
 *
 * Correlation. Every request gets an engine id (an integer, increasing per engine) and every
 * attempt a number (1 = the first send). An adapter that can tell which attempt a reply
 * answers (the reply came on that attempt's socket, or carries its sequence number) passes
 * `attempt` to `resolve`: a reply to an earlier attempt is then stale, ignored and counted.
 * An adapter whose wire format repeats one id across attempts (the pipelined client) omits
 * it: the first reply of any attempt answers the request. A reply whose id is no longer in
 * flight (late, duplicate, unknown) is ignored and counted too.
 *
 * Failover. With several endpoints the engine sends to one at a time (never round-robin):
 * when an attempt sent to the current endpoint times out, the next one becomes current
 * (`adapter.failover(to, from)` is told, so it can reconnect) and every later attempt goes
 * there, wrapping around. Timeouts of attempts sent to an endpoint already left do not move
 * it again, so a burst of timeouts fails over once. A resend that goes to another endpoint
 * than its timed-out attempt waits `failoverDelay` ms first (default 0).
 * @module
 */
import { AbortedError, QueueFullError, RequestAbandonedError } from "./errors.js";
import { InvalidOptionError } from "./errors.js";
import { boolOption, endpointsOption, enumOption, intOption, numberOption, objectOption, optionsObject, signalOption, type Bag } from "./options.js";
import type { BackoffOptions } from "./heartbeat.js";
import { clientIdOption } from "./exactly-once.js";
import { BoundedQueue, OVERFLOW_POLICIES, type OverflowPolicy } from "./queue.js";
import type { Ticket, TicketList, Timer } from "./timers.js";

/** Default time to wait for the reply to one attempt, ms (the Guide's `REQUEST_TIMEOUT`). */
export const REQUEST_TIMEOUT = 2500;
/** Default resends after the first attempt. */
export const REQUEST_RETRIES = 3;
/** Default bound of the queue of requests waiting for their turn. */
export const MAX_PENDING = 1000;

/**
 * Delay between a timed-out attempt and the resend: the reconnect backoff's options
 * (`initial`, `max`, `factor`) plus `jitter`. Resend n (1-based) waits
 * `min(max, initial * factor^(n-1))` ms, times a random 1..2 with `jitter`. The defaults
 * differ from the reconnect backoff's: `initial: 0` resends at once, as the Guide does (the
 * timeout itself is the pause), and `max` is Infinity.
 */
export interface RetryBackoffOptions extends BackoffOptions {
  /** Multiply each delay by a random factor between 1 and 2. Default false. */
  readonly jitter?: boolean;
}

/** The options every retrying client takes (beside `reactor`, `signal` and its own). */
export interface RequestClientOptions {
  /** Where to connect; several endpoints are tried one at a time, the next after a timeout. Required. */
  readonly endpoint: string | readonly string[];
  /** Time to wait for the reply to each attempt, ms. Default 2500. */
  readonly requestTimeout?: number;
  /** Resends after the first attempt before a request is abandoned. Default 3. */
  readonly retries?: number;
  /** Delay before each resend (see {@link RetryBackoffOptions}). Default: none beyond the timeout. */
  readonly backoff?: RetryBackoffOptions;
  /** Requests that may wait for their turn (0: none). Default 1000. */
  readonly maxPending?: number;
  /**
   * When that queue is full: `reject` (default; the new request rejects with
   * `QueueFullError`), `drop-newest` (the same, named for symmetry with the brokers) or
   * `drop-oldest` (the oldest waiting request rejects with `QueueFullError`). Always counted.
   */
  readonly pendingOverflow?: OverflowPolicy;
  /** Requests attempted at once (the REQ client has 1). */
  readonly maxInFlight?: number;
  /**
   * With several endpoints: ms to wait before resending a timed-out request to the next
   * endpoint (the Guide's Binary Star client "settle delay", there 2000: time for the backup
   * to see the primary gone). When a backoff delay applies too, the longer one is waited.
   * Default 0 (resend at once).
   */
  readonly failoverDelay?: number;
  /**
   * Exactly-once requests: stamp each request with `clientId` and a sequence number (a retry
   * repeats it), so a worker with `exactlyOnce` answers a duplicate from its reply cache
   * instead of running its handler again (src/README.md, "Exactly-once requests"). Only for
   * workers that opted in too: a plain worker would see the stamp as the first body frame.
   * Default false.
   */
  readonly exactlyOnce?: boolean;
  /** The client id the stamps carry (1-255 bytes; with `exactlyOnce`). Default a random UUID. */
  readonly clientId?: string;
}

/** Options of one request. */
export interface RequestCallOptions {
  /** Aborting it rejects the request with `AbortedError` (an attempt in flight is reset). */
  readonly signal?: AbortSignal;
  /** Timeout of each attempt of this request, ms. Default: the client's `requestTimeout`. */
  readonly requestTimeout?: number;
  /** Resends of this request. Default: the client's `retries`. */
  readonly retries?: number;
}

/** Validated {@link RequestClientOptions}. */
export interface RequestSettings {
  readonly endpoints: readonly string[];
  readonly requestTimeout: number;
  readonly retries: number;
  readonly backoff: Readonly<Required<RetryBackoffOptions>>;
  readonly maxPending: number;
  readonly pendingOverflow: OverflowPolicy;
  readonly maxInFlight: number;
  readonly failoverDelay: number;
  /** Exactly-once: the client id stamped on every request; undefined when off. */
  readonly clientId: string | undefined;
}

/** Options renamed in 0.2: passing the old name is an error that names the new one. */
const RENAMED: Readonly<Record<string, string>> = {
  timeout: "requestTimeout",
  maxQueued: "maxPending",
  pendingLimit: "maxPending",
  overflow: "pendingOverflow",
};

function refuseRenamed(owner: string, bag: Bag): void {
  for (const [old, name] of Object.entries(RENAMED)) {
    if (bag[old] !== undefined) throw new InvalidOptionError(old, `${owner}: \`${old}\` is now called \`${name}\``);
  }
}

/**
 * Validate the options every retrying client takes (throws {@link InvalidOptionError} naming
 * the option). `defaults.maxInFlight` is the client's own default (1 for a REQ client).
 */
export function requestSettings(owner: string, bag: Bag, defaults: { maxInFlight: number; maxInFlightLimit?: number; exactlyOnce?: boolean }): RequestSettings {
  refuseRenamed(owner, bag);
  const b = optionsObject(`${owner} backoff`, objectOption(owner, bag, "backoff"));
  return {
    endpoints: endpointsOption(owner, bag, "endpoint"),
    requestTimeout: intOption(owner, bag, "requestTimeout", REQUEST_TIMEOUT, 1),
    retries: intOption(owner, bag, "retries", REQUEST_RETRIES, 0),
    backoff: {
      initial: numberOption(owner, b, "initial", 0, 0),
      max: b.max === Infinity ? Infinity : numberOption(owner, b, "max", Infinity, 0),
      factor: numberOption(owner, b, "factor", 2, 1),
      jitter: boolOption(owner, b, "jitter", false),
    },
    maxPending: intOption(owner, bag, "maxPending", MAX_PENDING, 0),
    pendingOverflow: enumOption(owner, bag, "pendingOverflow", OVERFLOW_POLICIES, "reject"),
    maxInFlight: intOption(owner, bag, "maxInFlight", defaults.maxInFlight, 1, defaults.maxInFlightLimit),
    failoverDelay: intOption(owner, bag, "failoverDelay", 0, 0),
    clientId: clientIdOption(owner, bag, defaults.exactlyOnce ?? false),
  };
}

/** One attempt of a request, as the adapter sees it (a live view: fields move on at the next attempt). */
export interface Attempt<P> {
  /** The request's engine id. */
  readonly id: number;
  /** What the client submitted. */
  readonly request: P;
  /** This attempt's number, 1 for the first send. */
  readonly attempt: number;
  /** Where this attempt goes. */
  readonly endpoint: string;
  /** This attempt's timeout, ms. */
  readonly timeout: number;
}

/** Why an attempt ended without a reply. */
export type AttemptEndReason = "timeout" | "abort";

/** Why a reply was ignored. */
export type DiscardReason =
  /** it answers an earlier attempt of a request still in flight */
  | "stale"
  /** its request is not (or no longer) in flight: late, duplicate or unknown */
  | "unknown"
  /** the client turned it down (Lazy Pirate's `accept`) */
  | "rejected";

/** The socket side of a client. */
export interface RequestAdapter<P> {
  /** Put `attempt` on the wire, to `attempt.endpoint`. Throwing rejects the request with that error. */
  send(attempt: Attempt<P>): void;
  /** `attempt` ended without a reply (it timed out, or its request was aborted): reset the link (REQ: replace the socket). */
  reset?(attempt: Attempt<P>, reason: AttemptEndReason): void;
  /** The request left the engine (answered, failed, abandoned, aborted, dropped or closed). */
  release?(id: number): void;
  /** The engine moved to endpoint `to` after a timeout on `from`: reconnect. */
  failover?(to: string, from: string): void;
  /** May this timed-out request be sent again? Default yes (Majordomo: not after a partial reply). */
  retryable?(attempt: Attempt<P>): boolean;
}

/** The one payload of every `request:*` event. */
export interface RequestEvent<P> {
  /** The request's engine id. */
  id: number;
  /** The attempt concerned: the one sent or timed out; for `request:retry` the one about to be sent; 0 when none was sent. */
  attempt: number;
  /** That attempt's endpoint (the current one for `request:retry` and `request:dropped`). */
  endpoint: string;
  /** That attempt's timeout, ms. */
  timeout: number;
  /** Resends left after that attempt. */
  retriesLeft: number;
  /** `request:retry`: ms until the resend. */
  delay?: number;
  /** What the client submitted. */
  request: P;
}

/** Events of the engine; every client re-emits them under these names. */
export interface RequestEvents<P> {
  [event: string]: unknown[];
  /** An attempt went out. */
  "request:sent": [RequestEvent<P>];
  /** An attempt timed out (a retry or the abandon follows). */
  "request:timeout": [RequestEvent<P>];
  /** The request is sent again, after `delay` ms, as attempt `attempt`. */
  "request:retry": [RequestEvent<P>];
  /** The last attempt timed out: the request rejects with {@link RequestAbandonedError}. */
  "request:abandoned": [RequestEvent<P>];
  /** The pending queue overflowed: this request rejects with `QueueFullError`. */
  "request:dropped": [RequestEvent<P>];
  /** After a timeout the engine moved to the next endpoint. */
  "endpoint:failover": [{ from: string; to: string }];
  /** A reply was ignored (always counted in `discarded`). */
  "reply:discarded": [{ reason: DiscardReason; id: number | undefined }];
}

/** Counters of a request engine (every client's `stats()` includes them). */
export interface RequestStats {
  /** Requests accepted. */
  requests: number;
  /** Attempts sent. */
  sent: number;
  /** Requests answered. */
  replies: number;
  /** Resends. */
  retries: number;
  /** Attempts that timed out. */
  timeouts: number;
  /** Requests given up after their last attempt. */
  abandoned: number;
  /** Requests rejected by the client with the peer's failure (an expiry answer, a send error). */
  failed: number;
  /** Requests rejected because their signal aborted. */
  aborted: number;
  /** Requests refused or dropped by the pending queue's overflow policy. */
  dropped: number;
  /** Requests rejected because the client closed. */
  closed: number;
  /** Replies ignored (stale + unknown + rejected). */
  discarded: number;
  /** Replies to an earlier attempt. */
  stale: number;
  /** Moves to the next endpoint. */
  failovers: number;
  /** Requests waiting for their turn now. */
  pending: number;
  /** Requests being attempted now (sent, or waiting for a resend). */
  inFlight: number;
}

/** Timer source: a `Reactor` (or a `Scheduler`); tests give one on a `ManualClock`. */
export interface RequestTimers {
  after(ms: number, fn: () => void): Timer;
  tickets(delay: number): TicketList;
}

/** What a {@link RequestEngine} is built from. */
export interface RequestEngineOptions<P> {
  /** Class name for messages. */
  readonly owner: string;
  readonly settings: RequestSettings;
  readonly timers: RequestTimers;
  readonly adapter: RequestAdapter<P>;
  /** Receives the engine's events (a client passes its own `emit`). */
  readonly emit?: <K extends keyof RequestEvents<P> & string>(event: K, ...args: RequestEvents<P>[K]) => void;
  /** Whether anyone listens to `event` (payloads are only built then). Default: always. */
  readonly listening?: (event: string) => boolean;
  /** Random source in [0, 1) for `jitter`. Default `Math.random`. */
  readonly random?: () => number;
}

type State = "pending" | "sent" | "backoff" | "done";

interface Entry<P> {
  readonly id: number;
  readonly request: P;
  attempt: number;
  endpoint: string;
  readonly timeout: number;
  readonly retries: number;
  state: State;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  timer: Timer | Ticket | undefined;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Counters = Omit<RequestStats, "pending" | "inFlight">;

/** See the module documentation. `P` is what a client submits, `R` what a request resolves with. */
export class RequestEngine<P, R = Buffer[]> {
  readonly #owner: string;
  readonly #settings: RequestSettings;
  readonly #timers: RequestTimers;
  readonly #adapter: RequestAdapter<P>;
  readonly #emitFn: RequestEngineOptions<P>["emit"];
  readonly #listening: (event: string) => boolean;
  readonly #random: () => number;
  readonly #queue: BoundedQueue<Entry<P>>;
  readonly #active = new Map<number, Entry<P>>();
  readonly #counters: Counters = { requests: 0, sent: 0, replies: 0, retries: 0, timeouts: 0, abandoned: 0, failed: 0, aborted: 0, dropped: 0, closed: 0, discarded: 0, stale: 0, failovers: 0 };
  #tickets: TicketList | undefined;
  #nextId = 1;
  #current = 0;
  #closedBy: Error | undefined;

  constructor(options: RequestEngineOptions<P>) {
    this.#owner = options.owner;
    this.#settings = options.settings;
    this.#timers = options.timers;
    this.#adapter = options.adapter;
    this.#emitFn = options.emit;
    this.#listening = options.listening ?? (() => true);
    this.#random = options.random ?? Math.random;
    // BoundedQueue needs a limit >= 1; `maxPending: 0` is handled before any push.
    this.#queue = new BoundedQueue<Entry<P>>(Math.max(1, this.#settings.maxPending), this.#settings.pendingOverflow, `pending queue of ${this.#owner}`);
  }

  /** The validated settings. */
  get settings(): RequestSettings {
    return this.#settings;
  }

  /** The endpoint attempts go to now. */
  get endpoint(): string {
    return this.#settings.endpoints[this.#current]!;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closedBy !== undefined;
  }

  /** The request `id` while it is in flight (its current attempt), else undefined. */
  get(id: number): Attempt<P> | undefined {
    return this.#active.get(id);
  }

  /** Counters (see {@link RequestStats}). */
  stats(): RequestStats {
    return { ...this.#counters, pending: this.#queue.size, inFlight: this.#active.size };
  }

  /**
   * Submit a request. Resolves with the reply given to {@link resolve}; rejects with
   * {@link RequestAbandonedError} after the last attempt, `AbortedError` when
   * `options.signal` aborts, `QueueFullError` when the pending queue overflows, the error
   * given to {@link close} when the engine closes first, or an `InvalidOptionError` for bad
   * options (never a synchronous throw).
   */
  submit(request: P, options?: RequestCallOptions): Promise<R> {
    if (this.#closedBy) return Promise.reject(this.#closedBy);
    let timeout: number;
    let retries: number;
    let signal: AbortSignal | undefined;
    try {
      const what = `${this.#owner}.request`;
      const o = optionsObject(what, options);
      if (o.timeout !== undefined) throw new InvalidOptionError("timeout", `${what}: \`timeout\` is now called \`requestTimeout\``);
      timeout = intOption(what, o, "requestTimeout", this.#settings.requestTimeout, 1);
      retries = intOption(what, o, "retries", this.#settings.retries, 0);
      signal = signalOption(what, o);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) {
      this.#counters.aborted++;
      return Promise.reject(new AbortedError("request aborted before it was sent", { cause: signal.reason }));
    }
    return new Promise<R>((resolve, reject) => {
      const entry: Entry<P> = {
        id: this.#nextId++,
        request,
        attempt: 0,
        endpoint: this.endpoint,
        timeout,
        retries,
        state: "pending",
        signal,
        onAbort: undefined,
        timer: undefined,
        resolve: resolve as (reply: unknown) => void,
        reject,
      };
      if (this.#active.size < this.#settings.maxInFlight && this.#queue.size === 0) {
        this.#counters.requests++;
        this.#watchAbort(entry);
        this.#admit(entry);
        return;
      }
      if (!this.#enqueue(entry)) return;
      this.#counters.requests++;
      this.#watchAbort(entry);
    });
  }

  /**
   * A reply for request `id` arrived. With `attempt`, it must answer the current attempt
   * (else it is stale). Returns true when it settled the request; false when it was ignored
   * (counted, `reply:discarded`).
   */
  resolve(id: number, reply: R, attempt?: number): boolean {
    const entry = this.#active.get(id);
    if (entry === undefined) return this.discard("unknown", id);
    if (attempt !== undefined && (attempt !== entry.attempt || entry.state !== "sent")) {
      this.#counters.stale++;
      return this.discard("stale", id);
    }
    this.#counters.replies++;
    this.#settle(entry);
    entry.resolve(reply);
    this.#pump();
    return true;
  }

  /** Request `id` failed for a reason the client knows (the peer's failure answer): reject it with `error`. */
  reject(id: number, error: unknown): boolean {
    const entry = this.#active.get(id);
    if (entry === undefined) return false;
    this.#counters.failed++;
    this.#settle(entry);
    entry.reject(error);
    this.#pump();
    return true;
  }

  /** The peer is working on request `id` (a partial reply): restart the current attempt's timeout. */
  extend(id: number): boolean {
    const entry = this.#active.get(id);
    if (entry === undefined || entry.state !== "sent") return false;
    entry.timer?.cancel();
    this.#arm(entry);
    return true;
  }

  /** Count and report a reply the client ignored (always returns false, for `return engine.discard(...)`). */
  discard(reason: DiscardReason, id?: number): false {
    this.#counters.discarded++;
    if (this.#listening("reply:discarded")) this.#emit("reply:discarded", { reason, id });
    return false;
  }

  /**
   * Reject every waiting and in-flight request with `error` (a `ClosedError`) and refuse new
   * ones with it. The adapter's `release` is called for each; `reset` is not (the client is
   * closing its sockets). Idempotent.
   */
  close(error: Error): void {
    if (this.#closedBy) return;
    this.#closedBy = error;
    for (const entry of this.#queue.drain()) this.#fail(entry, error, "closed");
    for (const entry of [...this.#active.values()]) this.#fail(entry, error, "closed");
  }

  // --- internals -------------------------------------------------------------------------

  #enqueue(entry: Entry<P>): boolean {
    if (this.#settings.maxPending === 0) {
      this.#drop(entry);
      return false;
    }
    let result;
    try {
      result = this.#queue.push(entry);
    } catch {
      // `reject`: the new request is refused.
      this.#drop(entry);
      return false;
    }
    if (result.dropped) this.#drop(result.dropped);
    return result.accepted;
  }

  #drop(entry: Entry<P>): void {
    this.#counters.dropped++;
    if (this.#listening("request:dropped")) this.#emit("request:dropped", this.#event(entry));
    const error = new QueueFullError(this.#settings.maxPending, `pending queue of ${this.#owner}`);
    if (entry.state === "pending" && entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
    entry.state = "done";
    entry.reject(error);
  }

  #watchAbort(entry: Entry<P>): void {
    if (!entry.signal) return;
    entry.onAbort = () => {
      const error = new AbortedError("request aborted", { cause: entry.signal!.reason });
      if (entry.state === "pending") this.#queue.removeWhere((e) => e === entry);
      else if (entry.state === "sent") {
        entry.timer?.cancel();
        entry.timer = undefined;
        this.#adapter.reset?.(entry, "abort");
      }
      this.#fail(entry, error, "aborted");
      this.#pump();
    };
    entry.signal.addEventListener("abort", entry.onAbort, { once: true });
  }

  #admit(entry: Entry<P>): void {
    this.#active.set(entry.id, entry);
    this.#send(entry);
  }

  #send(entry: Entry<P>): void {
    entry.attempt++;
    entry.endpoint = this.endpoint;
    entry.state = "sent";
    this.#arm(entry);
    this.#counters.sent++;
    try {
      this.#adapter.send(entry);
    } catch (error) {
      this.#counters.failed++;
      this.#fail(entry, error);
      this.#pump();
      return;
    }
    if (this.#listening("request:sent")) this.#emit("request:sent", this.#event(entry));
  }

  /** Start the attempt's timeout: an O(1) ticket for the engine's own timeout, a heap timer for an override. */
  #arm(entry: Entry<P>): void {
    const fire = () => this.#timedOut(entry);
    if (entry.timeout === this.#settings.requestTimeout) {
      this.#tickets ??= this.#timers.tickets(entry.timeout);
      entry.timer = this.#tickets.add(fire);
    } else entry.timer = this.#timers.after(entry.timeout, fire);
  }

  #timedOut(entry: Entry<P>): void {
    if (entry.state !== "sent") return;
    entry.timer = undefined;
    this.#counters.timeouts++;
    if (this.#listening("request:timeout")) this.#emit("request:timeout", this.#event(entry));
    if (entry.state !== "sent") return; // a listener settled it (closed the client, aborted it)
    this.#failover(entry.endpoint);
    this.#adapter.reset?.(entry, "timeout");
    if (entry.state !== "sent") return; // the adapter or a listener settled it meanwhile
    const retriesLeft = entry.retries - (entry.attempt - 1);
    if (retriesLeft > 0 && (this.#adapter.retryable?.(entry) ?? true)) {
      this.#counters.retries++;
      // Moving to another endpoint: let the pair settle first (failoverDelay).
      const settle = this.endpoint !== entry.endpoint ? this.#settings.failoverDelay : 0;
      const delay = Math.max(this.#delay(entry.attempt), settle);
      if (this.#listening("request:retry")) this.#emit("request:retry", { ...this.#event(entry), attempt: entry.attempt + 1, endpoint: this.endpoint, retriesLeft: retriesLeft - 1, delay });
      if (delay <= 0) return this.#send(entry);
      entry.state = "backoff";
      entry.timer = this.#timers.after(delay, () => {
        if (entry.state !== "backoff") return;
        entry.timer = undefined;
        this.#send(entry);
      });
      return;
    }
    this.#counters.abandoned++;
    if (this.#listening("request:abandoned")) this.#emit("request:abandoned", this.#event(entry));
    this.#fail(entry, new RequestAbandonedError(entry.attempt, entry.timeout, entry.endpoint));
    this.#pump();
  }

  /** An attempt to `endpoint` timed out: move on if it is still the current one. */
  #failover(endpoint: string): void {
    const endpoints = this.#settings.endpoints;
    if (endpoints.length < 2 || endpoint !== this.endpoint) return;
    this.#current = (this.#current + 1) % endpoints.length;
    this.#counters.failovers++;
    const to = this.endpoint;
    this.#adapter.failover?.(to, endpoint);
    if (this.#listening("endpoint:failover")) this.#emit("endpoint:failover", { from: endpoint, to });
  }

  /** Delay before resend `n` (1-based). */
  #delay(n: number): number {
    const { initial, max, factor, jitter } = this.#settings.backoff;
    if (initial <= 0) return 0;
    const base = Math.min(max, initial * factor ** (n - 1));
    return jitter ? Math.min(max, base * (1 + this.#random())) : base;
  }

  /** Take an entry out of the engine (timer, abort listener, in-flight slot). */
  #settle(entry: Entry<P>): void {
    const wasActive = entry.state === "sent" || entry.state === "backoff";
    entry.state = "done";
    entry.timer?.cancel();
    entry.timer = undefined;
    if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
    if (wasActive && this.#active.delete(entry.id)) this.#adapter.release?.(entry.id);
  }

  #fail(entry: Entry<P>, error: unknown, counter?: "aborted" | "closed"): void {
    if (entry.state === "done") return;
    if (counter) this.#counters[counter]++;
    this.#settle(entry);
    entry.reject(error);
  }

  /** Admit waiting requests while there is room. */
  #pump(): void {
    while (!this.#closedBy && this.#active.size < this.#settings.maxInFlight) {
      const next = this.#queue.shift();
      if (!next) return;
      this.#admit(next);
    }
  }

  #event(entry: Entry<P>): RequestEvent<P> {
    return { id: entry.id, attempt: entry.attempt, endpoint: entry.endpoint, timeout: entry.timeout, retriesLeft: Math.max(0, entry.retries - Math.max(0, entry.attempt - 1)), request: entry.request };
  }

  #emit<K extends keyof RequestEvents<P> & string>(event: K, ...args: RequestEvents<P>[K]): void {
    this.#emitFn?.(event, ...args);
  }
}
