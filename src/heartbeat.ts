/**
 * Liveness and backoff, as pure logic on an injectable clock: no sockets, no timers. The
 * patterns drive these from reactor timers; unit tests drive them with a
 * {@link ManualClock}. Defaults are the constants of the 6/PPP spec
 * (https://rfc.zeromq.org/spec/6/): interval 1000 ms, liveness 3, reconnect backoff 1000 ms
 * doubling to 32000 ms.
 * @module
 */
import type { Clock } from "./clock.js";
import { clockOption, intOption, numberOption, optionsObject } from "./options.js";

/** 6/PPP `HEARTBEAT_INTERVAL`. */
export const HEARTBEAT_INTERVAL = 1000;
/** 6/PPP `HEARTBEAT_LIVENESS`. */
export const HEARTBEAT_LIVENESS = 3;
/** 6/PPP `INTERVAL_INIT`. */
export const RECONNECT_INTERVAL = 1000;
/** 6/PPP `INTERVAL_MAX`. */
export const RECONNECT_MAX_INTERVAL = 32000;

/** Options of {@link Liveness}. */
export interface LivenessOptions {
  /** Expected time between messages from the peer, ms. Default 1000. */
  readonly interval?: number;
  /** Intervals of silence before the peer is dead. Default 3. */
  readonly liveness?: number;
  /** Clock. Default the system clock. */
  readonly clock?: Clock;
}

/**
 * Tracks one peer's liveness: any traffic from the peer calls {@link heard}; the peer is
 * dead once `interval × liveness` ms pass without it.
 */
export class Liveness {
  readonly interval: number;
  readonly liveness: number;
  readonly #clock: Clock;
  #last: number;

  constructor(options?: LivenessOptions) {
    const o = optionsObject("Liveness", options);
    this.interval = intOption("Liveness", o, "interval", HEARTBEAT_INTERVAL, 1);
    this.liveness = intOption("Liveness", o, "liveness", HEARTBEAT_LIVENESS, 1);
    this.#clock = clockOption("Liveness", o);
    this.#last = this.#clock.now();
  }

  /** Milliseconds of silence after which the peer is dead (`interval × liveness`). */
  get timeout(): number {
    return this.interval * this.liveness;
  }

  /** Record traffic from the peer. */
  heard(): void {
    this.#last = this.#clock.now();
  }

  /** Clock time of the last traffic. */
  get lastHeard(): number {
    return this.#last;
  }

  /** Clock time at which the peer will be dead unless heard from. */
  get expiresAt(): number {
    return this.#last + this.timeout;
  }

  /** Whole intervals left before the peer is dead (PPP's `liveness` counter). */
  get remaining(): number {
    const silent = this.#clock.now() - this.#last;
    return Math.max(0, this.liveness - Math.floor(silent / this.interval));
  }

  /** True once the peer has been silent for `interval × liveness` ms. */
  get expired(): boolean {
    return this.#clock.now() >= this.expiresAt;
  }
}

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay, ms. Default 1000. */
  readonly initial?: number;
  /** Cap, ms. Default 32000. */
  readonly max?: number;
  /** Multiplier per attempt. Default 2. */
  readonly factor?: number;
}

/** Exponential backoff with a cap: 1000, 2000, 4000, ... 32000, 32000, ... by default. */
export class Backoff {
  readonly initial: number;
  readonly max: number;
  readonly factor: number;
  #current: number;
  #attempts = 0;

  constructor(options?: BackoffOptions) {
    const o = optionsObject("Backoff", options);
    this.initial = intOption("Backoff", o, "initial", RECONNECT_INTERVAL, 0);
    this.max = intOption("Backoff", o, "max", Math.max(RECONNECT_MAX_INTERVAL, this.initial), this.initial);
    this.factor = numberOption("Backoff", o, "factor", 2, 1);
    this.#current = this.initial;
  }

  /** The delay to wait now; the following call returns the next step. */
  next(): number {
    const delay = this.#current;
    this.#current = Math.min(this.max, Math.max(1, this.#current) * this.factor);
    this.#attempts++;
    return delay;
  }

  /** The delay the next call to {@link next} returns. */
  get current(): number {
    return this.#current;
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Back to the initial delay (call on any sign of life). */
  reset(): void {
    this.#current = this.initial;
    this.#attempts = 0;
  }
}
