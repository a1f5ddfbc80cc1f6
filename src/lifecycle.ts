/**
 * The one lifecycle every long-lived object in the package uses (queues, brokers, workers,
 * clients, servers, the ZAP handler, the log pipe, the job server).
 *
 * A subclass writes what is particular to it: {@link Lifecycle.onStart} opens its sockets,
 * timers and listeners through the `own*` helpers, and {@link Lifecycle.onClose} settles its
 * pending work. The base class gives every one of them the same contract:
 * - `start()` is idempotent (every call returns the same promise). When any step of
 *   `onStart` fails, everything opened so far is closed again, in reverse order, before the
 *   promise rejects: a failed start leaves nothing bound.
 * - `close()` is idempotent and resolves only once `onClose` has settled pending work
 *   (pending calls reject with {@link ClosedError}), every owned resource is closed and,
 *   when the object made its own reactor, that reactor has closed.
 * - `close()` during `start()` makes `start()` reject with {@link ClosedError} and leaves
 *   nothing open.
 * - `signal`: aborting it closes the object. A signal that is already aborted makes the
 *   object closed at once: `closed` is true when the constructor returns and `start()`
 *   rejects with {@link ClosedError}.
 * - `reactor`: absent, the object makes its own and closes it in `close()`; given, it is
 *   shared: never closed by us, and when it closes first the object closes too (cause
 *   `"reactor"`), rejecting its pending calls.
 * - Events `lifecycle:started`, `lifecycle:closed` (`{ cause }`) and `lifecycle:error` (an
 *   error thrown while closing; closing carries on).
 *
 * ```ts
 * class Echo extends Lifecycle<EchoEvents> {
 *   constructor(options: EchoOptions) { const o = optionsObject("Echo", options); super("Echo", o); ... }
 *   protected async onStart(): Promise<void> {
 *     const h = this.ownSocket(new zmq.Router(), { onMessage: (m) => void h.send(m) });
 *     await h.socket.bind(this.endpoint);           // a failure here closes the socket again
 *     this.ownTimer(this.reactor.every(1000, () => this.emit("echo:tick")));
 *   }
 * }
 * ```
 * @module
 */
import type * as zmq from "zeromq";
import { TypedEmitter, type EventMap } from "./emitter.js";
import { ClosedError } from "./errors.js";
import { loggerOption, type Logger } from "./log.js";
import { signalOption, type Bag } from "./options.js";
import { reactorOption, type AddOptions, type Reactor, type ReactorOptions, type SendOverflow, type SocketHandle } from "./reactor.js";
import type { Timer } from "./timers.js";

/** Why an object closed: `close()`, its `signal`, its shared `reactor` closing first. */
export type CloseCause = "close" | "signal" | "reactor";

/** Where an object is in its life. */
export type LifecycleState = "new" | "starting" | "running" | "closing" | "closed";

/** Options every long-lived object takes. */
export interface LifecycleOptions {
  /** Share a reactor: it is not closed by `close()`, and its closing closes this object. Default: an own one. */
  readonly reactor?: Reactor;
  /** Aborting it closes the object; an aborted one makes it closed from the start. */
  readonly signal?: AbortSignal;
  /**
   * Where the object logs (anything with pino's `debug/info/warn/error`, e.g. a pino child
   * logger). Default: silent. The lifecycle logs its start and close at `debug` and every
   * `lifecycle:error` at `error`; classes add their own lines.
   */
  readonly logger?: Logger;
}

/** The events every long-lived object emits, beside its own. */
export interface LifecycleEvents {
  [event: string]: unknown[];
  /** `start()` completed. */
  "lifecycle:started": [];
  /** `close()` completed: sockets, timers and pending work are done. */
  "lifecycle:closed": [{ cause: CloseCause }];
  /** Something failed while closing (the close carries on and still resolves). */
  "lifecycle:error": [{ phase: "start" | "close"; error: unknown }];
}

type Cleanup = () => unknown;

/** See the module documentation. */
export abstract class Lifecycle<E extends EventMap = EventMap> extends TypedEmitter<E & LifecycleEvents> {
  /** Name used in error messages (the class name by default). */
  protected readonly lifecycleName: string;
  /** The `logger` option (silent when none was given). */
  protected readonly logger: Logger;
  readonly #reactor: Reactor;
  readonly #ownsReactor: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #startAbort = new AbortController();
  #state: LifecycleState = "new";
  #cause: CloseCause | undefined;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #cleanups: Cleanup[] = [];
  #offReactor: (() => void) | undefined;

  /**
   * @param owner the class name, for messages
   * @param options the validated options bag (`reactor` and `signal` are read from it)
   * @param reactorDefaults options of the reactor made when none is shared
   */
  protected constructor(owner: string, options: Bag, reactorDefaults?: ReactorOptions) {
    super();
    this.lifecycleName = owner;
    this.logger = loggerOption(owner, options);
    this.#signal = signalOption(owner, options);
    ({ reactor: this.#reactor, owned: this.#ownsReactor } = reactorOption(owner, options, reactorDefaults));
    if (this.#signal?.aborted || this.#reactor.closed) {
      // Closed from the start. The closing work (nothing is open yet, but the owned reactor)
      // runs once the subclass constructor has finished.
      const cause: CloseCause = this.#signal?.aborted ? "signal" : "reactor";
      this.#beginClose(cause, true);
      return;
    }
    this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (!this.#ownsReactor) this.#offReactor = this.#reactor.on("reactor:closing", this.#onReactorClosing);
  }

  /** The reactor this object runs on. */
  get reactor(): Reactor {
    return this.#reactor;
  }

  /** True when the reactor was made by this object (and is closed with it). */
  protected get ownsReactor(): boolean {
    return this.#ownsReactor;
  }

  /** True once `close()` was called (or the signal aborted, or the shared reactor closed). */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Where the object is in its life. */
  get state(): LifecycleState {
    return this.#state;
  }

  /** Why the object closed, once it did. */
  get closeCause(): CloseCause | undefined {
    return this.#cause;
  }

  /**
   * Open sockets, timers and listeners. Idempotent: every call returns the same promise.
   * Rejects with {@link ClosedError} once closed; when a step fails, whatever was opened is
   * closed again before the promise rejects.
   */
  start(): Promise<void> {
    if (this.#closing) return this.#starting && this.#state === "closing" ? this.#starting : Promise.reject(this.closedError());
    if (this.#starting) return this.#starting;
    this.#state = "starting";
    this.#starting = this.#runStart();
    return this.#starting;
  }

  /**
   * Close: settle pending work (pending calls reject with {@link ClosedError}), close every
   * owned socket, timer and listener, and the reactor if this object made it. Idempotent:
   * every call returns the same promise, which never rejects.
   */
  close(): Promise<void> {
    return this.#beginClose("close", false);
  }

  /**
   * The subclass's start: open what it needs, registering each resource with an `own*`
   * helper so that a failure later in the start, or `close()`, closes it. `signal` aborts
   * when `close()` is called meanwhile.
   */
  protected abstract onStart(signal: AbortSignal): Promise<void> | void;

  /**
   * The subclass's close, called once, before the owned resources are closed: reject
   * pending calls with {@link ClosedError}, count what is dropped, send a goodbye. It runs
   * whether or not the object ever started.
   */
  protected onClose(_cause: CloseCause): Promise<void> | void {}

  /**
   * Start by itself, for objects that users expect to run once constructed (workers, a
   * subscriber): call it at the end of the subclass constructor. The start runs on the next
   * turn of the event loop, so the caller can attach listeners first, or call `start()`
   * itself and await it (then this does nothing). A failure is reported as `lifecycle:error`
   * (`phase: "start"`) and passed to `onFailure`; a close before or during it is not one.
   */
  protected startSoon(onFailure?: (error: unknown) => void): void {
    if (this.#closing) return;
    setImmediate(() => this.startOnUse(onFailure));
  }

  /**
   * Start now, in the background, unless started (or closed) already: for calls that need a
   * running object (a client's first request). The call goes on and waits for what it needs
   * itself. A failure is reported as `lifecycle:error` (`phase: "start"`) and passed to
   * `onFailure`; a close before or during it is not one.
   */
  protected startOnUse(onFailure?: (error: unknown) => void): void {
    if (this.#state !== "new" || this.#closing) return;
    this.start().catch((error: unknown) => {
      if (this.#closing && error instanceof ClosedError) return;
      this.#emit("lifecycle:error", { phase: "start", error });
      onFailure?.(error);
    });
  }

  /**
   * Make an object and start it; when the start fails the object is closed and the error
   * thrown: `const server = await PubSubServer.start(options)`.
   */
  static async start<T extends Lifecycle, A extends unknown[]>(this: new (...args: A) => T, ...args: A): Promise<T> {
    const instance = new this(...args);
    try {
      await instance.start();
    } catch (error) {
      await instance.close();
      throw error;
    }
    return instance;
  }

  /** Throw {@link ClosedError} when closed (for public methods that need a live object). */
  protected assertOpen(what = this.lifecycleName): void {
    if (this.#closing) throw new ClosedError(`${what}: ${this.lifecycleName} is closed`);
  }

  /** A {@link ClosedError} for calls refused or cut short by the close. */
  protected closedError(): ClosedError {
    const why = this.#cause === "reactor" ? " (its reactor closed)" : this.#cause === "signal" ? " (its signal aborted)" : "";
    return new ClosedError(`${this.lifecycleName} is closed${why}`);
  }

  /**
   * Register a socket with the reactor (a read pump starts when `onMessage` is given) and own
   * it: it closes with linger `linger` (default 0) on close or failed start.
   */
  protected ownSocket<S extends zmq.Socket, P extends SendOverflow = SendOverflow>(socket: S, options?: AddOptions<P>): SocketHandle<S, P> {
    let handle: SocketHandle<S, P>;
    try {
      handle = this.#reactor.add(socket, options);
    } catch (error) {
      try {
        socket.close();
      } catch {
        // already closed
      }
      throw error;
    }
    this.#cleanups.push(() => handle.close(options?.linger ?? 0));
    return handle;
  }

  /** Own a timer or ticket: cancelled on close or failed start. Returns it. */
  protected ownTimer<T extends Pick<Timer, "cancel">>(timer: T): T {
    this.#cleanups.push(() => timer.cancel());
    return timer;
  }

  /** Own any resource with its disposer (an event listener's `off`, a file, a child process). */
  protected own(dispose: () => unknown): void {
    this.#cleanups.push(dispose);
  }

  /** Run the owned cleanups, newest first; errors are reported and do not stop the rest. */
  async #runCleanups(phase: "start" | "close"): Promise<void> {
    const cleanups = this.#cleanups.splice(0).reverse();
    for (const cleanup of cleanups) {
      try {
        await cleanup();
      } catch (error) {
        this.#emit("lifecycle:error", { phase, error });
      }
    }
  }

  async #runStart(): Promise<void> {
    try {
      await this.onStart(this.#startAbort.signal);
      if (this.#closing) throw this.closedError();
    } catch (error) {
      await this.#runCleanups("start");
      if (!this.#closing) {
        // A failed start may be tried again (the port may be free later).
        this.#state = "new";
        this.#starting = undefined;
      }
      throw error;
    }
    this.#state = "running";
    this.logger.debug({ class: this.lifecycleName }, "started");
    this.#emit("lifecycle:started");
  }

  #beginClose(cause: CloseCause, deferred: boolean): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#cause = cause;
    this.#state = "closing";
    this.#startAbort.abort(new ClosedError(`${this.lifecycleName} closed`));
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#offReactor?.();
    this.#closing = (async () => {
      // From a constructor, wait until the subclass constructor has run.
      if (deferred) await Promise.resolve();
      const starting = this.#starting;
      if (starting) await starting.catch(() => undefined);
      try {
        await this.onClose(cause);
      } catch (error) {
        this.#emit("lifecycle:error", { phase: "close", error });
      }
      await this.#runCleanups("close");
      if (this.#ownsReactor) await this.#reactor.close();
      this.#state = "closed";
      this.logger.debug({ class: this.lifecycleName, cause }, "closed");
      this.#emit("lifecycle:closed", { cause });
    })();
    return this.#closing;
  }

  #emit<K extends keyof LifecycleEvents & string>(event: K, ...args: LifecycleEvents[K]): void {
    if (event === "lifecycle:error") {
      const { phase, error } = args[0] as LifecycleEvents["lifecycle:error"][0];
      this.logger.error({ class: this.lifecycleName, phase, err: error instanceof Error ? error.message : String(error) }, `${this.lifecycleName}: ${phase} failed`);
    }
    (this.emit as (event: string, ...args: unknown[]) => void)(event, ...args);
  }

  readonly #onAbort = (): void => void this.#beginClose("signal", false);
  readonly #onReactorClosing = (): void => void this.#beginClose("reactor", false);
}
