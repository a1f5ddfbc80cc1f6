import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { Reactor } from "../../src/index.js";
import { ZapHandler, decodeMetadata, zapServerOptions, generateKeyPair, hashPassword, type ZapOutcome, type ZapRequest } from "../../src/zap/index.js";
import { waitFor, within } from "../helpers/wait.js";
import { attempt, curveOptions, echoServer, expectRefused, expectReply, type Attempt } from "./helpers.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(options: ConstructorParameters<typeof ZapHandler>[0]) {
  const zap = await ZapHandler.start(options);
  cleanup.push(() => zap.close());
  return zap;
}

async function plainServer(domain?: string) {
  const server = await echoServer("tcp", { plainServer: true, ...(domain ? { zapDomain: domain } : {}) });
  cleanup.push(() => server.reactor.close());
  return (user: string, password = "pw"): Attempt => {
    const a = attempt(server.endpoint, { plainUsername: user, plainPassword: password });
    cleanup.push(() => a.client.close());
    return a;
  };
}

/** A DEALER on the ZAP endpoint, to talk to the handler directly. */
function zapClient(context?: zmq.Context): zmq.Dealer {
  const dealer = new zmq.Dealer({ linger: 0, ...(context ? { context } : {}) });
  dealer.connect(ZapHandler.endpoint);
  cleanup.push(() => dealer.close());
  return dealer;
}

const request = (id: string, mechanism = "NULL", ...credentials: (string | Buffer)[]) => ["", "1.0", id, "dom", "127.0.0.1", "", mechanism, ...credentials];

describe("callback", () => {
  it("decides synchronously, with user id and metadata in the reply", async () => {
    const seen: ZapRequest[] = [];
    await start({
      authenticate: (req) => {
        seen.push(req);
        return { status: 200, userId: "u-" + req.username, metadata: { "X-Role": "admin" } };
      },
    });
    const dealer = zapClient();
    await dealer.send(request("7", "PLAIN", "bob", "pw"));
    const reply = await within(dealer.receive(), 5000, "ZAP reply");
    expect(reply.map((f) => f.toString()).slice(0, 6)).toEqual(["", "1.0", "7", "200", "OK", "u-bob"]);
    expect(decodeMetadata(reply[6]!)!["X-Role"]!.toString()).toBe("admin");
    expect(seen[0]).toMatchObject({ domain: "dom", address: "127.0.0.1", mechanism: "PLAIN", username: "bob", password: "pw" });
  });

  it("decides asynchronously and refuses with false", async () => {
    const zap = await start({
      authenticate: async (req) => {
        await new Promise((r) => setTimeout(r, 10));
        return req.username === "alice";
      },
    });
    const connect = await plainServer();
    await expectReply(connect("alice"));
    expect(await expectRefused(connect("eve"))).toBe(400);
    await waitFor(() => zap.stats().deniedBy.callback >= 1, { what: "a callback denial" });
  });

  it("answers 500 when the callback throws, counts it and keeps serving", async () => {
    const errors: unknown[] = [];
    const zap = await start({
      authenticate: (req) => {
        if (req.username === "boom") throw new Error("database down");
        return true;
      },
    });
    zap.on("auth:error", ({ error }) => errors.push(error));
    const connect = await plainServer();
    expect(await expectRefused(connect("boom"))).toBe(500);
    await waitFor(() => zap.stats().errors >= 1, { what: "a counted error" });
    expect((errors[0] as Error).message).toBe("database down");
    await expectReply(connect("fine"));
  });

  it("answers 500 for an invalid decision and for a rejected promise", async () => {
    const zap = await start({
      authenticate: async (req) => {
        if (req.requestId.toString() === "1") return { status: 201 } as never;
        throw new Error("rejected");
      },
    });
    const dealer = zapClient();
    await dealer.send(request("1"));
    expect((await within(dealer.receive(), 5000))[3]!.toString()).toBe("500");
    await dealer.send(request("2"));
    expect((await within(dealer.receive(), 5000))[3]!.toString()).toBe("500");
    expect(zap.stats().errors).toBe(2);
  });

  it("can build on the configured policy", async () => {
    const users = { alice: await hashPassword("pw", { cost: 1024 }), bob: await hashPassword("pw", { cost: 1024 }) };
    const zap = await start({
      plain: { users },
      authenticate: async (req, policy) => {
        const decision = await policy();
        if (decision.status === 200 && req.username === "bob") return { status: 400, text: "Suspended" };
        return decision;
      },
    });
    const denied: ZapOutcome[] = [];
    zap.on("auth:denied", (o) => denied.push(o));
    const connect = await plainServer();
    await expectReply(connect("alice"));
    expect(await expectRefused(connect("bob"))).toBe(400);
    expect(await expectRefused(connect("alice", "wrong"))).toBe(400);
    await waitFor(() => denied.length >= 2, { what: "two denials" });
    expect(denied.find((o) => o.username === "bob")).toMatchObject({ reason: "callback", text: "Suspended" });
    expect(denied.find((o) => o.username === "alice")).toMatchObject({ reason: "password" });
  });

  it("answers 300 when a decision times out, and 300 when too many are pending", async () => {
    const zap = await start({ timeout: 1000, maxPending: 1, authenticate: () => new Promise<boolean>(() => undefined) });
    const dealer = zapClient();
    await dealer.send(request("a"));
    await dealer.send(request("b"));
    const first = await within(dealer.receive(), 5000);
    expect(first.map(String).slice(2, 5)).toEqual(["b", "300", "Too many pending requests"]);
    const second = await within(dealer.receive(), 5000);
    expect(second.map(String).slice(2, 5)).toEqual(["a", "300", "Timed out"]);
    const s = zap.stats();
    expect(s.deniedBy.busy).toBe(1);
    expect(s.deniedBy.timeout).toBe(1);
    expect(s.pending).toBe(0);
  });

  it("uses per-domain callbacks", async () => {
    await start({ authenticate: () => false, domains: { vip: { authenticate: () => true } } });
    const vip = await plainServer("vip");
    const other = await plainServer("other");
    await expectReply(vip("x"));
    expect(await expectRefused(other("x"))).toBe(400);
  });
});

describe("malformed requests", () => {
  it("answers 400 where it can, ignores the rest, counts both and keeps serving", async () => {
    const zap = await start({ allowNull: true });
    const malformed: { socket: string; reason: string; frames: number; id?: Buffer }[] = [];
    zap.on("message:malformed", (m) => malformed.push(m));
    const dealer = zapClient();
    await dealer.send(["", "1.0", "x1", "dom", "127.0.0.1", ""]); // no mechanism
    await dealer.send(["", "2.0", "x2", "dom", "127.0.0.1", "", "NULL"]); // wrong version: no answer
    await dealer.send(["", "1.0", "x3", "dom", "127.0.0.1", "", "CURVE", "short"]);
    await dealer.send(["1.0", "x4"]); // no delimiter
    await dealer.send(request("ok"));
    const replies: string[][] = [];
    for (let i = 0; i < 3; i++) replies.push((await within(dealer.receive(), 5000)).map(String).slice(2, 5));
    expect(replies).toEqual([
      ["x1", "400", "Malformed request"],
      ["x3", "400", "Malformed request"],
      ["ok", "200", "OK"],
    ]);
    expect(zap.stats()).toMatchObject({ requests: 5, malformed: 4, allowed: 1 });
    // `id` is there when the request could still be answered (400).
    expect(malformed.map((m) => m.id !== undefined)).toEqual([true, false, true, false]);
    expect(malformed.map((m) => [m.socket, m.frames])).toEqual([["zap", 7], ["zap", 8], ["zap", 9], ["zap", 3]]);
  });

  it("survives a fuzzing burst from a DEALER in the same context", async () => {
    const { sendMalformed } = await import("../helpers/malformed.js");
    const zap = await start({ plain: { users: { u: await hashPassword("pw", { cost: 1024 }) } }, curve: { allowAny: true } });
    const key = Buffer.alloc(32, 7);
    const templates = [
      ["", "1.0", "1", "", "127.0.0.1", "", "NULL"],
      ["", "1.0", "2", "dom", "127.0.0.1", "id", "PLAIN", "u", "pw"],
      ["", "1.0", "3", "", "127.0.0.1", "", "CURVE", key],
    ].map((t) => t.map((f) => (typeof f === "string" ? Buffer.from(f) : f)));
    const sent = await sendMalformed(ZapHandler.endpoint, { type: "dealer", count: 300, templates });
    await waitFor(() => zap.stats().requests >= sent && zap.stats().pending === 0, { what: "all fuzz requests handled", timeout: 20_000 });
    const s = zap.stats();
    expect(s.malformed).toBeGreaterThan(100);
    expect(s.allowed + s.denied + s.errors + s.malformed).toBe(sent);
    // Still serving real clients.
    const keys = generateKeyPair();
    const server = await echoServer("tcp", curveOptions(keys, keys).server);
    cleanup.push(() => server.reactor.close());
    const a = attempt(server.endpoint, curveOptions(keys, generateKeyPair()).client);
    cleanup.push(() => a.client.close());
    await expectReply(a);
  });
});

describe("lifecycle", () => {
  it("lets only one handler bind per context, with a typed error", async () => {
    const { ZapHandlerInUseError } = await import("../../src/zap/index.js");
    const { SocketError } = await import("../../src/index.js");
    await start({});
    const second = new ZapHandler({});
    cleanup.push(() => second.close());
    const error = await second.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZapHandlerInUseError);
    expect(error).toBeInstanceOf(SocketError);
    await expect(ZapHandler.start({})).rejects.toThrow(/already bound/);
  });

  it("unbinds on close so a new handler can bind; close is idempotent", async () => {
    for (let i = 0; i < 5; i++) {
      const zap = await ZapHandler.start({});
      expect(zap.bound).toBe(true);
      const p = zap.close();
      expect(zap.close()).toBe(p);
      await p;
      expect(zap.bound).toBe(false);
    }
    const zap = await start({ allowNull: false });
    const dealer = zapClient();
    await dealer.send(request("n"));
    expect((await within(dealer.receive(), 5000)).map(String)[3]).toBe("400");
    await expect(zap.start()).resolves.toBeUndefined();
  });

  it("with zapServerOptions a server fails closed when no handler is bound", async () => {
    const keys = generateKeyPair();
    const zap = await ZapHandler.start({ curve: { allowAny: true } });
    const server = await echoServer("tcp", { ...curveOptions(keys, keys).server, ...zapServerOptions("strict") });
    cleanup.push(() => server.reactor.close());
    const first = attempt(server.endpoint, curveOptions(keys, generateKeyPair()).client);
    cleanup.push(() => first.client.close());
    await expectReply(first);
    await zap.close();
    const second = attempt(server.endpoint, curveOptions(keys, generateKeyPair()).client);
    cleanup.push(() => second.client.close());
    const failed = new Promise((resolve) => second.client.events.on("handshake:error:other", resolve));
    await within(failed, 10_000, "handshake failure without a handler");
    expect(server.received).toHaveLength(1);
    expect(() => zapServerOptions("")).toThrow(TypeError);
  });

  it("rejects start() when a users file is missing, leaving the endpoint free", async () => {
    await expect(ZapHandler.start({ plain: { users: "/nonexistent/users.json" } })).rejects.toMatchObject({ code: "ENOENT" });
    const zap = await start({});
    expect(zap.bound).toBe(true);
  });

  it("closes on abort (lifecycle:closed), and rejects start() after close with ClosedError", async () => {
    const { ClosedError } = await import("../../src/index.js");
    const ac = new AbortController();
    const zap = await ZapHandler.start({ signal: ac.signal });
    const closed = zap.next("lifecycle:closed");
    ac.abort();
    expect(await within(closed, 5000, "lifecycle:closed")).toEqual([{ cause: "signal" }]);
    expect(zap.closed).toBe(true);
    expect(zap.bound).toBe(false);
    const late = new ZapHandler({});
    await late.close();
    await expect(late.start()).rejects.toBeInstanceOf(ClosedError);
    // The endpoint is free again.
    await start({});
  });

  it("serves its own context, beside the default context's handler, on a shared reactor", async () => {
    const context = new zmq.Context();
    const reactor = new Reactor();
    cleanup.push(() => reactor.close());
    await start({ allowNull: true });
    const own = await start({ context, reactor, allowNull: false });
    const dealer = zapClient(context);
    await dealer.send(request("c"));
    expect((await within(dealer.receive(), 5000)).map(String)[3]).toBe("400");
    await own.close();
    expect(reactor.closed).toBe(false);
  });

  it("validates its options with InvalidOptionErrors naming the option", () => {
    const bad: [unknown, RegExp][] = [
      [{ maxPending: 0 }, /`maxPending`/],
      [{ timeout: "1s" }, /`timeout`/],
      [{ reactor: {} }, /`reactor`/],
      [{ context: {} }, /`context`/],
      [{ signal: "x" }, /`signal`/],
      [{ allowNull: 1 }, /`allowNull`/],
      [{ curve: {} }, /`curve`/],
      [{ curve: { keys: ["short"] } }, /`curve\.keys`/],
      [{ curve: { certificates: 5 } }, /`curve\.certificates`/],
      [{ plain: { users: 5 } }, /`plain\.users`/],
      [{ authenticate: "yes" }, /`authenticate`/],
      [{ domains: [] }, /`domains`/],
      [{ domains: { d: { curve: { keys: [1] } } } }, /`domains\.d\.curve\.keys`/],
      ["nope", /options/],
    ];
    for (const [options, re] of bad) {
      expect(() => new ZapHandler(options as never), String(re)).toThrow(expect.objectContaining({ code: "ZMQP_INVALID_OPTION" }));
      expect(() => new ZapHandler(options as never)).toThrow(re);
    }
  });
});
