import { describe, expect, it } from "vitest";
import { ManualClock, Reactor } from "../../../src/index.js";
import {
  allowAnyAuthenticator,
  helloFrames,
  isParseError,
  parseClientCommand,
  parseServerMessage,
  PubSubClient,
  PubSubCore,
  PubSubServer,
  statusFrames,
  subscriptionFrames,
  TopicTrie,
} from "../../../patterns/pubsub/index.js";

const b = (s: string) => Buffer.from(s);

describe("TopicTrie (rule 4.3)", () => {
  it("prefix-matches like ZeroMQ SUB, removes and prunes", () => {
    const t = new TopicTrie<string>();
    t.add(b(""), "all");
    t.add(b("news."), "n");
    t.add(b("news.uk"), "uk");
    t.add(b("sports"), "s");
    expect(t.add(b("news."), "n")).toBe(false);
    const seen: string[] = [];
    const visited = t.match(b("news.uk.london"), (s) => seen.push(s));
    expect(seen.sort()).toEqual(["all", "n", "uk"]);
    expect(visited).toBe(8);
    expect(t.remove(b("news.uk"), "uk")).toBe(true);
    expect(t.remove(b("news.uk"), "uk")).toBe(false);
    expect(t.stats().nodes).toBe(1 + 5 + 6);
    t.remove(b("news."), "n");
    t.remove(b("sports"), "s");
    t.remove(b(""), "all");
    expect(t.stats()).toMatchObject({ nodes: 1, subscriptions: 0 });
    expect(t.has(b("x"))).toBe(false);
  });
});

describe("ZPS/1 codecs (rule 3)", () => {
  it("round-trips every command and returns errors as values", () => {
    expect(parseClientCommand(helloFrames("u", "p", ["a", "b"]))).toEqual({ command: "HELLO", user: "u", secret: b("p"), patterns: [b("a"), b("b")] });
    expect(parseClientCommand(subscriptionFrames("UNSUBSCRIBE", ["a"]))).toEqual({ command: "UNSUBSCRIBE", patterns: [b("a")] });
    expect(parseServerMessage(statusFrames(403, "SUBSCRIBE", "no", [b("x")]))).toEqual({ command: "STATUS", code: 403, about: "SUBSCRIBE", reason: "no", patterns: [b("x")] });
    const cases: [string[], number | undefined][] = [
      [[], undefined],
      [["nope"], undefined],
      [["ZPS/2", "HELLO"], 505],
      [["ZPS/1"], 400],
      [["ZPS/1", "HELLO", "u"], 400],
      [["ZPS/1", "SUBSCRIBE"], 400],
      [["ZPS/1", "BYE", "x"], 400],
      [["ZPS/1", "SUBSCRIBE", "x".repeat(256)], 400],
    ];
    for (const [frames, reply] of cases) {
      const r = parseClientCommand(frames.map(b));
      expect(isParseError(r) && r.reply).toBe(isParseError(r) ? reply : "not an error");
    }
    const badUtf8 = parseClientCommand([b("ZPS/1"), b("HELLO"), Buffer.from([0xff]), b("p")]);
    expect(isParseError(badUtf8)).toBe(true);
    expect(isParseError(parseServerMessage([b("ZPS/1"), b("STATUS"), b("999"), b("x"), b("y")]))).toBe(true);
  });
});

describe("PubSubCore at scale (rule 4.3, 4.4)", () => {
  it("10,000 identities and 100,000 subscriptions: publish walks the same number of trie nodes as with 1,000", async () => {
    const clock = new ManualClock();
    const reactor = new Reactor({ clock });
    let replies = 0;
    let copies = 0;
    const core = new PubSubCore({
      reactor,
      authenticator: allowAnyAuthenticator(),
      expiry: 5000,
      maxPendingAuth: 100_000,
      transmit: (frames) => {
        if (frames[2]!.toString() === "MESSAGE") copies++;
        else replies++;
        return true;
      },
    });
    const patternsOf = (i: number) => Array.from({ length: 10 }, (_, k) => `t.${i}.${k}`);
    const connect = async (from: number, to: number) => {
      for (let i = from; i < to; i++) core.handle(b(`id-${i}`), helloFrames(`u${i}`, "p", patternsOf(i)));
      await new Promise((r) => setImmediate(r));
    };
    const topic = "t.42.3.price";
    await connect(0, 100);
    expect(core.stats()).toMatchObject({ clients: 100, subscriptions: 1000 });
    expect(core.publish(topic, "x")).toBe(1);
    const small = core.stats().lastPublishVisited;
    for (let i = 100; i < 10_000; i += 1000) await connect(i, Math.min(i + 1000, 10_000));
    expect(core.stats()).toMatchObject({ clients: 10_000, subscriptions: 100_000 });
    expect(replies).toBe(10_000);
    expect(core.publish(topic, "x")).toBe(1);
    const large = core.stats().lastPublishVisited;
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(topic.length + 1);
    expect(core.stats().lastPublishMatched).toBe(1);
    // A topic nobody wants costs at most its length too.
    core.publish("zzz.nothing", "x");
    expect(core.stats().lastPublishVisited).toBe(1);
    // A keep-alive from every identity is O(patterns) each, and expiry purges them all at once.
    for (let i = 0; i < 10_000; i++) core.handle(b(`id-${i}`), helloFrames(`u${i}`, "p", patternsOf(i)));
    expect(core.stats().clients).toBe(10_000);
    clock.advance(5001);
    expect(core.stats()).toMatchObject({ clients: 0, subscriptions: 0, trieNodes: 1, expired: 10_000 });
    expect(copies).toBe(2);
    await reactor.close();
  });

  it("rule 4.4 on a fake clock: keep-alives reset the O(1) ticket, silence expires it", async () => {
    const clock = new ManualClock();
    const reactor = new Reactor({ clock });
    const core = new PubSubCore({ reactor, authenticator: allowAnyAuthenticator(), expiry: 1000, transmit: () => true });
    const expired: string[] = [];
    core.on("client:expired", (e) => expired.push(e.identity.toString()));
    core.handle(b("a"), helloFrames("a", "p", ["x"]));
    core.handle(b("b"), helloFrames("b", "p", ["x"]));
    await new Promise((r) => setImmediate(r));
    for (let t = 0; t < 5; t++) {
      clock.advance(600);
      core.handle(b("a"), helloFrames("a", "p", ["x"]));
    }
    expect(expired).toEqual(["b"]);
    expect(core.listeners("x").map((c) => c.id)).toEqual(["a"]);
    await reactor.close();
  });
});

describe("options are validated (TypeError naming the option)", () => {
  it("PubSubServer, PubSubClient and PubSubCore", () => {
    expect(() => new PubSubServer({ bind: "nope", allowAny: true })).toThrow(/`bind`/);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*" })).toThrow(TypeError);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, users: "f" })).toThrow(/exactly one/);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, expiry: 0 })).toThrow(/`expiry`/);
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, curveSecretKey: "short" })).toThrow(/`curveSecretKey`/);
    expect(() => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: 5 as unknown as string })).toThrow(/`password`/);
    expect(() => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", keepAliveInterval: -1 })).toThrow(/`keepAliveInterval`/);
    expect(() => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", curvePublicKey: "x".repeat(40) })).toThrow(/curveSecretKey/);
    expect(() => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", subscribe: ["x".repeat(256)] })).toThrow(/`subscribe`|255 bytes/);
    expect(() => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u".repeat(256), password: "p" })).toThrow(/`user`/);
    expect(() => new PubSubCore({ reactor: {} as Reactor, authenticator: allowAnyAuthenticator(), transmit: () => true })).toThrow(/`reactor`/);
  });
});

describe("PubSubCore limits (rules 4.1.6, 4.2.3, 4.7)", () => {
  it("answers 429 over the subscription limit, the client limit and while authenticating", async () => {
    const reactor = new Reactor({ clock: new ManualClock() });
    const sent: string[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const core = new PubSubCore({
      reactor,
      maxClients: 1,
      maxSubscriptionsPerClient: 2,
      authenticator: async ({ user }) => {
        if (user === "slow") await gate;
        return { name: user, entitlements: [""] };
      },
      transmit: (frames) => {
        sent.push(frames.map(String));
        return true;
      },
    });
    core.handle(b("a"), helloFrames("a", "p", ["x", "y", "z"]));
    await new Promise((r) => setImmediate(r));
    expect(sent.map((f) => f.slice(0, 1).concat(f.slice(3)))).toEqual([
      ["a", "201", "HELLO", "Session created"],
      ["a", "429", "HELLO", "subscription limit 2", "z"],
    ]);
    core.handle(b("b"), helloFrames("b", "p", []));
    expect(sent.at(-1)!.slice(3, 6)).toEqual(["429", "HELLO", "server full"]);
    core.handle(b("a"), helloFrames("slow", "p", []));
    core.handle(b("a"), subscriptionFrames("SUBSCRIBE", ["q"]));
    expect(sent.at(-1)!.slice(3, 6)).toEqual(["429", "SUBSCRIBE", "authentication in progress"]);
    release();
    await new Promise((r) => setImmediate(r));
    expect(core.client("a")!.principal.name).toBe("slow");
    expect(core.stats().throttled).toBe(3);
    await reactor.close();
  });
});

describe("lifecycle: AbortSignal closes server and client", () => {
  it("aborting closes both (idempotent close after)", async () => {
    const ac = new AbortController();
    const s = await new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, signal: ac.signal }).start();
    const c = new PubSubClient({ endpoint: s.endpoint, user: "u", password: "p", subscribe: ["t"], signal: ac.signal });
    await c.ready();
    ac.abort();
    await s.close();
    await c.close();
    expect(s.closed).toBe(true);
    expect(c.state).toBe("closed");
    await expect(c.ready()).resolves.toBeUndefined();
    expect(() => c.subscribe("x")).toThrow(/closed/);
  });
});
