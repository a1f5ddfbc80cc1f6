/**
 * Exactly-once requests (src/exactly-once.ts): the stamp codec, the ReplyCache on a
 * ManualClock (size bound, TTL to the millisecond), the option validation, and the
 * RequestRunner answering duplicates from the cache (src/worker.ts), socket-free.
 */
import { describe, expect, it } from "vitest";
import {
  InvalidOptionError,
  ManualClock,
  MAX_WAITING_DUPLICATES,
  ReplyCache,
  RequestRunner,
  RequestStamper,
  Scheduler,
  STAMP_MARKER,
  clientIdOption,
  parseStamp,
  replyCacheOption,
  requestSettings,
  stampFrame,
  type MessageLike,
  type WorkerEvents,
  type WorkerJob,
} from "../../src/index.js";

const frames = (...texts: string[]) => texts.map((t) => Buffer.from(t));

describe("stamp frame", () => {
  it("encodes marker, 64-bit big-endian sequence and client id, and parses back", () => {
    const f = stampFrame(Buffer.from("client-1"), 2n ** 40n + 7n);
    expect(f.subarray(0, 4)).toEqual(STAMP_MARKER);
    expect(f.readBigUInt64BE(4)).toBe(2n ** 40n + 7n);
    expect(f.subarray(12).toString()).toBe("client-1");
    const s = parseStamp(f);
    expect(s).toMatchObject({ clientId: "client-1", seq: 2n ** 40n + 7n });
  });

  it("a frame without the marker is a plain request; a marker with a bad length is malformed", () => {
    expect(parseStamp(Buffer.from("hello"))).toBeUndefined();
    expect(parseStamp(undefined)).toBeUndefined();
    expect(parseStamp(Buffer.concat([STAMP_MARKER, Buffer.alloc(8)]))).toMatch(/12 bytes/);
    expect(parseStamp(Buffer.concat([STAMP_MARKER, Buffer.alloc(8 + 256)]))).toMatch(/268 bytes/);
  });

  it("the stamper repeats one stamp per request id, distinct ids get distinct keys, a restart later does not reuse a sequence", () => {
    const a = new RequestStamper("c", 1000);
    expect(a.frame(3)).toEqual(a.frame(3));
    expect((parseStamp(a.frame(3)) as { key: string }).key).not.toBe((parseStamp(a.frame(4)) as { key: string }).key);
    const restarted = new RequestStamper("c", 1001);
    expect(restarted.seq(1)).toBeGreaterThan(a.seq(2 ** 20 - 1));
  });
});

describe("ReplyCache", () => {
  it("keeps a reply exactly ttl ms: a hit at ttl - 1, gone at ttl (counted as expired)", () => {
    const clock = new ManualClock(500);
    const cache = new ReplyCache({ size: 10, ttl: 1000, clock });
    cache.begin("k");
    expect(cache.lookup("k")).toEqual({ state: "running" });
    cache.complete("k", frames("r"));
    clock.advance(999);
    expect(cache.lookup("k")).toEqual({ state: "done", reply: frames("r") });
    clock.advance(1);
    expect(cache.lookup("k")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, hits: 1, expired: 1, evictions: 0 });
  });

  it("holds at most size replies, evicting the oldest (counted)", () => {
    const clock = new ManualClock();
    const cache = new ReplyCache({ size: 2, ttl: 10_000, clock });
    for (const k of ["a", "b", "c"]) {
      cache.begin(k);
      cache.complete(k, frames(k));
      clock.advance(1);
    }
    expect(cache.lookup("a")).toBeUndefined();
    expect(cache.lookup("b")).toMatchObject({ state: "done" });
    expect(cache.lookup("c")).toMatchObject({ state: "done" });
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1, expired: 0 });
  });

  it("expired replies leave from the front before a full cache evicts a live one", () => {
    const clock = new ManualClock();
    const cache = new ReplyCache({ size: 2, ttl: 100, clock });
    cache.complete("a", frames("a"));
    clock.advance(50);
    cache.complete("b", frames("b"));
    clock.advance(50); // a expires now
    cache.complete("c", frames("c"));
    expect(cache.stats()).toMatchObject({ entries: 2, expired: 1, evictions: 0 });
    expect(cache.lookup("b")).toMatchObject({ state: "done" });
  });

  it("waiters of a running request get its reply, or undefined when it failed; their number is bounded", () => {
    const cache = new ReplyCache({ clock: new ManualClock() });
    const got: (string | undefined)[] = [];
    cache.begin("k");
    for (let i = 0; i < MAX_WAITING_DUPLICATES; i++) expect(cache.wait("k", (r) => got.push(r?.map(String).join()))).toBe(true);
    expect(cache.wait("k", () => undefined)).toBe(false);
    expect(cache.stats()).toMatchObject({ running: 1, waiting: MAX_WAITING_DUPLICATES });
    cache.complete("k", frames("R"));
    expect(got).toEqual(Array(MAX_WAITING_DUPLICATES).fill("R"));
    cache.begin("j");
    cache.wait("j", (r) => got.push(r === undefined ? "failed" : "reply"));
    cache.abandon("j");
    expect(got.at(-1)).toBe("failed");
    expect(cache.lookup("j")).toBeUndefined();
    expect(cache.wait("nothing", () => undefined)).toBe(false);
  });

  it("validates its options", () => {
    expect(() => new ReplyCache({ size: 0 })).toThrow(InvalidOptionError);
    expect(() => new ReplyCache({ ttl: 1.5 })).toThrow(/ttl/);
  });
});

describe("exactly-once options", () => {
  it("clients: clientId needs exactlyOnce; unsupported clients refuse it; a UUID by default", () => {
    expect(clientIdOption("C", {}, true)).toBeUndefined();
    expect(clientIdOption("C", { exactlyOnce: true }, true)).toMatch(/^[0-9a-f-]{36}$/);
    expect(clientIdOption("C", { exactlyOnce: true, clientId: "me" }, true)).toBe("me");
    expect(() => clientIdOption("C", { clientId: "me" }, true)).toThrow(expect.objectContaining({ option: "clientId" }));
    expect(() => clientIdOption("C", { exactlyOnce: true, clientId: "x".repeat(256) }, true)).toThrow(expect.objectContaining({ option: "clientId" }));
    expect(() => requestSettings("C", { endpoint: "tcp://127.0.0.1:1", exactlyOnce: true }, { maxInFlight: 1 })).toThrow(expect.objectContaining({ option: "exactlyOnce" }));
  });

  it("workers: the cache options need exactlyOnce; a shared cache implies it and has its own size", () => {
    expect(replyCacheOption("W", {})).toBeUndefined();
    expect(replyCacheOption("W", { exactlyOnce: true })).toEqual({ shared: undefined, size: 10_000, ttl: 60_000 });
    const shared = new ReplyCache();
    expect(replyCacheOption("W", { replyCache: shared })?.shared).toBe(shared);
    expect(() => replyCacheOption("W", { replyCacheSize: 5 })).toThrow(expect.objectContaining({ option: "replyCacheSize" }));
    expect(() => replyCacheOption("W", { replyCache: {} })).toThrow(expect.objectContaining({ option: "replyCache" }));
    expect(() => replyCacheOption("W", { replyCache: shared, replyCacheTtl: 5 })).toThrow(InvalidOptionError);
    expect(() => replyCacheOption("W", { exactlyOnce: false, replyCache: shared })).toThrow(expect.objectContaining({ option: "replyCache" }));
  });
});

describe("RequestRunner with a reply cache", () => {
  function setup(cache = new ReplyCache({ size: 100, ttl: 1000, clock: new ManualClock() })) {
    const clock = new ManualClock();
    const timers = new Scheduler(clock, (error) => {
      throw error;
    });
    const sent: string[] = [];
    const events: string[] = [];
    const runs: string[] = [];
    const deferred: ((m: MessageLike) => void)[] = [];
    const failNext: boolean[] = [];
    const recovered: string[] = [];
    const stamps: (string | undefined)[] = [];
    const runner = new RequestRunner<WorkerJob>(
      { maxPending: 10, handlerTimeout: 0, timers, replyCache: cache },
      {
        run: (job, ctx) => {
          stamps.push(ctx.stamp && `${ctx.stamp.clientId}/${ctx.stamp.seq}`);
          const text = job.body.map(String).join();
          runs.push(text);
          if (failNext.shift()) throw new Error("boom");
          if (text === "slow") return new Promise<MessageLike>((resolve) => deferred.push(resolve));
          return [`${text}#${runs.length}`];
        },
        send: (job, reply) => {
          sent.push(`${String(job.client)}:${reply.map(String).join()}`);
          return true;
        },
        recover: (job) => void recovered.push(String(job.client)),
        emit: <K extends keyof WorkerEvents & string>(event: K, ...args: WorkerEvents[K]) => {
          const p = args[0] as { client?: Buffer; answer?: string; reason?: string };
          events.push(`${event}${p.client ? ` ${String(p.client)}` : ""}${p.answer ? ` ${p.answer}` : ""}${p.reason ? ` ${p.reason}` : ""}`);
        },
      },
    );
    const stamper = new RequestStamper("client", 0);
    const job = (client: string, id: number | undefined, body: string): WorkerJob => ({ client: Buffer.from(client), body: id === undefined ? [Buffer.from(body)] : [stamper.frame(id), Buffer.from(body)] });
    return { runner, sent, events, runs, deferred, failNext, job, cache, recovered, stamps };
  }

  const tick = () => new Promise((r) => setImmediate(r));

  it("strips the stamp, runs a new request once and answers its duplicate from the cache", () => {
    const { runner, sent, runs, events, job } = setup();
    runner.accept(job("a", 1, "x"));
    runner.accept(job("b", 1, "x"));
    expect(runs).toEqual(["x"]);
    expect(sent).toEqual(["a:x#1", "b:x#1"]);
    expect(events).toContain("request:duplicate b cached");
    expect(runner.stats()).toMatchObject({ requests: 2, replies: 2, duplicates: 1, cacheHits: 1, cacheEntries: 1 });
  });

  it("plain requests run every time, even with the cache on; the handler sees ctx.stamp only for stamped ones", () => {
    const { runner, runs, job, stamps } = setup();
    runner.accept(job("a", undefined, "x"));
    runner.accept(job("a", undefined, "x"));
    runner.accept(job("a", 9, "y"));
    expect(runs).toEqual(["x", "x", "y"]);
    expect(stamps).toEqual([undefined, undefined, "client/9"]);
    expect(runner.stats()).toMatchObject({ duplicates: 0, cacheEntries: 1 });
  });

  it("a duplicate queued behind its running original is answered when the original finishes, without running", async () => {
    const { runner, sent, runs, deferred, job } = setup();
    runner.accept(job("a", 1, "slow"));
    runner.accept(job("b", 1, "slow"));
    expect(runs).toEqual(["slow"]);
    deferred[0]!(["done"]);
    await tick();
    expect(runs).toEqual(["slow"]);
    expect(sent).toEqual(["a:done", "b:done"]);
    expect(runner.stats()).toMatchObject({ duplicates: 1, cacheHits: 1 });
  });

  it("two runners sharing a cache: a duplicate at the second waits for the first's handler", async () => {
    const shared = new ReplyCache({ clock: new ManualClock() });
    const one = setup(shared);
    const two = setup(shared);
    one.runner.accept(one.job("a", 1, "slow"));
    two.runner.accept(two.job("b", 1, "slow"));
    expect(two.events).toContain("request:duplicate b waiting");
    expect(two.runs).toEqual([]);
    one.deferred[0]!(["done"]);
    await tick();
    expect(one.sent).toEqual(["a:done"]);
    expect(two.sent).toEqual(["b:done"]);
    expect(two.runner.stats()).toMatchObject({ duplicates: 1, cacheHits: 0, replies: 1 });
  });

  it("a reply that could not go out (the runner closed) is still cached for the retry", async () => {
    const shared = new ReplyCache({ clock: new ManualClock() });
    const one = setup(shared);
    one.runner.accept(one.job("a", 1, "slow"));
    one.runner.close();
    one.deferred[0]!(["done"]);
    await tick();
    expect(one.sent).toEqual([]);
    expect(one.events).toContain("reply:dropped a closed");
    const two = setup(shared);
    two.runner.accept(two.job("b", 1, "slow"));
    expect(two.runs).toEqual([]);
    expect(two.sent).toEqual(["b:done"]);
  });

  it("when the original's handler fails, the waiting duplicate runs it", async () => {
    const shared = new ReplyCache({ clock: new ManualClock() });
    const one = setup(shared);
    const two = setup(shared);
    one.failNext.push(true);
    one.runner.accept(one.job("a", 1, "x"));
    expect(shared.stats()).toMatchObject({ running: 0, entries: 0 });
    two.runner.accept(two.job("b", 1, "x"));
    expect(two.runs).toEqual(["x"]);
    expect(two.sent).toEqual(["b:x#1"]);
  });

  it("a malformed stamp is counted, the handler does not run, and the request is given back the protocol's way", () => {
    const { runner, runs, events, recovered } = setup();
    runner.accept({ client: Buffer.from("a"), body: [Buffer.concat([STAMP_MARKER, Buffer.alloc(3)]), Buffer.from("x")] });
    expect(runs).toEqual([]);
    expect(events.some((e) => e.startsWith("message:malformed"))).toBe(true);
    expect(runner.stats()).toMatchObject({ malformed: 1, requests: 0 });
    expect(recovered).toEqual(["a"]);
  });

  it("duplicates beyond the waiting bound are dropped, counted and given back", () => {
    const shared = new ReplyCache({ clock: new ManualClock() });
    const one = setup(shared);
    one.runner.accept(one.job("a", 1, "slow"));
    const two = setup(shared);
    for (let i = 0; i <= MAX_WAITING_DUPLICATES; i++) two.runner.accept(two.job(`d${i}`, 1, "slow"));
    expect(two.events).toContain(`request:dropped d${MAX_WAITING_DUPLICATES} duplicate`);
    expect(two.runner.stats()).toMatchObject({ droppedRequests: 1, duplicates: MAX_WAITING_DUPLICATES + 1 });
    expect(two.recovered).toEqual([`d${MAX_WAITING_DUPLICATES}`]);
  });
});
