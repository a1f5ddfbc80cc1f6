/**
 * The dispatch engine on a ManualClock, to the millisecond: no sockets. A recording
 * transport stands in for the broker's wire side.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DISPATCH_EVENTS, Dispatcher, InvalidOptionError, ManualClock, Reactor, dispatchConfig, type DispatchEvents, type DispatcherOptions, type DispatchWorker } from "../../src/index.js";

type Req = { n: string };
const b = (s: string) => Buffer.from(s);
const s = (x: Buffer | undefined) => x?.toString();

let reactor: Reactor | undefined;
afterEach(async () => {
  await reactor?.close();
  reactor = undefined;
});

interface Setup {
  clock: ManualClock;
  engine: Dispatcher<Req, string>;
  /** `worker <- request` for every delivery, in order. */
  delivered: string[];
  /** Ids heartbeated, in order. */
  beats: string[];
  /** Requests the transport was told had expired. */
  expired: string[];
  events: string[];
  /** Called by the transport's deliver, to simulate a send that fails at once. */
  onDeliver?: (w: DispatchWorker<string, Req>, r: Req) => void;
}

function setup(options: Partial<DispatcherOptions<Req, string>> = {}): Setup {
  const clock = new ManualClock();
  reactor = new Reactor({ clock });
  const t: Partial<Setup> = { clock, delivered: [], beats: [], expired: [], events: [] };
  const engine = new Dispatcher<Req, string>({
    reactor,
    heartbeatInterval: 1000,
    heartbeatLiveness: 3,
    transport: {
      deliver: (w, r, client) => {
        t.delivered!.push(`${s(w.id)} <- ${r.n}`);
        expect(s(client)).toBe(`c-${r.n}`);
        t.onDeliver?.(w, r);
      },
      heartbeat: (w) => void t.beats!.push(s(w.id)!),
      expired: (r) => void t.expired!.push(r.n),
    },
    ...options,
  });
  for (const name of DISPATCH_EVENTS) {
    engine.on(name, (e: DispatchEvents[typeof name][0]) => {
      const p = e as Record<string, unknown>;
      const detail = ["reason", "attempt", "busy", "again"].filter((k) => k in p).map((k) => `${k}=${String(p[k])}`);
      const who = "id" in p ? s(p.id as Buffer) : "client" in p ? s(p.client as Buffer) : "";
      t.events!.push([name, who, ...detail].join(" "));
    });
  }
  t.engine = engine;
  return t as Setup;
}

const req = (e: Dispatcher<Req, string>, n: string, service = "") => e.request(service, b(`c-${n}`), { n });
function reply(e: Dispatcher<Req, string>, id: string): Req | undefined {
  const w = e.worker(b(id));
  if (!w) throw new Error(`no worker ${id}`);
  return e.reply(w);
}

describe("Dispatcher options", () => {
  it("validates with InvalidOptionError naming the option, with the owner's name", () => {
    const r = (reactor = new Reactor({ clock: new ManualClock() }));
    const transport = { deliver: () => undefined };
    expect(() => new Dispatcher({ reactor: {} as Reactor, transport })).toThrow(/`reactor`/);
    expect(() => new Dispatcher({ reactor: r, transport: {} as never })).toThrow(/`transport`/);
    for (const [name, value] of [["maxPending", 0], ["pendingOverflow", "nope"], ["pendingTimeout", -1], ["maxRedeliveries", 1.5], ["maxWorkers", 0], ["maxServices", 0], ["heartbeatLiveness", 0]] as const) {
      const error = (() => {
        try {
          new Dispatcher({ reactor: r, transport, [name]: value } as never, "SomeBroker");
        } catch (e) {
          return e;
        }
      })();
      expect(error, name).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(name);
      expect((error as Error).message).toMatch(/^SomeBroker: /);
    }
  });

  it("has one set of defaults; brokers without heartbeats read no heartbeat option", () => {
    expect(dispatchConfig("X", {})).toEqual({ heartbeatInterval: 1000, heartbeatLiveness: 3, maxPending: 1000, pendingOverflow: "drop-oldest", pendingTimeout: 2000, maxRedeliveries: 3, maxWorkers: 10_000, maxServices: 10_000, busyTimeout: 0 });
    expect(dispatchConfig("X", {}, { heartbeatInterval: 2500 }).heartbeatInterval).toBe(2500);
    expect(dispatchConfig("X", { heartbeatInterval: "x" }, { heartbeats: false }).heartbeatInterval).toBe(0);
    expect(() => dispatchConfig("X", { heartbeatInterval: 0 })).toThrow(/heartbeatInterval/);
  });
});

describe("Dispatcher: dispatch", () => {
  it("hands requests to ready workers least recently used first", () => {
    const { engine, delivered } = setup();
    engine.ready(b("A"), "", "a");
    engine.ready(b("B"), "", "b");
    engine.ready(b("C"), "", "c");
    req(engine, "1");
    req(engine, "2");
    expect(delivered).toEqual(["A <- 1", "B <- 2"]);
    // B answers before A: the order of readiness is C, B, A.
    expect(reply(engine, "B")).toEqual({ n: "2" });
    expect(reply(engine, "A")).toEqual({ n: "1" });
    req(engine, "3");
    req(engine, "4");
    req(engine, "5");
    expect(delivered.slice(2)).toEqual(["C <- 3", "B <- 4", "A <- 5"]);
    expect(engine.stats()).toMatchObject({ requests: 5, dispatched: 5, replies: 2, workers: 3, idle: 0, pending: 0 });
  });

  it("holds requests while no worker is ready and serves them oldest first as workers come", () => {
    const { engine, delivered } = setup();
    req(engine, "1");
    req(engine, "2");
    expect(engine.stats()).toMatchObject({ pending: 2, services: 1 });
    engine.ready(b("A"), "", "a");
    expect(delivered).toEqual(["A <- 1"]);
    expect(reply(engine, "A")).toEqual({ n: "1" });
    expect(delivered).toEqual(["A <- 1", "A <- 2"]);
    expect(reply(engine, "A")).toEqual({ n: "2" });
    expect(engine.stats()).toMatchObject({ pending: 0, idle: 1 });
  });

  it("keeps services apart and counts the ones with workers", () => {
    const { engine, delivered } = setup();
    engine.ready(b("E"), "echo", "e");
    req(engine, "1", "other");
    req(engine, "2", "echo");
    expect(delivered).toEqual(["E <- 2"]);
    expect(engine.services()).toEqual(["echo"]);
    expect(engine.hasWorkers("other")).toBe(false);
    expect(engine.stats()).toMatchObject({ services: 2, pending: 1 });
    const w = engine.worker(b("E"))!;
    expect([w.service, w.data, w.request, s(w.client), w.active]).toEqual(["echo", "e", { n: "2" }, "c-2", true]);
  });

  it("a late reply (nothing in flight) is counted and changes nothing", () => {
    const { engine, delivered } = setup();
    engine.ready(b("A"), "", "a");
    expect(reply(engine, "A")).toBeUndefined();
    expect(engine.stats()).toMatchObject({ replies: 0, lateReplies: 1, idle: 1 });
    req(engine, "1");
    expect(delivered).toEqual(["A <- 1"]);
    expect(engine.worker(b("nobody"))).toBeUndefined();
  });
});

describe("Dispatcher: backlog bounds", () => {
  for (const [policy, kept, dropped] of [
    ["drop-oldest", ["3", "4"], ["c-1", "c-2"]],
    ["drop-newest", ["1", "2"], ["c-3", "c-4"]],
    ["reject", ["1", "2"], ["c-3", "c-4"]],
  ] as const) {
    it(`${policy}: a full backlog drops ${policy === "drop-oldest" ? "the oldest" : "the new"} request, counted`, () => {
      const { engine, delivered, events } = setup({ maxPending: 2, pendingOverflow: policy });
      const accepted = ["1", "2", "3", "4"].map((n) => req(engine, n));
      expect(accepted).toEqual(policy === "drop-oldest" ? [true, true, true, true] : [true, true, false, false]);
      expect(events).toEqual(dropped.map((c) => `request:dropped ${c} reason=overflow`));
      expect(engine.stats()).toMatchObject({ requests: 4, pending: 2, dropped: 2, droppedOverflow: 2 });
      engine.ready(b("A"), "", "a");
      reply(engine, "A");
      expect(delivered).toEqual(kept.map((n) => `A <- ${n}`));
    });
  }

  it("bounds the services that requests alone create; a READY always registers", () => {
    const { engine, events } = setup({ maxServices: 2 });
    req(engine, "1", "s1");
    req(engine, "2", "s2");
    expect(req(engine, "3", "s3")).toBe(false);
    expect(events).toEqual(["request:dropped c-3 reason=max-services"]);
    expect(engine.ready(b("W"), "s4", "w")).toBe(true);
    expect(engine.stats()).toMatchObject({ services: 3, droppedServices: 1, dropped: 1 });
  });

  it("bounds the worker table: a new READY past maxWorkers is rejected, a known one is not", () => {
    const { engine, events } = setup({ maxWorkers: 2 });
    expect(engine.ready(b("A"), "", "a")).toBe(true);
    expect(engine.ready(b("B"), "", "b")).toBe(true);
    expect(engine.ready(b("C"), "", "c")).toBe(false);
    expect(engine.ready(b("A"), "", "a")).toBe(true);
    expect(events.filter((e) => e.startsWith("worker:rejected"))).toEqual(["worker:rejected C reason=worker table full"]);
    expect(engine.stats()).toMatchObject({ workers: 2, readies: 4, duplicateReady: 1, rejected: 1 });
    expect(engine.worker(b("C"))).toBeUndefined();
  });
});

describe("Dispatcher: pending deadline", () => {
  it("expires a waiting request exactly at pendingTimeout, not 1 ms before, and tells the transport", () => {
    const { clock, engine, expired, events } = setup({ pendingTimeout: 500 });
    clock.advance(10);
    req(engine, "1");
    clock.advance(200);
    req(engine, "2");
    clock.advance(299); // t = 509: request 1 waited 499 ms
    expect(expired).toEqual([]);
    clock.advance(1); // t = 510
    expect(expired).toEqual(["1"]);
    expect(events).toEqual(["request:expired c-1"]);
    clock.advance(199);
    expect(expired).toEqual(["1"]);
    clock.advance(1); // t = 710
    expect(expired).toEqual(["1", "2"]);
    expect(engine.stats()).toMatchObject({ requestsExpired: 2, pending: 0, services: 0, dropped: 0 });
  });

  it("reports how long the request waited", () => {
    const { clock, engine } = setup({ pendingTimeout: 500 });
    const waited: number[] = [];
    engine.on("request:expired", (e) => waited.push(e.waitedMs));
    req(engine, "1");
    clock.advance(5000);
    expect(waited).toEqual([500]);
  });

  it("a request served 1 ms before its deadline is delivered, and its deadline is gone", () => {
    const { clock, engine, delivered, expired } = setup({ pendingTimeout: 500, heartbeatInterval: 0 });
    req(engine, "1");
    req(engine, "2");
    clock.advance(499);
    engine.ready(b("A"), "", "a");
    expect(delivered).toEqual(["A <- 1"]);
    clock.advance(1);
    expect(expired).toEqual(["2"]);
    clock.advance(10_000);
    expect(expired).toEqual(["2"]);
    expect(engine.stats()).toMatchObject({ requestsExpired: 1, dispatched: 1 });
  });

  it("0 means a request waits for ever", () => {
    const { clock, engine, expired } = setup({ pendingTimeout: 0, heartbeatInterval: 0 });
    req(engine, "1");
    clock.advance(1e9);
    expect(expired).toEqual([]);
    expect(engine.stats().pending).toBe(1);
  });

  it("a redelivered request waits pendingTimeout again from its redelivery", () => {
    const { clock, engine, expired } = setup({ pendingTimeout: 500, heartbeatLiveness: 1, heartbeatInterval: 100 });
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    clock.advance(100); // A expires at t = 100: request 1 back in the backlog
    expect(engine.stats()).toMatchObject({ workersExpired: 1, redelivered: 1, pending: 1 });
    clock.advance(499);
    expect(expired).toEqual([]);
    clock.advance(1); // t = 600
    expect(expired).toEqual(["1"]);
  });
});

describe("Dispatcher: heartbeats and expiry", () => {
  it("heartbeats every worker, idle and busy, once per interval", () => {
    const { clock, engine, beats } = setup();
    engine.ready(b("A"), "", "a");
    clock.advance(500);
    engine.ready(b("B"), "", "b");
    req(engine, "1"); // A busy
    clock.advance(499);
    expect(beats).toEqual([]);
    clock.advance(1); // t = 1000
    expect(beats).toEqual(["A", "B"]);
    engine.heartbeat(engine.worker(b("A"))!);
    engine.heartbeat(engine.worker(b("B"))!);
    clock.advance(1000);
    expect(beats).toEqual(["A", "B", "A", "B"]);
    expect(engine.stats()).toMatchObject({ heartbeatsSent: 4, heartbeatsReceived: 2 });
  });

  it("expires an idle worker exactly at interval × liveness of silence, not 1 ms before", () => {
    const { clock, engine, events } = setup();
    const silent: number[] = [];
    engine.on("worker:expired", (e) => silent.push(e.silentMs));
    engine.ready(b("A"), "", "a");
    clock.advance(2999);
    expect(engine.stats().workers).toBe(1);
    clock.advance(1);
    expect(events).toEqual(["worker:ready A again=false", "worker:expired A busy=false"]);
    expect(silent).toEqual([3000]);
    expect(engine.stats()).toMatchObject({ workers: 0, idle: 0, workersExpired: 1, services: 0 });
  });

  it("any traffic pushes expiry back: heartbeats, replies, touches, a repeated READY", () => {
    const { clock, engine } = setup();
    engine.ready(b("A"), "", "a");
    const a = () => engine.worker(b("A"))!;
    clock.advance(2000);
    engine.heartbeat(a());
    clock.advance(2000);
    req(engine, "1");
    reply(engine, "A");
    clock.advance(2000);
    engine.touch(a());
    clock.advance(2000);
    engine.ready(b("A"), "", "a");
    clock.advance(2999); // t = 10999, silent since 8000
    expect(engine.stats().workers).toBe(1);
    clock.advance(1);
    expect(engine.stats()).toMatchObject({ workers: 0, workersExpired: 1 });
  });

  it("expires a busy worker at interval × liveness and redelivers its request at the head of the backlog", () => {
    const { clock, engine, delivered, events } = setup({ pendingTimeout: 0 });
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    req(engine, "2"); // waits
    clock.advance(1000);
    engine.ready(b("B"), "", "b"); // gets 2 at once
    clock.advance(1999);
    expect(engine.worker(b("A"))?.request).toEqual({ n: "1" });
    clock.advance(1); // t = 3000
    expect(events.slice(-2)).toEqual(["worker:expired A busy=true", "request:redelivered c-1 attempt=1"]);
    engine.heartbeat(engine.worker(b("B"))!);
    reply(engine, "B"); // B is free: it gets the redelivered request
    expect(delivered).toEqual(["A <- 1", "B <- 2", "B <- 1"]);
    expect(engine.stats()).toMatchObject({ redelivered: 1, dispatched: 3, workers: 1 });
  });

  it("without heartbeats (interval 0) nothing is sent and nothing expires", () => {
    const { clock, engine, beats } = setup({ heartbeatInterval: 0, pendingTimeout: 0 });
    engine.ready(b("A"), "", "a");
    clock.advance(1e7);
    expect(beats).toEqual([]);
    expect(engine.stats()).toMatchObject({ workers: 1, heartbeatsSent: 0, workersExpired: 0 });
    expect(reactor!.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
  });

  it("runs no timer while no worker is known", () => {
    const { clock, engine } = setup({ pendingTimeout: 0 });
    expect(reactor!.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
    engine.ready(b("A"), "", "a");
    expect(reactor!.stats()).toMatchObject({ timersActive: 1, ticketsActive: 1 });
    clock.advance(3000);
    expect(reactor!.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
  });
});

describe("Dispatcher: redelivery", () => {
  it("redelivers up to maxRedeliveries times, then drops the request (counted)", () => {
    const { engine, delivered, events } = setup({ maxRedeliveries: 2 });
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    for (let i = 0; i < 3; i++) engine.unreachable(b("A")) && engine.ready(b("A"), "", "a");
    expect(delivered).toEqual(["A <- 1", "A <- 1", "A <- 1"]);
    expect(events.filter((e) => e.startsWith("request:"))).toEqual(["request:redelivered c-1 attempt=1", "request:redelivered c-1 attempt=2", "request:dropped c-1 reason=redeliveries"]);
    expect(engine.stats()).toMatchObject({ redelivered: 2, droppedRedeliveries: 1, dropped: 1, workersUnreachable: 3, workersDisconnected: 3, idle: 1, pending: 0 });
  });

  it("0 redeliveries: a dead worker's request is dropped at once", () => {
    const { engine, events } = setup({ maxRedeliveries: 0 });
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    engine.remove(engine.worker(b("A"))!, "disconnect");
    expect(events.slice(-2)).toEqual(["worker:disconnected A reason=disconnect busy=true", "request:dropped c-1 reason=redeliveries"]);
  });

  it("a redelivered request goes ahead of the waiting ones, to the least recently used worker", () => {
    const { engine, delivered } = setup();
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    req(engine, "2");
    req(engine, "3");
    engine.unreachable(b("A"));
    engine.ready(b("B"), "", "b");
    expect(delivered).toEqual(["A <- 1", "B <- 1"]);
    reply(engine, "B");
    expect(delivered.slice(2)).toEqual(["B <- 2"]);
  });

  it("a worker's re-READY while busy: it starts over, its request is redelivered to the least recently used worker", () => {
    const { engine, delivered, events } = setup();
    engine.ready(b("A"), "", "a");
    engine.ready(b("B"), "", "b");
    engine.ready(b("C"), "", "c");
    req(engine, "1"); // A
    engine.ready(b("A"), "", "a");
    expect(delivered).toEqual(["A <- 1", "B <- 1"]);
    expect(events.slice(-2)).toEqual(["request:redelivered c-1 attempt=1", "worker:ready A again=true"]);
    req(engine, "2");
    req(engine, "3");
    expect(delivered.slice(2)).toEqual(["C <- 2", "A <- 3"]);
    expect(engine.stats()).toMatchObject({ duplicateReady: 1, redelivered: 1, workers: 3 });
  });

  it("a READY naming another service moves the worker (its request redelivered in the old one)", () => {
    const { engine, delivered, events } = setup();
    engine.ready(b("A"), "x", "a");
    req(engine, "1", "x");
    engine.ready(b("A"), "y", "a");
    expect(events.slice(1)).toEqual(["worker:disconnected A reason=unexpected busy=true", "request:redelivered c-1 attempt=1", "worker:ready A again=false"]);
    expect(engine.worker(b("A"))!.service).toBe("y");
    engine.ready(b("B"), "x", "b");
    expect(delivered).toEqual(["A <- 1", "B <- 1"]);
  });

  it("an unreachable worker: removed, its request redelivered; a send that fails at once is safe too", () => {
    const t = setup();
    const { engine, delivered } = t;
    engine.ready(b("A"), "", "a");
    engine.ready(b("B"), "", "b");
    // The send to A fails synchronously (its pipe is full): the engine hears it inside deliver().
    t.onDeliver = (w) => {
      if (s(w.id) === "A") engine.unreachable(w.id);
    };
    req(engine, "1");
    expect(delivered).toEqual(["A <- 1", "B <- 1"]);
    expect(engine.stats()).toMatchObject({ workers: 1, idle: 0, workersUnreachable: 1, redelivered: 1, dispatched: 2 });
    expect(engine.unreachable(b("nobody"))).toBe(false);
    t.onDeliver = undefined;
    expect(reply(engine, "B")).toEqual({ n: "1" });
  });

  it("a removed worker's view goes inactive; commands through it are ignored", () => {
    const { engine } = setup();
    engine.ready(b("A"), "", "a");
    const a = engine.worker(b("A"))!;
    expect(engine.remove(a, "disconnect")).toBe(true);
    expect(a.active).toBe(false);
    expect(engine.remove(a, "disconnect")).toBe(false);
    expect(engine.reply(a)).toBeUndefined();
    engine.touch(a);
    expect(engine.stats()).toMatchObject({ workers: 0, workersDisconnected: 1, lateReplies: 0 });
  });
});

describe("Dispatcher: rejects, drops, shutdown", () => {
  it("counts rejected peers and dropped replies with one payload shape", () => {
    const { engine, events } = setup();
    const rejected: unknown[] = [];
    engine.on("worker:rejected", (e) => rejected.push(e));
    engine.reject(b("P"), "HEARTBEAT before READY");
    engine.replyDropped(b("C"), "unroutable");
    expect(rejected).toEqual([{ id: b("P"), service: "", reason: "HEARTBEAT before READY" }]);
    expect(events).toEqual(["worker:rejected P reason=HEARTBEAT before READY", "reply:dropped C reason=unroutable"]);
    expect(engine.stats()).toMatchObject({ rejected: 1, droppedReplies: 1 });
  });

  it("shutdown drops every waiting and in-flight request (counted), forgets workers, stops timers", () => {
    const { clock, engine, events, beats } = setup({ pendingTimeout: 500 });
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    req(engine, "2", "other");
    req(engine, "3", "other");
    engine.shutdown();
    engine.shutdown();
    expect(events.filter((e) => e.startsWith("request:dropped"))).toEqual(["request:dropped c-2 reason=closed", "request:dropped c-3 reason=closed", "request:dropped c-1 reason=closed"]);
    expect(engine.stats()).toMatchObject({ dropped: 3, droppedClosed: 3, workers: 0, idle: 0, pending: 0, services: 0 });
    expect(reactor!.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
    clock.advance(10_000);
    expect(beats).toEqual([]);
    expect(engine.closed).toBe(true);
    // Later commands are ignored; requests are counted as dropped.
    expect(engine.ready(b("B"), "", "b")).toBe(false);
    expect(req(engine, "4")).toBe(false);
    expect(engine.stats()).toMatchObject({ workers: 0, droppedClosed: 4, requests: 4 });
  });

  it("the hot path keeps no per-request state once a request is answered", () => {
    const { engine } = setup({ pendingTimeout: 500 });
    engine.ready(b("A"), "", "a");
    for (let i = 0; i < 1000; i++) {
      req(engine, String(i));
      expect(reply(engine, "A")).toEqual({ n: String(i) });
    }
    expect(engine.stats()).toMatchObject({ requests: 1000, replies: 1000, pending: 0, idle: 1 });
    expect(reactor!.stats().timersActive).toBe(1); // the heartbeat; no deadline timer was armed
  });
});

describe("Dispatcher.answer: a reply is forwarded only when it answers the request its worker holds", () => {
  const answer = (e: Dispatcher<Req, string>, id: string, client: string, final?: boolean) => e.answer(b(id), b(client), final);

  it("matches the worker's request by its client; a final reply completes it and frees the worker", () => {
    const { engine, delivered, events } = setup();
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    req(engine, "2");
    expect(answer(engine, "A", "c-1")).toEqual({ n: "1" });
    expect(delivered).toEqual(["A <- 1", "A <- 2"]);
    expect(events.filter((e) => e.startsWith("reply:unexpected"))).toEqual([]);
    expect(engine.stats()).toMatchObject({ replies: 1, unexpectedReplies: 0, lateReplies: 0 });
  });

  it("drops and counts replies from peers that are not workers, from idle workers and for another client", () => {
    const { engine, events } = setup();
    expect(answer(engine, "X", "c-1")).toBeUndefined(); // never sent READY
    engine.ready(b("A"), "", "a");
    expect(answer(engine, "A", "c-1")).toBeUndefined(); // holds nothing
    req(engine, "1");
    expect(answer(engine, "A", "c-victim")).toBeUndefined(); // forged: names another client
    expect(engine.worker(b("A"))!.request).toEqual({ n: "1" }); // still held: the real answer is still due
    expect(answer(engine, "A", "c-1")).toEqual({ n: "1" });
    expect(answer(engine, "A", "c-1")).toBeUndefined(); // a second answer is a late one
    expect(events.filter((e) => e.startsWith("reply:unexpected"))).toEqual(["reply:unexpected X reason=not a worker", "reply:unexpected A reason=no request", "reply:unexpected A reason=other client", "reply:unexpected A reason=no request"]);
    expect(engine.stats()).toMatchObject({ replies: 1, unexpectedReplies: 4, lateReplies: 2, workers: 1, idle: 1 });
  });

  it("a PARTIAL keeps the request held; only the FINAL completes it", () => {
    const { engine, delivered } = setup();
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    req(engine, "2");
    expect(answer(engine, "A", "c-1", false)).toEqual({ n: "1" });
    expect(answer(engine, "A", "c-1", false)).toEqual({ n: "1" });
    expect(delivered).toEqual(["A <- 1"]);
    expect(engine.stats()).toMatchObject({ replies: 0, pending: 1 });
    expect(answer(engine, "A", "c-1", true)).toEqual({ n: "1" });
    expect(delivered).toEqual(["A <- 1", "A <- 2"]);
    expect(answer(engine, "A", "c-1", false)).toBeUndefined(); // after its FINAL: answers nothing
    expect(engine.stats()).toMatchObject({ replies: 1, unexpectedReplies: 1 });
  });

  it("a late reply after a redelivery is dropped: the request now belongs to the worker it went to", () => {
    const { engine, clock, delivered } = setup({ pendingTimeout: 0 });
    engine.ready(b("A"), "", "a");
    req(engine, "1");
    engine.ready(b("B"), "", "b");
    // A falls silent past liveness x interval (B keeps talking): its request goes to B.
    for (let t = 0; t < 3000; t += 500) {
      clock.advance(500);
      engine.heartbeat(engine.worker(b("B"))!);
    }
    expect(engine.worker(b("A"))).toBeUndefined();
    expect(delivered).toEqual(["A <- 1", "B <- 1"]);
    engine.ready(b("A"), "", "a"); // A comes back, and answers the request it no longer holds
    expect(answer(engine, "A", "c-1")).toBeUndefined();
    expect(answer(engine, "B", "c-1")).toEqual({ n: "1" });
    expect(engine.stats()).toMatchObject({ replies: 1, unexpectedReplies: 1, redelivered: 1 });
  });

  it("a known worker's unexpected reply is still traffic: it pushes its expiry back", () => {
    const { engine, clock } = setup();
    engine.ready(b("A"), "", "a");
    clock.advance(2999);
    expect(answer(engine, "A", "c-x")).toBeUndefined();
    clock.advance(2999);
    expect(engine.worker(b("A"))).toBeDefined();
    clock.advance(1);
    expect(engine.worker(b("A"))).toBeUndefined();
  });

  it("transport.hold replaces what waits in a backlog; deliver and expired get the held form", () => {
    const clock = new ManualClock();
    reactor = new Reactor({ clock });
    const got: string[] = [];
    const engine = new Dispatcher<Req, string>({
      reactor,
      heartbeatInterval: 1000,
      pendingTimeout: 100,
      transport: {
        deliver: (w, r, client) => void got.push(`deliver ${r.n} ${s(client)}`),
        expired: (r, client) => void got.push(`expired ${r.n} ${s(client)}`),
        hold: (r, client) => ({ request: { n: `held-${r.n}` }, client: b(`h-${s(client)}`) }),
      },
    });
    engine.ready(b("A"), "", "a");
    req(engine, "1"); // straight to A: not held
    req(engine, "2"); // waits: held
    req(engine, "3");
    clock.advance(50);
    expect(engine.answer(b("A"), b("c-1"))).toEqual({ n: "1" });
    expect(engine.answer(b("A"), b("c-2"))).toBeUndefined(); // the client as held is the one that counts
    expect(engine.answer(b("A"), b("h-c-2"))).toEqual({ n: "held-2" });
    req(engine, "4"); // A holds held-3: this one waits, and expires 100 ms later
    clock.advance(99);
    expect(got).toEqual(["deliver 1 c-1", "deliver held-2 h-c-2", "deliver held-3 h-c-3"]);
    clock.advance(1);
    expect(got.slice(3)).toEqual(["expired held-4 h-c-4"]);
  });
});
