import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { Reactor, upperHandler } from "../../../src/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker, type ParanoidPirateQueueOptions } from "../../../patterns/paranoid-pirate/index.js";
import { TRANSPORTS, uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { waitFor, within } from "../../helpers/wait.js";
import { RawWorker, lazyRequest, replyTo } from "./fixtures.js";

const READY = Buffer.from([1]);
const HEARTBEAT = Buffer.from([2]);
const cleanup: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function queue(options: Partial<ParanoidPirateQueueOptions> = {}): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: 100, ...options });
  cleanup.push(() => q.close());
  await q.start();
  return q;
}

function rawWorker(q: ParanoidPirateQueue, routingId?: string): RawWorker {
  const w = new RawWorker(q.endpoints.backend[0]!, routingId);
  cleanup.push(() => w.close());
  return w;
}

function dealer(q: ParanoidPirateQueue): zmq.Dealer {
  const d = new zmq.Dealer({ linger: 0 });
  d.connect(q.endpoints.frontend[0]!);
  cleanup.push(() => d.close());
  return d;
}

async function readyWorkers(q: ParanoidPirateQueue, n: number): Promise<void> {
  await waitFor(() => q.stats().idle >= n, { what: `${n} ready workers` });
}

describe("ParanoidPirateQueue worker table", () => {
  it("is bounded: a READY past maxWorkers is rejected and counted, and the worker gets no heartbeats", async () => {
    const q = await queue({ maxWorkers: 2 });
    const rejected: string[] = [];
    q.on("worker:rejected", (e) => rejected.push(e.reason));
    const a = rawWorker(q, "w-a");
    const b = rawWorker(q, "w-b");
    await a.send([READY]);
    await b.send([READY]);
    await readyWorkers(q, 2);
    const c = rawWorker(q, "w-c");
    await c.send([READY]);
    await waitFor(() => q.stats().rejected === 1, { what: "the third READY rejected" });
    expect(rejected).toEqual(["worker table full"]);
    expect(q.stats()).toMatchObject({ workers: 2, readies: 3 });
    // The two known workers are heartbeated; the rejected one hears nothing, so by 6/PPP it
    // reconnects later and says READY again.
    await waitFor(() => a.messages.length > 0 && b.messages.length > 0, { what: "heartbeats to the known workers" });
    expect(c.messages).toEqual([]);
    // A known worker's repeated READY is not a new entry and is never refused.
    await a.send([READY]);
    await waitFor(() => q.stats().readies === 4, { what: "the repeated READY" });
    expect(q.stats()).toMatchObject({ workers: 2, rejected: 1, duplicateReady: 1 });
  });
});

describe("ParanoidPirateQueue options", () => {
  it("rejects bad options with a TypeError naming the option", () => {
    const ok = { frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" };
    expect(() => new ParanoidPirateQueue({ ...ok, frontend: "nowhere" })).toThrow(/frontend/);
    expect(() => new ParanoidPirateQueue({ ...ok, backend: [] as unknown as string })).toThrow(/backend/);
    expect(() => new ParanoidPirateQueue({ ...ok, heartbeatInterval: 0 })).toThrow(/heartbeatInterval/);
    expect(() => new ParanoidPirateQueue({ ...ok, heartbeatLiveness: 1.5 })).toThrow(/heartbeatLiveness/);
    expect(() => new ParanoidPirateQueue({ ...ok, maxPending: 0 })).toThrow(/maxPending/);
    expect(() => new ParanoidPirateQueue({ ...ok, pendingOverflow: "later" as never })).toThrow(/pendingOverflow/);
    expect(() => new ParanoidPirateQueue({ ...ok, sendQueueLimit: 0 })).toThrow(/sendQueueLimit/);
    expect(() => new ParanoidPirateQueue({ ...ok, pendingTimeout: -1 })).toThrow(/pendingTimeout/);
    expect(() => new ParanoidPirateQueue({ ...ok, maxRedeliveries: -1 })).toThrow(/maxRedeliveries/);
    expect(() => new ParanoidPirateQueue({ ...ok, maxWorkers: 0 })).toThrow(/maxWorkers/);
    expect(() => new ParanoidPirateQueue({ ...ok, reactor: {} as Reactor })).toThrow(TypeError);
    expect(() => new ParanoidPirateQueue({ ...ok, signal: "x" as never })).toThrow(/signal/);
    expect(() => new ParanoidPirateQueue(undefined as never)).toThrow(TypeError);
  });

  it("close() is idempotent and an aborted signal closes it", async () => {
    const ac = new AbortController();
    const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", signal: ac.signal });
    await q.start();
    ac.abort();
    await within(q.close(), 2000, "close");
    expect(q.closed).toBe(true);
    expect(q.close()).toBe(q.close());
    expect(q.reactor.stats().sockets).toBe(0);
  });
});

describe("ParanoidPirateQueue with ParanoidPirateWorkers", () => {
  for (const transport of TRANSPORTS) {
    it(`serves REQ clients and keeps address stacks intact over ${transport}`, async () => {
      const q = await queue({ frontend: await uniqAddress(transport), backend: await uniqAddress(transport) });
      for (let i = 0; i < 2; i++) {
        const w = new ParanoidPirateWorker({ endpoint: q.endpoints.backend[0]!, handler: upperHandler, heartbeatInterval: 100 });
        cleanup.push(() => w.close());
      }
      await readyWorkers(q, 2);
      for (let i = 0; i < 5; i++) expect((await lazyRequest(q.endpoints.frontend[0]!, `hello ${i}`)).reply).toEqual([`HELLO ${i}`]);
      // A pipelined DEALER client: [requestId, EMPTY, ...body], and a deeper address stack.
      const d = dealer(q);
      await d.send(["req-1", "", "a", "b"]);
      expect((await d.receive()).map(String)).toEqual(["req-1", "", "A", "B"]);
      await d.send(["hop-1", "hop-2", "", "c"]);
      expect((await d.receive()).map(String)).toEqual(["hop-1", "hop-2", "", "C"]);
      const s = q.stats();
      expect(s).toMatchObject({ requests: 7, replies: 7, dispatched: 7, malformed: 0, dropped: 0, workers: 2 });
    });
  }

  it("keeps serving through malformed frames on the frontend and the backend, counting them", async () => {
    const q = await queue();
    const w = new ParanoidPirateWorker({ endpoint: q.endpoints.backend[0]!, handler: upperHandler, heartbeatInterval: 100 });
    cleanup.push(() => w.close());
    await readyWorkers(q, 1);
    await sendMalformed(q.endpoints.frontend[0]!, { type: "dealer", count: 150, seed: 7 });
    await sendMalformed(q.endpoints.frontend[0]!, { type: "req", count: 20, seed: 8 });
    await sendMalformed(q.endpoints.backend[0]!, { type: "dealer", count: 150, seed: 9, templates: [[READY], [HEARTBEAT], [Buffer.from("client"), Buffer.alloc(0), Buffer.from("reply")]] });
    await waitFor(() => q.stats().malformed > 100, { what: "malformed counted" });
    expect((await lazyRequest(q.endpoints.frontend[0]!, "still there")).reply).toEqual(["STILL THERE"]);
    const s = q.stats();
    expect(s.malformed + s.rejected).toBeGreaterThan(100);
    // garbage that happens to be a valid request from a dealer is a request; the worker answers it
    expect(s.replies).toBeGreaterThanOrEqual(1);
  });

  it("reports sockets, timers and tickets back to zero after close", async () => {
    const reactor = new Reactor();
    cleanup.push(() => reactor.close());
    const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: 100, reactor });
    await q.start();
    const w = new ParanoidPirateWorker({ endpoint: q.endpoints.backend[0]!, handler: upperHandler, heartbeatInterval: 100, reactor });
    await readyWorkers(q, 1);
    expect((await lazyRequest(q.endpoints.frontend[0]!, "x")).reply).toEqual(["X"]);
    expect(reactor.stats().sockets).toBe(3);
    await w.close();
    await q.close();
    const s = reactor.stats();
    expect(s).toMatchObject({ sockets: 0, timersActive: 0, ticketsActive: 0 });
    expect(reactor.closed).toBe(false); // a shared reactor is left to its owner
  });
});

describe("ParanoidPirateQueue protocol rules (hand-driven workers)", () => {
  it("hands requests to ready workers least recently used first", async () => {
    const q = await queue();
    const a = rawWorker(q, "A");
    await a.send([READY]);
    await readyWorkers(q, 1);
    const b = rawWorker(q, "B");
    await b.send([READY]);
    await readyWorkers(q, 2);
    const d = dealer(q);
    await d.send(["1", "", "one"]);
    await d.send(["2", "", "two"]);
    await waitFor(() => a.requests().length === 1 && b.requests().length === 1, { what: "one request each" });
    expect(a.requests()[0]!.map(String).slice(1)).toEqual(["1", "", "one"]);
    // B answers first, so B is now the most recently used; A answers; next goes to B.
    await b.send(replyTo(b.requests()[0]!, "TWO"));
    await a.send(replyTo(a.requests()[0]!, "ONE"));
    const replies = [(await d.receive()).map(String), (await d.receive()).map(String)];
    expect(replies).toContainEqual(["1", "", "ONE"]);
    expect(replies).toContainEqual(["2", "", "TWO"]);
    await d.send(["3", "", "three"]);
    await waitFor(() => b.requests().length === 2, { what: "B gets the third request" });
    expect(a.requests()).toHaveLength(1);
  });

  it("heartbeats idle and busy workers alike", async () => {
    const q = await queue();
    const a = rawWorker(q);
    await a.send([READY]);
    await readyWorkers(q, 1);
    const d = dealer(q);
    await d.send(["1", "", "work"]);
    await waitFor(() => a.requests().length === 1, { what: "request" });
    const before = a.heartbeats();
    // keep it alive while busy
    const beat = setInterval(() => void a.send([HEARTBEAT]).catch(() => undefined), 50);
    cleanup.push(() => clearInterval(beat));
    await waitFor(() => a.heartbeats() >= before + 3, { what: "heartbeats while busy" });
    expect(q.stats()).toMatchObject({ workers: 1, idle: 0, workersExpired: 0 });
  });

  it("drops what a peer sends before READY (6/PPP: READY comes first)", async () => {
    const q = await queue();
    const rejected: string[] = [];
    q.on("worker:rejected", (e) => rejected.push(e.reason));
    const a = rawWorker(q);
    await a.send([HEARTBEAT]);
    await a.send(["client", "", "reply"]);
    await waitFor(() => rejected.length === 2, { what: "two rejections" });
    expect(rejected).toEqual(["HEARTBEAT before READY", "reply before READY"]);
    expect(q.stats()).toMatchObject({ rejected: 2, workers: 0, replies: 0 });
    // READY then makes it a worker.
    await a.send([READY]);
    await readyWorkers(q, 1);
  });

  it("treats a repeated READY from a busy worker as a new conversation and redelivers its request", async () => {
    const q = await queue();
    const events: unknown[] = [];
    q.on("worker:ready", (e) => events.push({ again: e.again }));
    q.on("request:redelivered", (e) => events.push({ redelivered: e.attempt }));
    const a = rawWorker(q, "A");
    await a.send([READY]);
    await readyWorkers(q, 1);
    const d = dealer(q);
    await d.send(["1", "", "job"]);
    await waitFor(() => a.requests().length === 1, { what: "first delivery" });
    await a.send([READY]); // lost its request (restarted, reconnected, or gave it up)
    await waitFor(() => a.requests().length === 2, { what: "redelivery" });
    expect(a.requests()[1]!.map(String)).toEqual(a.requests()[0]!.map(String));
    await a.send(replyTo(a.requests()[1]!, "done"));
    expect((await d.receive()).map(String)).toEqual(["1", "", "done"]);
    expect(events).toEqual([{ again: false }, { redelivered: 1 }, { again: true }]);
    expect(q.stats()).toMatchObject({ duplicateReady: 1, redelivered: 1, replies: 1 });
  });

  it("refuses a second live connection with a worker's identity (no takeover); accepts the identity again after the old connection closed", async () => {
    const q = await queue();
    const a1 = rawWorker(q, "same-id");
    await a1.send([READY]);
    await readyWorkers(q, 1);
    const a2 = rawWorker(q, "same-id");
    await a2.send([READY]);
    const d = dealer(q);
    await d.send(["1", "", "x"]);
    await waitFor(() => a1.requests().length === 1, { what: "request on the first connection" });
    expect(a2.requests()).toHaveLength(0);
    expect(q.stats()).toMatchObject({ workers: 1, readies: 1, duplicateReady: 0 });
    // The legitimate worker reconnects after its connection died: accepted, its request redelivered.
    await a1.close();
    await waitFor(() => q.stats().workers === 0, { what: "the old connection purged (a heartbeat to it is unroutable)" });
    await a2.close();
    const a3 = rawWorker(q, "same-id");
    await a3.send([READY]);
    await waitFor(() => a3.requests().length === 1, { what: "the request on the reconnected worker" });
  });

  // The timing (expiry exactly at liveness × interval) is covered on a ManualClock in
  // test/unit/dispatch.test.ts; here the wire: a silent busy worker is purged, its request redelivered.
  it("purges a silent busy worker and redelivers its request", async () => {
    const interval = 100;
    const liveness = 3;
    const q = await queue({ heartbeatInterval: interval, heartbeatLiveness: liveness, pendingTimeout: 0 });
    const expired: { silentMs: number; busy: boolean }[] = [];
    q.on("worker:expired", (e) => expired.push({ silentMs: e.silentMs, busy: e.busy }));
    const dead = rawWorker(q, "dead");
    await dead.send([READY]);
    await readyWorkers(q, 1);
    const d = dealer(q);
    await d.send(["1", "", "job"]);
    await waitFor(() => dead.requests().length === 1, { what: "delivery" }); // it never speaks again
    const live = rawWorker(q, "live");
    await live.send([READY]);
    const beat = setInterval(() => void live.send([HEARTBEAT]).catch(() => undefined), interval);
    cleanup.push(() => clearInterval(beat));
    await waitFor(() => live.requests().length === 1, { what: "redelivery to the live worker" });
    expect(expired).toHaveLength(1);
    expect(expired[0]!.busy).toBe(true);
    expect(expired[0]!.silentMs).toBeGreaterThanOrEqual(liveness * interval);
    await live.send(replyTo(live.requests()[0]!, "done"));
    expect((await d.receive()).map(String)).toEqual(["1", "", "done"]);
    expect(q.stats()).toMatchObject({ workersExpired: 1, redelivered: 1, replies: 1, workers: 1 });
  });

  it("drops a request after maxRedeliveries, counting it", async () => {
    const q = await queue({ maxRedeliveries: 1, heartbeatLiveness: 100 });
    const dropped: string[] = [];
    q.on("request:dropped", (e) => dropped.push(e.reason));
    const a = rawWorker(q);
    await a.send([READY]);
    await readyWorkers(q, 1);
    const d = dealer(q);
    await d.send(["1", "", "poison"]);
    await waitFor(() => a.requests().length === 1, { what: "delivery 1" });
    await a.send([READY]);
    await waitFor(() => a.requests().length === 2, { what: "delivery 2" });
    await a.send([READY]);
    await waitFor(() => dropped.length === 1, { what: "drop" });
    expect(dropped).toEqual(["redeliveries"]);
    expect(q.stats()).toMatchObject({ redelivered: 1, droppedRedeliveries: 1, dropped: 1, idle: 1 });
  });

  it("holds requests while no worker is ready, bounded, with a deadline", async () => {
    const q = await queue({ maxPending: 3, pendingOverflow: "drop-oldest", pendingTimeout: 60_000 });
    const d = dealer(q);
    for (let i = 1; i <= 5; i++) await d.send([String(i), "", `r${i}`]);
    await waitFor(() => q.stats().requests === 5, { what: "5 requests" });
    expect(q.stats()).toMatchObject({ pending: 3, droppedOverflow: 2 });
    const a = rawWorker(q);
    await a.send([READY]);
    await waitFor(() => a.requests().length === 1, { what: "held request delivered" });
    expect(a.requests()[0]!.map(String).slice(1)).toEqual(["3", "", "r3"]); // oldest kept
  });

  it("takes out held requests that waited pendingTimeout (6/PPP has no answer for them)", async () => {
    const q = await queue({ pendingTimeout: 150 });
    const expired = q.next("request:expired");
    const d = dealer(q);
    await d.send(["1", "", "late"]);
    const [e] = await expired;
    expect(e.client.toString("hex")).toMatch(/^[0-9a-f]+$/);
    expect(e.waitedMs).toBeGreaterThanOrEqual(150);
    expect(q.stats()).toMatchObject({ pending: 0, requestsExpired: 1, dropped: 0 });
  });

  it("purges a worker whose connection is gone as soon as a send to it fails", async () => {
    const q = await queue({ heartbeatLiveness: 50 });
    const gone: string[] = [];
    q.on("worker:disconnected", (e) => gone.push(e.reason));
    const a = rawWorker(q);
    await a.send([READY]);
    await readyWorkers(q, 1);
    await a.close();
    await waitFor(() => gone.length === 1, { what: "unreachable", timeout: 5000 });
    expect(gone).toEqual(["unreachable"]);
    expect(q.stats()).toMatchObject({ workersUnreachable: 1, workersExpired: 0, workers: 0 });
  });
});

describe("ParanoidPirateQueue: a request the backend cannot send", () => {
  it("is not lost with its worker left busy for ever: the stuck worker is dropped and the request redelivered", async () => {
    const q = await queue({ frontend: await uniqAddress("inproc"), backend: await uniqAddress("inproc"), heartbeatInterval: 1, heartbeatLiveness: 100_000, pendingTimeout: 0 });
    // A worker that says READY and then never reads: its pipe fills with heartbeats.
    const stuck = new zmq.Dealer({ linger: 0, receiveHighWaterMark: 1 });
    cleanup.push(() => stuck.close());
    stuck.connect(q.endpoints.backend[0]!);
    await stuck.send([READY]);
    await readyWorkers(q, 1);
    await waitFor(() => q.reactor.stats().droppedHwm > 0, { what: "the stuck worker's pipe to fill" });
    const client = dealer(q);
    await client.send(["", "hello"]);
    await waitFor(() => q.stats().requests === 1 && q.stats().workers === 0 && q.stats().pending === 1, { what: "request back in the queue, stuck worker gone" });
    const good = rawWorker(q);
    await good.send([READY]);
    const request = await waitFor(() => good.requests()[0], { what: "redelivered request" });
    expect(request.map(String).slice(-1)).toEqual(["hello"]);
  });
});
