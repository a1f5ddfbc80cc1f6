/**
 * The request engine on a ManualClock, to the millisecond: no sockets, no wall clock.
 */
import { describe, expect, it } from "vitest";
import {
  AbortedError,
  ClosedError,
  InvalidOptionError,
  ManualClock,
  QueueFullError,
  RequestAbandonedError,
  RequestEngine,
  Scheduler,
  TimeoutError,
  requestSettings,
  type RequestAdapter,
} from "../../src/index.js";

interface Outcome {
  settled: boolean;
  value?: string;
  error?: unknown;
}

function track(p: Promise<string>): Outcome {
  const o: Outcome = { settled: false };
  p.then(
    (value) => Object.assign(o, { settled: true, value }),
    (error: unknown) => Object.assign(o, { settled: true, error }),
  );
  return o;
}

/** Let promise callbacks run (no time passes on the ManualClock). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options: Record<string, unknown> = {}, adapter: Partial<RequestAdapter<string>> = {}, random?: () => number) {
  const clock = new ManualClock();
  const timerErrors: unknown[] = [];
  const timers = new Scheduler(clock, (error) => timerErrors.push(error));
  const log: string[] = [];
  const events: { event: string; payload: Record<string, unknown> }[] = [];
  const settings = requestSettings("Test", { endpoint: "tcp://a:1", requestTimeout: 1000, ...options }, { maxInFlight: 1 });
  const engine = new RequestEngine<string, string>({
    owner: "Test",
    settings,
    timers,
    random,
    adapter: {
      send: (a) => void log.push(`send ${a.request}#${a.attempt} ${a.endpoint} @${clock.now()}`),
      reset: (a, reason) => void log.push(`reset ${a.request}#${a.attempt} ${reason} @${clock.now()}`),
      release: (id) => void log.push(`release ${id}`),
      failover: (to, from) => void log.push(`failover ${from} -> ${to} @${clock.now()}`),
      ...adapter,
    },
    emit: (event, ...args) => void events.push({ event, payload: args[0] as Record<string, unknown> }),
  });
  const sends = () => log.filter((l) => l.startsWith("send"));
  const named = (event: string) => events.filter((e) => e.event === event).map((e) => e.payload);
  return { clock, engine, log, events, sends, named, timerErrors };
}

describe("RequestEngine: timeouts, retries, backoff", () => {
  it("times an attempt out exactly at requestTimeout and resends at once by default", async () => {
    const { clock, engine, sends, named } = setup({ retries: 1 });
    const r = track(engine.submit("q"));
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0"]);
    clock.advance(999);
    expect(named("request:timeout")).toHaveLength(0);
    clock.advance(1);
    expect(named("request:timeout")).toEqual([{ id: 1, attempt: 1, endpoint: "tcp://a:1", timeout: 1000, retriesLeft: 1, request: "q" }]);
    expect(named("request:retry")).toEqual([{ id: 1, attempt: 2, endpoint: "tcp://a:1", timeout: 1000, retriesLeft: 0, delay: 0, request: "q" }]);
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0", "send q#2 tcp://a:1 @1000"]);
    clock.advance(999);
    await flush();
    expect(r.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(r.error).toBeInstanceOf(RequestAbandonedError);
    expect(engine.stats()).toMatchObject({ requests: 1, sent: 2, timeouts: 2, retries: 1, abandoned: 1, inFlight: 0 });
  });

  it("resets the link after each timed-out attempt, before the resend", () => {
    const { clock, engine, log } = setup({ retries: 1 });
    void engine.submit("q").catch(() => undefined);
    clock.advance(2000);
    expect(log).toEqual(["send q#1 tcp://a:1 @0", "reset q#1 timeout @1000", "send q#2 tcp://a:1 @1000", "reset q#2 timeout @2000", "release 1"]);
  });

  it("abandons after retries + 1 attempts with one error: RequestAbandonedError, a TimeoutError with its own code", async () => {
    const { clock, engine, sends, named } = setup({ retries: 2 });
    const r = track(engine.submit("q"));
    clock.advance(2999);
    await flush();
    expect(r.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(sends()).toHaveLength(3);
    const error = r.error as RequestAbandonedError;
    expect(error).toBeInstanceOf(RequestAbandonedError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.code).toBe("ZMQP_REQUEST_ABANDONED");
    expect([error.attempts, error.requestTimeout, error.endpoint]).toEqual([3, 1000, "tcp://a:1"]);
    expect(named("request:abandoned")).toEqual([{ id: 1, attempt: 3, endpoint: "tcp://a:1", timeout: 1000, retriesLeft: 0, request: "q" }]);
    expect(named("request:retry").map((e) => e.attempt)).toEqual([2, 3]);
  });

  it("retries: 0 abandons at the first timeout", async () => {
    const { clock, engine } = setup({ retries: 0 });
    const r = track(engine.submit("q"));
    clock.advance(1000);
    await flush();
    expect((r.error as RequestAbandonedError).attempts).toBe(1);
  });

  it("waits the backoff between attempts: initial * factor^(n-1), capped at max", async () => {
    const { clock, engine, sends, named } = setup({ retries: 4, backoff: { initial: 100, factor: 2, max: 300 } });
    const r = track(engine.submit("q"));
    clock.advance(1099);
    expect(sends()).toHaveLength(1);
    clock.advance(1);
    clock.advance(10_000);
    await flush();
    expect(sends().map((s) => s.split("@")[1])).toEqual(["0", "1100", "2300", "3600", "4900"]);
    expect(named("request:retry").map((e) => e.delay)).toEqual([100, 200, 300, 300]);
    expect(r.error).toBeInstanceOf(RequestAbandonedError);
  });

  it("jitter multiplies each delay by 1..2 (random source injected)", () => {
    const { clock, engine, sends } = setup({ retries: 1, backoff: { initial: 100, jitter: true } }, {}, () => 0.5);
    void engine.submit("q").catch(() => undefined);
    clock.advance(1149);
    expect(sends()).toHaveLength(1);
    clock.advance(1);
    expect(sends()[1]).toBe("send q#2 tcp://a:1 @1150");
  });

  it("a per-request requestTimeout and retries override the engine's", async () => {
    const { clock, engine } = setup({ retries: 3 });
    const r = track(engine.submit("q", { requestTimeout: 300, retries: 0 }));
    clock.advance(299);
    await flush();
    expect(r.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(r.error).toMatchObject({ attempts: 1, requestTimeout: 300 });
  });

  it("a reply settles the request and stops its timer", async () => {
    const { clock, engine, log, named } = setup();
    const r = track(engine.submit("q"));
    clock.advance(500);
    expect(engine.resolve(1, "answer")).toBe(true);
    await flush();
    expect(r.value).toBe("answer");
    clock.advance(10_000);
    expect(named("request:timeout")).toHaveLength(0);
    expect(log).toEqual(["send q#1 tcp://a:1 @0", "release 1"]);
    expect(engine.stats()).toMatchObject({ replies: 1, timeouts: 0, inFlight: 0 });
  });

  it("extend() (a partial reply) restarts the attempt's timeout", () => {
    const { clock, engine, named } = setup({ retries: 0 });
    void engine.submit("q").catch(() => undefined);
    clock.advance(600);
    expect(engine.extend(1)).toBe(true);
    clock.advance(999);
    expect(named("request:timeout")).toHaveLength(0);
    clock.advance(1);
    expect(named("request:timeout")).toHaveLength(1);
  });

  it("a request the adapter calls not retryable is abandoned at its first timeout", async () => {
    const { clock, engine, sends } = setup({ retries: 5 }, { retryable: () => false });
    const r = track(engine.submit("q"));
    clock.advance(1000);
    await flush();
    expect(sends()).toHaveLength(1);
    expect(r.error).toBeInstanceOf(RequestAbandonedError);
  });

  it("reject(id, error) fails a request with the peer's error (counted as failed)", async () => {
    const { engine } = setup();
    const r = track(engine.submit("q"));
    const error = new Error("expired at the broker");
    expect(engine.reject(1, error)).toBe(true);
    await flush();
    expect(r.error).toBe(error);
    expect(engine.stats()).toMatchObject({ failed: 1, inFlight: 0 });
  });

  it("a send that throws rejects that request and admits the next", async () => {
    let n = 0;
    const { engine } = setup({}, {
      send: () => {
        if (++n === 1) throw new Error("no socket");
      },
    });
    const a = track(engine.submit("a"));
    const b = track(engine.submit("b"));
    await flush();
    expect((a.error as Error).message).toBe("no socket");
    expect(b.settled).toBe(false);
    expect(engine.stats()).toMatchObject({ failed: 1, inFlight: 1, sent: 2 });
  });
});

describe("RequestEngine: pending queue and in-flight limit", () => {
  it("keeps at most maxInFlight requests in flight; the rest wait in order", async () => {
    const { engine, sends } = setup({ maxInFlight: 3 });
    const outcomes = ["a", "b", "c", "d", "e"].map((p) => track(engine.submit(p)));
    expect(sends().map((s) => s.split(" ")[1])).toEqual(["a#1", "b#1", "c#1"]);
    expect(engine.stats()).toMatchObject({ inFlight: 3, pending: 2 });
    engine.resolve(2, "B");
    expect(sends().map((s) => s.split(" ")[1])).toEqual(["a#1", "b#1", "c#1", "d#1"]);
    engine.resolve(1, "A");
    engine.resolve(3, "C");
    expect(sends()).toHaveLength(5);
    expect(engine.stats()).toMatchObject({ inFlight: 2, pending: 0 });
    await flush();
    expect(outcomes.map((o) => o.value)).toEqual(["A", "B", "C", undefined, undefined]);
  });

  for (const policy of ["reject", "drop-newest"] as const) {
    it(`pendingOverflow ${policy}: the new request rejects with QueueFullError, counted`, async () => {
      const { engine, named } = setup({ maxPending: 2, pendingOverflow: policy });
      const outcomes = ["a", "b", "c", "d"].map((p) => track(engine.submit(p)));
      await flush();
      expect(outcomes.map((o) => o.settled)).toEqual([false, false, false, true]);
      expect(outcomes[3]!.error).toBeInstanceOf(QueueFullError);
      expect(engine.stats()).toMatchObject({ requests: 3, dropped: 1, pending: 2, inFlight: 1 });
      expect(named("request:dropped")).toEqual([{ id: 4, attempt: 0, endpoint: "tcp://a:1", timeout: 1000, retriesLeft: 3, request: "d" }]);
    });
  }

  it("pendingOverflow drop-oldest: the oldest waiting request rejects, the new one waits", async () => {
    const { engine, sends } = setup({ maxPending: 2, pendingOverflow: "drop-oldest" });
    const outcomes = ["a", "b", "c", "d"].map((p) => track(engine.submit(p)));
    await flush();
    expect(outcomes.map((o) => o.settled)).toEqual([false, true, false, false]);
    expect(outcomes[1]!.error).toBeInstanceOf(QueueFullError);
    engine.resolve(1, "A");
    engine.resolve(3, "C");
    expect(sends().map((s) => s.split(" ")[1])).toEqual(["a#1", "c#1", "d#1"]);
    expect(engine.stats()).toMatchObject({ requests: 4, dropped: 1 });
  });

  it("the client default is reject, and maxPending 0 lets nothing wait", async () => {
    expect(requestSettings("T", { endpoint: "tcp://a:1" }, { maxInFlight: 1 })).toMatchObject({ pendingOverflow: "reject", maxPending: 1000 });
    const { engine } = setup({ maxPending: 0, pendingOverflow: "drop-oldest" });
    const a = track(engine.submit("a"));
    const b = track(engine.submit("b"));
    await flush();
    expect(a.settled).toBe(false);
    expect(b.error).toBeInstanceOf(QueueFullError);
    expect(engine.stats()).toMatchObject({ dropped: 1, pending: 0 });
  });
});

describe("RequestEngine: abort", () => {
  it("before send (signal already aborted): AbortedError, nothing sent", async () => {
    const { engine, sends } = setup();
    const reason = new Error("user");
    const error = await engine.submit("q", { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toBe(reason);
    expect(sends()).toEqual([]);
    expect(engine.stats()).toMatchObject({ aborted: 1, requests: 0 });
  });

  it("while waiting in the queue: it leaves the queue and is never sent", async () => {
    const { engine, sends } = setup();
    const ac = new AbortController();
    void engine.submit("a");
    const b = track(engine.submit("b", { signal: ac.signal }));
    ac.abort();
    await flush();
    expect(b.error).toBeInstanceOf(AbortedError);
    expect(engine.stats()).toMatchObject({ pending: 0, aborted: 1 });
    engine.resolve(1, "A");
    expect(sends().map((s) => s.split(" ")[1])).toEqual(["a#1"]);
  });

  it("during an attempt: the link is reset (reason abort), the timer stops, the next request goes", async () => {
    const { clock, engine, log } = setup();
    const ac = new AbortController();
    const a = track(engine.submit("a", { signal: ac.signal }));
    void engine.submit("b");
    clock.advance(400);
    ac.abort();
    await flush();
    expect(a.error).toBeInstanceOf(AbortedError);
    expect(log).toEqual(["send a#1 tcp://a:1 @0", "reset a#1 abort @400", "release 1", "send b#1 tcp://a:1 @400"]);
    clock.advance(600);
    expect(engine.stats()).toMatchObject({ timeouts: 0, aborted: 1, inFlight: 1 });
  });

  it("during the backoff: no resend, no second reset", async () => {
    const { clock, engine, log } = setup({ backoff: { initial: 500 } });
    const ac = new AbortController();
    const a = track(engine.submit("a", { signal: ac.signal }));
    clock.advance(1200);
    ac.abort();
    clock.advance(5000);
    await flush();
    expect(a.error).toBeInstanceOf(AbortedError);
    expect(log).toEqual(["send a#1 tcp://a:1 @0", "reset a#1 timeout @1000", "release 1"]);
  });

  it("after the reply: nothing happens", async () => {
    const { engine, log } = setup();
    const ac = new AbortController();
    const a = track(engine.submit("a", { signal: ac.signal }));
    engine.resolve(1, "A");
    ac.abort();
    await flush();
    expect(a.value).toBe("A");
    expect(log).toEqual(["send a#1 tcp://a:1 @0", "release 1"]);
    expect(engine.stats().aborted).toBe(0);
  });
});

describe("RequestEngine: close", () => {
  it("rejects every request (in flight, in backoff, waiting) with the ClosedError, and later ones too", async () => {
    const { clock, engine, log, named } = setup({ maxInFlight: 2, backoff: { initial: 5000 } });
    const a = track(engine.submit("a"));
    clock.advance(1000); // a is now in its backoff
    const b = track(engine.submit("b"));
    const c = track(engine.submit("c"));
    const closed = new ClosedError("Test is closed");
    engine.close(closed);
    expect(engine.closed).toBe(true);
    await flush();
    for (const o of [a, b, c]) expect(o.error).toBe(closed);
    expect(await engine.submit("d").catch((e: unknown) => e)).toBe(closed);
    expect(engine.stats()).toMatchObject({ closed: 3, inFlight: 0, pending: 0 });
    expect(log.filter((l) => l.startsWith("release")).sort()).toEqual(["release 1", "release 2"]);
    expect(log.filter((l) => l.startsWith("reset"))).toEqual(["reset a#1 timeout @1000"]);
    clock.advance(60_000);
    expect(named("request:timeout")).toHaveLength(1);
    expect(log.filter((l) => l.startsWith("send"))).toHaveLength(2);
  });
});

describe("RequestEngine: failover across endpoints", () => {
  it("sends to one endpoint at a time and moves to the next on timeout, wrapping around", async () => {
    const { clock, engine, sends, named, log } = setup({ endpoint: ["tcp://a:1", "tcp://b:1", "tcp://c:1"], retries: 3 });
    const r = track(engine.submit("q"));
    clock.advance(4000);
    await flush();
    expect(sends().map((s) => s.split(" ")[2])).toEqual(["tcp://a:1", "tcp://b:1", "tcp://c:1", "tcp://a:1"]);
    expect(named("endpoint:failover")).toEqual([
      { from: "tcp://a:1", to: "tcp://b:1" },
      { from: "tcp://b:1", to: "tcp://c:1" },
      { from: "tcp://c:1", to: "tcp://a:1" },
      { from: "tcp://a:1", to: "tcp://b:1" },
    ]);
    // The adapter hears of the move before it resets the link, so the new link goes to the new endpoint.
    expect(log.slice(1, 3)).toEqual(["failover tcp://a:1 -> tcp://b:1 @1000", "reset q#1 timeout @1000"]);
    expect((r.error as RequestAbandonedError).endpoint).toBe("tcp://a:1");
    expect(engine.endpoint).toBe("tcp://b:1");
    expect(engine.stats().failovers).toBe(4);
  });

  it("a later request starts on the endpoint that answered last; never round-robin", () => {
    const { clock, engine, sends } = setup({ endpoint: ["tcp://a:1", "tcp://b:1"], maxInFlight: 5 });
    void engine.submit("x");
    clock.advance(1000); // x: a timed out, resent to b
    engine.resolve(1, "X");
    for (const p of ["p", "q", "r"]) void engine.submit(p);
    expect(sends().map((s) => s.split(" ").slice(1, 3).join(" "))).toEqual(["x#1 tcp://a:1", "x#2 tcp://b:1", "p#1 tcp://b:1", "q#1 tcp://b:1", "r#1 tcp://b:1"]);
  });

  it("a burst of timeouts from one endpoint fails over once", () => {
    const { clock, engine, sends, named } = setup({ endpoint: ["tcp://a:1", "tcp://b:1", "tcp://c:1"], maxInFlight: 3 });
    for (const p of ["p", "q", "r"]) void engine.submit(p).catch(() => undefined);
    clock.advance(1000);
    expect(named("endpoint:failover")).toHaveLength(1);
    expect(sends().slice(3).map((s) => s.split(" ")[2])).toEqual(["tcp://b:1", "tcp://b:1", "tcp://b:1"]);
  });
});

describe("RequestEngine: failoverDelay (the Binary Star settle delay)", () => {
  it("defaults to 0: the resend to the next endpoint goes at once", () => {
    const { clock, engine, sends } = setup({ endpoint: ["tcp://a:1", "tcp://b:1"] });
    expect(engine.settings.failoverDelay).toBe(0);
    void engine.submit("q");
    clock.advance(1000);
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0", "send q#2 tcp://b:1 @1000"]);
  });

  it("waits failoverDelay before resending to the other endpoint, to the millisecond", async () => {
    const { clock, engine, sends, named, log } = setup({ endpoint: ["tcp://a:1", "tcp://b:1"], failoverDelay: 2000, retries: 3 });
    const r = track(engine.submit("q"));
    clock.advance(1000);
    // Failed over and reset at once; the resend waits.
    expect(log).toContain("failover tcp://a:1 -> tcp://b:1 @1000");
    expect(log).toContain("reset q#1 timeout @1000");
    expect(named("request:retry")).toMatchObject([{ attempt: 2, endpoint: "tcp://b:1", delay: 2000 }]);
    clock.advance(1999);
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0"]);
    clock.advance(1);
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0", "send q#2 tcp://b:1 @3000"]);
    engine.resolve(1, "Q");
    await flush();
    expect(r.value).toBe("Q");
    expect(engine.stats()).toMatchObject({ sent: 2, retries: 1, failovers: 1, timeouts: 1 });
  });

  it("the delay is not the request's timeout: the attempt after it gets its full requestTimeout", () => {
    const { clock, engine, sends } = setup({ endpoint: ["tcp://a:1", "tcp://b:1"], failoverDelay: 500, retries: 2 });
    void engine.submit("q").catch(() => undefined);
    clock.advance(1000 + 500 + 999);
    expect(sends()).toHaveLength(2);
    clock.advance(1); // b timed out at 2500: back to a after 500 more
    expect(sends()).toHaveLength(2);
    clock.advance(500);
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0", "send q#2 tcp://b:1 @1500", "send q#3 tcp://a:1 @3000"]);
  });

  it("applies only when the resend changes endpoint (one endpoint: no delay), and the longer of it and the backoff wins", () => {
    const one = setup({ endpoint: "tcp://a:1", failoverDelay: 2000 });
    void one.engine.submit("q");
    one.clock.advance(1000);
    expect(one.sends()).toEqual(["send q#1 tcp://a:1 @0", "send q#2 tcp://a:1 @1000"]);

    const both = setup({ endpoint: ["tcp://a:1", "tcp://b:1"], failoverDelay: 300, backoff: { initial: 100, factor: 4 }, retries: 3 });
    void both.engine.submit("q").catch(() => undefined);
    both.clock.advance(1000); // resend 1: max(100, 300) = 300
    both.clock.advance(300);
    both.clock.advance(1000); // resend 2: max(400, 300) = 400
    both.clock.advance(400);
    both.clock.advance(1000); // resend 3: max(1600, 300) = 1600
    both.clock.advance(1600);
    expect(both.sends()).toEqual(["send q#1 tcp://a:1 @0", "send q#2 tcp://b:1 @1300", "send q#3 tcp://a:1 @2700", "send q#4 tcp://b:1 @5300"]);
  });

  it("a request aborted during the delay is never resent", async () => {
    const { clock, engine, sends } = setup({ endpoint: ["tcp://a:1", "tcp://b:1"], failoverDelay: 2000 });
    const ac = new AbortController();
    const r = track(engine.submit("q", { signal: ac.signal }));
    clock.advance(1500);
    ac.abort();
    await flush();
    expect(r.error).toBeInstanceOf(AbortedError);
    clock.advance(5000);
    expect(sends()).toEqual(["send q#1 tcp://a:1 @0"]);
  });

  it("is validated: an integer >= 0", () => {
    for (const bad of [-1, 1.5, "2000"]) {
      expect(() => requestSettings("T", { endpoint: "tcp://a:1", failoverDelay: bad }, { maxInFlight: 1 })).toThrow(InvalidOptionError);
    }
  });
});

describe("RequestEngine: stale and unknown replies", () => {
  it("a reply to an earlier attempt is stale: ignored and counted, the request still waits", async () => {
    const { clock, engine, named } = setup({ retries: 2 });
    const r = track(engine.submit("q"));
    clock.advance(1000); // attempt 2 in flight
    expect(engine.resolve(1, "late", 1)).toBe(false);
    await flush();
    expect(r.settled).toBe(false);
    expect(engine.stats()).toMatchObject({ stale: 1, discarded: 1, replies: 0 });
    expect(named("reply:discarded")).toEqual([{ reason: "stale", id: 1 }]);
    expect(engine.resolve(1, "fresh", 2)).toBe(true);
    await flush();
    expect(r.value).toBe("fresh");
  });

  it("a tagged reply during the backoff is stale; an untagged one (one id across attempts) answers", async () => {
    const { clock, engine } = setup({ backoff: { initial: 500 } });
    const r = track(engine.submit("q"));
    clock.advance(1100);
    expect(engine.resolve(1, "tagged", 1)).toBe(false);
    expect(engine.resolve(1, "untagged")).toBe(true);
    await flush();
    expect(r.value).toBe("untagged");
  });

  it("a reply for a request not in flight (late, duplicate, unknown) is ignored and counted", () => {
    const { engine, named } = setup();
    void engine.submit("q");
    expect(engine.resolve(1, "first")).toBe(true);
    expect(engine.resolve(1, "duplicate")).toBe(false);
    expect(engine.resolve(99, "stranger")).toBe(false);
    expect(engine.discard("rejected", 1)).toBe(false);
    expect(engine.stats()).toMatchObject({ replies: 1, discarded: 3, stale: 0 });
    expect(named("reply:discarded").map((e) => e.reason)).toEqual(["unknown", "unknown", "rejected"]);
  });
});

describe("RequestEngine: options", () => {
  it("requestSettings validates with InvalidOptionError naming the option, and names renamed options", () => {
    const bad: [Record<string, unknown>, string][] = [
      [{}, "endpoint"],
      [{ endpoint: [] }, "endpoint"],
      [{ endpoint: ["tcp://a:1", "nope"] }, "endpoint"],
      [{ endpoint: "tcp://a:1", requestTimeout: 0 }, "requestTimeout"],
      [{ endpoint: "tcp://a:1", retries: 1.5 }, "retries"],
      [{ endpoint: "tcp://a:1", maxPending: -1 }, "maxPending"],
      [{ endpoint: "tcp://a:1", pendingOverflow: "wait" }, "pendingOverflow"],
      [{ endpoint: "tcp://a:1", maxInFlight: 2 }, "maxInFlight"],
      [{ endpoint: "tcp://a:1", backoff: 5 }, "backoff"],
      [{ endpoint: "tcp://a:1", backoff: { initial: -1 } }, "initial"],
      [{ endpoint: "tcp://a:1", timeout: 100 }, "timeout"],
      [{ endpoint: "tcp://a:1", maxQueued: 1 }, "maxQueued"],
      [{ endpoint: "tcp://a:1", pendingLimit: 1 }, "pendingLimit"],
      [{ endpoint: "tcp://a:1", overflow: "reject" }, "overflow"],
    ];
    for (const [bag, name] of bad) {
      const error = (() => {
        try {
          requestSettings("T", bag, { maxInFlight: 1, maxInFlightLimit: 1 });
        } catch (e) {
          return e;
        }
      })();
      expect(error, name).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option, name).toBe(name);
    }
    expect(() => requestSettings("T", { endpoint: "tcp://a:1", timeout: 5 }, { maxInFlight: 1 })).toThrow("`timeout` is now called `requestTimeout`");
    expect(requestSettings("T", { endpoint: ["tcp://a:1", "tcp://b:1"] }, { maxInFlight: 7 })).toMatchObject({
      endpoints: ["tcp://a:1", "tcp://b:1"],
      requestTimeout: 2500,
      retries: 3,
      maxInFlight: 7,
      backoff: { initial: 0, max: Infinity, factor: 2, jitter: false },
    });
  });

  it("submit() rejects bad request options (never throws), and counts nothing", async () => {
    const { engine, sends } = setup();
    for (const [options, name] of [[{ requestTimeout: -5 }, "requestTimeout"], [{ retries: "x" }, "retries"], [{ signal: {} }, "signal"], [{ timeout: 5 }, "timeout"], [5, "options"]] as const) {
      const p = engine.submit("q", options as never);
      const error = await p.catch((e: unknown) => e);
      expect(error, name).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option, name).toBe(name);
    }
    expect(sends()).toEqual([]);
    expect(engine.stats().requests).toBe(0);
  });
});
