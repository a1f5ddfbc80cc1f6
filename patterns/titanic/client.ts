/**
 * The 9/TSP client helper: store a request with `titanic.request`, poll `titanic.reply`
 * until the reply is there, then `titanic.close` it. Built on {@link MajordomoClient}, so
 * each call has Lazy Pirate retries too.
 * @module
 */
import { AbortedError, ClosedError, ProtocolError, Reactor, TimeoutError, intOption, optionsObject, signalOption, type MessageLike } from "../../src/index.js";
import { MajordomoClient, type MajordomoClientOptions } from "../majordomo/client.js";
import { TSP_SERVICES, TSP_STATUS, type TspStatus } from "./server.js";

/** Options of {@link TitanicClient}. */
export interface TitanicClientOptions extends MajordomoClientOptions {
  /** ms between `titanic.reply` polls while the reply is pending. Default 100 (Guide). */
  readonly pollInterval?: number;
  /** ms to wait before retrying after a 500 or a lost call. Default 1000. */
  readonly retryDelay?: number;
}

/** A 9/TSP answer: the status code and the frames after it. */
export interface TspAnswer {
  status: TspStatus;
  body: Buffer[];
}

/** Options of {@link TitanicClient.call}. */
export interface TitanicCallOptions {
  readonly signal?: AbortSignal;
  /** Give up after this many ms (TimeoutError; the request stays stored). Default: never. */
  readonly deadline?: number;
}

const STATUSES = new Set<string>(Object.values(TSP_STATUS));

/** 9/TSP client; see the module documentation. */
export class TitanicClient {
  /** The Majordomo client the calls go through. */
  readonly mdp: MajordomoClient;
  readonly pollInterval: number;
  readonly retryDelay: number;
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  /** Calls waiting between polls: close() rejects them (their timer would never fire on a closed reactor). */
  readonly #sleepers = new Set<(error: unknown) => void>();
  #closed = false;
  /** Unsubscribes from a shared reactor's `reactor:closed`. */
  readonly #offReactor: (() => void) | undefined;

  constructor(options: TitanicClientOptions) {
    const o = optionsObject("TitanicClient", options);
    this.pollInterval = intOption("TitanicClient", o, "pollInterval", 100, 1);
    this.retryDelay = intOption("TitanicClient", o, "retryDelay", 1000, 1);
    const { pollInterval: _p, retryDelay: _r, ...mdp } = options;
    this.#ownReactor = mdp.reactor === undefined;
    this.#reactor = mdp.reactor ?? new Reactor();
    this.mdp = new MajordomoClient({ ...mdp, reactor: this.#reactor });
    // A shared reactor closed under us cancels the waits between polls: close too.
    if (!this.#ownReactor) this.#offReactor = this.#reactor.on("reactor:closed", () => void this.close());
  }

  async #tsp(service: string, body: MessageLike, signal?: AbortSignal): Promise<TspAnswer> {
    const reply = await this.mdp.request(service, body, { signal });
    const status = reply[0]?.toString("latin1").slice(0, 3) ?? "";
    if (!STATUSES.has(status)) throw new ProtocolError(`${service}: reply does not start with a 9/TSP status code`);
    return { status: status as TspStatus, body: reply.slice(1) };
  }

  /** titanic.request: store `body` for `service`. 200 carries the UUID in `body[0]`. */
  request(service: string, body: MessageLike, signal?: AbortSignal): Promise<TspAnswer> {
    const frames = typeof body === "string" || body instanceof Uint8Array ? [body] : body;
    return this.#tsp(TSP_SERVICES.REQUEST, [service, ...frames], signal);
  }

  /** titanic.reply: 200 + reply frames, 300 pending, 400 unknown, 500 error. */
  reply(uuid: string, signal?: AbortSignal): Promise<TspAnswer> {
    return this.#tsp(TSP_SERVICES.REPLY, uuid, signal);
  }

  /** titanic.close: forget a request and its reply. */
  closeRequest(uuid: string, signal?: AbortSignal): Promise<TspAnswer> {
    return this.#tsp(TSP_SERVICES.CLOSE, uuid, signal);
  }

  /**
   * The whole exchange: submit, poll until the reply is stored, close, and resolve with the
   * reply. Retries lost calls and 500s after `retryDelay`, polls every `pollInterval` while
   * pending; rejects with ProtocolError on 400.
   */
  async call(service: string, body: MessageLike, options: TitanicCallOptions = {}): Promise<Buffer[]> {
    const o = optionsObject("TitanicClient.call", options);
    const signal = signalOption("TitanicClient.call", o);
    const deadline = intOption("TitanicClient.call", o, "deadline", 0, 0);
    const until = deadline > 0 ? Date.now() + deadline : Infinity;
    if (deadline === 0) return this.#call(service, body, until, signal);
    // The deadline also cuts short a step in progress (a request waiting for its answer, a
    // wait between polls), not only the loop between steps.
    const expired = new AbortController();
    const timer = this.#reactor.after(deadline, () => expired.abort(new TimeoutError("Titanic call deadline passed")));
    try {
      return await this.#call(service, body, until, signal ? AbortSignal.any([signal, expired.signal]) : expired.signal);
    } catch (error) {
      if (expired.signal.aborted && !signal?.aborted && error instanceof AbortedError) throw expired.signal.reason;
      throw error;
    } finally {
      timer.cancel();
    }
  }

  async #call(service: string, body: MessageLike, until: number, signal: AbortSignal | undefined): Promise<Buffer[]> {
    const uuid = await this.#until(until, signal, () => this.request(service, body, signal));
    const reply = await this.#until(until, signal, () => this.reply(uuid, signal), true);
    await this.#until(until, signal, () => this.closeRequest(uuid, signal)).catch(() => undefined);
    return reply;
  }

  /** Repeat `step` until it answers 200 (returns body[0] as text, or the body when `wantBody`). */
  async #until(until: number, signal: AbortSignal | undefined, step: () => Promise<TspAnswer>): Promise<string>;
  async #until(until: number, signal: AbortSignal | undefined, step: () => Promise<TspAnswer>, wantBody: true): Promise<Buffer[]>;
  async #until(until: number, signal: AbortSignal | undefined, step: () => Promise<TspAnswer>, wantBody = false): Promise<string | Buffer[]> {
    for (;;) {
      if (Date.now() > until) throw new TimeoutError("Titanic call deadline passed");
      let answer: TspAnswer | undefined;
      try {
        answer = await step();
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
      }
      if (answer?.status === TSP_STATUS.OK) return wantBody ? answer.body : (answer.body[0]?.toString("latin1") ?? "");
      if (answer?.status === TSP_STATUS.UNKNOWN) throw new ProtocolError("Titanic: unknown request (400)");
      await this.#sleep(answer?.status === TSP_STATUS.PENDING ? this.pollInterval : this.retryDelay, signal);
    }
  }

  /** Wait `ms` on the reactor; rejects on abort and on {@link close}. */
  #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new ClosedError("TitanicClient is closed"));
      if (signal?.aborted) return reject(new AbortedError("aborted", { cause: signal.reason }));
      const done = () => {
        t.cancel();
        signal?.removeEventListener("abort", onAbort);
        this.#sleepers.delete(fail);
      };
      const fail = (error: unknown) => {
        done();
        reject(error);
      };
      const onAbort = () => fail(new AbortedError("aborted", { cause: signal?.reason }));
      const t = this.#reactor.after(ms, () => {
        done();
        resolve();
      });
      this.#sleepers.add(fail);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Close the underlying Majordomo client (calls in progress reject with ClosedError). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#offReactor?.();
    for (const fail of [...this.#sleepers]) fail(new ClosedError("TitanicClient closed"));
    await this.mdp.close();
    if (this.#ownReactor) await this.#reactor.close();
  }
}
