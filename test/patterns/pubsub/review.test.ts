import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Reactor } from "../../../src/index.js";
import { mkdtempSync, readFileSync, utimesSync } from "node:fs";
import { dummyPasswordHash, parsePasswordHash } from "../../../src/zap/index.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addUser, byeFrames, helloFrames, PubSubCore, subscriptionFrames, usersFileAuthenticator, type Authenticator } from "../../../patterns/pubsub/index.js";

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

describe("review: hostile or broken inputs", () => {
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

  it("rule 4.1.7: after the users file is rewritten with another scrypt cost, unknown users are checked at the new cost", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zps-rv-")), "users.json");
    await addUser(file, "alice", "pw", ["x."], 16384);
    const auth = usersFileAuthenticator(file);
    const peer = { identity: b("i") };
    const denied = (r: unknown) => typeof r === "object" && r !== null && "denied" in r;
    expect(denied(await auth({ user: "mallory", secret: b("pw") }, peer))).toBe(true); // dummy made for cost 16384
    await addUser(file, "alice", "pw", ["x."], 1024);
    utimesSync(file, new Date(), new Date(Date.now() + 5000)); // a distinct mtime: re-read
    expect(denied(await auth({ user: "mallory", secret: b("wrong") }, peer))).toBe(true);
    expect(denied(await auth({ user: "alice", secret: b("wrong") }, peer))).toBe(true);
    expect(denied(await auth({ user: "alice", secret: b("pw") }, peer))).toBe(false);
    // The unknown user's check runs at the file's current parameters (checked on the
    // parameters, not by timing: tests never assert speed).
    const users = JSON.parse(readFileSync(file, "utf8")) as { users: Record<string, { password: string }> };
    const current = users.users.alice!.password;
    expect(parsePasswordHash(await dummyPasswordHash(current))!.N).toBe(1024);
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
});
