import { afterEach, describe, expect, it } from "vitest";
import { AbortedError, ClosedError, InvalidOptionError, QueueFullError, Reactor, RequestAbandonedError, TimeoutError } from "../../../src/index.js";
import { LazyPirateClient, PipelinedClient } from "../../../patterns/lazy-pirate/index.js";
import { uniqAddress, TRANSPORTS } from "../../helpers/addresses.js";
import { waitFor, within } from "../../helpers/wait.js";
import { repEcho, type RepServer } from "./rep.js";

const text = (frames: Buffer[]) => frames.map((f) => f.toString());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(transport: (typeof TRANSPORTS)[number] = "tcp", options?: Parameters<typeof repEcho>[1]): Promise<RepServer> {
  const s = await repEcho(await uniqAddress(transport), options);
  cleanups.push(() => s.close());
  return s;
}

function client(options: ConstructorParameters<typeof LazyPirateClient>[0]): LazyPirateClient {
  const c = new LazyPirateClient(options);
  cleanups.push(() => c.close());
  return c;
}

describe("LazyPirateClient", () => {
  for (const transport of TRANSPORTS) {
    it(`round-trips multi-frame requests over ${transport}`, async () => {
      const s = await server(transport);
      const c = client({ endpoint: s.endpoint, requestTimeout: 2000 });
      expect(text(await c.request(["a", "b"]))).toEqual(["a", "b"]);
      expect(text(await c.request("one"))).toEqual(["one"]);
      expect(c.stats()).toMatchObject({ requests: 2, replies: 2, retries: 0, reopened: 0, abandoned: 0 });
    });
  }

  it("serializes concurrent requests on one REQ socket", async () => {
    const s = await server("ipc");
    const c = client({ endpoint: s.endpoint });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(`r${i}`)));
    expect(replies.map((r) => r[0]!.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}`));
    expect(c.stats().replies).toBe(20);
  });

  it("times out, reopens the socket and resends the same request", async () => {
    const s = await server("tcp", { ignore: (n) => n % 2 === 1 });
    const c = client({ endpoint: s.endpoint, requestTimeout: 500, retries: 3 });
    const retries: number[] = [];
    const reopened: string[] = [];
    c.on("request:retry", (e) => retries.push(e.attempt));
    c.on("socket:reopened", (e) => reopened.push(e.reason));
    expect(text(await c.request("x"))).toEqual(["x"]);
    expect(retries).toEqual([2]);
    expect(reopened).toEqual(["timeout"]);
    expect(text(await c.request("y"))).toEqual(["y"]);
    expect(c.stats()).toMatchObject({ requests: 2, replies: 2, retries: 2, reopened: 2, abandoned: 0 });
  });

  it("abandons after the last retry with a TimeoutError, and the next request still works", async () => {
    let dead = true;
    const s = await server("tcp", { ignore: () => dead });
    const c = client({ endpoint: s.endpoint, requestTimeout: 200, retries: 2 });
    const abandoned: number[] = [];
    c.on("request:abandoned", (e) => abandoned.push(e.attempt));
    const error = await c.request("lost").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestAbandonedError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as RequestAbandonedError).attempts).toBe(3);
    expect((error as RequestAbandonedError).code).toBe("ZMQP_REQUEST_ABANDONED");
    expect(abandoned).toEqual([3]);
    expect(s.received).toBe(3);
    dead = false;
    expect(text(await c.request("found", { requestTimeout: 5000 }))).toEqual(["found"]);
    expect(c.stats()).toMatchObject({ abandoned: 1, retries: 2, replies: 1 });
  });

  it("waits the backoff between attempts (timed to the ms in test/unit/request.test.ts)", async () => {
    const s = await server("tcp", { ignore: (n) => n <= 2 });
    const c = client({ endpoint: s.endpoint, requestTimeout: 300, retries: 3, backoff: { initial: 150, factor: 2 } });
    const delays: number[] = [];
    c.on("request:retry", (e) => delays.push(e.delay!));
    expect(text(await c.request("slow"))).toEqual(["slow"]);
    expect(delays).toEqual([150, 300]);
    expect(c.stats().retries).toBe(2);
  });

  it("fails over to the next endpoint after a timeout, one endpoint at a time", async () => {
    const dead = await uniqAddress("tcp"); // nothing listens here
    const s = await server("tcp");
    const c = client({ endpoint: [dead, s.endpoint], requestTimeout: 200, retries: 2 });
    const moves: string[] = [];
    c.on("endpoint:failover", (e) => moves.push(`${e.from} -> ${e.to}`));
    const reopened: string[] = [];
    c.on("socket:reopened", (e) => reopened.push(e.endpoint));
    expect(text(await c.request("over"))).toEqual(["over"]);
    expect(moves).toEqual([`${dead} -> ${s.endpoint}`]);
    expect(reopened).toEqual([s.endpoint]);
    expect(c.endpoint).toBe(s.endpoint);
    expect(text(await c.request("stays"))).toEqual(["stays"]);
    expect(c.stats()).toMatchObject({ failovers: 1, retries: 1, replies: 2 });
  });

  it("a per-request timeout overrides requestTimeout", async () => {
    const s = await server("tcp", { ignore: () => true });
    const c = client({ endpoint: s.endpoint, requestTimeout: 60_000, retries: 0 });
    await expect(c.request("q", { requestTimeout: 100 })).rejects.toBeInstanceOf(RequestAbandonedError);
  });

  it("aborting an in-flight request rejects it with AbortedError and resets the socket", async () => {
    let silent = true;
    const s = await server("tcp", { ignore: () => silent });
    const c = client({ endpoint: s.endpoint, requestTimeout: 60_000 });
    const ac = new AbortController();
    const pending = c.request("stuck", { signal: ac.signal });
    await waitFor(() => s.received === 1, { what: "request at the server" });
    ac.abort(new Error("user"));
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toEqual(new Error("user"));
    silent = false;
    expect(text(await c.request("next"))).toEqual(["next"]);
    expect(c.stats()).toMatchObject({ aborted: 1, reopened: 1, replies: 1 });
  });

  it("aborting a queued request removes it from the backlog", async () => {
    const s = await server("tcp", { ignore: (n) => n === 1 });
    const c = client({ endpoint: s.endpoint, requestTimeout: 500, retries: 1 });
    const ac = new AbortController();
    const first = c.request("first");
    const second = c.request("second", { signal: ac.signal });
    const third = c.request("third");
    expect(c.stats().pending).toBe(2);
    ac.abort();
    await expect(second).rejects.toBeInstanceOf(AbortedError);
    expect(c.stats().pending).toBe(1);
    expect(text(await first)).toEqual(["first"]);
    expect(text(await third)).toEqual(["third"]);
    expect(s.received).toBe(3);
  });

  it("an already aborted signal rejects at once", async () => {
    const c = client({ endpoint: "tcp://127.0.0.1:1" });
    await expect(c.request("x", { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
  });

  it("bounds the backlog: reject, drop-newest and drop-oldest", async () => {
    const s = await server("tcp", { ignore: () => true });
    const reject = client({ endpoint: s.endpoint, requestTimeout: 60_000, maxPending: 1 });
    const r1 = reject.request("1");
    const r2 = reject.request("2");
    await expect(reject.request("3")).rejects.toBeInstanceOf(QueueFullError);
    const newest = client({ endpoint: s.endpoint, requestTimeout: 60_000, maxPending: 1, pendingOverflow: "drop-newest" });
    const n1 = newest.request("1");
    const n2 = newest.request("2");
    await expect(newest.request("3")).rejects.toBeInstanceOf(QueueFullError);
    expect(newest.stats().dropped).toBe(1);
    const oldest = client({ endpoint: s.endpoint, requestTimeout: 60_000, maxPending: 1, pendingOverflow: "drop-oldest" });
    const o1 = oldest.request("1");
    const o2 = oldest.request("2");
    const o3 = oldest.request("3");
    await expect(o2).rejects.toBeInstanceOf(QueueFullError);
    expect(oldest.stats()).toMatchObject({ dropped: 1, pending: 1, inFlight: 1 });
    for (const c of [reject, newest, oldest]) await c.close();
    for (const p of [r1, r2, n1, n2, o1, o3]) await expect(p).rejects.toBeInstanceOf(ClosedError);
    expect(oldest.stats().closed).toBe(2);
  });

  it("discards replies the accept option refuses, and retries", async () => {
    let n = 0;
    const s = await server("tcp", { transform: (f) => (++n === 1 ? [Buffer.from("wrong")] : f) });
    const c = client({ endpoint: s.endpoint, requestTimeout: 500, accept: (reply, request) => reply[0]!.equals(request[0]!) });
    const discarded: string[] = [];
    c.on("reply:discarded", (e) => discarded.push(e.reason));
    expect(text(await c.request("seq-1"))).toEqual(["seq-1"]);
    expect(discarded).toEqual(["rejected"]);
    expect(c.stats()).toMatchObject({ discarded: 1, retries: 1 });
  });

  it("close() is idempotent, rejects pending requests and later ones", async () => {
    const s = await server("tcp", { ignore: () => true });
    const c = new LazyPirateClient({ endpoint: s.endpoint });
    const pending = c.request("x");
    const p1 = c.close();
    expect(c.close()).toBe(p1);
    await p1;
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    await expect(c.request("y")).rejects.toBeInstanceOf(ClosedError);
  });

  it("closes when its signal aborts", async () => {
    const ac = new AbortController();
    const c = new LazyPirateClient({ endpoint: "tcp://127.0.0.1:1", signal: ac.signal });
    const pending = c.request("x");
    ac.abort();
    await expect(pending).rejects.toBeInstanceOf(ClosedError);
    expect(c.closed).toBe(true);
    await c.close();
  });

  it("validates its options with TypeErrors naming the option", () => {
    const bad: [unknown, string][] = [
      [undefined, "endpoint"],
      [{}, "endpoint"],
      [{ endpoint: "nope" }, "endpoint"],
      [{ endpoint: "tcp://127.0.0.1:1", requestTimeout: 0 }, "requestTimeout"],
      [{ endpoint: "tcp://127.0.0.1:1", retries: -1 }, "retries"],
      [{ endpoint: "tcp://127.0.0.1:1", retries: 1.5 }, "retries"],
      [{ endpoint: "tcp://127.0.0.1:1", backoff: { initial: -1 } }, "initial"],
      [{ endpoint: "tcp://127.0.0.1:1", backoff: 5 }, "backoff"],
      [{ endpoint: "tcp://127.0.0.1:1", pendingOverflow: "wait" }, "pendingOverflow"],
      [{ endpoint: "tcp://127.0.0.1:1", maxPending: -1 }, "maxPending"],
      [{ endpoint: "tcp://127.0.0.1:1", maxInFlight: 2 }, "maxInFlight"],
      [{ endpoint: "tcp://127.0.0.1:1", timeout: 100 }, "timeout"],
      [{ endpoint: "tcp://127.0.0.1:1", maxQueued: 5 }, "maxQueued"],
      [{ endpoint: "tcp://127.0.0.1:1", signal: {} }, "signal"],
      [{ endpoint: "tcp://127.0.0.1:1", accept: 1 }, "accept"],
      [{ endpoint: "tcp://127.0.0.1:1", reactor: {} }, "reactor"],
    ];
    for (const [options, name] of bad) {
      expect(() => new LazyPirateClient(options as never), name).toThrow(InvalidOptionError);
      expect(() => new LazyPirateClient(options as never), name).toThrow(name);
    }
  });

  it("rejects bad request arguments with InvalidOptionError (never a synchronous throw)", async () => {
    const c = client({ endpoint: "tcp://127.0.0.1:1" });
    await expect(c.request([] as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(c.request("x", { requestTimeout: -5 })).rejects.toThrow("requestTimeout");
    await expect(c.request("x", { timeout: 5 } as never)).rejects.toThrow("`timeout` is now called `requestTimeout`");
    expect(c.stats().requests).toBe(0);
  });

  for (const Client of [LazyPirateClient, PipelinedClient]) {
    it(`${Client.name}: closing the shared reactor rejects requests in flight and queued (ClosedError), never pending for ever`, async () => {
      const reactor = new Reactor();
      const c = new Client({ reactor, endpoint: await uniqAddress("tcp"), requestTimeout: 200, retries: 1, maxPending: 5 });
      cleanups.push(() => c.close());
      const outcomes = ["a", "b"].map((p) => c.request(p).then(() => "resolved", (error: unknown) => error));
      await reactor.close();
      for (const outcome of outcomes) expect(await within(outcome, 5000, "request to settle")).toBeInstanceOf(ClosedError);
      expect(c.closed).toBe(true);
      expect(reactor.listenerCount("reactor:closing")).toBe(0);
    });
  }
  it("a client on a shared reactor stops listening to it once closed", async () => {
    const reactor = new Reactor();
    cleanups.push(() => reactor.close());
    for (let i = 0; i < 3; i++) await new LazyPirateClient({ reactor, endpoint: await uniqAddress("tcp") }).close();
    expect(reactor.listenerCount("reactor:closing")).toBe(0);
  });
});
