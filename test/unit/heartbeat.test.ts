import { describe, it, expect } from "vitest";
import { Backoff, Liveness, ManualClock, HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, RECONNECT_INTERVAL, RECONNECT_MAX_INTERVAL } from "../../src/index.js";

describe("6/PPP constants", () => {
  it("match the spec", () => {
    expect([HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, RECONNECT_INTERVAL, RECONNECT_MAX_INTERVAL]).toEqual([1000, 3, 1000, 32000]);
  });
});

describe("Liveness", () => {
  it("expires after interval x liveness of silence; heard() resets it", () => {
    const clock = new ManualClock(5000);
    const l = new Liveness({ interval: 100, liveness: 3, clock });
    expect(l.timeout).toBe(300);
    expect(l.expiresAt).toBe(5300);
    expect(l.remaining).toBe(3);
    clock.advance(150);
    expect(l.remaining).toBe(2);
    expect(l.expired).toBe(false);
    l.heard();
    expect(l.lastHeard).toBe(5150);
    clock.advance(299);
    expect(l.expired).toBe(false);
    expect(l.remaining).toBe(1);
    clock.advance(1);
    expect(l.expired).toBe(true);
    expect(l.remaining).toBe(0);
    clock.advance(10_000);
    expect(l.remaining).toBe(0);
  });

  it("defaults to the 6/PPP values and validates options", () => {
    const l = new Liveness({ clock: new ManualClock() });
    expect([l.interval, l.liveness, l.timeout]).toEqual([1000, 3, 3000]);
    expect(() => new Liveness({ interval: 0 })).toThrow(/`interval`/);
    expect(() => new Liveness({ liveness: 1.5 })).toThrow(/`liveness`/);
    expect(() => new Liveness("x" as never)).toThrow(TypeError);
    expect(() => new Liveness({ clock: Date as never })).toThrow(/`clock`/);
  });
});

describe("Backoff", () => {
  it("1000, 2000, ... 32000, 32000 and reset", () => {
    const b = new Backoff();
    const seq = Array.from({ length: 8 }, () => b.next());
    expect(seq).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000]);
    expect(b.attempts).toBe(8);
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.current).toBe(1000);
    expect(b.next()).toBe(1000);
    expect(b.current).toBe(2000);
  });

  it("custom initial/max/factor; a cap that is not a power of two is reached exactly", () => {
    const b = new Backoff({ initial: 100, max: 500, factor: 3 });
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([100, 300, 500, 500]);
    const z = new Backoff({ initial: 0, max: 8 });
    expect([z.next(), z.next(), z.next(), z.next(), z.next()]).toEqual([0, 2, 4, 8, 8]);
  });

  it("validates options", () => {
    expect(() => new Backoff({ initial: -1 })).toThrow(/`initial`/);
    expect(() => new Backoff({ initial: 5000, max: 1000 })).toThrow(/`max`/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/`factor`/);
  });
});
