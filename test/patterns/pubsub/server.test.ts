/** PubSubServer on real sockets: sessions, expiry, eviction, ingest, abuse, slow subscribers, start failures. */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { byeFrames, helloFrames, subscriptionFrames, PubSubServer } from "../../../patterns/pubsub/index.js";
import { ZapHandler } from "../../../src/zap/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { waitFor } from "../../helpers/wait.js";
import { client, closeAll, collect, rawDealer, receiveUntil, server } from "./setup.js";

afterEach(closeAll);

describe("PubSubServer sessions: expiry, eviction, BYE, ingest", () => {
  it("rule 4.4: a client that never sends a keep-alive is purged within the expiry window and receives nothing after", async () => {
    const s = await server({ expiry: 1000 });
    const expired: string[] = [];
    s.on("client:expired", (e) => expired.push(e.principal.name));
    const d = rawDealer(s.endpoint, { routingId: "silent" });
    const t0 = Date.now();
    await d.send(helloFrames("alice", "alice-pw", ["news."]));
    await receiveUntil(d, (f) => f[2] === "201");
    expect(s.publish("news.a", "before")).toBe(1);
    await receiveUntil(d, (f) => f[1] === "MESSAGE");
    await waitFor(() => expired.length === 1, { what: "expiry", timeout: 5000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(expired).toEqual(["alice"]);
    expect(s.publish("news.a", "after")).toBe(0);
    expect(s.stats()).toMatchObject({ clients: 0, subscriptions: 0, expired: 1 });
    // rule 4.4: anything but HELLO from a forgotten identity is answered 404.
    await d.send(subscriptionFrames("SUBSCRIBE", ["news."]));
    const reply = await receiveUntil(d, (f) => f[1] === "STATUS");
    expect(reply.slice(2, 4)).toEqual(["404", "SUBSCRIBE"]);
  });

  it("rule 4.6: an identity that is gone is evicted on the next publish", async () => {
    const s = await server();
    const evicted: string[] = [];
    s.on("client:evicted", (e) => evicted.push(e.reason));
    const d = new zmq.Dealer({ linger: 0, routingId: "leaver" });
    d.connect(s.endpoint);
    await d.send(helloFrames("alice", "alice-pw", ["news."]));
    await receiveUntil(d as zmq.Dealer, (f) => f[2] === "201");
    d.close();
    await waitFor(() => {
      s.publish("news.x", "1");
      return evicted.length === 1;
    }, { what: "eviction" });
    expect(evicted).toEqual(["unroutable"]);
    expect(s.stats()).toMatchObject({ clients: 0, evicted: 1 });
    expect(s.stats().droppedUnroutable).toBeGreaterThan(0);
  });

  it("rule 3.4: BYE ends the session at once without a reply", async () => {
    const s = await server();
    const left: string[] = [];
    s.on("client:left", (e) => left.push(e.principal.name));
    const d = rawDealer(s.endpoint);
    await d.send(helloFrames("bob", "bob-pw", ["sports."]));
    await receiveUntil(d, (f) => f[2] === "201");
    await d.send(byeFrames());
    await waitFor(() => left.length === 1);
    expect(s.publish("sports.x", "1")).toBe(0);
  });

  it("unsubscribe stops delivery; overlapping patterns deliver one copy", async () => {
    const s = await server();
    const c = client(s.endpoint, "admin", "admin-pw", { subscribe: ["a", "ab", "abc"] });
    const got = collect(c);
    await c.ready();
    expect(s.publish("abcd", "1")).toBe(1);
    expect(s.stats().lastPublishMatched).toBe(3);
    await waitFor(() => got.length === 1);
    c.unsubscribe("a", "ab", "abc");
    await waitFor(() => s.stats().subscriptions === 0);
    expect(s.publish("abcd", "2")).toBe(0);
  });

  it("ingest: [topic, body...] on the PULL socket is published; bad ingest frames are counted", async () => {
    const s = await server({ ingest: "tcp://127.0.0.1:*" });
    const c = client(s.endpoint, "alice", "alice-pw", { subscribe: ["weather."] });
    const got = collect(c);
    await c.ready();
    const push = new zmq.Push({ linger: 0 });
    push.connect(s.ingestEndpoint!);
    try {
      await push.send(["weather.paris", "sunny", "22C"]);
      await push.send(["weather.only-topic"]);
      await waitFor(() => got.length === 1 && s.stats().malformed === 1);
      expect(got).toEqual(["weather.paris=sunny|22C"]);
      expect(s.stats().ingested).toBe(1);
    } finally {
      push.close();
    }
  });
});

describe("PubSubServer under abuse", () => {
  it("rule 6: malformed frames at the ROUTER and the ingest socket are counted and dropped; the server keeps serving", async () => {
    const s = await server({ ingest: "tcp://127.0.0.1:*" });
    const malformed: string[] = [];
    s.on("message:malformed", (e) => malformed.push(e.socket));
    const templates = [helloFrames("alice", "alice-pw", ["news."]), subscriptionFrames("SUBSCRIBE", ["news."]), subscriptionFrames("UNSUBSCRIBE", ["news."]), byeFrames()];
    const sent = await sendMalformed(s.endpoint, { type: "dealer", count: 300, templates });
    await sendMalformed(s.ingestEndpoint!, { type: "push", count: 100, templates: [[Buffer.from("news.x"), Buffer.from("body")]] });
    await waitFor(() => s.stats().received >= sent - 0 && malformed.includes("ingest"), { what: "all garbage processed" });
    expect(s.stats().malformed).toBeGreaterThan(100);
    const c = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."] });
    const got = collect(c);
    await c.ready();
    await waitFor(() => s.publish("news.ok", "fine") > 0 && got.includes("news.ok=fine"));
  });

  it("rule 6: a version this server does not speak is answered 505; a non-ZPS first frame gets no reply", async () => {
    const s = await server();
    const d = rawDealer(s.endpoint);
    await d.send(["ZPS/9", "HELLO", "alice", "alice-pw"]);
    expect((await receiveUntil(d, () => true)).slice(0, 3)).toEqual(["ZPS/1", "STATUS", "505"]);
    await d.send(["HTTP/1.1", "GET"]);
    await d.send(["ZPS/1", "FROB"]);
    expect((await receiveUntil(d, () => true)).slice(2, 3)).toEqual(["400"]);
    expect(s.stats().malformed).toBe(3);
  });
});

describe("PubSubServer slow subscribers", () => {
  it("rule 4.6: a subscriber that stops reading never blocks the publisher; drops are counted for it only, the others get everything", async () => {
    const inproc = await uniqAddress("inproc");
    const s = await server({ bind: ["tcp://127.0.0.1:*", inproc], subscriberHwm: 10, expiry: 60_000 });
    const fast = [0, 1].map((i) => client(inproc, "alice", "alice-pw", { subscribe: ["news."], routingId: `fast-${i}` }));
    const got = fast.map(collect);
    await Promise.all(fast.map((c) => c.ready()));
    const slow = new zmq.Dealer({ linger: 0, routingId: "slow", receiveHighWaterMark: 10 });
    slow.connect(inproc);
    try {
      await slow.send(helloFrames("alice", "alice-pw", ["news."]));
      await waitFor(() => s.clients().length === 3, { what: "slow subscriber's session" });
      const rounds = 60;
      const perRound = 10;
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < perRound; i++) expect(s.publish("news.tick", String(r * perRound + i))).toBeGreaterThanOrEqual(2);
        await waitFor(() => got.every((g) => g.length === (r + 1) * perRound), { what: `round ${r} delivered to the fast subscribers` });
      }
      const st = s.stats();
      expect(Object.keys(st.drops)).toEqual(["slow"]);
      expect(st.drops.slow).toBeGreaterThan(rounds * perRound - 50);
      expect(st.droppedHwm + st.droppedCongested).toBe(st.drops.slow);
      expect(st.dropped).toBe(st.drops.slow);
      for (const g of got) expect(g.length).toBe(rounds * perRound);
      expect(s.client("fast-0")!.dropped).toBe(0);
    } finally {
      slow.close();
    }
  });
});

describe("PubSubServer start and options", () => {
  it("releases what start() had taken (its ZAP handler, its sockets): `PubSubServer.start(...)` leaves nothing to close", async () => {
    const holder = new zmq.Router({ linger: 0 });
    await holder.bind("tcp://127.0.0.1:*");
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    try {
      await expect(PubSubServer.start({ bind: holder.lastEndpoint!, allowAny: true, curveSecretKey: server.secretKey, curveAllow: [client.publicKey] })).rejects.toThrow();
      // The failed server's ZAP handler must not hold the context's ZAP endpoint.
      const zap = await ZapHandler.start({ allowNull: true });
      await zap.close();
    } finally {
      holder.close();
    }
  });

  it("an ingest bind that fails leaves the ROUTER unbound and the ZAP handler released; start() can be tried again", async () => {
    const holder = new zmq.Router({ linger: 0 });
    await holder.bind("tcp://127.0.0.1:*");
    const keys = zmq.curveKeyPair();
    const bind = await uniqAddress("tcp");
    try {
      const s = new PubSubServer({ bind, ingest: holder.lastEndpoint!, allowAny: true, curveSecretKey: keys.secretKey, curveAllow: [zmq.curveKeyPair().publicKey] });
      await expect(s.start()).rejects.toThrow();
      expect(s.zap?.closed).toBe(true);
      expect(s.closed).toBe(false);
      // Nothing of the failed start is held: the main endpoint and the ZAP endpoint are free.
      const probe = new zmq.Router({ linger: 0 });
      await probe.bind(bind);
      probe.close();
      const zap = await ZapHandler.start({ allowNull: true });
      await zap.close();
      await s.close();
    } finally {
      holder.close();
    }
  });

  it("events carry the common shapes: message:malformed {socket, reason, frames, id}, lifecycle:closed {cause}", async () => {
    const s = await server({ allowAny: true });
    const seen: unknown[] = [];
    s.on("message:malformed", (e) => seen.push(e));
    const d = rawDealer(s.endpoint, { routingId: "junk" });
    await d.send(["ZPS/1", "FROB"]);
    await receiveUntil(d, (f) => f[2] === "400");
    expect(seen).toEqual([{ socket: "router", reason: expect.any(String), frames: 3, id: Buffer.from("junk") }]);
    const closed = s.next("lifecycle:closed");
    await s.close();
    expect(await closed).toEqual([{ cause: "close" }]);
    expect(s.publish("t", "x")).toBe(0);
  });

  it("options are validated (InvalidOptionError naming the option)", () => {
    const bad = " ".repeat(40);
    const good = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    expect(() => new PubSubServer({ bind: "nope", allowAny: true })).toThrow(/`bind`/);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*" })).toThrow(expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option: "authenticator" }));
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, users: "f" })).toThrow(/exactly one/);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, expiry: 0 })).toThrow(/`expiry`/);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, curveSecretKey: "short" })).toThrow(/`curveSecretKey`/);
    const s = (o: object) => () => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, ...o });
    expect(s({ curveSecretKey: bad })).toThrow(TypeError);
    expect(s({ curveSecretKey: bad })).toThrow(/`curveSecretKey`/);
    expect(s({ curveSecretKey: good, curveAllow: [bad] })).toThrow(/`curveAllow`/);
    expect(s({ curveAllow: [good] })).toThrow(/`curveAllow` needs `curveSecretKey`/);
    expect(s({ reactor: {} })).toThrow(/`reactor`/);
  });
});
