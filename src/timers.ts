/**
 * Timers and expiry tickets for the reactor, run off one {@link Clock}.
 *
 * - `after`/`every` timers live in a binary heap (O(log n) add, lazy O(1) cancel).
 * - Tickets (after CZMQ's zloop tickets) share one delay per {@link TicketList} and live in
 *   a doubly linked list ordered by due time, so `reset()` and `cancel()` are O(1) whatever
 *   the number of tickets: the tool for per-peer expiry in servers with many peers.
 *
 * Only one clock timer is armed at a time, for the nearest due entry (tickless). Entries may
 * be added, reset or cancelled from inside any callback, including their own.
 * @module
 */
import type { CancelTimer, Clock } from "./clock.js";
import { InvalidOptionError } from "./errors.js";

/** A running timer. */
export interface Timer {
  /** Stop the timer. Harmless if it already fired or was cancelled. */
  cancel(): void;
  /** False once cancelled, or once a one-shot timer has fired. */
  readonly active: boolean;
}

/** Reports an error thrown by a timer or ticket callback. */
export type CallbackErrorReporter = (error: unknown, source: "timer" | "ticket") => void;

class HeapTimer implements Timer {
  constructor(
    readonly owner: Scheduler,
    public due: number,
    public seq: number,
    readonly fn: () => void,
    readonly interval: number,
  ) {}
  cancelled = false;
  fired = false;
  get active(): boolean {
    return !this.cancelled && !(this.fired && this.interval === 0);
  }
  cancel(): void {
    if (this.cancelled) return;
    // A one-shot that fired has left the heap: only entries still in it count as lazily deleted.
    const inHeap = !(this.fired && this.interval === 0);
    this.cancelled = true;
    if (inHeap) this.owner.noteCancelled();
  }
}

/** An expiry ticket: fires once, `delay` ms after it was created or last reset. */
export class Ticket {
  /** @internal */ prev: Ticket | undefined;
  /** @internal */ next: Ticket | undefined;
  /** @internal */ due = 0;
  /** @internal */ linked = false;

  /** @internal */
  constructor(
    private readonly list: TicketList,
    private readonly fn: () => void,
  ) {}

  /** Push expiry out to `delay` ms from now. O(1). Re-arms a ticket that fired or was cancelled. */
  reset(): void {
    this.list.place(this);
  }

  /** Stop the ticket. O(1). */
  cancel(): void {
    this.list.unlink(this);
  }

  /** True while the ticket is waiting to fire. */
  get active(): boolean {
    return this.linked;
  }

  /** Time (clock ms) at which the ticket fires, or undefined when inactive. */
  get expiresAt(): number | undefined {
    return this.linked ? this.due : undefined;
  }

  /** @internal */
  run(): void {
    this.fn();
  }
}

/** A set of tickets that share one delay. Create with {@link Scheduler.tickets}. */
export class TicketList {
  #head: Ticket | undefined;
  #tail: Ticket | undefined;
  #size = 0;

  /** @internal */
  constructor(
    private readonly scheduler: Scheduler,
    /** Delay of every ticket in this list, in ms. */
    readonly delay: number,
  ) {}

  /** Start a ticket that calls `fn` after `delay` ms unless reset or cancelled. */
  add(fn: () => void): Ticket {
    if (typeof fn !== "function") throw new InvalidOptionError("fn", `${this.scheduler.owner}: expected the ticket's \`fn\` to be a function`);
    const ticket = new Ticket(this, fn);
    this.place(ticket);
    return ticket;
  }

  /** Number of active tickets. */
  get size(): number {
    return this.#size;
  }

  /** @internal */
  get head(): Ticket | undefined {
    return this.#head;
  }

  /** @internal */
  place(ticket: Ticket): void {
    if (this.scheduler.closed) return;
    this.unlink(ticket);
    ticket.due = this.scheduler.clock.now() + this.delay;
    ticket.prev = this.#tail;
    ticket.next = undefined;
    if (this.#tail) this.#tail.next = ticket;
    else this.#head = ticket;
    this.#tail = ticket;
    ticket.linked = true;
    if (this.#size++ === 0) this.scheduler.listActive(this);
    if (this.#head === ticket) this.scheduler.armAt(ticket.due);
  }

  /** @internal */
  unlink(ticket: Ticket): void {
    if (!ticket.linked) return;
    if (ticket.prev) ticket.prev.next = ticket.next;
    else this.#head = ticket.next;
    if (ticket.next) ticket.next.prev = ticket.prev;
    else this.#tail = ticket.prev;
    ticket.prev = ticket.next = undefined;
    ticket.linked = false;
    if (--this.#size === 0) this.scheduler.listIdle(this);
  }

  /** Cancel every ticket. */
  clear(): void {
    while (this.#head) this.unlink(this.#head);
  }
}

/** Counters kept by a {@link Scheduler}. */
export interface SchedulerStats {
  timersActive: number;
  timersFired: number;
  ticketsActive: number;
  ticketsExpired: number;
  callbackErrors: number;
}

/** Heap timers plus ticket lists on one clock. The reactor owns one; usable on its own. */
export class Scheduler {
  #heap: HeapTimer[] = [];
  #cancelledInHeap = 0;
  #seq = 0;
  /** Ticket lists that hold tickets. Empty lists are dropped, so an abandoned list can be collected. */
  #lists = new Set<TicketList>();
  #armedDue = Infinity;
  #cancelArmed: CancelTimer | undefined;
  #firing = false;
  #closed = false;
  #timersFired = 0;
  #ticketsExpired = 0;
  #callbackErrors = 0;

  constructor(
    readonly clock: Clock,
    private readonly report: CallbackErrorReporter,
    /** Name used in argument errors (`Reactor` when the reactor owns it). */
    readonly owner = "Scheduler",
  ) {}

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Run `fn` once after `ms` milliseconds. */
  after(ms: number, fn: () => void): Timer {
    this.#check("after", ms, fn, 0);
    return this.#add(ms, fn, 0);
  }

  /** Run `fn` every `ms` milliseconds (at least 1) until cancelled. Does not drift. */
  every(ms: number, fn: () => void): Timer {
    this.#check("every", ms, fn, 1);
    return this.#add(ms, fn, ms);
  }

  /** A ticket list whose tickets all expire `delay` ms after their last reset. */
  tickets(delay: number): TicketList {
    // delay 0 would let a ticket reset in its own callback fire again in the same pass, forever
    if (typeof delay !== "number" || !Number.isSafeInteger(delay) || delay < 1) {
      throw new InvalidOptionError("delay", `${this.owner}.tickets: expected \`delay\` to be an integer >= 1, got ${String(delay)}`);
    }
    return new TicketList(this, delay);
  }

  /** Counters. */
  stats(): SchedulerStats {
    let ticketsActive = 0;
    for (const list of this.#lists) ticketsActive += list.size;
    return {
      timersActive: this.#heap.length - this.#cancelledInHeap,
      timersFired: this.#timersFired,
      ticketsActive,
      ticketsExpired: this.#ticketsExpired,
      callbackErrors: this.#callbackErrors,
    };
  }

  /** Cancel everything; later adds are inert. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#heap) t.cancelled = true;
    this.#heap = [];
    this.#cancelledInHeap = 0;
    for (const list of [...this.#lists]) list.clear();
    this.#cancelArmed?.();
    this.#cancelArmed = undefined;
    this.#armedDue = Infinity;
  }

  /** @internal A list got its first ticket. */
  listActive(list: TicketList): void {
    this.#lists.add(list);
  }

  /** @internal A list lost its last ticket. */
  listIdle(list: TicketList): void {
    this.#lists.delete(list);
  }

  /** @internal */
  noteCancelled(): void {
    this.#cancelledInHeap++;
    // Keep lazily-deleted entries from piling up when timers are cancelled far ahead of time.
    if (this.#cancelledInHeap > 64 && this.#cancelledInHeap * 2 > this.#heap.length) this.#compact();
  }

  /** @internal Make sure the clock wakes us no later than `due`. */
  armAt(due: number): void {
    if (this.#firing || this.#closed || due >= this.#armedDue) return;
    this.#cancelArmed?.();
    this.#armedDue = due;
    this.#cancelArmed = this.clock.setTimer(this.#fire, due - this.clock.now());
  }

  #check(method: string, ms: unknown, fn: unknown, min: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms < min) throw new InvalidOptionError("ms", `${this.owner}.${method}: expected \`ms\` to be a number >= ${min}, got ${String(ms)}`);
    if (typeof fn !== "function") throw new InvalidOptionError("fn", `${this.owner}.${method}: expected \`fn\` to be a function`);
  }

  #add(ms: number, fn: () => void, interval: number): Timer {
    const timer = new HeapTimer(this, this.clock.now() + Math.max(0, ms), this.#seq++, fn, interval);
    if (this.#closed) {
      timer.cancelled = true;
      return timer;
    }
    this.#push(timer);
    if (this.#heap[0] === timer) this.armAt(timer.due);
    return timer;
  }

  #fire = (): void => {
    this.#cancelArmed = undefined;
    this.#armedDue = Infinity;
    this.#firing = true;
    const now = this.clock.now();
    const lastSeq = this.#seq; // entries added during this pass wait for the next one
    try {
      while (this.#heap.length > 0 && !this.#closed) {
        const top = this.#heap[0]!;
        if (top.cancelled) {
          this.#pop();
          this.#cancelledInHeap--;
          continue;
        }
        if (top.due > now || top.seq >= lastSeq) break;
        this.#pop();
        top.fired = true;
        if (top.interval > 0) {
          top.due += top.interval;
          if (top.due <= now) top.due = now + top.interval;
          top.seq = this.#seq++;
          this.#push(top);
        }
        this.#timersFired++;
        this.#run(top.fn, "timer");
      }
      for (const list of this.#lists) {
        for (let t = list.head; t && t.due <= now && !this.#closed; t = list.head) {
          list.unlink(t);
          this.#ticketsExpired++;
          this.#run(() => t.run(), "ticket");
        }
      }
    } finally {
      this.#firing = false;
    }
    this.#rearm();
  };

  #run(fn: () => void, source: "timer" | "ticket"): void {
    try {
      fn();
    } catch (error) {
      this.#callbackErrors++;
      this.report(error, source);
    }
  }

  #rearm(): void {
    if (this.#closed) return;
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) {
      this.#pop();
      this.#cancelledInHeap--;
    }
    let due = this.#heap.length > 0 ? this.#heap[0]!.due : Infinity;
    for (const list of this.#lists) {
      const head = list.head;
      if (head && head.due < due) due = head.due;
    }
    if (due < Infinity) this.armAt(due);
  }

  #compact(): void {
    this.#heap = this.#heap.filter((t) => !t.cancelled);
    this.#cancelledInHeap = 0;
    for (let i = (this.#heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #less(a: HeapTimer, b: HeapTimer): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  #push(t: HeapTimer): void {
    const heap = this.#heap;
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): HeapTimer | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      this.#down(0);
    }
    return top;
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}
