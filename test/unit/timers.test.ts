import { describe, it, expect } from "vitest";
import { ManualClock, Reactor, Scheduler, type CancelTimer, type Clock, type Ticket, type Timer } from "../../src/index.js";

/** A clock that counts how often the scheduler arms it: the cost we can observe without timing. */
class CountingClock implements Clock {
  setTimerCalls = 0;
  cancels = 0;
  constructor(readonly inner: ManualClock) {}
  now(): number {
    return this.inner.now();
  }
  setTimer(fn: () => void, ms: number): CancelTimer {
    this.setTimerCalls++;
    const cancel = this.inner.setTimer(fn, ms);
    return () => {
      this.cancels++;
      cancel();
    };
  }
}

function setup() {
  const clock = new ManualClock();
  const errors: unknown[] = [];
  const scheduler = new Scheduler(clock, (error) => errors.push(error));
  return { clock, scheduler, errors };
}

describe("Scheduler timers", () => {
  it("validates its arguments (a ticket delay of 0 could loop forever)", () => {
    const { scheduler } = setup();
    expect(() => scheduler.tickets(0)).toThrow(/Scheduler.tickets: expected `delay`/);
    expect(() => scheduler.tickets(Number.NaN)).toThrow(TypeError);
    expect(() => scheduler.after(Number.NaN, () => {})).toThrow(/Scheduler.after: expected `ms`/);
    expect(() => scheduler.after(-1, () => {})).toThrow(TypeError);
    expect(() => scheduler.every(0, () => {})).toThrow(/Scheduler.every: expected `ms` to be a number >= 1/);
    expect(() => scheduler.after(1, undefined as never)).toThrow(/`fn`/);
    expect(() => scheduler.tickets(10).add(5 as never)).toThrow(/`fn`/);
  });

  it("runs one-shot timers in due order, ties in creation order", () => {
    const { clock, scheduler } = setup();
    const order: string[] = [];
    scheduler.after(30, () => order.push("c"));
    scheduler.after(10, () => order.push("a1"));
    scheduler.after(10, () => order.push("a2"));
    scheduler.after(20, () => order.push("b"));
    scheduler.after(0, () => order.push("zero"));
    clock.advance(15);
    expect(order).toEqual(["zero", "a1", "a2"]);
    clock.advance(100);
    expect(order).toEqual(["zero", "a1", "a2", "b", "c"]);
    expect(scheduler.stats()).toMatchObject({ timersActive: 0, timersFired: 5 });
    expect(clock.pending).toBe(0);
  });

  it("every() does not drift: fires at exact multiples even when the clock is late", () => {
    const { clock, scheduler } = setup();
    const at: number[] = [];
    scheduler.every(100, () => at.push(clock.now()));
    for (let i = 0; i < 10; i++) clock.advance(37); // 370 ms in uneven steps
    expect(at).toEqual([100, 200, 300]);
    clock.advance(630);
    expect(at).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });

  it("every() skips ticks it slept through instead of bursting (the timers-run-twice bug does not happen)", () => {
    // A clock whose single timer fires only when asked, long after it was due.
    let pending: (() => void) | undefined;
    let now = 0;
    const lazy: Clock = { now: () => now, setTimer: (fn) => ((pending = fn), () => (pending = undefined)) };
    const runs: number[] = [];
    const scheduler = new Scheduler(lazy, () => {});
    scheduler.every(100, () => runs.push(now));
    now = 350; // three ticks missed
    pending!();
    expect(runs).toEqual([350]); // once per pass, never twice
    now = 400;
    pending!();
    expect(runs).toEqual([350]); // next tick is 450, not 400 again
    now = 450;
    pending!();
    expect(runs).toEqual([350, 450]);
  });

  it("each timer runs once per pass, even a timer re-added in its own callback (czmq PR#1995)", () => {
    // A clock whose one timer fires only when we say: one call = one scheduler pass.
    let pending: (() => void) | undefined;
    const now = 0;
    const stepper: Clock = { now: () => now, setTimer: (fn) => ((pending = fn), () => (pending = undefined)) };
    const scheduler = new Scheduler(stepper, () => {});
    let count = 0;
    let ticks = 0;
    const again = () => {
      count++;
      if (count < 5) scheduler.after(0, again);
    };
    scheduler.after(0, again);
    scheduler.every(1, () => ticks++);
    for (let pass = 1; pass <= 5; pass++) {
      pending!();
      expect(count).toBe(pass);
    }
    expect(ticks).toBe(0); // not due yet at now = 0
  });

  it("a timer cancelled in its own callback stops, and the active count stays right", () => {
    const { clock, scheduler } = setup();
    let n = 0;
    const t: Timer = scheduler.every(10, () => {
      if (++n === 3) t.cancel();
    });
    clock.advance(100);
    expect(n).toBe(3);
    expect(t.active).toBe(false);
    expect(scheduler.stats().timersActive).toBe(0);

    const once: Timer = scheduler.after(10, () => once.cancel());
    const other = scheduler.after(50, () => {});
    clock.advance(20);
    expect(scheduler.stats().timersActive).toBe(1);
    other.cancel();
    expect(scheduler.stats().timersActive).toBe(0);
    // cancelling a fired one-shot later is harmless too
    once.cancel();
    const fired = scheduler.after(1, () => {});
    clock.advance(1);
    fired.cancel();
    fired.cancel();
    expect(scheduler.stats().timersActive).toBe(0);
  });

  it("a timer cancelled by another timer's callback in the same pass does not run", () => {
    const { clock, scheduler } = setup();
    const ran: string[] = [];
    let victim: Timer | undefined = undefined;
    scheduler.after(10, () => {
      ran.push("killer");
      victim!.cancel();
    });
    victim = scheduler.after(10, () => ran.push("victim"));
    clock.advance(10);
    expect(ran).toEqual(["killer"]);
    expect(scheduler.stats().timersActive).toBe(0);
  });

  it("timers added during dispatch wait for the next pass; a new timer made in an expiring one survives it (czmq#114)", () => {
    const { clock, scheduler } = setup();
    const ran: string[] = [];
    let child: Timer | undefined;
    scheduler.after(10, () => {
      ran.push("parent");
      child = scheduler.after(10, () => ran.push("child"));
      scheduler.after(0, () => ran.push("zero-child"));
    });
    clock.advance(10);
    expect(ran).toEqual(["parent", "zero-child"]);
    expect(child!.active).toBe(true);
    clock.advance(10);
    expect(ran).toEqual(["parent", "zero-child", "child"]);
  });

  it("many timers cancelled far ahead are compacted, counts stay exact", () => {
    const { clock, scheduler } = setup();
    const timers = Array.from({ length: 1000 }, (_, i) => scheduler.after(1000 + i, () => {}));
    for (const t of timers.slice(0, 900)) t.cancel();
    expect(scheduler.stats().timersActive).toBe(100);
    let fired = 0;
    for (const t of timers.slice(900)) t.cancel();
    scheduler.after(5, () => fired++);
    clock.advance(5000);
    expect(fired).toBe(1);
    expect(scheduler.stats()).toMatchObject({ timersActive: 0, timersFired: 1 });
  });

  it("a throwing callback is reported and the others still run", () => {
    const { clock, scheduler, errors } = setup();
    const ran: number[] = [];
    scheduler.after(1, () => {
      throw new Error("boom");
    });
    scheduler.after(1, () => ran.push(1));
    clock.advance(1);
    expect(ran).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(scheduler.stats().callbackErrors).toBe(1);
  });

  it("close() cancels everything; later adds are inert; close is idempotent", () => {
    const { clock, scheduler } = setup();
    let ran = 0;
    scheduler.every(10, () => ran++);
    scheduler.tickets(10).add(() => ran++);
    scheduler.close();
    scheduler.close();
    expect(clock.pending).toBe(0);
    const late = scheduler.after(1, () => ran++);
    expect(late.active).toBe(false);
    clock.advance(100);
    expect(ran).toBe(0);
  });

  it("arms only one clock timer at a time (tickless)", () => {
    const clock = new CountingClock(new ManualClock());
    const scheduler = new Scheduler(clock, () => {});
    for (let i = 0; i < 100; i++) scheduler.after(1000 - i, () => {});
    // each new earliest timer re-arms, later ones do not
    expect(clock.inner.pending).toBe(1);
    for (let i = 0; i < 100; i++) scheduler.after(5000 + i, () => {});
    expect(clock.inner.pending).toBe(1);
  });
});

describe("tickets", () => {
  it("fire delay ms after creation or last reset, in expiry order", () => {
    const { clock, scheduler } = setup();
    const list = scheduler.tickets(100);
    const fired: string[] = [];
    const a = list.add(() => fired.push("a"));
    clock.advance(10);
    const b = list.add(() => fired.push("b"));
    clock.advance(10);
    list.add(() => fired.push("c"));
    a.reset(); // a now due at 120, after b (110) and c (120, added earlier)
    expect(a.expiresAt).toBe(120);
    clock.advance(89); // t=109
    expect(fired).toEqual([]);
    clock.advance(1); // t=110
    expect(fired).toEqual(["b"]);
    clock.advance(10);
    expect(fired).toEqual(["b", "c", "a"]);
    expect(b.active).toBe(false);
    expect(scheduler.stats()).toMatchObject({ ticketsActive: 0, ticketsExpired: 3 });
  });

  it("reset of one ticket among 100,000 costs O(1): no clock work, only local links change", () => {
    const clock = new CountingClock(new ManualClock());
    const scheduler = new Scheduler(clock, () => {});
    const list = scheduler.tickets(1000);
    const tickets: Ticket[] = [];
    let expired = 0;
    for (let i = 0; i < 100_000; i++) tickets.push(list.add(() => expired++));
    expect(clock.setTimerCalls).toBe(1); // only the first (head) ticket armed the clock
    const before = clock.setTimerCalls;
    const mid = tickets[50_000]!;
    const prev = tickets[49_999]!;
    const next = tickets[50_001]!;
    const tail = tickets[99_999]!;
    clock.inner.advance(10);
    for (let i = 0; i < 1000; i++) mid.reset();
    // no clock timers set for resets of a non-head ticket, however many tickets there are
    expect(clock.setTimerCalls).toBe(before);
    // structural: the neighbours were spliced together and mid is the tail
    expect(prev.next).toBe(next);
    expect(next.prev).toBe(prev);
    expect(tail.next).toBe(mid);
    expect(mid.prev).toBe(tail);
    expect(mid.next).toBeUndefined();
    expect(list.size).toBe(100_000);
    // cancelling is O(1) too and keeps the list consistent
    tickets[0]!.cancel();
    expect(list.head).toBe(tickets[1]);
    clock.inner.advance(990); // t=1000: all but mid expire
    expect(expired).toBe(99_998);
    expect(list.head).toBe(mid);
    clock.inner.advance(10);
    expect(expired).toBe(99_999);
    expect(list.size).toBe(0);
  });

  it("reset cost does not depend on the number of tickets (same clock work for 10 and 100,000)", () => {
    const work = (n: number) => {
      const clock = new CountingClock(new ManualClock());
      const scheduler = new Scheduler(clock, () => {});
      const list = scheduler.tickets(500);
      const tickets = Array.from({ length: n }, () => list.add(() => {}));
      const before = clock.setTimerCalls + clock.cancels;
      for (let round = 0; round < 100; round++) {
        clock.inner.advance(1);
        tickets[(round * 7) % n]!.reset();
      }
      return clock.setTimerCalls + clock.cancels - before;
    };
    expect(work(100_000)).toBe(work(10));
  });

  it("cancel and reset from inside a ticket callback, and from a timer", () => {
    const { clock, scheduler } = setup();
    const list = scheduler.tickets(100);
    const fired: string[] = [];
    let b: Ticket | undefined = undefined;
    let a: Ticket | undefined = undefined;
    a = list.add(() => {
      fired.push("a");
      b!.cancel(); // same pass, due at the same time
      a!.reset(); // re-arm itself
    });
    b = list.add(() => fired.push("b"));
    const c = list.add(() => fired.push("c"));
    scheduler.after(50, () => c.cancel());
    clock.advance(100);
    expect(fired).toEqual(["a"]);
    expect(a.active).toBe(true);
    clock.advance(100);
    expect(fired).toEqual(["a", "a"]);
    a.cancel();
    clock.advance(1000);
    expect(fired).toEqual(["a", "a"]);
    expect(clock.pending).toBe(0);
  });

  it("a cancelled ticket can be re-armed with reset()", () => {
    const { clock, scheduler } = setup();
    let n = 0;
    const t = scheduler.tickets(10).add(() => n++);
    t.cancel();
    expect(t.active).toBe(false);
    expect(t.expiresAt).toBeUndefined();
    clock.advance(20);
    t.reset();
    clock.advance(10);
    expect(n).toBe(1);
  });

  it("lists with different delays expire independently", () => {
    const { clock, scheduler } = setup();
    const fired: string[] = [];
    scheduler.tickets(300).add(() => fired.push("slow"));
    scheduler.tickets(100).add(() => fired.push("fast"));
    clock.advance(100);
    expect(fired).toEqual(["fast"]);
    clock.advance(200);
    expect(fired).toEqual(["fast", "slow"]);
  });
});

describe("Reactor timers (ManualClock)", () => {
  it("after/every/ticket validate their arguments", () => {
    const reactor = new Reactor({ clock: new ManualClock() });
    expect(() => reactor.after(-1, () => {})).toThrow(TypeError);
    expect(() => reactor.after(Number.NaN, () => {})).toThrow(/`ms`/);
    expect(() => reactor.after(1, "x" as unknown as () => void)).toThrow(/`fn`/);
    expect(() => reactor.every(0, () => {})).toThrow(/`ms`/);
    expect(() => reactor.tickets(0)).toThrow(/`delay`/);
    expect(() => reactor.tickets(1.5)).toThrow(TypeError);
    expect(() => reactor.every(0.5, () => {})).toThrow(/Reactor.every: expected `ms`/);
    expect(() => reactor.ticket(undefined as never)).toThrow(/Reactor.ticket: expected `fn`/);
    expect(() => reactor.tickets(5).add("x" as never)).toThrow(/`fn`/);
    void reactor.close();
  });

  it("reactor.ticket uses ticketDelay; timer errors become handler:error with source", async () => {
    const clock = new ManualClock();
    const reactor = new Reactor({ clock, ticketDelay: 50 });
    const events: { source: string }[] = [];
    reactor.on("handler:error", (e) => events.push(e));
    let expired = 0;
    reactor.ticket(() => expired++);
    reactor.after(10, () => {
      throw new Error("timer");
    });
    reactor.ticket(() => {
      throw new Error("ticket");
    });
    clock.advance(50);
    expect(expired).toBe(1);
    expect(events.map((e) => e.source)).toEqual(["timer", "ticket"]);
    expect(reactor.stats()).toMatchObject({ timerErrors: 2, ticketsExpired: 2, timersFired: 1, timersActive: 0 });
    await reactor.close();
    expect(clock.pending).toBe(0);
  });
});
