import { describe, it, expect } from "vitest";
import { ManualClock, Reactor, systemClock, type Clock } from "../../src/index.js";

describe("ManualClock", () => {
  it("never goes backwards: advance rejects negative or non-finite steps", () => {
    const clock = new ManualClock(100);
    expect(() => clock.advance(-1)).toThrow(/`ms`/);
    expect(() => clock.advance(Number.NaN)).toThrow(TypeError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(TypeError);
    expect(clock.now()).toBe(100);
    expect(clock.advance(0)).toBe(0);
  });

  it("fires due timers in order with now() at each due time; cancel is idempotent", () => {
    const clock = new ManualClock(1000);
    const seen: [string, number][] = [];
    clock.setTimer(() => seen.push(["b", clock.now()]), 20);
    clock.setTimer(() => seen.push(["a", clock.now()]), 10);
    const cancel = clock.setTimer(() => seen.push(["x", clock.now()]), 15);
    clock.setTimer(() => seen.push(["a2", clock.now()]), 10);
    cancel();
    cancel();
    expect(clock.pending).toBe(3);
    expect(clock.advance(15)).toBe(2);
    expect(seen).toEqual([["a", 1010], ["a2", 1010]]);
    expect(clock.now()).toBe(1015);
    // a timer set by a firing timer fires in the same advance when it falls due
    clock.setTimer(() => clock.setTimer(() => seen.push(["nested", clock.now()]), 1), 0);
    clock.advance(10);
    expect(seen.slice(2)).toEqual([["nested", 1016], ["b", 1020]]);
    expect(clock.pending).toBe(0);
  });
});

describe("systemClock", () => {
  it("is monotonic and its timers are unref'd and cancellable", async () => {
    const a = systemClock.now();
    let fired = 0;
    const cancel = systemClock.setTimer(() => fired++, 1);
    cancel();
    await new Promise<void>((resolve) => systemClock.setTimer(resolve, 5));
    expect(systemClock.now()).toBeGreaterThan(a);
    expect(fired).toBe(0);
  });

  it("a delay beyond setTimeout's 2^31-1 ms limit does not fire at once", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on("warning", onWarning);
    let fired = 0;
    const cancel = systemClock.setTimer(() => fired++, 3_000_000_000);
    try {
      await new Promise((r) => setTimeout(r, 30));
      expect(fired).toBe(0);
      expect(warnings).not.toContain("TimeoutOverflowWarning");
    } finally {
      cancel();
      process.off("warning", onWarning);
    }
  });

  it("a reactor timer 30 days out does not spin", async () => {
    let armed = 0;
    const counting: Clock = { now: () => systemClock.now(), setTimer: (fn, ms) => (armed++, systemClock.setTimer(fn, ms)) };
    const reactor = new Reactor({ clock: counting });
    let fired = 0;
    reactor.after(30 * 24 * 3600 * 1000, () => fired++);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(0);
    expect(armed).toBe(1); // armed once, not re-armed every millisecond
    await reactor.close();
  });
});
