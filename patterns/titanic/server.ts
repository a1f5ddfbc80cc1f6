/**
 * The Titanic server (9/TSP): three Majordomo services, `titanic.request`,
 * `titanic.reply` and `titanic.close`, backed by a {@link TitanicStore}, and a dispatcher
 * that forwards each stored request to its real service through the broker and stores the
 * reply. Requests survive a restart: on start the dispatcher picks up every request that
 * has no reply yet.
 * @module
 */
import { randomUUID } from "node:crypto";
import { ClosedError, Reactor, TypedEmitter, endpointOption, intOption, optionsObject, signalOption, stringOption, type Timer } from "../../src/index.js";
import { MajordomoClient } from "../majordomo/client.js";
import { isServiceName } from "../majordomo/protocol.js";
import { MajordomoWorker } from "../majordomo/worker.js";
import { TitanicStore, isTitanicUuid } from "./store.js";

/** 9/TSP status codes. */
export const TSP_STATUS = { OK: "200", PENDING: "300", UNKNOWN: "400", ERROR: "500" } as const;

/** A 9/TSP status code. */
export type TspStatus = (typeof TSP_STATUS)[keyof typeof TSP_STATUS];

/** 9/TSP service names. */
export const TSP_SERVICES = { REQUEST: "titanic.request", REPLY: "titanic.reply", CLOSE: "titanic.close" } as const;

/** Options of {@link TitanicServer}. */
export interface TitanicServerOptions {
  /** Majordomo broker endpoint. */
  readonly endpoint: string;
  /** Directory for requests and replies (created if missing). */
  readonly dir: string;
  /** MDP heartbeat interval of the three workers, ms. Default 2500. */
  readonly heartbeatInterval?: number;
  /** MDP heartbeat liveness. Default 3. */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay of the workers, ms. Default 2500. */
  readonly reconnectInterval?: number;
  /** ms between passes of the dispatcher over pending requests (and before a failed one is retried). Default 1000. */
  readonly dispatchInterval?: number;
  /** ms to wait for the real service to answer one dispatch. Default 2500. */
  readonly dispatchTimeout?: number;
  /** Requests dispatched at once. Default 16. */
  readonly concurrency?: number;
  /** Requests stored and waiting for a reply at most; beyond, titanic.request answers 500 (counted in `refused`). Default 100000. */
  readonly maxPending?: number;
  /** Aborting it closes the server. */
  readonly signal?: AbortSignal;
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

/** 9/TSP server; see the module documentation. Start it with {@link TitanicServer.start}. */
export class TitanicServer extends TypedEmitter<TitanicServerEvents> {
  readonly endpoint: string;
  readonly store: TitanicStore;
  readonly #reactor = new Reactor();
  readonly #o: Readonly<Record<string, unknown>>;
  readonly #dispatchInterval: number;
  readonly #dispatchTimeout: number;
  readonly #concurrency: number;
  readonly #maxPending: number;
  readonly #signal: AbortSignal | undefined;
  /** uuid -> clock time before which it is not dispatched again. */
  readonly #pending = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  /** Dispatches running now: close() waits for them, so no store write or event follows it. */
  readonly #dispatching = new Set<Promise<void>>();
  readonly #workers: MajordomoWorker[] = [];
  #client: MajordomoClient | undefined;
  #timer: Timer | undefined;
  #closing: Promise<void> | undefined;
  #starting: Promise<void> | undefined;
  readonly #stats = { stored: 0, dispatched: 0, completed: 0, dispatchFailures: 0, replied: { "200": 0, "300": 0, "400": 0, "500": 0 } as Record<TspStatus, number>, closed: 0, refused: 0 };

  /** Validates the options; call {@link start} (or use {@link TitanicServer.start}). */
  constructor(options: TitanicServerOptions) {
    super();
    const o = optionsObject("TitanicServer", options);
    this.endpoint = endpointOption("TitanicServer", o, "endpoint");
    this.store = new TitanicStore(stringOption("TitanicServer", o, "dir", undefined) ?? missingDir());
    intOption("TitanicServer", o, "heartbeatInterval", 2500, 1);
    intOption("TitanicServer", o, "heartbeatLiveness", 3, 1);
    intOption("TitanicServer", o, "reconnectInterval", 2500, 0);
    this.#dispatchInterval = intOption("TitanicServer", o, "dispatchInterval", 1000, 1);
    this.#dispatchTimeout = intOption("TitanicServer", o, "dispatchTimeout", 2500, 1);
    this.#concurrency = intOption("TitanicServer", o, "concurrency", 16, 1);
    this.#maxPending = intOption("TitanicServer", o, "maxPending", 100_000, 1);
    this.#signal = signalOption("TitanicServer", o);
    this.#o = o;
  }

  /** Create and start a server. */
  static async start(options: TitanicServerOptions): Promise<TitanicServer> {
    const server = new TitanicServer(options);
    await server.start();
    return server;
  }

  /**
   * Prepare the store, load pending requests, register the three services and start
   * dispatching. Idempotent (every call returns the same promise); rejects with ClosedError
   * when the server is closed before it finishes.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#closing) throw new ClosedError("TitanicServer is closed");
    await this.store.init();
    const pending = await this.store.pending();
    if (this.#closing) throw new ClosedError("TitanicServer was closed while starting");
    for (const uuid of pending) this.#pending.set(uuid, 0);
    const o = this.#o;
    const common = {
      endpoint: this.endpoint,
      reactor: this.#reactor,
      heartbeatInterval: o.heartbeatInterval as number | undefined,
      heartbeatLiveness: o.heartbeatLiveness as number | undefined,
      reconnectInterval: o.reconnectInterval as number | undefined,
    };
    this.#workers.push(
      new MajordomoWorker({ ...common, service: TSP_SERVICES.REQUEST, handler: (f) => this.#onRequest(f) }),
      new MajordomoWorker({ ...common, service: TSP_SERVICES.REPLY, handler: (f) => this.#onReply(f) }),
      new MajordomoWorker({ ...common, service: TSP_SERVICES.CLOSE, handler: (f) => this.#onClose(f) }),
    );
    this.#client = new MajordomoClient({ endpoint: this.endpoint, reactor: this.#reactor, requestTimeout: this.#dispatchTimeout, retries: 0, maxInFlight: this.#concurrency });
    this.#timer = this.#reactor.every(this.#dispatchInterval, () => this.#kick());
    this.#kick();
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Counters. */
  stats(): TitanicServerStats {
    return { ...this.#stats, replied: { ...this.#stats.replied }, corrupt: this.store.corrupt, pending: this.#pending.size };
  }

  /** Stop the services and the dispatcher (what is stored stays stored). Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#timer?.cancel();
    this.#closing = Promise.all([...this.#workers.map((w) => w.close()), this.#client?.close()])
      .then(() => Promise.all(this.#dispatching))
      .then(() => this.#reactor.close());
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

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
      const reply = await this.store.get(uuid, "rep");
      if (reply) return [TSP_STATUS.OK, ...reply];
      // A file that does not parse is treated as absent (README): a corrupt request is
      // unknown, and a corrupt reply is removed so the request is dispatched again
      // (otherwise nothing would ever replace it and the client would poll 300 forever).
      if (!(await this.store.get(uuid, "req"))) return [TSP_STATUS.UNKNOWN];
      if (await this.store.has(uuid, "rep")) {
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

  async #onClose(frames: Buffer[]): Promise<string[]> {
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
    if (this.#closing || !this.#client) return;
    const now = this.#reactor.clock.now();
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
      if (this.#closing) return;
      this.#stats.dispatchFailures++;
      if (this.#pending.has(uuid)) this.#pending.set(uuid, this.#reactor.clock.now() + this.#dispatchInterval);
      this.emit("dispatch:failed", { uuid, service, error });
    }
  }
}

function missingDir(): never {
  throw new TypeError("TitanicServer: expected `dir` to be a non-empty path, got undefined");
}
