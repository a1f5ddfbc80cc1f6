/**
 * A bounded FIFO with an explicit overflow policy and drop counters. The reactor's send
 * queues and the patterns' request backlogs are all built on it.
 * @module
 */
import { InvalidOptionError, QueueFullError } from "./errors.js";

/**
 * What happens when a bounded queue is full:
 * - `reject`: the push throws a {@link QueueFullError} and nothing changes;
 * - `drop-newest`: the new item is dropped (and counted);
 * - `drop-oldest`: the oldest item is dropped (and counted) to make room.
 */
export type OverflowPolicy = "reject" | "drop-newest" | "drop-oldest";

/** The overflow policies a {@link BoundedQueue} accepts. */
export const OVERFLOW_POLICIES: readonly OverflowPolicy[] = ["reject", "drop-newest", "drop-oldest"];

/** Result of {@link BoundedQueue.push}: whether the item was stored, and what was dropped. */
export interface PushResult<T> {
  accepted: boolean;
  dropped?: T;
}

/** Ring-buffer FIFO with O(1) push and shift, a hard limit and an overflow policy. */
export class BoundedQueue<T> {
  #items: (T | undefined)[];
  #head = 0;
  #size = 0;
  #dropped = 0;

  constructor(
    /** Maximum number of items held. */
    readonly limit: number,
    /** What a push does when the queue is full. */
    readonly overflow: OverflowPolicy = "reject",
    private readonly what = "queue",
  ) {
    if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidOptionError("limit", `BoundedQueue: expected \`limit\` to be an integer >= 1, got ${String(limit)}`);
    }
    if (!OVERFLOW_POLICIES.includes(overflow)) {
      throw new InvalidOptionError("overflow", `BoundedQueue: expected \`overflow\` to be one of ${OVERFLOW_POLICIES.map((p) => JSON.stringify(p)).join(", ")}, got ${JSON.stringify(overflow)}`);
    }
    this.#items = new Array<T | undefined>(Math.min(limit, 16));
  }

  /** Number of items held. */
  get size(): number {
    return this.#size;
  }

  /** Number of items dropped by the overflow policy or by {@link drain}. */
  get dropped(): number {
    return this.#dropped;
  }

  /** True when a push would overflow. */
  get full(): boolean {
    return this.#size >= this.limit;
  }

  /** Add an item at the tail, applying the overflow policy when full. */
  push(item: T): PushResult<T> {
    if (this.#size >= this.limit) {
      if (this.overflow === "reject") throw new QueueFullError(this.limit, this.what);
      this.#dropped++;
      if (this.overflow === "drop-newest") return { accepted: false, dropped: item };
      const dropped = this.shift()!;
      this.#append(item);
      return { accepted: true, dropped };
    }
    this.#append(item);
    return { accepted: true };
  }

  /** Put an item back at the head (it was taken and could not be used). Ignores the limit. */
  unshift(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#head = (this.#head - 1 + this.#items.length) % this.#items.length;
    this.#items[this.#head] = item;
    this.#size++;
  }

  /** Remove and return the oldest item. */
  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return item;
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Remove every item for which `predicate` is true; returns them in order. O(n). */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const kept: T[] = [];
    const removed: T[] = [];
    for (let n = this.#size; n > 0; n--) {
      const item = this.shift() as T;
      (predicate(item) ? removed : kept).push(item);
    }
    for (const item of kept) this.#append(item);
    return removed;
  }

  /** Remove every item and return them, counting them as dropped. */
  drain(): T[] {
    const out: T[] = [];
    for (let n = this.#size; n > 0; n--) out.push(this.shift() as T);
    this.#dropped += out.length;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#size; i++) yield this.#items[(this.#head + i) % this.#items.length] as T;
  }

  #append(item: T): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) % this.#items.length] = item;
    this.#size++;
  }

  #grow(): void {
    const next = new Array<T | undefined>(Math.max(16, this.#items.length * 2));
    for (let i = 0; i < this.#size; i++) next[i] = this.#items[(this.#head + i) % this.#items.length];
    this.#items = next;
    this.#head = 0;
  }
}
