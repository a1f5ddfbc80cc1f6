/**
 * A typed `EventEmitter` whose listeners cannot break the code that emits: a listener that
 * throws is reported to `onListenerError` instead of unwinding into a read pump or timer.
 * Events use colon names (`peer:expired`); none is called `error`, so an event never
 * crashes a process for want of a listener.
 * @module
 */
import { EventEmitter } from "node:events";

/** Map of event name to listener arguments. */
export type EventMap = Record<string, unknown[]>;

/** Typed emitter base class for every long-lived object in the package. */
export class TypedEmitter<E extends EventMap> {
  readonly #emitter = new EventEmitter();

  constructor() {
    this.#emitter.setMaxListeners(0);
  }

  /** Add a listener. Returns a function that removes it. */
  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    this.#emitter.on(event, listener as (...args: unknown[]) => void);
    return () => this.off(event, listener);
  }

  /** Add a listener that runs once. */
  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): () => void {
    this.#emitter.once(event, listener as (...args: unknown[]) => void);
    return () => this.off(event, listener);
  }

  /** Remove a listener. */
  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): void {
    this.#emitter.off(event, listener as (...args: unknown[]) => void);
  }

  /** Number of listeners for `event`. */
  listenerCount<K extends keyof E & string>(event: K): number {
    return this.#emitter.listenerCount(event);
  }

  /** Resolve with the arguments of the next `event` (rejects if `signal` aborts first). */
  next<K extends keyof E & string>(event: K, signal?: AbortSignal): Promise<E[K]> {
    return new Promise((resolve, reject) => {
      const off = this.once(event, (...args) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(args);
      });
      const onAbort = () => {
        off();
        reject(signal?.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Emit an event. A listener that throws does not stop the others or the caller; the
   * error goes to {@link onListenerError}.
   */
  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): void {
    if (this.#emitter.listenerCount(event) === 0) return;
    for (const listener of this.#emitter.rawListeners(event)) {
      try {
        (listener as (...a: unknown[]) => void).apply(this, args);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
  }

  /**
   * Called when a listener throws. Subclasses report it as a typed event; the default
   * prints a process warning and carries on.
   */
  protected onListenerError(event: string, error: unknown): void {
    process.emitWarning(`zeromq-patterns: a listener for "${event}" threw: ${String(error)}`);
  }
}
