/**
 * The Titanic server (9/TSP): three Majordomo services, `titanic.request`,
 * `titanic.reply` and `titanic.close`, backed by a {@link TitanicStore}, and a dispatcher
 * that forwards each stored request to its real service through the broker and stores the
 * reply. Requests survive a restart: on start the dispatcher picks up every request that
 * has no reply yet. It reaches Majordomo only through `patterns/majordomo/index.ts`.
 * @module
 */
import { randomUUID } from "node:crypto";
import { Lifecycle, endpointOption, intOption, optionsObject, requiredOption, stringOption, type LifecycleOptions } from "../../src/index.js";
import { MajordomoClient, MajordomoWorker, isServiceName } from "../majordomo/index.js";
import { TitanicStore, isTitanicUuid } from "./store.js";

/** 9/TSP status codes. */
export const TSP_STATUS = { OK: "200", PENDING: "300", UNKNOWN: "400", ERROR: "500" } as const;

/** A 9/TSP status code. */
export type TspStatus = (typeof TSP_STATUS)[keyof typeof TSP_STATUS];

/** 9/TSP service names. */
export const TSP_SERVICES = { REQUEST: "titanic.request", REPLY: "titanic.reply", CLOSE: "titanic.close" } as const;

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
  /** Requests dispatched at once. Default 16. */
  readonly concurrency?: number;
  /**
   * Requests stored and waiting for a reply at most; beyond, titanic.request answers 500
   * (counted in `refused`: the overflow policy is `"reject"`). Default 100000: the backlog
   * lives on disk, and a request it takes is one the client need not hold.
   */
  readonly maxPending?: number;
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
  /** titanic.request calls answered 500 because `maxPending` requests were waiting. */
  refused: number;
  /** Store files that did not parse. */
  corrupt: number;
  /** Requests waiting for a reply now. */
  pending: number;
}

/** Events of a {@link TitanicServer}. */
export interface TitanicServerEvents {
  [event: string]: unknown[];
  "request:stored": [{ uuid: string; service: string }];
  "request:completed": [{ uuid: string; service: string }];
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
  /** uuid -> clock time before which it is not dispatched again. */
  readonly #pending = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  /** Dispatches running now: close() waits for them, so no store write or event follows it. */
  readonly #dispatching = new Set<Promise<void>>();
  readonly #workers: MajordomoWorker[] = [];
  #client: MajordomoClient | undefined;
  readonly #stats = { stored: 0, dispatched: 0, completed: 0, dispatchFailures: 0, replied: { "200": 0, "300": 0, "400": 0, "500": 0 } as Record<TspStatus, number>, closed: 0, refused: 0 };

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
    const dispatchInterval = intOption(OWNER, o, "dispatchInterval", 1000, 1);
    const dispatchTimeout = intOption(OWNER, o, "dispatchTimeout", 2500, 1);
    const concurrency = intOption(OWNER, o, "concurrency", 16, 1);
    const maxPending = intOption(OWNER, o, "maxPending", 100_000, 1);
    super(OWNER, o);
    this.endpoint = endpoint;
    this.store = store;
    this.#workerOptions = workerOptions;
    this.#dispatchInterval = dispatchInterval;
    this.#dispatchTimeout = dispatchTimeout;
    this.#concurrency = concurrency;
    this.#maxPending = maxPending;
  }

  /**
   * `start()`: prepare the store, load pending requests, register the three services and
   * start dispatching.
   */
  protected async onStart(signal: AbortSignal): Promise<void> {
    await this.store.init();
    const pending = await this.store.pending();
    signal.throwIfAborted();
    for (const uuid of pending) this.#pending.set(uuid, 0);
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
    this.ownTimer(this.reactor.every(this.#dispatchInterval, () => this.#kick()));
    this.#kick();
  }

  /** Counters. */
  stats(): TitanicServerStats {
    return { ...this.#stats, replied: { ...this.#stats.replied }, corrupt: this.store.corrupt, pending: this.#pending.size };
  }

  /**
   * close(): stop the services and the dispatcher (what is stored stays stored). The
   * dispatches in flight are cut short (their Majordomo requests reject with ClosedError)
   * and awaited, so no store write or event follows the close.
   */
  protected override async onClose(): Promise<void> {
    await Promise.all([...this.#workers.map((w) => w.close()), this.#client?.close()]);
    await Promise.all(this.#dispatching);
  }

  // ----- the three services -----------------------------------------------------------

  async #onRequest(frames: Buffer[]): Promise<string[]> {
    const service = frames[0]?.toString("latin1") ?? "";
    if (frames.length < 2 || !isServiceName(service)) return [TSP_STATUS.UNKNOWN];
    if (this.#pending.size >= this.#maxPending) {
      // The backlog is bounded: the client retries after its retryDelay.
      this.#stats.refused++;
      return [TSP_STATUS.ERROR];
    }
    const uuid = randomUUID().replace(/-/g, "");
    try {
      await this.store.put(uuid, "req", frames);
    } catch (error) {
      this.emit("store:error", { error });
      return [TSP_STATUS.ERROR];
    }
    this.#stats.stored++;
    this.#pending.set(uuid, 0);
    this.emit("request:stored", { uuid, service });
    this.#kick();
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
      if (!(await this.store.get(uuid, "req"))) return [TSP_STATUS.UNKNOWN];
      if (reply === "corrupt") {
        await this.store.deleteReply(uuid);
        if (!this.#pending.has(uuid)) this.#pending.set(uuid, 0);
        this.#kick();
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
      this.#pending.delete(uuid);
      await this.store.delete(uuid);
      return [TSP_STATUS.OK];
    } catch (error) {
      this.emit("store:error", { error });
      return [TSP_STATUS.ERROR];
    }
  }

  // ----- dispatcher -------------------------------------------------------------------

  #kick(): void {
    if (this.closed || !this.#client) return;
    const now = this.reactor.clock.now();
    for (const [uuid, notBefore] of this.#pending) {
      if (this.#inFlight.size >= this.#concurrency) return;
      if (notBefore > now || this.#inFlight.has(uuid)) continue;
      this.#inFlight.add(uuid);
      const dispatching: Promise<void> = this.#dispatch(uuid).finally(() => {
        this.#inFlight.delete(uuid);
        this.#dispatching.delete(dispatching);
      });
      this.#dispatching.add(dispatching);
    }
  }

  async #dispatch(uuid: string): Promise<void> {
    const client = this.#client!;
    let service = "?";
    try {
      const request = await this.store.get(uuid, "req");
      if (!request) {
        // Closed (or corrupt): nothing to do.
        this.#pending.delete(uuid);
        return;
      }
      service = request[0]!.toString("latin1");
      this.#stats.dispatched++;
      const reply = await client.request(service, request.slice(1));
      // Store the reply only once, and only while the request is still open.
      if (this.#pending.has(uuid) && (await this.store.has(uuid, "req")) && !(await this.store.has(uuid, "rep"))) {
        await this.store.put(uuid, "rep", reply);
        this.#stats.completed++;
        this.emit("request:completed", { uuid, service });
      }
      this.#pending.delete(uuid);
    } catch (error) {
      if (this.closed) return;
      this.#stats.dispatchFailures++;
      if (this.#pending.has(uuid)) this.#pending.set(uuid, this.reactor.clock.now() + this.#dispatchInterval);
      this.emit("dispatch:failed", { uuid, service, error });
    }
  }
}
