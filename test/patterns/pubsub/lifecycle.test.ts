import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { byeFrames, helloFrames, subscriptionFrames, PubSubServer } from "../../../patterns/pubsub/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed, malformedMessages } from "../../helpers/malformed.js";
import { waitFor } from "../../helpers/wait.js";
import { client, closeAll, collect, rawDealer, receiveUntil, server, usersFile } from "./setup.js";

afterEach(closeAll);

describe("ZPS/1 sessions: keep-alive, expiry, restart, eviction", () => {
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

  it("rule 5.2: a client that keeps sending keep-alives is never purged", async () => {
    const s = await server({ expiry: 1500 });
    const c = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], keepAliveInterval: 50 });
    await c.ready();
    let expired = 0;
    s.on("client:expired", () => expired++);
    const hellos = c.stats().hellos;
    const t0 = Date.now();
    await waitFor(() => c.stats().hellos >= hellos + 40 && Date.now() - t0 > 2000, { what: "40 keep-alives over more than one expiry window" });
    expect(expired).toBe(0);
    expect(s.publish("news.x", "1")).toBe(1);
  });

  it("rule 5.4: after a server restart on the same port clients re-authenticate and resubscribe by themselves", async () => {
    const file = await usersFile();
    const s1 = await new PubSubServer({ bind: "tcp://127.0.0.1:*", users: file }).start();
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

  it("rule 4.8: a second connection claiming an identity in use is ignored; the first keeps its session", async () => {
    const s = await server();
    const a = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], routingId: "dup", liveness: 30 });
    const got = collect(a);
    await a.ready();
    const b = client(s.endpoint, "bob", "bob-pw", { subscribe: ["sports."], routingId: "dup", liveness: 3 });
    const lost: string[] = [];
    b.on("link:lost", (e) => lost.push(e.reason));
    await waitFor(() => lost.length >= 1, { what: "the duplicate giving up on silence" });
    expect(b.state).toBe("connecting");
    expect(s.clients().map((c) => c.principal.name)).toEqual(["alice"]);
    expect(s.publish("news.x", "still mine")).toBe(1);
    await waitFor(() => got.length === 1);
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

describe("ZPS/1 under abuse", () => {
  it("rule 6: malformed frames at the ROUTER and the ingest socket are counted and dropped; the server keeps serving", async () => {
    const s = await server({ ingest: "tcp://127.0.0.1:*" });
    const malformed: string[] = [];
    s.on("message:malformed", (e) => malformed.push(e.source));
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

describe("ZPS/1 slow subscribers", () => {
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
