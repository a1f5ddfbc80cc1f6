/** TitanicScheduler on ManualClock: checks before dispatch, no slot for a dead service, TTL and re-check back-off to the ms, round-robin. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/index.js";
import { TitanicScheduler, type ServiceCheck, type TitanicEntry } from "../../../patterns/titanic/index.js";

/** A promise settled by hand. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

/** A scheduler whose checks and dispatches are held until the test answers them. */
function harness(options: { concurrency?: number; pendingTimeout?: number } = {}) {
  const clock = new ManualClock(0);
  const checks: { service: string; answer: (r: ServiceCheck) => void }[] = [];
  const dispatches: { uuid: string; answer: (done: boolean) => void }[] = [];
  const expired: { uuid: string; waitedMs: number }[] = [];
  const s = new TitanicScheduler({
    clock,
    concurrency: options.concurrency ?? 4,
    dispatchInterval: 100,
    pendingTimeout: options.pendingTimeout ?? 1000,
    check: (service) => {
      const d = deferred<ServiceCheck>();
      checks.push({ service, answer: d.resolve });
      return d.promise;
    },
    dispatch: (entry) => {
      const d = deferred<boolean>();
      dispatches.push({ uuid: entry.uuid, answer: d.resolve });
      return d.promise;
    },
    expire: (entry, waitedMs) => expired.push({ uuid: entry.uuid, waitedMs }),
  });
  const add = (uuid: string, service: string) => s.add({ uuid, service, since: clock.now() } satisfies TitanicEntry);
  /** Move time by `ms` and run the scheduler's periodic pass (as the server's timer does). */
  const tick = (ms: number) => {
    clock.advance(ms);
    s.pass();
  };
  return { clock, s, add, tick, checks, dispatches, expired };
}

describe("TitanicScheduler", () => {
  it("checks a service before dispatching to it; a dead one holds no slot, is re-checked after 100, 200, 400 ... up to 1000 ms, and its requests expire after pendingTimeout, to the ms", async () => {
    const h = harness({ pendingTimeout: 3000 });
    h.add("d1", "dead");
    h.s.kick();
    expect(h.checks.map((c) => c.service)).toEqual(["dead"]);
    h.checks[0]!.answer("down");
    await flush();
    expect(h.s.stats()).toMatchObject({ serviceChecks: 1, services: 1, servicesDown: 1 });
    expect(h.dispatches).toEqual([]);
    // Re-checks back off: 100, 200, 400, 800, then 1000 (10 intervals) ms after each 404.
    const due: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const before = h.checks.length;
      while (h.checks.length === before) h.tick(1);
      due.push(h.clock.now());
      h.checks.at(-1)!.answer("down");
      await flush();
    }
    expect(due).toEqual([100, 300, 700, 1500, 2500]);
    expect(h.expired).toEqual([]);
    while (h.expired.length === 0) h.tick(1);
    // d1 (stored at 0) expired at the pass at 3000, the service being down.
    expect(h.clock.now()).toBe(3000);
    expect(h.expired).toEqual([{ uuid: "d1", waitedMs: 3000 }]);
    expect(h.s.has("d1")).toBe(false);
    expect(h.s.size).toBe(0);
  });

  it("never expires a request whose service has a worker, however long it waits", async () => {
    const h = harness({ concurrency: 1, pendingTimeout: 500 });
    h.add("a", "slow");
    h.s.kick();
    h.checks[0]!.answer("up");
    await flush();
    expect(h.dispatches.map((d) => d.uuid)).toEqual(["a"]);
    h.tick(5000);
    expect(h.expired).toEqual([]);
    h.dispatches[0]!.answer(true);
    await flush();
    expect(h.s.size).toBe(0);
    expect(h.s.stats().services).toBe(0);
  });

  it("a failed dispatch puts the request back and re-checks its service after dispatchInterval before the next dispatch", async () => {
    const h = harness();
    h.add("a", "svc");
    h.s.kick();
    h.checks[0]!.answer("up");
    await flush();
    h.dispatches[0]!.answer(false);
    await flush();
    expect(h.s.has("a")).toBe(true);
    h.tick(99);
    expect(h.checks).toHaveLength(1);
    h.tick(1);
    expect(h.checks).toHaveLength(2);
    h.checks[1]!.answer("up");
    await flush();
    expect(h.dispatches.map((d) => d.uuid)).toEqual(["a", "a"]);
  });

  it("shares the slots round-robin across services and between checks and dispatches: 238 requests for dead services do not delay one for a live service", async () => {
    const h = harness({ concurrency: 2 });
    for (let i = 0; i < 119; i++) h.add(`g${i}`, "ghost");
    for (let i = 0; i < 119; i++) h.add(`x${i}`, `ghost.${i}`);
    h.add("legit", "echo");
    h.s.kick();
    // Each check answered at once: the live service's request is dispatched after a bounded
    // number of checks, not after the dead backlog.
    let checksBefore = 0;
    while (h.dispatches.length === 0) {
      const pending = h.checks.slice(checksBefore);
      expect(pending.length).toBeGreaterThan(0);
      checksBefore = h.checks.length;
      for (const c of pending) c.answer(c.service === "echo" ? "up" : "down");
      await flush();
    }
    expect(h.dispatches.map((d) => d.uuid)).toEqual(["legit"]);
    // One check per service (not per request): 121 services.
    expect(h.s.stats()).toMatchObject({ serviceChecks: 121, servicesDown: 120 });

    // Two live services with backlogs: dispatches alternate between them.
    const r = harness({ concurrency: 2 });
    for (let i = 0; i < 3; i++) r.add(`a${i}`, "A");
    for (let i = 0; i < 3; i++) r.add(`b${i}`, "B");
    r.s.kick();
    for (const c of r.checks) c.answer("up");
    await flush();
    for (let answered = 0; r.s.size > 0; answered++) {
      r.dispatches[answered]!.answer(true);
      await flush();
    }
    // A's check settled first, so A took the free slot, then the next one before B's check
    // settled; from then on, one each in turn.
    expect(r.dispatches.map((d) => d.uuid)).toEqual(["a0", "a1", "b0", "a2", "b1", "b2"]);
  });

  it("a request removed while in flight is not put back; stop() starts nothing more", async () => {
    const h = harness();
    h.add("a", "svc");
    h.add("b", "svc");
    h.s.kick();
    h.checks[0]!.answer("up");
    await flush();
    expect(h.dispatches.map((d) => d.uuid)).toEqual(["a", "b"]);
    h.s.remove("a");
    h.dispatches[0]!.answer(false);
    await flush();
    expect(h.s.has("a")).toBe(false);
    h.s.stop();
    h.add("c", "svc");
    h.s.kick();
    expect(h.dispatches).toHaveLength(2);
  });
});
