/** PubSubClient against a real server (or a hand-driven ROUTER): keep-alive, restart, duplicates, close, options. */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { ClosedError } from "../../../src/index.js";
import { PubSubClient, PubSubServer } from "../../../patterns/pubsub/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { malformedMessages } from "../../helpers/malformed.js";
import { waitFor, within } from "../../helpers/wait.js";
import { client, closeAll, collect, server, usersFile } from "./setup.js";

afterEach(closeAll);

describe("PubSubClient sessions: keep-alive, restart, duplicate identities", () => {
  it("rule 5.2: a client that keeps sending keep-alives is never purged", async () => {
    const s = await server({ expiry: 1500 });
    const c = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], heartbeatInterval: 50 });
    await c.ready();
    let expired = 0;
    s.on("client:expired", () => expired++);
    const hellos = c.stats().hellos;
    const t0 = Date.now();
    await waitFor(() => c.stats().hellos >= hellos + 40 && Date.now() - t0 > 2000, { what: "40 keep-alives over more than one expiry window" });
    expect(expired).toBe(0);
    expect(s.publish("news.x", "1")).toBe(1);
  });

  it("rule 5.2: a client busy subscribing and unsubscribing (faster than its keep-alive) still keeps its session", async () => {
    const s = await server({ allowAny: true, expiry: 500 });
    let expired = 0;
    s.on("client:expired", () => expired++);
    const c = client(s.endpoint, "u", "p", { subscribe: ["t."], heartbeatInterval: 100 });
    await c.ready();
    let changes = 0;
    const churn = setInterval(() => (changes++ % 2 ? c.unsubscribe("x.") : c.subscribe("x.")), 20);
    try {
      const t0 = Date.now();
      await waitFor(() => changes >= 40 && Date.now() - t0 > 1500, { what: "1.5 s of subscription changes (three expiry windows)" });
    } finally {
      clearInterval(churn);
    }
    expect(expired).toBe(0);
    expect(s.publish("t.1", "x")).toBe(1);
  });

  it("rule 5.4: after a server restart on the same port clients re-authenticate and resubscribe by themselves", async () => {
    const file = await usersFile();
    const s1 = await PubSubServer.start({ bind: "tcp://127.0.0.1:*", users: file });
    const ep = s1.endpoint;
    const c = client(ep, "alice", "alice-pw", { subscribe: ["news."] });
    const got = collect(c);
    const sessions: boolean[] = [];
    c.on("session:started", (e) => sessions.push(e.resumed));
    await c.ready();
    s1.publish("news.1", "first");
    await waitFor(() => got.length === 1);
    await s1.close();
    // The old socket's port is released by libzmq's I/O thread shortly after close: retry the bind.
    const s2 = await waitFor(async () => {
      try {
        return await server({ bind: ep, users: file });
      } catch {
        return undefined;
      }
    }, { what: "binding the same port again" });
    await waitFor(() => sessions.length === 2, { what: "a new session on the restarted server" });
    expect(sessions).toEqual([false, true]);
    await waitFor(() => s2.publish("news.2", "second") > 0 && got.length === 2, { what: "a message from the restarted server" });
    expect(got).toEqual(["news.1=first", "news.2=second"]);
  });

  it("rule 4.8: a second connection claiming an identity in use is ignored; the first keeps its session", async () => {
    const s = await server();
    const a = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], routingId: "dup", heartbeatLiveness: 30 });
    const got = collect(a);
    await a.ready();
    const b = client(s.endpoint, "bob", "bob-pw", { subscribe: ["sports."], routingId: "dup", heartbeatLiveness: 3 });
    const lost: string[] = [];
    b.on("link:lost", (e) => lost.push(e.reason));
    await waitFor(() => lost.length >= 1, { what: "the duplicate giving up on silence" });
    expect(b.sessionState).toBe("connecting");
    expect(s.clients().map((c) => c.principal.name)).toEqual(["alice"]);
    expect(s.publish("news.x", "still mine")).toBe(1);
    await waitFor(() => got.length === 1);
  });

  it("rule 6: malformed server messages are counted by the client, which keeps working", async () => {
    const ep = await uniqAddress("tcp");
    const router = new zmq.Router({ linger: 0 });
    await router.bind(ep);
    try {
      const c = client(ep, "alice", "pw", { routingId: "c1" });
      const [id] = await router.receive();
      for (const m of malformedMessages(50, 7, [["ZPS/1", "MESSAGE", "t", "b"].map((x) => Buffer.from(x))])) await router.send([id!, ...m]);
      await router.send([id!, "ZPS/1", "STATUS", "201", "HELLO", "ok"]);
      await c.ready();
      expect(c.stats().malformed).toBeGreaterThan(20);
    } finally {
      router.close();
    }
  });
});

describe("PubSubClient close", () => {
  it("no message or status event reaches the application once close() was called (not even during the BYE grace)", async () => {
    const s = await server({ allowAny: true });
    const c = client(s.endpoint, "u", "p", { subscribe: ["t."] });
    await c.ready();
    let after = 0;
    let closing = false;
    c.on("message", () => closing && after++);
    c.on("status", () => closing && after++);
    // Copies in flight when close() is called arrive during the BYE grace period.
    for (let i = 0; i < 200; i++) s.publish("t.x", String(i));
    closing = true;
    await c.close();
    expect(after).toBe(0);
  });

  it("aborting the signal closes server and client; a ready client stays ready, subscribe() then throws ClosedError", async () => {
    const ac = new AbortController();
    const s = await PubSubServer.start({ bind: "tcp://127.0.0.1:*", allowAny: true, signal: ac.signal });
    const c = new PubSubClient({ endpoint: s.endpoint, user: "u", password: "p", subscribe: ["t"], signal: ac.signal });
    await c.ready();
    ac.abort();
    await s.close();
    await c.close();
    expect(s.closed).toBe(true);
    expect(c.sessionState).toBe("closed");
    await expect(c.ready()).resolves.toBeUndefined();
    expect(() => c.subscribe("x")).toThrow(ClosedError);
    expect(c.closeCause).toBe("signal");
  });

  it("ready() rejects with ClosedError when the client closes before a session; the iterator ends", async () => {
    const ep = await uniqAddress("tcp");
    const router = new zmq.Router({ linger: 0 });
    await router.bind(ep);
    try {
      const c = client(ep, "u", "p");
      const iter = c[Symbol.asyncIterator]();
      const next = iter.next();
      await within(router.receive(), 5000, "the HELLO");
      await c.close();
      await expect(c.ready()).rejects.toBeInstanceOf(ClosedError);
      expect(await next).toEqual({ value: undefined, done: true });
      expect(c.sessionState).toBe("closed");
    } finally {
      router.close();
    }
  });
});

describe("PubSubClient options (InvalidOptionError naming the option)", () => {
  it("validates credentials, timings and patterns", () => {
    const base = { endpoint: "tcp://127.0.0.1:1", user: "u", password: "p" };
    expect(() => new PubSubClient({ ...base, password: 5 as unknown as string })).toThrow(/`password`/);
    expect(() => new PubSubClient({ endpoint: base.endpoint, user: "u" } as never)).toThrow(expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option: "password" }));
    expect(() => new PubSubClient({ endpoint: base.endpoint, password: "p" } as never)).toThrow(expect.objectContaining({ option: "user" }));
    expect(() => new PubSubClient({ ...base, heartbeatInterval: -1 })).toThrow(/`heartbeatInterval`/);
    expect(() => new PubSubClient({ ...base, heartbeatLiveness: 0 })).toThrow(/`heartbeatLiveness`/);
    expect(() => new PubSubClient({ ...base, curvePublicKey: "x".repeat(40) })).toThrow(/curveSecretKey/);
    expect(() => new PubSubClient({ ...base, subscribe: ["x".repeat(256)] })).toThrow(/`subscribe`|255 bytes/);
    expect(() => new PubSubClient({ ...base, user: "u".repeat(256) })).toThrow(/`user`/);
  });

  it("routingId is validated: 1-255 bytes, not starting with a zero byte (reserved for ids the ROUTER assigns)", () => {
    const make = (routingId: string) => () => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", routingId });
    expect(make("x".repeat(256))).toThrow(TypeError);
    expect(make("x".repeat(256))).toThrow(/`routingId`/);
    expect(make("\u0000abcd")).toThrow(/`routingId`/);
  });

  it("CURVE keys are validated as Z85 (TypeError naming the option), not only by length", () => {
    const bad = " ".repeat(40);
    const good = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const c = (o: object) => () => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", ...o });
    expect(c({ curveServerKey: bad })).toThrow(/`curveServerKey`/);
    expect(c({ curveServerKey: good, curvePublicKey: bad, curveSecretKey: good })).toThrow(/`curvePublicKey`/);
    expect(c({ curveServerKey: good, curvePublicKey: good, curveSecretKey: bad })).toThrow(/`curveSecretKey`/);
  });
});
