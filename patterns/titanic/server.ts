/**
 * The Titanic server (9/TSP): three Majordomo services, `titanic.request`,
 * `titanic.reply` and `titanic.close`, backed by a {@link TitanicStore}, and a dispatcher
 * that forwards each stored request to its real service through the broker and stores the
 * reply. Requests survive a restart: on start the dispatcher picks up every request that
 * has no reply yet. It reaches Majordomo only through `patterns/majordomo/index.ts`.
 * @module
 */
import { randomUUID } from "node:crypto";
import { InvalidOptionError, Lifecycle, endpointOption, intOption, optionsObject, requiredOption, stringOption, type LifecycleOptions } from "../../src/index.js";
import { MajordomoClient, MajordomoWorker, ServiceExpiredError, isServiceName } from "../majordomo/index.js";
import { TitanicScheduler, type ServiceCheck, type TitanicEntry } from "./scheduler.js";
import { TitanicStore, encodedSize, isTitanicUuid } from "./store.js";

/** 9/TSP status codes. */
export const TSP_STATUS = { OK: "200", PENDING: "300", UNKNOWN: "400", ERROR: "500" } as const;

/** A 9/TSP status code. */
export type TspStatus = (typeof TSP_STATUS)[keyof typeof TSP_STATUS];

/** 9/TSP service names. */
export const TSP_SERVICES = { REQUEST: "titanic.request", REPLY: "titanic.reply", CLOSE: "titanic.close" } as const;

/** Defaults of the {@link TitanicServer} limits (README "Limits"). */
export const TITANIC_DEFAULTS = {
  maxPending: 100_000,
  maxRequestSize: 1024 * 1024,
  maxStoreBytes: 1024 * 1024 * 1024,
  pendingTimeout: 24 * 60 * 60 * 1000,
  concurrency: 16,
  dispatchInterval: 1000,
  dispatchTimeout: 2500,
} as const;

/** Options of {@link TitanicServer}. */
export interface TitanicServerOptions extends LifecycleOptions {
  /** Majordomo broker endpoint. */
  readonly endpoint: string;
  /** Directory for requests and replies (created if missing). */
  readonly dir: string;
  /** MDP heartbeat interval of the three workers, ms. Default: the worker's (2500). */
  readonly heartbeatInterval?: number;
  /** MDP heartbeat liveness of the three workers. Default: the worker's (3). */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay of the workers, ms. Default: the worker's. */
  readonly reconnectInterval?: number;
  /** ms between passes of the dispatcher over pending requests (and before a failed one is retried). Default 1000. */
  readonly dispatchInterval?: number;
  /** ms to wait for the real service to answer one dispatch. Default 2500. */
  readonly dispatchTimeout?: number;
  /** Dispatches (and `mmi.service` checks) in flight at once, shared round-robin across services. Default 16. */
  readonly concurrency?: number;
  /**
   * Requests stored and waiting for a reply at most; beyond, titanic.request answers 500
   * (counted in `refusedPending`: the overflow policy is `"reject"`). Default 100000: the
   * backlog lives on disk, and a request it takes is one the client need not hold.
   */
  readonly maxPending?: number;
  /** Largest request taken, in bytes (service name and body frames); larger ones are answered 400. Default 1 MiB. */
  readonly maxRequestSize?: number;
  /**
   * Store quota in bytes (request and reply files, each counted in whole 4 KiB blocks, as
   * a file system stores them); a request that would take the store
   * past it is answered 500 (retry later: closing requests frees room). Replies of accepted
   * requests are always stored. Default 1 GiB.
   */
  readonly maxStoreBytes?: number;
  /**
   * ms a request may wait while its service has no worker (`mmi.service` answers 404); then
   * it is deleted, and titanic.reply answers 400 for it. 0 = for ever. Default 24 h.
   */
  readonly pendingTimeout?: number;
}

/** Counters of a {@link TitanicServer}. */
export interface TitanicServerStats {
  /** Requests stored (titanic.request answered 200). */
  stored: number;
  /** Dispatches sent to real services. */
  dispatched: number;
  /** Replies stored. */
  completed: number;
  /** Dispatches that failed (no reply in time, expired at the broker); retried later. */
  dispatchFailures: number;
  /** titanic.reply answers by status. */
  replied: Record<TspStatus, number>;
  /** titanic.close calls. */
  closed: number;
  /** titanic.request calls refused: the sum of the three below. */
  refused: number;
  /** Refused with 500: `maxPending` requests were waiting. */
  refusedPending: number;
  /** Refused with 500: the store quota (`maxStoreBytes`) would be exceeded. */
  refusedQuota: number;
  /** Refused with 400: larger than `maxRequestSize`. */
  refusedSize: number;
  /** Requests deleted after waiting `pendingTimeout` ms for a service with no worker. */
  expired: number;
  /** `mmi.service` checks sent to the broker. */
  serviceChecks: number;
  /** Store files that did not parse. */
  corrupt: number;
  /** Requests waiting for a reply now. */
  pending: number;
  /** Bytes in the store now (request and reply files, each counted in whole 4 KiB blocks). */
  bytes: number;
  /** Services with requests waiting now. */
  services: number;
  /** Of those, services the broker last said have no worker. */
  servicesDown: number;
}

/** Events of a {@link TitanicServer}. */
export interface TitanicServerEvents {
  [event: string]: unknown[];
  "request:stored": [{ uuid: string; service: string }];
  "request:completed": [{ uuid: string; service: string }];
  /** titanic.request refused: `reason` `"size"` (400), `"quota"` or `"max-pending"` (500). */
  "request:refused": [{ service: string; bytes: number; reason: "size" | "quota" | "max-pending" }];
  /** Deleted after waiting `pendingTimeout` ms while its service had no worker. */
  "request:expired": [{ uuid: string; service: string; waitedMs: number }];
  "dispatch:failed": [{ uuid: string; service: string; error: unknown }];
  /** The store failed (disk full, permissions): the client got 500. */
  "store:error": [{ error: unknown }];
}

const OWNER = "TitanicServer";

/** 9/TSP server; see the module documentation. Start it with {@link TitanicServer.start}. */
export class TitanicServer extends Lifecycle<TitanicServerEvents> {
  readonly endpoint: string;
  readonly store: TitanicStore;
  readonly #workerOptions: { heartbeatInterval?: number; heartbeatLiveness?: number; reconnectInterval?: number };
  readonly #dispatchInterval: number;
  readonly #dispatchTimeout: number;
  readonly #concurrency: number;
  readonly #maxPending: number;
  readonly #maxRequestSize: number;
  readonly #maxStoreBytes: number;
  /** Bytes of each stored request's files (pending or answered, until closed or expired). */
  readonly #files = new Map<string, { req: number; rep: number }>();
  #bytes = 0;
  /** Bytes of requests being written now (counted against the quota before they land). */
  #reserved = 0;
  /** Which request goes next (socket-free; see scheduler.ts). */
  readonly #scheduler: TitanicScheduler;
  /** Dispatches, checks and expiries running now: close() waits for them, so no store write or event follows it. */
  readonly #dispatching = new Set<Promise<unknown>>();
  readonly #workers: MajordomoWorker[] = [];
  #client: MajordomoClient | undefined;
  readonly #stats = {
    stored: 0,
    dispatched: 0,
    completed: 0,
    dispatchFailures: 0,
    replied: { "200": 0, "300": 0, "400": 0, "500": 0 } as Record<TspStatus, number>,
    closed: 0,
    refusedPending: 0,
    refusedQuota: 0,
    refusedSize: 0,
    expired: 0,
  };

  /** Validates the options; call {@link start} (or use {@link TitanicServer.start}). */
  constructor(options: TitanicServerOptions) {
    const o = optionsObject(OWNER, options);
    requiredOption(OWNER, o, "endpoint", "a Majordomo broker endpoint");
    const endpoint = endpointOption(OWNER, o, "endpoint");
    requiredOption(OWNER, o, "dir", "a non-empty path");
    const store = new TitanicStore(stringOption(OWNER, o, "dir", undefined)!);
    const workerOptions: Record<string, number> = {};
    for (const [name, min] of [["heartbeatInterval", 1], ["heartbeatLiveness", 1], ["reconnectInterval", 0]] as const) {
      if (o[name] !== undefined) workerOptions[name] = intOption(OWNER, o, name, 0, min);
    }
    const d = TITANIC_DEFAULTS;
    const dispatchInterval = intOption(OWNER, o, "dispatchInterval", d.dispatchInterval, 1);
    const dispatchTimeout = intOption(OWNER, o, "dispatchTimeout", d.dispatchTimeout, 1);
    const concurrency = intOption(OWNER, o, "concurrency", d.concurrency, 1);
    const maxPending = intOption(OWNER, o, "maxPending", d.maxPending, 1);
    const maxRequestSize = intOption(OWNER, o, "maxRequestSize", d.maxRequestSize, 1);
    const maxStoreBytes = intOption(OWNER, o, "maxStoreBytes", d.maxStoreBytes, 1);
    if (maxStoreBytes < maxRequestSize) throw new InvalidOptionError("maxStoreBytes", `${OWNER}: expected \`maxStoreBytes\` (${maxStoreBytes}) to be at least \`maxRequestSize\` (${maxRequestSize})`);
    const pendingTimeout = intOption(OWNER, o, "pendingTimeout", d.pendingTimeout, 0);
    super(OWNER, o);
    this.endpoint = endpoint;
    this.store = store;
    this.#workerOptions = workerOptions;
    this.#dispatchInterval = dispatchInterval;
    this.#dispatchTimeout = dispatchTimeout;
    this.#concurrency = concurrency;
    this.#maxPending = maxPending;
    this.#maxRequestSize = maxRequestSize;
    this.#maxStoreBytes = maxStoreBytes;
    this.#scheduler = new TitanicScheduler({
      clock: this.reactor.clock,
      concurrency,
      dispatchInterval,
      pendingTimeout,
      check: (service) => this.#check(service),
      dispatch: (entry) => this.#dispatch(entry),
      expire: (entry, waitedMs) => this.#expire(entry, waitedMs),
    });
  }

  /**
   * `start()`: prepare the store, load pending requests, register the three services and
   * start dispatching.
   */
  protected async onStart(signal: AbortSignal): Promise<void> {
    await this.store.init();
    const stored = await this.store.scan();
    const waiting: TitanicEntry[] = [];
    for (const e of stored) {
      this.#account(e.uuid, "req", e.reqBytes);
      if (e.repBytes !== undefined) {
        this.#account(e.uuid, "rep", e.repBytes);
        continue;
      }
      // The dispatcher queues by service: read each pending request's service name (a
      // corrupt one is counted and left for titanic.reply to answer 400).
      const request = await this.store.get(e.uuid, "req");
      if (request?.[0]) waiting.push({ uuid: e.uuid, service: request[0].toString("latin1"), since: this.reactor.clock.now() });
    }
    signal.throwIfAborted();
    for (const entry of waiting) this.#scheduler.add(entry);
    const common = { ...this.#workerOptions, endpoint: this.endpoint, reactor: this.reactor };
    const services: [string, (frames: Buffer[]) => Promise<(string | Buffer)[]>][] = [
      [TSP_SERVICES.REQUEST, (f) => this.#onRequest(f)],
      [TSP_SERVICES.REPLY, (f) => this.#onReply(f)],
      [TSP_SERVICES.CLOSE, (f) => this.#onCloseRequest(f)],
    ];
    for (const [service, handler] of services) {
      const worker = new MajordomoWorker({ ...common, service, handler });
      this.own(() => worker.close());
      this.#workers.push(worker);
    }
    const client = new MajordomoClient({ endpoint: this.endpoint, reactor: this.reactor, requestTimeout: this.#dispatchTimeout, retries: 0, maxInFlight: this.#concurrency });
    this.own(() => client.close());
    this.#client = client;
    this.ownTimer(this.reactor.every(this.#dispatchInterval, () => this.#scheduler.pass()));
    this.#scheduler.kick();
  }

  /** Counters. */
  stats(): TitanicServerStats {
    const s = this.#stats;
    return {
      ...s,
      ...this.#scheduler.stats(),
      replied: { ...s.replied },
      refused: s.refusedPending + s.refusedQuota + s.refusedSize,
      corrupt: this.store.corrupt,
      pending: this.#scheduler.size,
      bytes: this.#bytes,
    };
  }

  /**
   * close(): stop the services and the dispatcher (what is stored stays stored). The
   * dispatches in flight are cut short (their Majordomo requests reject with ClosedError)
   * and awaited, so no store write or event follows the close.
   */
  protected override async onClose(): Promise<void> {
    this.#scheduler.stop();
    await Promise.all([...this.#workers.map((w) => w.close()), this.#client?.close()]);
    await Promise.all(this.#dispatching);
  }

  // ----- the three services -----------------------------------------------------------

  async #onRequest(frames: Buffer[]): Promise<string[]> {
    const service = frames[0]?.toString("latin1") ?? "";
    if (frames.length < 2 || !isServiceName(service)) return [TSP_STATUS.UNKNOWN];
    let size = 0;
    for (const f of frames) size += f.length;
    const fileBytes = onDisk(encodedSize(frames));
    // Limits (README "Limits"): too large is final (400: do not retry); a full backlog or
    // store may drain (500: retry later).
    const refusal = size > this.#maxRequestSize ? "size" : this.#scheduler.size >= this.#maxPending ? "max-pending" : this.#bytes + this.#reserved + fileBytes > this.#maxStoreBytes ? "quota" : undefined;
    if (refusal) {
      this.#stats[refusal === "size" ? "refusedSize" : refusal === "quota" ? "refusedQuota" : "refusedPending"]++;
      this.emit("request:refused", { service, bytes: size, reason: refusal });
      return [refusal === "size" ? TSP_STATUS.UNKNOWN : TSP_STATUS.ERROR];
    }
    const uuid = randomUUID().replace(/-/g, "");
    this.#reserved += fileBytes;
    try {
      this.#account(uuid, "req", await this.store.put(uuid, "req", frames));
    } catch (error) {
      this.emit("store:error", { error });
      return [TSP_STATUS.ERROR];
    } finally {
      this.#reserved -= fileBytes;
    }
    this.#stats.stored++;
    this.emit("request:stored", { uuid, service });
    this.#scheduler.add({ uuid, service, since: this.reactor.clock.now() });
    this.#scheduler.kick();
    return [TSP_STATUS.OK, uuid];
  }

  async #onReply(frames: Buffer[]): Promise<(string | Buffer)[]> {
    const answer = await this.#lookup(frames);
    this.#stats.replied[answer[0] as TspStatus]++;
    return answer;
  }

  async #lookup(frames: Buffer[]): Promise<(string | Buffer)[]> {
    const uuid = frames[0]?.toString("latin1") ?? "";
    if (frames.length !== 1 || !isTitanicUuid(uuid)) return [TSP_STATUS.UNKNOWN];
    try {
      const reply = await this.store.read(uuid, "rep");
      if (Array.isArray(reply)) return [TSP_STATUS.OK, ...reply];
      // A file that does not parse is treated as absent (README): a corrupt request is
      // unknown, and a corrupt reply is removed so the request is dispatched again
      // (otherwise nothing would ever replace it and the client would poll 300 forever).
      // Only the read above may call the reply corrupt: a reply found absent there may have
      // been stored by the dispatcher since, and must not be deleted.
      const request = await this.store.get(uuid, "req");
      if (!request) return [TSP_STATUS.UNKNOWN];
      if (reply === "corrupt") {
        await this.store.deleteReply(uuid);
        this.#account(uuid, "rep", 0);
        this.#scheduler.add({ uuid, service: request[0]!.toString("latin1"), since: this.reactor.clock.now() });
        this.#scheduler.kick();
      }
      return [TSP_STATUS.PENDING];
    } catch (error) {
      this.emit("store:error", { error });
      return [TSP_STATUS.ERROR];
    }
  }

  async #onCloseRequest(frames: Buffer[]): Promise<string[]> {
    const uuid = frames[0]?.toString("latin1") ?? "";
    this.#stats.closed++;
    // 9/TSP: idempotent, and 200 for an unknown UUID.
    if (!isTitanicUuid(uuid)) return [TSP_STATUS.OK];
    try {
      await this.#forget(uuid);
      return [TSP_STATUS.OK];
    } catch (error) {
      this.emit("store:error", { error });
      return [TSP_STATUS.ERROR];
    }
  }

  // ----- the store's bytes ------------------------------------------------------------

  /** Set the size of one file of `uuid` (0: gone), counted as {@link onDisk}. */
  #account(uuid: string, kind: "req" | "rep", size: number): void {
    const bytes = onDisk(size);
    const f = this.#files.get(uuid) ?? { req: 0, rep: 0 };
    this.#bytes += bytes - f[kind];
    f[kind] = bytes;
    if (f.req === 0 && f.rep === 0) this.#files.delete(uuid);
    else this.#files.set(uuid, f);
  }

  /** Delete a request and its reply, on disk and in the tables. */
  async #forget(uuid: string): Promise<void> {
    this.#scheduler.remove(uuid);
    await this.store.delete(uuid);
    this.#account(uuid, "req", 0);
    this.#account(uuid, "rep", 0);
  }

  // ----- dispatcher (the decisions are the scheduler's) ------------------------------

  /**
   * 8/MMI: does the service have a worker? A broker that answers anything but 200/404, or
   * expires `mmi.service` as a service nobody serves, has no MMI: the service is taken as
   * up (dispatched to, as the dispatch will tell). No answer at all (a rejection) is
   * `unknown`: asked again later.
   */
  async #check(service: string): Promise<ServiceCheck> {
    let code: string | undefined;
    try {
      code = (await this.#client!.request("mmi.service", service))[0]?.toString("latin1");
    } catch (error) {
      if (error instanceof ServiceExpiredError) return "up";
      throw error;
    }
    return code === "404" ? "down" : "up";
  }

  /** Deleted after waiting `pendingTimeout` ms for a service with no worker. */
  #expire(entry: TitanicEntry, waitedMs: number): void {
    this.#stats.expired++;
    this.#track(
      this.#forget(entry.uuid).then(
        () => this.emit("request:expired", { uuid: entry.uuid, service: entry.service, waitedMs }),
        (error: unknown) => this.emit("store:error", { error }),
      ),
    );
  }

  /** Work close() waits for. */
  #track<T>(work: Promise<T>): Promise<T> {
    const p = work.finally(() => this.#dispatching.delete(p));
    this.#dispatching.add(p);
    return p;
  }

  /** One dispatch: true when done with (reply stored, or the request is gone); throws when it failed. */
  #dispatch(entry: TitanicEntry): Promise<boolean> {
    return this.#track(this.#send(entry));
  }

  async #send({ uuid, service }: TitanicEntry): Promise<boolean> {
    try {
      const request = await this.store.get(uuid, "req");
      // Closed (or corrupt): nothing to do.
      if (!request) return true;
      this.#stats.dispatched++;
      const reply = await this.#client!.request(service, request.slice(1));
      // Store the reply only once, and only while the request is still open.
      if (this.#scheduler.has(uuid) && (await this.store.has(uuid, "req")) && !(await this.store.has(uuid, "rep"))) {
        this.#account(uuid, "rep", await this.store.put(uuid, "rep", reply));
        this.#stats.completed++;
        this.emit("request:completed", { uuid, service });
      }
      return true;
    } catch (error) {
      if (this.closed) return false;
      this.#stats.dispatchFailures++;
      this.emit("dispatch:failed", { uuid, service, error });
      return false;
    }
  }
}

/** The quota's unit: a file takes whole 4 KiB blocks (so tiny requests cannot crowd the store, or memory, under the quota). */
const BLOCK = 4096;

/** Bytes a file of `size` bytes is counted as: whole {@link BLOCK}s, 0 for none. */
function onDisk(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
