/**
 * The one clock every timer in the package runs off. Production code uses
 * {@link systemClock} (monotonic, unref'd timers); tests swap in a {@link ManualClock}
 * and move time by hand, so timer logic is tested without sleeping.
 * @module
 */
import { InvalidOptionError } from "./errors.js";

/** Cancels a timer set with {@link Clock.setTimer}. Calling it twice is harmless. */
export type CancelTimer = () => void;

/** A source of time and one-shot timers. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; never goes backwards. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds. Timers never keep the process alive. */
  setTimer(fn: () => void, ms: number): CancelTimer;
}

/** Largest delay `setTimeout` honours. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** Real time: `performance.now()` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    // setTimeout turns delays above 2^31-1 ms (~24.8 days) into 1 ms: clamp instead; the
    // scheduler wakes up once at the cap, sees nothing due and sets the next stretch.
    const t = setTimeout(fn, Math.min(MAX_TIMEOUT, Math.max(0, ms)));
    t.unref();
    return () => clearTimeout(t);
  },
};

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires due timers in order, setting
 * `now()` to each timer's due time before it runs, so code sees the times it asked for.
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): CancelTimer {
    const timer: ManualTimer = { due: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return () => {
      const i = this.#timers.indexOf(timer);
      if (i >= 0) this.#timers.splice(i, 1);
    };
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Move time forward by `ms`, firing every timer that falls due on the way. Returns how many fired. */
  advance(ms: number): number {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
      throw new InvalidOptionError("ms", `ManualClock.advance: expected \`ms\` to be a finite number >= 0, got ${String(ms)}`);
    }
    const target = this.#now + ms;
    let fired = 0;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.due <= target && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#now = Math.max(this.#now, next.due);
      next.fn();
      fired++;
    }
    this.#now = target;
    return fired;
  }
}
