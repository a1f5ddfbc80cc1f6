/**
 * What every retrying client shares (Lazy Pirate, pipelined, Majordomo): the lifecycle, the
 * {@link RequestEngine} wired to the client's events, the settings and current endpoint, a
 * `submit()` that refuses calls once closed and starts the client on first use, and a close
 * that rejects every pending request with `ClosedError`. A client supplies its wire: the
 * engine adapter (how an attempt is sent, reset, released, failed over) and its replies.
 * @module
 */
import type { EventMap } from "./emitter.js";
import { RequestStamper } from "./exactly-once.js";
import { Lifecycle } from "./lifecycle.js";
import type { Bag } from "./options.js";
import type { ReactorOptions } from "./reactor.js";
import { RequestEngine, type RequestAdapter, type RequestCallOptions, type RequestEvents, type RequestSettings, type RequestStats } from "./request.js";

/** See the module documentation. `P` is a request as the engine carries it. */
export abstract class RequestClient<P, E extends EventMap = RequestEvents<P>> extends Lifecycle<E & RequestEvents<P>> {
  /** The engine: timeouts, retries, backoff, pending queue, failover. */
  protected readonly engine: RequestEngine<P>;
  /** Exactly-once: stamps each request (undefined when `exactlyOnce` is off). */
  readonly #stamper: RequestStamper | undefined;

  /**
   * @param owner the class name, for messages
   * @param options the validated options bag (lifecycle options are read from it)
   * @param settings the validated request settings (`requestSettings(owner, o, ...)`)
   * @param reactorDefaults options of the reactor made when none is shared
   */
  protected constructor(owner: string, options: Bag, settings: RequestSettings, reactorDefaults?: ReactorOptions) {
    super(owner, options, reactorDefaults);
    this.#stamper = settings.clientId === undefined ? undefined : new RequestStamper(settings.clientId);
    this.engine = new RequestEngine<P>({
      owner,
      settings,
      timers: this.reactor,
      adapter: this.adapter(),
      emit: (event, ...args) => (this.emit as (event: string, ...args: unknown[]) => void)(event, ...args),
      listening: (event) => this.listenerCount(event) > 0,
    });
  }

  /** The endpoint requests go to now (the next one after a timeout, when several are given). */
  get endpoint(): string {
    return this.engine.endpoint;
  }

  /** Exactly-once: the client id on every request's stamp; undefined when off. */
  get clientId(): string | undefined {
    return this.#stamper?.clientId;
  }

  /**
   * Exactly-once: `body` behind the stamp of request `id` (the same on every attempt), or
   * `body` itself when the option is off. The client puts the result where its wire has the
   * request body.
   */
  protected stamped(id: number, body: Buffer[]): Buffer[] {
    return this.#stamper ? [this.#stamper.frame(id), ...body] : body;
  }

  /** Every endpoint, in failover order. */
  get endpoints(): readonly string[] {
    return this.engine.settings.endpoints;
  }

  /** The validated request settings (`requestTimeout`, `retries`, `maxInFlight`, ...). */
  get settings(): RequestSettings {
    return this.engine.settings;
  }

  /** The engine's counters (a client adds its own). */
  protected engineStats(): RequestStats {
    return this.engine.stats();
  }

  /**
   * How the engine's attempts go on the wire. Called once, from the constructor: the hooks
   * may use the client's fields only when they run.
   */
  protected abstract adapter(): RequestAdapter<P>;

  /** Hand a validated request to the engine: rejects once closed; starts the client on first use. */
  protected submit(request: P, options?: RequestCallOptions): Promise<Buffer[]> {
    if (this.closed) return Promise.reject(this.closedError());
    this.startOnUse();
    return this.engine.submit(request, options);
  }

  /** Every pending and in-flight request rejects with `ClosedError`. */
  protected override onClose(): void | Promise<void> {
    this.engine.close(this.closedError());
  }
}
