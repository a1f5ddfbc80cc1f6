import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Reactor } from "../../../src/index.js";
import {
  allowAnyAuthenticator,
  byeFrames,
  helloFrames,
  isParseError,
  parseClientCommand,
  parseServerMessage,
  PubSubCore,
  statusFrames,
  subscriptionFrames,
  TopicTrie,
  type Authenticator,
} from "../../../patterns/pubsub/index.js";

const b = (s: string) => Buffer.from(s);

const tick = () => new Promise((r) => setImmediate(r));

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
afterEach(() => {
  process.off("unhandledRejection", onRejection);
  rejections.length = 0;
});

/** A core on a fake clock whose authenticator waits until `release()`; `sent` holds its replies as text. */
function gatedCore(): { core: PubSubCore; sent: string[][]; reactor: Reactor; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const sent: string[][] = [];
  const reactor = new Reactor({ clock: new ManualClock() });
  const authenticator: Authenticator = async ({ user }) => (await gate, { name: user, entitlements: [""] });
  const core = new PubSubCore({ reactor, authenticator, transmit: (frames) => (sent.push(frames.map(String)), true) });
  return { core, sent, reactor, release };
}

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
    expect(parseClientCommand(helloFrames("u", "p", ["a", "b"]))).toEqual({ command: "HELLO", user: "u", secret: b("p"), patterns: [b("a"), b("b")], version: "ZPS/1" });
    expect(parseClientCommand(subscriptionFrames("UNSUBSCRIBE", ["a"]))).toEqual({ command: "UNSUBSCRIBE", patterns: [b("a")], version: "ZPS/1" });
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

describe("PubSubCore under hostile or broken input", () => {
  it("rule 4.1.4: an authenticator that returns something that is not a principal or a denial is answered 500, not an unhandled rejection", async () => {
    process.on("unhandledRejection", onRejection);
    const reactor = new Reactor({ clock: new ManualClock() });
    const sent: string[][] = [];
    const results: Record<string, unknown> = {
      none: undefined,
      nul: null,
      noEntitlements: { name: "x" },
      badStatus: { denied: "no", status: 200 },
    };
    const authenticator = (({ user }) => results[user]) as Authenticator;
    const core = new PubSubCore({ reactor, authenticator, transmit: (frames) => (sent.push(frames.map(String)), true) });
    for (const user of Object.keys(results)) core.handle(b(user), helloFrames(user, "p", ["a"]));
    // Let the rejections (if any) surface.
    for (let i = 0; i < 5; i++) await tick();
    await new Promise((r) => setTimeout(r, 0));
    for (let i = 0; i < 5; i++) await tick();
    expect(rejections).toEqual([]);
    expect(sent.map((f) => f.slice(0, 1).concat(f.slice(3, 5)))).toEqual(Object.keys(results).map((u) => [u, "500", "HELLO"]));
    expect(core.stats()).toMatchObject({ clients: 0, authErrors: 4, subscriptions: 0 });
    await reactor.close();
  });

  it("rule 4.1.6: an authentication that never finishes does not hold its slot (or its identity) forever", async () => {
    process.on("unhandledRejection", onRejection);
    const clock = new ManualClock();
    const reactor = new Reactor({ clock });
    const sent: string[][] = [];
    const authenticator: Authenticator = ({ user }) => (user === "hang" ? new Promise(() => undefined) : { name: user, entitlements: [""] });
    const core = new PubSubCore({ reactor, authenticator, maxPendingAuth: 1, expiry: 1000, transmit: (frames) => (sent.push(frames.map(String)), true) });
    core.handle(b("a"), helloFrames("hang", "p", []));
    core.handle(b("b"), helloFrames("ok", "p", []));
    expect(sent.at(-1)!.slice(0, 1).concat(sent.at(-1)!.slice(3, 6))).toEqual(["b", "429", "HELLO", "busy, retry later"]);
    clock.advance(1001);
    await tick();
    expect(sent.at(-1)!.slice(0, 1).concat(sent.at(-1)!.slice(3, 5))).toEqual(["a", "500", "HELLO"]);
    core.handle(b("b"), helloFrames("ok", "p", []));
    await tick();
    expect(sent.at(-1)!.slice(0, 1).concat(sent.at(-1)!.slice(3, 5))).toEqual(["b", "201", "HELLO"]);
    expect(core.stats()).toMatchObject({ clients: 1, authErrors: 1 });
    await reactor.close();
  });

  it("rules 4.4/4.8: commands without credentials do not keep a session alive (an identity re-used after its owner left cannot hold the session)", async () => {
    const clock = new ManualClock();
    const reactor = new Reactor({ clock });
    const core = new PubSubCore({ reactor, authenticator: ({ user }) => ({ name: user, entitlements: ["news."] }), expiry: 1000, transmit: () => true });
    const expired: string[] = [];
    core.on("client:expired", (e) => expired.push(e.identity.toString()));
    core.handle(b("victim"), helloFrames("alice", "pw", ["news."]));
    await tick();
    expect(core.stats().clients).toBe(1);
    // The owner is gone; whoever now holds the routing id sends SUBSCRIBE/UNSUBSCRIBE only.
    for (let t = 0; t < 5; t++) {
      clock.advance(300);
      core.handle(b("victim"), subscriptionFrames(t % 2 ? "UNSUBSCRIBE" : "SUBSCRIBE", ["news.x"]));
    }
    expect(expired).toEqual(["victim"]);
    expect(core.listeners("news.x")).toEqual([]);
    // A keep-alive HELLO with the session's credentials still keeps it (rule 4.4.2).
    core.handle(b("owner"), helloFrames("bob", "pw", ["news."]));
    await tick();
    for (let t = 0; t < 5; t++) {
      clock.advance(600);
      core.handle(b("owner"), helloFrames("bob", "pw", ["news."]));
    }
    expect(core.client("owner")).toBeDefined();
    await reactor.close();
  });

  it("rule 2: publish() refuses a topic over 255 bytes (TypeError naming it) instead of sending what the grammar forbids", async () => {
    const reactor = new Reactor({ clock: new ManualClock() });
    const sent: Buffer[][] = [];
    const core = new PubSubCore({ reactor, authenticator: () => ({ name: "u", entitlements: [""] }), transmit: (frames) => (sent.push(frames), true) });
    core.handle(b("a"), helloFrames("u", "p", [""]));
    await tick();
    sent.length = 0;
    expect(() => core.publish("t".repeat(256), "body")).toThrow(TypeError);
    expect(() => core.publish("t".repeat(256), "body")).toThrow(/`topic`/);
    expect(sent).toEqual([]);
    expect(core.publish("t".repeat(255), "body")).toBe(1);
    await reactor.close();
  });

  it("rule 3.4: BYE while the HELLO is being authenticated ends it: no session appears afterwards", async () => {
    const { core, sent, reactor, release } = gatedCore();
    const left: string[] = [];
    core.on("client:authenticated", (e) => left.push(`authenticated ${e.identity}`));
    core.handle(b("a"), helloFrames("u", "p", ["x"]));
    core.handle(b("a"), byeFrames());
    expect(sent).toEqual([]); // §3.4: BYE is never answered
    // The ended authentication keeps its slot until it settles (HELLO+BYE loops cannot
    // bypass maxPendingAuth).
    core.handle(b("a"), helloFrames("u", "p", ["x"]));
    expect(sent.map((f) => f.slice(3, 6))).toEqual([["429", "HELLO", "authentication in progress"]]);
    release();
    for (let i = 0; i < 5; i++) await tick();
    expect(core.stats()).toMatchObject({ clients: 0, subscriptions: 0 });
    expect(core.listeners("x")).toEqual([]);
    expect(sent).toHaveLength(1); // and the HELLO it ended is not answered either
    expect(left).toEqual([]);
    await reactor.close();
  });

  it("rule 6: a malformed command is counted and reported with the common payload", async () => {
    const reactor = new Reactor({ clock: new ManualClock() });
    const core = new PubSubCore({ reactor, authenticator: allowAnyAuthenticator(), transmit: () => true });
    const seen: unknown[] = [];
    core.on("message:malformed", (e) => seen.push(e));
    core.handle(b("id"), [b("ZPS/1"), b("FROB")]);
    expect(seen).toEqual([{ socket: "router", reason: expect.any(String), frames: 3, id: b("id") }]);
    expect(core.stats().malformed).toBe(1);
    await reactor.close();
  });

  it("options are validated (InvalidOptionError naming the option)", () => {
    const reactor = new Reactor({ clock: new ManualClock() });
    expect(() => new PubSubCore({ reactor: {} as Reactor, authenticator: allowAnyAuthenticator(), transmit: () => true })).toThrow(/`reactor`/);
    expect(() => new PubSubCore({ reactor, transmit: () => true } as never)).toThrow(expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option: "authenticator" }));
    expect(() => new PubSubCore({ reactor, authenticator: allowAnyAuthenticator() } as never)).toThrow(expect.objectContaining({ option: "transmit" }));
    expect(() => new PubSubCore({ reactor, authenticator: allowAnyAuthenticator(), transmit: () => true, expiry: 0 })).toThrow(/`expiry`/);
  });
});
