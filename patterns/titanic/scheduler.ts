/**
 * The Titanic dispatcher's decisions, socket-free (tested on `ManualClock`): which stored
 * request goes to its service next, when a service is asked whether it has a worker, and
 * when a request that waits for a service with none has waited too long.
 *
 * Requests wait per service. A service is dispatched to only while the last check said it
 * has a worker (`up`); a service with none (`down`) holds no slot, is checked again after
 * `dispatchInterval` doubling to 10 intervals, and its requests older than `pendingTimeout`
 * are expired. At most `concurrency` dispatches and checks run at once; free slots go
 * round-robin across services (one request per service per turn) and alternate between
 * dispatches and checks, so no backlog (of one service or of many) starves the others.
 * @module
 */
import type { Clock } from "../../src/index.js";

/** A request waiting for its reply. */
export interface TitanicEntry {
  readonly uuid: string;
  readonly service: string;
  /** Clock time it was stored (or loaded at start). */
  readonly since: number;
}

/** What a service check found: a worker, none, or no answer. */
export type ServiceCheck = "up" | "down" | "unknown";

/** Settings and callbacks of a {@link TitanicScheduler}. */
export interface TitanicSchedulerOptions {
  readonly clock: Clock;
  readonly concurrency: number;
  readonly dispatchInterval: number;
  /** ms a request may wait while its service is down; 0 = for ever. */
  readonly pendingTimeout: number;
  /** Ask whether `service` has a worker (8/MMI `mmi.service`). A rejection counts as `unknown`. */
  readonly check: (service: string) => Promise<ServiceCheck>;
  /** Send a request to its service: true when it is done with (answered, or gone), false or a rejection when it failed. */
  readonly dispatch: (entry: TitanicEntry) => Promise<boolean>;
  /** An entry waited `pendingTimeout` ms for a service that is down; it is already removed. */
  readonly expire: (entry: TitanicEntry, waitedMs: number) => void;
}

interface ServiceState {
  readonly name: string;
  /** Requests not in flight, in arrival order. */
  readonly waiting: Map<string, TitanicEntry>;
  inFlight: number;
  state: ServiceCheck | "checking";
  /** Clock time before which it is not checked again. */
  retryAt: number;
  /** Checks in a row that found it down (the re-check backs off). */
  misses: number;
}

/** See the module documentation. */
export class TitanicScheduler {
  readonly #o: TitanicSchedulerOptions;
  /** Every open request: waiting or in flight. */
  readonly #entries = new Map<string, TitanicEntry>();
  readonly #services = new Map<string, ServiceState>();
  /** Round-robin rings: services with a worker and requests waiting; services to check. */
  readonly #dispatchRing = new Set<string>();
  readonly #checkRing = new Set<string>();
  /** Slots in use (dispatches and checks), at most `concurrency`. */
  #busy = 0;
  #lastWasCheck = false;
  #stopped = false;
  #checks = 0;

  constructor(options: TitanicSchedulerOptions) {
    this.#o = options;
  }

  /** Open requests (waiting or in flight). */
  get size(): number {
    return this.#entries.size;
  }

  /** True while `uuid` is open. */
  has(uuid: string): boolean {
    return this.#entries.has(uuid);
  }

  /** Counters: checks sent, services with requests, of those the ones found down. */
  stats(): { serviceChecks: number; services: number; servicesDown: number } {
    let servicesDown = 0;
    for (const svc of this.#services.values()) if (svc.state === "down") servicesDown++;
    return { serviceChecks: this.#checks, services: this.#services.size, servicesDown };
  }

  /** A request to dispatch (no-op when already open). Call {@link kick} after. */
  add(entry: TitanicEntry): void {
    if (this.#entries.has(entry.uuid)) return;
    this.#entries.set(entry.uuid, entry);
    let svc = this.#services.get(entry.service);
    if (!svc) {
      svc = { name: entry.service, waiting: new Map(), inFlight: 0, state: "unknown", retryAt: 0, misses: 0 };
      this.#services.set(entry.service, svc);
    }
    svc.waiting.set(entry.uuid, entry);
    this.#schedule(svc);
  }

  /** Forget a request (closed); one in flight finishes, and is not put back. */
  remove(uuid: string): void {
    const entry = this.#entries.get(uuid);
    if (!entry) return;
    this.#entries.delete(uuid);
    const svc = this.#services.get(entry.service);
    if (svc) {
      svc.waiting.delete(uuid);
      this.#schedule(svc);
    }
  }

  /** Start nothing more (the callbacks in flight still settle). */
  stop(): void {
    this.#stopped = true;
  }

  /** Every `dispatchInterval`: expire what waited too long for a service that is down, re-check services due. */
  pass(): void {
    const now = this.#o.clock.now();
    for (const svc of [...this.#services.values()]) {
      if (svc.state === "down") this.#expireAged(svc, now);
      if (svc.state === "down" && svc.retryAt <= now) svc.state = "unknown";
      this.#schedule(svc);
    }
    this.kick();
  }

  /** Fill the free slots. */
  kick(): void {
    while (!this.#stopped && this.#busy < this.#o.concurrency) {
      const check = first(this.#checkRing);
      const dispatch = first(this.#dispatchRing);
      if (check === undefined && dispatch === undefined) return;
      const takeCheck = check !== undefined && (dispatch === undefined || !this.#lastWasCheck);
      this.#lastWasCheck = takeCheck;
      const svc = this.#services.get((takeCheck ? check : dispatch)!)!;
      (takeCheck ? this.#checkRing : this.#dispatchRing).delete(svc.name);
      // Its state may have changed since it joined the ring (a failed dispatch).
      if (svc.state !== (takeCheck ? "unknown" : "up")) {
        this.#schedule(svc);
        continue;
      }
      if (takeCheck) this.#startCheck(svc);
      else this.#startDispatch(svc);
    }
  }

  /** Put a service in the ring its state calls for (or none while it waits); forget it when it has nothing left. */
  #schedule(svc: ServiceState): void {
    if (svc.waiting.size === 0) {
      this.#dispatchRing.delete(svc.name);
      this.#checkRing.delete(svc.name);
      if (svc.inFlight === 0 && svc.state !== "checking") this.#services.delete(svc.name);
      return;
    }
    if (svc.state === "up") this.#dispatchRing.add(svc.name);
    else if (svc.state === "unknown" && svc.retryAt <= this.#o.clock.now()) this.#checkRing.add(svc.name);
  }

  #expireAged(svc: ServiceState, now: number): void {
    const ttl = this.#o.pendingTimeout;
    if (ttl === 0) return;
    for (const entry of [...svc.waiting.values()]) {
      const waitedMs = now - entry.since;
      if (waitedMs < ttl) continue;
      svc.waiting.delete(entry.uuid);
      this.#entries.delete(entry.uuid);
      this.#o.expire(entry, waitedMs);
    }
  }

  #startCheck(svc: ServiceState): void {
    svc.state = "checking";
    this.#busy++;
    this.#checks++;
    const found = (result: ServiceCheck) => {
      const now = this.#o.clock.now();
      svc.state = result;
      if (result === "up") {
        svc.misses = 0;
      } else if (result === "down") {
        svc.misses++;
        svc.retryAt = now + this.#o.dispatchInterval * Math.min(10, 2 ** (svc.misses - 1));
        this.#expireAged(svc, now);
      } else {
        svc.retryAt = now + this.#o.dispatchInterval;
      }
    };
    settle(() => this.#o.check(svc.name), (r) => found(r === "up" || r === "down" ? r : "unknown"), () => found("unknown"), () => {
      this.#busy--;
      this.#schedule(svc);
      this.kick();
    });
  }

  /** Round-robin: one request, then the service goes to the back of the ring. */
  #startDispatch(svc: ServiceState): void {
    const entry = first(svc.waiting.values())!;
    svc.waiting.delete(entry.uuid);
    svc.inFlight++;
    this.#busy++;
    this.#schedule(svc);
    const failed = () => {
      // Back in line, and the service is checked again (after `dispatchInterval`) before
      // its next dispatch: a failure may mean it lost its workers.
      if (this.#entries.has(entry.uuid)) svc.waiting.set(entry.uuid, entry);
      if (svc.state === "up") {
        svc.state = "unknown";
        svc.retryAt = this.#o.clock.now() + this.#o.dispatchInterval;
      }
    };
    settle(() => this.#o.dispatch(entry), (done) => (done ? this.#entries.delete(entry.uuid) : failed()), failed, () => {
      this.#busy--;
      svc.inFlight--;
      this.#schedule(svc);
      this.kick();
    });
  }
}

/** Call `start`; run `ok` or `fail` when its promise settles (a callback that throws is ignored), then `after`. */
function settle<T>(start: () => Promise<T>, ok: (value: T) => unknown, fail: () => void, after: () => void): void {
  let p: Promise<T>;
  try {
    p = start();
  } catch (error) {
    p = Promise.reject(error);
  }
  p.then(ok, fail)
    .catch(() => undefined)
    .finally(after);
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}
