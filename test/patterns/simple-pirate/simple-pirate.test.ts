import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, EMPTY, InvalidOptionError, Reactor } from "../../../src/index.js";
import { LazyPirateClient, PipelinedClient } from "../../../patterns/lazy-pirate/index.js";
import { READY_FRAME, SimplePirateQueue, SimplePirateWorker, type SimplePirateQueueOptions, type SimplePirateWorkerOptions } from "../../../patterns/simple-pirate/index.js";
import { TRANSPORTS, uniqAddress, type Transport } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const text = (frames: Buffer[]) => frames.map((f) => f.toString());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
});
function own<T extends { close(): unknown }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

async function queue(transport: Transport = "tcp", options: Partial<SimplePirateQueueOptions> = {}): Promise<SimplePirateQueue> {
  const wildcard = async () => (transport === "tcp" ? "tcp://127.0.0.1:*" : uniqAddress(transport));
  const q = own(new SimplePirateQueue({ frontend: await wildcard(), backend: await wildcard(), ...options }));
  await q.start();
  return q;
}
function worker(q: SimplePirateQueue, options: Partial<SimplePirateWorkerOptions> = {}): SimplePirateWorker {
  return own(new SimplePirateWorker({ endpoint: q.endpoints.backend[0]!, handler: (f) => f, ...options }));
}
const workersReady = (q: SimplePirateQueue, n: number) => waitFor(() => q.stats().workers >= n, { what: `${n} idle workers` });

describe("SimplePirateQueue + SimplePirateWorker", () => {
  for (const transport of TRANSPORTS) {
    it(`load-balances Lazy Pirate requests over LRU workers (${transport})`, async () => {
      const q = await queue(transport);
      const seen: string[] = [];
      worker(q, { identity: "w-a", handler: (f) => (seen.push("a"), ["a", ...f]) });
      worker(q, { identity: "w-b", handler: async (f) => (seen.push("b"), ["b", ...f]) });
      await workersReady(q, 2);
      const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 5000 }));
      for (let i = 0; i < 6; i++) expect(text(await c.request(["hi", `${i}`])).slice(1)).toEqual(["hi", `${i}`]);
      // LRU: the workers alternate; which one said READY first is up to the network.
      const first = seen[0]!;
      const second = first === "a" ? "b" : "a";
      expect(seen).toEqual([first, second, first, second, first, second]);
      expect(q.stats()).toMatchObject({ requests: 6, dispatched: 6, replies: 6, readies: 2, workers: 2, malformed: 0, dropped: 0 });
    });
  }

  it("forwards multi-frame address stacks: a pipelined client keeps many requests in flight", async () => {
    const q = await queue("ipc");
    for (let i = 0; i < 3; i++) worker(q, { handler: async (f) => [f[0]!.toString().toUpperCase()] });
    await workersReady(q, 3);
    const c = own(new PipelinedClient({ endpoint: q.endpoints.frontend[0]!, maxInFlight: 20, requestTimeout: 5000 }));
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => c.request(`req-${i}`)));
    expect(replies.map((r) => r[0]!.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `REQ-${i}`));
    expect(c.stats()).toMatchObject({ replies: 100, retries: 0, discarded: 0 });
    expect(q.stats().pending).toBe(0);
  });

  it("holds requests while no worker is free, bounded, dropping the oldest by default", async () => {
    const q = await queue("tcp", { maxPending: 2, pendingTimeout: 0 });
    const dropped: string[] = [];
    q.on("request:dropped", (e) => dropped.push(e.reason));
    const c = own(new PipelinedClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 10_000, retries: 0 }));
    const first = c.request("1");
    await waitFor(() => q.stats().pending === 1, { what: "the first request held" });
    const answers = ["2", "3"].map((p) => c.request(p));
    await waitFor(() => q.stats().requests === 3, { what: "3 requests at the queue" });
    expect(q.stats()).toMatchObject({ pending: 2, dropped: 1, droppedOverflow: 1 });
    expect(dropped).toEqual(["overflow"]);
    worker(q);
    expect(text(await answers[0]!)).toEqual(["2"]);
    expect(text(await answers[1]!)).toEqual(["3"]);
    await c.close();
    await expect(first).rejects.toBeInstanceOf(ClosedError);
  });

  it("drop-newest keeps the oldest requests", async () => {
    const q = await queue("tcp", { maxPending: 1, pendingOverflow: "drop-newest", pendingTimeout: 0 });
    const c = own(new PipelinedClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 10_000, retries: 0 }));
    const a = c.request("a");
    await waitFor(() => q.stats().pending === 1);
    const b = c.request("b");
    await waitFor(() => q.stats().dropped === 1, { what: "b dropped" });
    worker(q);
    expect(text(await a)).toEqual(["a"]);
    await c.close();
    await expect(b).rejects.toBeInstanceOf(ClosedError);
  });

  it("answers nothing for a request that waited pendingTimeout: it is taken out, counted", async () => {
    const q = await queue("tcp", { pendingTimeout: 50 });
    const expired = q.next("request:expired");
    const c = own(new PipelinedClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 10_000, retries: 0 }));
    const lost = c.request("late").catch((e: unknown) => e);
    const [e] = await expired;
    expect(e.waitedMs).toBeGreaterThanOrEqual(50);
    expect(q.stats()).toMatchObject({ pending: 0, requestsExpired: 1 });
    await c.close();
    expect(await lost).toBeInstanceOf(ClosedError);
  });

  it("a worker that dies mid-request costs one client retry, another worker answers", async () => {
    const q = await queue("tcp");
    let hang!: () => void;
    const slow = worker(q, { identity: "slow", handler: () => new Promise((r) => (hang = () => r(["late"]))) });
    await workersReady(q, 1);
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 300, retries: 3 }));
    const pending = c.request("job");
    await waitFor(() => slow.stats().requests === 1, { what: "the slow worker got the job" });
    await slow.close();
    hang();
    worker(q, { identity: "fast" });
    expect(text(await pending)).toEqual(["job"]);
    expect(c.stats().retries).toBeGreaterThanOrEqual(1);
  });

  it("requeues a request whose worker is gone, or the client's retry gets it answered", async () => {
    const q = await queue("tcp");
    const ghost = new zmq.Dealer({ routingId: "ghost", linger: 0 });
    ghost.connect(q.endpoints.backend[0]!);
    await ghost.send([EMPTY, READY_FRAME]);
    await workersReady(q, 1);
    ghost.close();
    const live = worker(q, { identity: "live" });
    await workersReady(q, 2);
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 300, retries: 5 }));
    expect(text(await c.request("x"))).toEqual(["x"]);
    expect(q.stats().redelivered + c.stats().retries).toBeGreaterThanOrEqual(1);
    expect(live.stats().replies).toBe(1);
  });

  it("takes back a worker restarted with the same identity once its old connection is gone (no handover)", async () => {
    // Simple Pirate has no heartbeats: the queue learns the old connection is gone when a
    // request to it is unroutable, or, when the request went into the closing pipe before
    // libzmq saw it close, when the worker held it past busyTimeout. Either way the request
    // waits for a worker.
    const q = await queue("tcp", { busyTimeout: 500 });
    const first = worker(q, { identity: "same" });
    await workersReady(q, 1);
    await first.close();
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 300, retries: 50 }));
    const answer = c.request("hi");
    await waitFor(() => q.stats().workersUnreachable + q.stats().workersTimedOut === 1, { what: "the old connection purged" });
    const second = worker(q, { identity: "same", handler: (f) => ["second", ...f] });
    expect(text(await answer)).toEqual(["second", "hi"]);
    expect(second.stats().replies).toBeGreaterThanOrEqual(1);
    expect(q.stats()).toMatchObject({ workers: 1, readies: 2, duplicateReady: 0 });
  });

  it("counts a duplicate READY once", async () => {
    const q = await queue("tcp");
    const fake = own(new zmq.Dealer({ routingId: "dup", linger: 0 }));
    fake.connect(q.endpoints.backend[0]!);
    await fake.send([EMPTY, READY_FRAME]);
    await fake.send([EMPTY, READY_FRAME]);
    await waitFor(() => q.stats().readies === 2);
    expect(q.stats()).toMatchObject({ workers: 1, duplicateReady: 1 });
  });

  it("counts and drops malformed messages on both sockets and keeps working", async () => {
    const q = await queue("tcp");
    const malformed: string[] = [];
    q.on("message:malformed", (e) => malformed.push(e.socket));
    const requestTemplate = [Buffer.alloc(0), Buffer.from("body")];
    const replyTemplate = [Buffer.alloc(0), Buffer.from("client"), Buffer.alloc(0), Buffer.from("reply")];
    await sendMalformed(q.endpoints.frontend[0]!, { type: "dealer", count: 150, templates: [requestTemplate] });
    await sendMalformed(q.endpoints.backend[0]!, { type: "dealer", count: 150, seed: 2, templates: [replyTemplate, [Buffer.alloc(0), READY_FRAME]] });
    await waitFor(() => q.stats().frontend!.received >= 150 && q.stats().backend!.received >= 150, { what: "all garbage received" });
    const s = q.stats();
    expect(s.malformed).toBeGreaterThan(0);
    expect(malformed).toContain("frontend");
    expect(malformed).toContain("backend");
    expect(s.malformedFrontend).toBeGreaterThan(0);
    expect(s.malformedBackend).toBeGreaterThan(0);
    expect(s.malformed).toBe(s.malformedFrontend + s.malformedBackend);
    expect(s.requests + s.malformedFrontend).toBe(s.frontend!.received);
    // every backend message is a READY, a reply that answers a held request, an unexpected (dropped) reply, or malformed
    expect(s.readies + s.replies + s.unexpectedReplies + s.malformedBackend).toBe(s.backend!.received);
    // Garbage that parsed as READY registered fake workers; drop them by closing, then check a real round trip.
    await q.close();
    const q2 = await queue("tcp");
    await sendMalformed(q2.endpoints.frontend[0]!, { type: "req", count: 20 });
    worker(q2);
    const c = own(new LazyPirateClient({ endpoint: q2.endpoints.frontend[0]!, requestTimeout: 2000 }));
    expect(text(await c.request("still alive"))).toEqual(["still alive"]);
  });

  it("a handler that throws resets the worker's socket; the client's retry is answered", async () => {
    const q = await queue("tcp");
    let calls = 0;
    const w = worker(q, {
      handler: (f) => {
        if (++calls === 1) throw new Error("boom");
        return f;
      },
    });
    const errors: unknown[] = [];
    w.on("request:failed", (e) => errors.push(e.error));
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 300, retries: 3 }));
    expect(text(await c.request("again"))).toEqual(["again"]);
    expect(errors).toEqual([new Error("boom")]);
    expect(w.stats()).toMatchObject({ failed: 1, reconnects: 1, connects: 2, replies: 1 });
  });

  it("a handler past handlerTimeout is given up: fresh socket, READY again; errorReply answers a failure instead", async () => {
    const q = await queue("tcp");
    let calls = 0;
    const w = worker(q, { handlerTimeout: 50, handler: (f) => (++calls === 1 ? new Promise(() => undefined) : f) });
    const failed: string[] = [];
    w.on("request:failed", (e) => failed.push(e.reason));
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 300, retries: 3 }));
    expect(text(await c.request("late"))).toEqual(["late"]);
    expect(failed).toEqual(["timeout"]);
    expect(w.stats()).toMatchObject({ failed: 1, timedOut: 1, reconnects: 1, replies: 1 });

    const q2 = await queue("tcp");
    const e = worker(q2, {
      handler: () => {
        throw new Error("nope");
      },
      errorReply: (error) => ["error", (error as Error).message],
    });
    await workersReady(q2, 1);
    const c2 = own(new LazyPirateClient({ endpoint: q2.endpoints.frontend[0]!, requestTimeout: 2000 }));
    expect(text(await c2.request("x"))).toEqual(["error", "nope"]);
    expect(e.stats()).toMatchObject({ failed: 1, replies: 1, reconnects: 0 });
  });

  it("a worker drops a message without envelope (counted), reopens and says READY again; empty replies become one empty frame", async () => {
    // handover: the reopened REQ comes back with the same routing id (as our queue allows)
    const router = own(new zmq.Router({ linger: 0, handover: true }));
    await router.bind("tcp://127.0.0.1:*");
    const w = own(new SimplePirateWorker({ endpoint: router.lastEndpoint!, identity: "w1", handler: () => [] }));
    const [id1, , ready1] = await router.receive();
    expect(id1!.toString()).toBe("w1");
    expect(ready1).toEqual(READY_FRAME);
    await router.send([id1!, EMPTY, Buffer.from("no-envelope")]);
    const [, , ready2] = await router.receive();
    expect(ready2).toEqual(READY_FRAME);
    expect(w.stats()).toMatchObject({ malformed: 1, reconnects: 1, requests: 0 });
    await router.send([id1!, EMPTY, Buffer.from("client"), EMPTY, Buffer.from("body")]);
    const reply = await router.receive();
    expect(reply.map(String)).toEqual(["w1", "", "client", "", ""]);
    expect(w.stats()).toMatchObject({ requests: 1, replies: 1 });
  });

  it("interoperates with a Python Lazy Pirate client", async () => {
    const q = await queue("tcp");
    worker(q);
    worker(q);
    await workersReady(q, 2);
    const py = startPython("lp_client.py", ["--connect", q.endpoints.frontend[0]!, "--count", "10", "--timeout", "2000"]);
    expect(await py.exited).toBe(0);
    expect(py.lines.filter((l) => l.startsWith("REPLY "))).toEqual(Array.from({ length: 10 }, (_, i) => `REPLY request-${i + 1}`));
    expect(q.stats().replies).toBe(10);
  });

  it("serves Python Simple Pirate workers (REQ, READY 0x01) to Lazy Pirate and pipelined clients", async () => {
    const q = await queue("tcp");
    const py = [startPython("sp_worker.py", ["--connect", q.endpoints.backend[0]!]), startPython("sp_worker.py", ["--connect", q.endpoints.backend[0]!])];
    await Promise.all(py.map((p) => p.waitLine(/^READY /)));
    await workersReady(q, 2);
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 5000 }));
    expect(text(await c.request(["a", "b"]))).toEqual(["py", "a", "b"]);
    const p = own(new PipelinedClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 5000 }));
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => p.request(`${i}`)));
    expect(replies.map(text)).toEqual(Array.from({ length: 20 }, (_, i) => ["py", `${i}`]));
    await waitFor(() => py.every((w) => w.lines.some((l) => l.startsWith("WORK "))), { what: "both Python workers used" });
  });

  it("a worker process killed mid-request: the client's retry reaches the other worker", async () => {
    const q = await queue("tcp");
    const slow = startPython("sp_worker.py", ["--connect", q.endpoints.backend[0]!, "--identity", "slow", "--delay", "60000"]);
    await workersReady(q, 1);
    const fast = startPython("sp_worker.py", ["--connect", q.endpoints.backend[0]!, "--identity", "fast"]);
    await workersReady(q, 2);
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 500, retries: 5 }));
    const pending = c.request("job");
    await slow.waitLine(/^WORK 1$/);
    slow.kill("SIGKILL");
    expect(text(await pending)).toEqual(["py", "job"]);
    expect(fast.lines).toContain("WORK 1");
    expect(c.stats().retries).toBeGreaterThanOrEqual(1);
  });

  it("runs on a shared reactor, binds several endpoints, closes idempotently and on abort", async () => {
    const reactor = own(new Reactor());
    const ac = new AbortController();
    const q = new SimplePirateQueue({ frontend: ["tcp://127.0.0.1:*", await uniqAddress("ipc")], backend: "tcp://127.0.0.1:*", reactor, signal: ac.signal });
    await q.start();
    expect(q.endpoints.frontend).toHaveLength(2);
    expect(q.endpoints.frontend[0]).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const w = new SimplePirateWorker({ endpoint: q.endpoints.backend[0]!, handler: (f) => f, reactor, signal: ac.signal });
    await workersReady(q, 1);
    const c = own(new LazyPirateClient({ endpoint: q.endpoints.frontend[1]!, reactor }));
    expect(text(await c.request("via ipc"))).toEqual(["via ipc"]);
    ac.abort();
    await waitFor(() => q.closed && w.closed);
    expect(q.close()).toBe(q.close());
    await q.close();
    await w.close();
    expect(reactor.closed).toBe(false);
    expect(q.closeCause).toBe("signal");
    await expect(q.start()).rejects.toBeInstanceOf(ClosedError);
    const q3 = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
    await q3.close();
    await expect(q3.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("validates options with TypeErrors naming the option", () => {
    const ep = "tcp://127.0.0.1:*";
    const badQueue: [unknown, string][] = [
      [undefined, "frontend"],
      [{ backend: ep }, "frontend"],
      [{ frontend: ep }, "backend"],
      [{ frontend: [], backend: ep }, "frontend"],
      [{ frontend: ep, backend: ep, maxPending: 0 }, "maxPending"],
      [{ frontend: ep, backend: ep, pendingOverflow: "later" }, "pendingOverflow"],
      [{ frontend: ep, backend: ep, pendingTimeout: -1 }, "pendingTimeout"],
      [{ frontend: ep, backend: ep, maxWorkers: 0 }, "maxWorkers"],
      [{ frontend: ep, backend: ep, signal: 1 }, "signal"],
      [{ frontend: ep, backend: ep, reactor: {} }, "reactor"],
    ];
    for (const [o, name] of badQueue) expect(() => new SimplePirateQueue(o as never), name).toThrow(new RegExp(name));
    const badWorker: [unknown, string][] = [
      [undefined, "endpoint"],
      [{ handler: () => [] }, "endpoint"],
      [{ endpoint: "tcp://127.0.0.1:1" }, "handler"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: "echo" }, "handler"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: () => [], identity: "" }, "identity"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: () => [], linger: "x" }, "linger"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: () => [], handlerTimeout: -1 }, "handlerTimeout"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: () => [], sendQueueLimit: 0 }, "sendQueueLimit"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: () => [], errorReply: 1 }, "errorReply"],
      [{ endpoint: "tcp://127.0.0.1:1", handler: () => [], reactor: {} }, "reactor"],
    ];
    for (const [o, name] of badWorker) {
      expect(() => new SimplePirateWorker(o as never), name).toThrow(InvalidOptionError);
      expect(() => new SimplePirateWorker(o as never), name).toThrow(new RegExp(name));
    }
  });
});
