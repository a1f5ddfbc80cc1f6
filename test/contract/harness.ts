/**
 * The lifecycle contract: the same cases run over every long-lived class (see
 * src/lifecycle.ts). Each area adds its classes as factories in test/contract/factories/.
 */
import type { Lifecycle, Logger, Reactor } from "../../src/index.js";

/** What a factory is handed. */
export interface FactoryContext {
  /** A fresh, unique endpoint (tcp://127.0.0.1:PORT unless the factory asks otherwise). */
  endpoint(): Promise<string>;
  /** Register a cleanup that runs after the case (close helper peers, remove temp dirs). */
  defer(fn: () => unknown): void;
}

/** Extra options the harness passes to the constructor. */
export interface LifecycleExtras {
  reactor?: Reactor;
  signal?: AbortSignal;
  logger?: Logger;
}

/** One long-lived class under the contract. */
export interface LifecycleFactory {
  /** Class name, for the test titles. */
  readonly name: string;
  /** A working instance; pass `extras` through as its `reactor` / `signal` / `logger` options. */
  make(ctx: FactoryContext, extras: LifecycleExtras): Promise<Lifecycle> | Lifecycle;
  /**
   * An instance whose start binds `free` first and then fails on `taken` (already bound by
   * the harness). Omit for classes that only connect (their start cannot fail that way).
   */
  failing?(ctx: FactoryContext, free: string, taken: string, extras: LifecycleExtras): Promise<Lifecycle> | Lifecycle;
  /**
   * Start a call on a started instance that stays pending (nobody answers); it must reject
   * with ClosedError when the instance closes. Omit for classes without calls.
   */
  pending?(instance: Lifecycle, ctx: FactoryContext): Promise<unknown>;
}
