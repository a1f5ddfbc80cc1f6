/**
 * The 9/TSP client helper: store a request with `titanic.request`, poll `titanic.reply`
 * until the reply is there, then `titanic.close` it. Built on a {@link MajordomoClient} (so
 * on the core's request engine: each call has timeout, retries and failover too).
 * @module
 */
import { AbortedError, InvalidOptionError, Lifecycle, ProtocolError, TimeoutError, intOption, isMessageLike, optionsObject, requestSettings, signalOption, type MessageLike } from "../../src/index.js";
import { MajordomoClient, type MajordomoClientOptions } from "../majordomo/index.js";
import { TSP_SERVICES, TSP_STATUS, type TspStatus } from "./server.js";

/** Options of {@link TitanicClient}: the Majordomo client's, plus these. */
export interface TitanicClientOptions extends MajordomoClientOptions {
  /** ms between `titanic.reply` polls while the reply is pending. Default 100 (Guide). */
  readonly pollInterval?: number;
  /** ms to wait before trying a step of {@link TitanicClient.call} again after a 500 or an abandoned call. Default 1000. */
  readonly retryDelay?: number;
}

/** A 9/TSP answer: the status code and the frames after it. */
export interface TspAnswer {
  status: TspStatus;
  body: Buffer[];
}

/** Options of one 9/TSP service call. */
export interface TitanicRequestOptions {
  readonly signal?: AbortSignal;
}

/** Options of {@link TitanicClient.call}. */
export interface TitanicCallOptions {
  readonly signal?: AbortSignal;
  /** Give up after this many ms (TimeoutError; the request stays stored). Default: never. */
  readonly deadline?: number;
}

const STATUSES = new Set<string>(Object.values(TSP_STATUS));
const OWNER = "TitanicClient";

/** 9/TSP client; see the module documentation. Starts on its first call (or `start()`). */
export class TitanicClient extends Lifecycle {
  /** The Majordomo client the calls go through (it shares this client's reactor). */
  readonly mdp: MajordomoClient;
  readonly pollInterval: number;
  readonly retryDelay: number;
  /** Calls waiting between polls: close() rejects them. */
  readonly #sleepers = new Set<(error: unknown) => void>();

  constructor(options: TitanicClientOptions) {
    const o = optionsObject(OWNER, options);
    const pollInterval = intOption(OWNER, o, "pollInterval", 100, 1);
    const retryDelay = intOption(OWNER, o, "retryDelay", 1000, 1);
    requestSettings(OWNER, o, { maxInFlight: 100 }); // the Majordomo client's options, checked under our name
    super(OWNER, o);
    this.pollInterval = pollInterval;
    this.retryDelay = retryDelay;
    const { pollInterval: _p, retryDelay: _r, signal: _s, ...mdp } = options;
    try {
      this.mdp = new MajordomoClient({ ...mdp, reactor: this.reactor });
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  protected async onStart(): Promise<void> {
    await this.mdp.start();
  }

  protected override async onClose(): Promise<void> {
    const error = this.closedError();
    for (const fail of [...this.#sleepers]) fail(error);
    // `mdp` is unset only when its constructor threw.
    await (this.mdp as MajordomoClient | undefined)?.close();
  }

  /** titanic.request: store `body` for `service`. 200 carries the UUID in `body[0]`. */
  request(service: string, body: MessageLike, options?: TitanicRequestOptions): Promise<TspAnswer> {
    if (!isMessageLike(body)) return Promise.reject(new InvalidOptionError("body", `${OWNER}.request: expected \`body\` to be a frame or an array of frames`));
    const frames = typeof body === "string" || body instanceof Uint8Array ? [body] : body;
    return this.#tsp(TSP_SERVICES.REQUEST, [service, ...frames], options);
  }

  /** titanic.reply: 200 + reply frames, 300 pending, 400 unknown, 500 error. */
  reply(uuid: string, options?: TitanicRequestOptions): Promise<TspAnswer> {
    return this.#tsp(TSP_SERVICES.REPLY, uuid, options);
  }

  /** titanic.close: forget a request and its reply. */
  closeRequest(uuid: string, options?: TitanicRequestOptions): Promise<TspAnswer> {
    return this.#tsp(TSP_SERVICES.CLOSE, uuid, options);
  }

  /**
   * The whole exchange: submit, poll until the reply is stored, close, and resolve with the
   * reply. Tries a step again after `retryDelay` when it was abandoned or answered 500,
   * polls every `pollInterval` while pending; rejects with ProtocolError on 400,
   * TimeoutError past `deadline`, ClosedError when the client closes.
   */
  async call(service: string, body: MessageLike, options: TitanicCallOptions = {}): Promise<Buffer[]> {
    const o = optionsObject(`${OWNER}.call`, options);
    const signal = signalOption(`${OWNER}.call`, o);
    const deadline = intOption(`${OWNER}.call`, o, "deadline", 0, 0);
    if (this.closed) throw this.closedError();
    const clock = this.reactor.clock;
    const until = deadline > 0 ? clock.now() + deadline : Infinity;
    if (deadline === 0) return this.#call(service, body, until, signal);
    // The deadline also cuts short a step in progress (a request waiting for its answer, a
    // wait between polls), not only the loop between steps.
    const expired = new AbortController();
    const timer = this.reactor.after(deadline, () => expired.abort(new TimeoutError("Titanic call deadline passed")));
    try {
      return await this.#call(service, body, until, signal ? AbortSignal.any([signal, expired.signal]) : expired.signal);
    } catch (error) {
      if (expired.signal.aborted && !signal?.aborted && error instanceof AbortedError) throw expired.signal.reason;
      throw error;
    } finally {
      timer.cancel();
    }
  }

  async #tsp(service: string, body: MessageLike, options: TitanicRequestOptions | undefined): Promise<TspAnswer> {
    const signal = signalOption(`${OWNER}.${service}`, optionsObject(`${OWNER}.${service}`, options));
    if (this.closed) throw this.closedError();
    this.startOnUse();
    const reply = await this.mdp.request(service, body, { signal });
    const status = reply[0]?.toString("latin1").slice(0, 3) ?? "";
    if (!STATUSES.has(status)) throw new ProtocolError(`${service}: reply does not start with a 9/TSP status code`);
    return { status: status as TspStatus, body: reply.slice(1) };
  }

  async #call(service: string, body: MessageLike, until: number, signal: AbortSignal | undefined): Promise<Buffer[]> {
    const uuid = await this.#until(until, signal, () => this.request(service, body, { signal }));
    const reply = await this.#until(until, signal, () => this.reply(uuid, { signal }), true);
    await this.#until(until, signal, () => this.closeRequest(uuid, { signal })).catch(() => undefined);
    return reply;
  }

  /** Repeat `step` until it answers 200 (returns body[0] as text, or the body when `wantBody`). */
  async #until(until: number, signal: AbortSignal | undefined, step: () => Promise<TspAnswer>): Promise<string>;
  async #until(until: number, signal: AbortSignal | undefined, step: () => Promise<TspAnswer>, wantBody: true): Promise<Buffer[]>;
  async #until(until: number, signal: AbortSignal | undefined, step: () => Promise<TspAnswer>, wantBody = false): Promise<string | Buffer[]> {
    for (;;) {
      if (this.reactor.clock.now() > until) throw new TimeoutError("Titanic call deadline passed");
      let answer: TspAnswer | undefined;
      try {
        answer = await step();
      } catch (error) {
        // An abandoned step (every attempt timed out) is tried again; anything else ends the call.
        if (!(error instanceof TimeoutError)) throw error;
      }
      if (answer?.status === TSP_STATUS.OK) return wantBody ? answer.body : (answer.body[0]?.toString("latin1") ?? "");
      if (answer?.status === TSP_STATUS.UNKNOWN) throw new ProtocolError("Titanic: unknown request (400)");
      await this.#sleep(answer?.status === TSP_STATUS.PENDING ? this.pollInterval : this.retryDelay, signal);
    }
  }

  /** Wait `ms` on the reactor; rejects on abort and on close. */
  #sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.closedError());
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
      const t = this.reactor.after(ms, () => {
        done();
        resolve();
      });
      this.#sleepers.add(fail);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
