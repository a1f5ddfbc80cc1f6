import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, InvalidOptionError, Reactor, RequestAbandonedError, TimeoutError } from "../../../src/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { MajordomoBroker, MajordomoClient, MajordomoWorker, ServiceExpiredError } from "../../../patterns/majordomo/index.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { waitFor, within } from "../../helpers/wait.js";
import { broker, client, closeAll, HB, STEADY_HB, text, worker } from "./fixtures.js";

afterEach(closeAll);

/** A raw DEALER speaking MDP by hand; collects what it receives. */
async function rawPeer(endpoint: string): Promise<{ sock: zmq.Dealer; got: Buffer[][]; close(): void }> {
  const sock = new zmq.Dealer({ linger: 0 });
  sock.connect(endpoint);
  const got: Buffer[][] = [];
  void (async () => {
    try {
      for await (const m of sock) got.push(m as Buffer[]);
    } catch {
      // closed
    }
  })();
  return { sock, got, close: () => sock.close() };
}

describe("MajordomoBroker + MajordomoWorker + MajordomoClient (MDP/0.1)", () => {
  for (const transport of ["tcp", "ipc", "inproc"] as const) {
    it(`answers a request through the broker over ${transport}`, async () => {
      const ep = transport === "tcp" ? "tcp://127.0.0.1:*" : transport === "ipc" ? `ipc:///tmp/mdp-${process.pid}-${Date.now()}.sock` : `inproc://mdp-${Date.now()}`;
      const { broker: b, endpoint } = await broker({}, ep);
      worker(endpoint, "upper", { handler: (f) => f.map((x) => x.toString().toUpperCase()) });
      const c = client(endpoint);
      expect(text(await c.request("upper", ["hello", "world"]))).toEqual(["HELLO", "WORLD"]);
      expect(b.stats()).toMatchObject({ requests: 1, replies: 1, workers: 1, malformed: 0 });
    });
  }

  it("keeps many requests in flight (asynchronous mode) and spreads them over workers", async () => {
    const { broker: b, endpoint } = await broker();
    const seen = [0, 0];
    for (const i of [0, 1]) {
      worker(endpoint, "slow", {
        handler: async (f) => {
          seen[i]!++;
          await new Promise((r) => setTimeout(r, 5));
          return f;
        },
      });
    }
    await waitFor(() => b.stats().workers === 2);
    const c = client(endpoint, { maxInFlight: 20 });
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => c.request("slow", String(i))));
    expect(replies.map((r) => r[0]!.toString())).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(seen[0]! + seen[1]!).toBe(100);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[1]).toBeGreaterThan(0);
    expect(c.stats()).toMatchObject({ requests: 100, replies: 100, retries: 0 });
  });

  it("queues requests until a worker for the service registers", async () => {
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const c = client(endpoint, { requestTimeout: 5000 });
    const reply = c.request("late", "x");
    await new Promise((r) => setTimeout(r, 100));
    worker(endpoint, "late");
    expect(text(await reply)).toEqual(["x"]);
  });

  it("answers mmi.service with 200/404 and other mmi.* with 501", async () => {
    const { endpoint } = await broker();
    worker(endpoint, "echo");
    const c = client(endpoint);
    await waitFor(async () => text(await c.request("mmi.service", "echo"))[0] === "200");
    expect(text(await c.request("mmi.service", "nope"))).toEqual(["404"]);
    expect(text(await c.request("mmi.frobnicate", "x"))).toEqual(["501"]);
  });

  it("expires a request for a service with no worker and answers 504 (counted)", async () => {
    const { broker: b, endpoint } = await broker({ pendingTimeout: 200 });
    const expired: string[] = [];
    b.on("request:expired", (e) => expired.push(e.service));
    const c = client(endpoint, { requestTimeout: 2000, retries: 0 });
    const err = await c.request("nobody", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceExpiredError);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as ServiceExpiredError).reply[0]!.toString()).toBe("504");
    expect(expired).toEqual(["nobody"]);
    expect(b.stats()).toMatchObject({ requestsExpired: 1, pending: 0, services: 0 });
  });

  it("abandons a request after its retries with TimeoutError, reopening the socket each time", async () => {
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const c = client(endpoint, { requestTimeout: 100, retries: 2 });
    const retries: number[] = [];
    c.on("request:retry", (e) => retries.push(e.attempt));
    await expect(c.request("void", "x")).rejects.toBeInstanceOf(TimeoutError);
    expect(retries).toEqual([2, 3]);
    expect(c.stats()).toMatchObject({ abandoned: 1, retries: 2, sockets: 3 });
  });

  it("fails over to the next broker after a timeout, and stays there", async () => {
    const dead = await uniqAddress("tcp"); // no broker here
    const { endpoint } = await broker();
    worker(endpoint, "echo");
    const c = client([dead, endpoint], { requestTimeout: 300, retries: 3 });
    const moves: string[] = [];
    c.on("endpoint:failover", (e) => moves.push(e.to));
    expect(text(await c.request("echo", "x"))).toEqual(["x"]);
    expect(moves).toEqual([endpoint]);
    expect(c.endpoint).toBe(endpoint);
    expect(text(await c.request("echo", "y"))).toEqual(["y"]);
    expect(c.stats()).toMatchObject({ failovers: 1, retries: 1, replies: 2 });
  });

  it("an abandoned request rejects with RequestAbandonedError; bad arguments reject (never throw)", async () => {
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const c = client(endpoint, { requestTimeout: 100, retries: 1 });
    const error = await c.request("void", "x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestAbandonedError);
    expect((error as RequestAbandonedError).attempts).toBe(2);
    const bad = c.request("mmi.\u0001" as string, "x");
    await expect(bad).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(c.request("", "x")).rejects.toThrow(/service/);
    await expect(c.request("echo", "x", { requestTimeout: 0 })).rejects.toThrow(/requestTimeout/);
    await expect(c.request("echo", "x", { onPartial: 5 as never })).rejects.toThrow(/onPartial/);
  });

  it("aborts a request with its signal", async () => {
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const c = client(endpoint, { requestTimeout: 5000 });
    const ac = new AbortController();
    const p = c.request("void", "x", { signal: ac.signal });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: "ZMQP_ABORTED" });
  });

  it("disconnects a worker that registers an mmi.* service", async () => {
    const { broker: b, endpoint } = await broker();
    const peer = await rawPeer(endpoint);
    await peer.sock.send(["", "MDPW01", Buffer.from([1]), "mmi.service"]);
    await waitFor(() => peer.got.length > 0);
    expect(text(peer.got[0]!)).toEqual(["", "MDPW01", "\x05"]);
    expect(b.stats().workers).toBe(0);
    peer.close();
  });

  it("sends DISCONNECT for valid but unexpected commands (heartbeat from a stranger, REQUEST, second READY, reply without request)", async () => {
    const { broker: b, endpoint } = await broker();
    const cases: Buffer[][] = [
      [Buffer.alloc(0), Buffer.from("MDPW01"), Buffer.from([4])],
      [Buffer.alloc(0), Buffer.from("MDPW01"), Buffer.from([3]), Buffer.from("c"), Buffer.alloc(0), Buffer.from("x")],
    ];
    for (const msg of cases) {
      const peer = await rawPeer(endpoint);
      await peer.sock.send(msg);
      await waitFor(() => peer.got.length > 0);
      expect(text(peer.got[0]!)).toEqual(["", "MDPW01", "\x05"]);
      peer.close();
    }
    for (const second of [
      ["", "MDPW01", Buffer.from([1]), "svc"],
      ["", "MDPW01", Buffer.from([2]), "client", "", "body"],
    ]) {
      const peer = await rawPeer(endpoint);
      await peer.sock.send(["", "MDPW01", Buffer.from([1]), "svc"]);
      await waitFor(() => b.stats().workers === 1);
      await peer.sock.send(second);
      await waitFor(() => peer.got.some((m) => m[2]?.[0] === 5));
      expect(b.stats().workers).toBe(0);
      peer.close();
    }
    expect(b.stats().disconnectsSent).toBe(4);
  });

  it("counts malformed messages, drops them and keeps serving", async () => {
    const { broker: b, endpoint } = await broker();
    worker(endpoint, "echo");
    const c = client(endpoint);
    expect(text(await c.request("echo", "before"))).toEqual(["before"]);
    const templates = [
      ["", "MDPC01", "echo", "x"],
      ["", "MDPW01", "\x01", "svc"],
      ["", "MDPW01", "\x03", "client", "", "x"],
      ["", "MDPW01", "\x04"],
      ["MDPC02", "\x01", "echo", "x"],
      ["MDPW02", "\x04", "client", "", "x"],
    ].map((m) => m.map((f) => Buffer.from(f)));
    await sendMalformed(endpoint, { count: 300, templates });
    await waitFor(() => b.stats().received >= 300, { what: "garbage received" });
    expect(b.stats().malformed).toBeGreaterThan(50);
    expect(text(await c.request("echo", "after"))).toEqual(["after"]);
  });

  it("heartbeats workers and keeps an idle worker registered", async () => {
    const { broker: b, endpoint } = await broker({ heartbeatInterval: STEADY_HB });
    const w = worker(endpoint, "echo", { heartbeatInterval: STEADY_HB });
    await waitFor(() => b.stats().heartbeatsSent >= 8 && w.stats().heartbeatsSent >= 8);
    expect(b.stats()).toMatchObject({ workers: 1, workersExpired: 0 });
    expect(w.stats().reconnects).toBe(0);
  });

  it("validates options (InvalidOptionError naming the option)", () => {
    const bind = "tcp://127.0.0.1:*";
    expect(() => new MajordomoBroker({ bind, heartbeatInterval: 0 })).toThrow(/heartbeatInterval/);
    expect(() => new MajordomoBroker({ bind, pendingOverflow: "nope" as never })).toThrow(/pendingOverflow/);
    expect(() => new MajordomoBroker({ bind, pendingTimeout: -1 })).toThrow(/pendingTimeout/);
    expect(() => new MajordomoBroker({ bind: "nowhere" })).toThrow(/bind/);
    expect(() => new MajordomoBroker(undefined as never)).toThrow(/bind/);
    expect(() => new MajordomoWorker({ endpoint: "tcp://127.0.0.1:1", service: "mmi.x", handler: (f) => f })).toThrow(/service/);
    expect(() => new MajordomoWorker({ endpoint: "nope", service: "s", handler: (f) => f })).toThrow(/endpoint/);
    expect(() => new MajordomoWorker({ endpoint: "tcp://127.0.0.1:1", service: "s", handler: undefined as never })).toThrow(/handler/);
    const ok = { endpoint: "tcp://127.0.0.1:1", service: "s", handler: (f: Buffer[]) => f };
    for (const [patch, name] of [
      [{ service: "mmi.x" }, "service"],
      [{ endpoint: undefined }, "endpoint"],
      [{ handler: undefined }, "handler"],
      [{ heartbeatInterval: 0 }, "heartbeatInterval"],
      [{ heartbeatLiveness: 0 }, "heartbeatLiveness"],
      [{ reconnectInterval: 100, reconnectMaxInterval: 50 }, "reconnectMaxInterval"],
      [{ maxPending: 0 }, "maxPending"],
      [{ handlerTimeout: -1 }, "handlerTimeout"],
      [{ sendQueueLimit: 0 }, "sendQueueLimit"],
      [{ errorReply: 1 }, "errorReply"],
      [{ version: 3 }, "version"],
    ] as const) {
      expect(() => new MajordomoWorker({ ...ok, ...patch } as never), name).toThrow(InvalidOptionError);
      expect(() => new MajordomoWorker({ ...ok, ...patch } as never), name).toThrow(new RegExp(`\`${name}\``));
    }
    expect(() => new MajordomoClient({ endpoint: "tcp://127.0.0.1:1", version: 3 as never })).toThrow(/version/);
    expect(() => new MajordomoClient({ endpoint: "tcp://127.0.0.1:1", requestTimeout: -1 })).toThrow(/requestTimeout/);
    expect(() => new MajordomoClient({ endpoint: "tcp://127.0.0.1:1", pendingLimit: 5 } as never)).toThrow(/`pendingLimit` is now called `maxPending`/);
  });

  it("close() is idempotent and rejects requests in flight with ClosedError", async () => {
    const { broker: b, endpoint } = await broker({ pendingTimeout: 0 });
    const c = new MajordomoClient({ endpoint });
    const p = c.request("void", "x");
    await within(Promise.all([c.close(), c.close()]), 2000, "client close");
    await expect(p).rejects.toMatchObject({ code: "ZMQP_CLOSED" });
    await within(Promise.all([b.close(), b.close()]), 2000, "broker close");
    void HB;
  });
});

describe("MajordomoWorker close() with requests in hand", () => {
  it("counts the requests it never answers as dropped, reason closed: the backlog's unrun, the running one's reply", async () => {
    const router = new zmq.Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    let release: (() => void) | undefined;
    const w = worker(router.lastEndpoint!, "slow", { handler: (f) => new Promise((r) => (release = () => r(f))) });
    const reasons: string[] = [];
    w.on("request:dropped", (e) => reasons.push(`request ${e.reason}`));
    w.on("reply:dropped", (e) => reasons.push(`reply ${e.reason}`));
    try {
      const [id] = (await router.receive()) as Buffer[]; // READY
      // A broker that breaks the one-request-at-a-time rule: three REQUESTs at once.
      for (const n of ["1", "2", "3"]) await router.send([id!, "", "MDPW01", Buffer.from([0x02]), "client", "", n]);
      await waitFor(() => w.stats().requests === 3 && release !== undefined);
      await w.close();
      release!();
      await waitFor(() => w.stats().droppedReplies === 1);
      expect(reasons).toEqual(["request closed", "request closed", "reply closed"]);
      expect(w.stats()).toMatchObject({ requests: 3, replies: 0, droppedRequests: 2, droppedReplies: 1 });
    } finally {
      router.close();
    }
  });
});

describe("MajordomoClient on a shared reactor", () => {
  it("closing the reactor rejects requests in flight and waiting (ClosedError), and a closed client stops listening", async () => {
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const reactor = new Reactor();
    const c = client(endpoint, { reactor, requestTimeout: 60_000, retries: 0, maxInFlight: 1 });
    const outcomes = ["a", "b"].map((p) => c.request("nobody", p).then(() => "resolved", (error: unknown) => error));
    expect(c.stats()).toMatchObject({ inFlight: 1, pending: 1 });
    await reactor.close();
    for (const outcome of outcomes) expect(await within(outcome, 5000, "request to settle")).toBeInstanceOf(ClosedError);
    expect(c.closed).toBe(true);
    const other = new Reactor();
    await new MajordomoClient({ endpoint, reactor: other }).close();
    expect(other.listenerCount("reactor:closing")).toBe(0);
    await other.close();
  });
});

describe("MajordomoClient.stream options", () => {
  it("validates them like request() (InvalidOptionError naming the option)", async () => {
    const { endpoint } = await broker();
    const c = client(endpoint);
    for (const [options, name] of [[{ signal: {} as AbortSignal }, "signal"], [{ requestTimeout: -1 }, "requestTimeout"], [{ retries: 1.5 }, "retries"]] as const) {
      const error = await c.stream("svc", "x", options).next().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain(`\`${name}\``);
    }
    expect(c.stats().requests).toBe(0);
  });
});
