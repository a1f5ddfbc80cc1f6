/** AuthLimiter (PROTOCOL.md §4.1.1) on ManualClock: per-name back-off to the ms, the bounded pool, known-good credentials. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/index.js";
import { AuthLimiter, PubSubServer, type AuthResult, type Authenticator, type Credentials } from "../../../patterns/pubsub/index.js";

const peer = { identity: Buffer.from("id") };
const cred = (user: string, secret: string): Credentials => ({ user, secret: Buffer.from(secret) });
/** A password check: "alice" / "right" passes, anything else is 401. */
const check: Authenticator = ({ user, secret }) => (user === "alice" && secret.toString() === "right" ? { name: user, entitlements: [""] } : { denied: "unknown user or wrong password" });
const status = (r: AuthResult) => ("denied" in r ? (r.status ?? 401) : 200);

/** An authenticator whose checks finish only when told to. */
function gated(): { auth: Authenticator; calls: string[]; finish: (i: number) => void } {
  const calls: string[] = [];
  const finishers: (() => void)[] = [];
  const auth: Authenticator = (c, p) => {
    calls.push(`${c.user}:${c.secret.toString()}`);
    return new Promise((resolve) => finishers.push(() => resolve(check(c, p) as AuthResult)));
  };
  return { auth, calls, finish: (i) => finishers[i]!() };
}

describe("AuthLimiter", () => {
  it("backs a user name off after authFailureLimit failures, doubling to authBackoffMax, to the millisecond", async () => {
    const clock = new ManualClock(0);
    const limiter = new AuthLimiter({ clock, authFailureLimit: 3, authBackoff: 1000, authBackoffMax: 4000 });
    const auth = limiter.wrap(check);
    const guess = async () => status(await auth(cred("alice", "guess"), peer));
    expect([await guess(), await guess()]).toEqual([401, 401]);
    expect(limiter.backoffOf("alice")).toBe(0);
    expect(await guess()).toBe(401); // third failure at t=0: blocked until 1000
    expect(limiter.backoffOf("alice")).toBe(1000);
    clock.advance(999);
    expect(await guess()).toBe(429);
    expect(limiter.stats()).toMatchObject({ authChecks: 3, authRefusedBackoff: 1, authRefused: 1, authNamesBackingOff: 1 });
    clock.advance(1); // t=1000
    expect(await guess()).toBe(401); // fourth: blocked until 1000 + 2000
    expect(limiter.backoffOf("alice")).toBe(2000);
    clock.advance(1999);
    expect(await guess()).toBe(429);
    clock.advance(1); // t=3000
    expect(await guess()).toBe(401); // fifth: 4000 (the cap)
    expect(limiter.backoffOf("alice")).toBe(4000);
    clock.advance(4000); // t=7000
    expect(await guess()).toBe(401); // sixth: still the cap
    expect(limiter.backoffOf("alice")).toBe(4000);
    // Other names are not affected, and refusals do not reveal whether a name exists.
    expect(status(await auth(cred("bob", "x"), peer))).toBe(401);
    // No failure for 2 x authBackoffMax: the name starts afresh (not at 1 x, the cap above).
    clock.advance(7999); // t=14999, last failure at 7000
    expect(await guess()).toBe(401); // seventh: failures kept, 4000 again
    expect(limiter.backoffOf("alice")).toBe(4000);
    clock.advance(8000); // t=22999, last failure at 14999
    expect([await guess(), await guess()]).toEqual([401, 401]);
    expect(limiter.backoffOf("alice")).toBe(0);
    // The right password (checked, not cached) clears the failures.
    expect(status(await auth(cred("alice", "right"), peer))).toBe(200);
    expect([await guess(), await guess()]).toEqual([401, 401]);
    expect(limiter.backoffOf("alice")).toBe(0);
  });

  it("known-good credentials pass a back-off (still checked); a changed password is refused", async () => {
    const clock = new ManualClock(0);
    const limiter = new AuthLimiter({ clock, authFailureLimit: 2, authBackoff: 10_000, authBackoffMax: 10_000 });
    let password = "right";
    const auth = limiter.wrap(({ user, secret }) => (user === "alice" && secret.toString() === password ? { name: user, entitlements: [] } : { denied: "no" }));
    expect(status(await auth(cred("alice", "right"), peer))).toBe(200);
    expect([status(await auth(cred("alice", "a"), peer)), status(await auth(cred("alice", "b"), peer))]).toEqual([401, 401]);
    expect(status(await auth(cred("alice", "c"), peer))).toBe(429);
    expect(status(await auth(cred("alice", "right"), peer))).toBe(200);
    // The success did not end the back-off: the guessing run is still refused.
    expect(status(await auth(cred("alice", "d"), peer))).toBe(429);
    password = "changed";
    expect(status(await auth(cred("alice", "right"), peer))).toBe(401);
    expect(limiter.stats()).toMatchObject({ authChecks: 5, authRefusedBackoff: 2 });
  });

  it("runs maxAuthChecks at once, queues maxQueuedAuthChecks, refuses the rest with 429; known-good checks go first and displace the newest unknown one", async () => {
    const clock = new ManualClock(0);
    const g = gated();
    const limiter = new AuthLimiter({ clock, maxAuthChecks: 1, maxQueuedAuthChecks: 2 });
    const auth = limiter.wrap(g.auth);
    // alice's password becomes known-good.
    const first = auth(cred("alice", "right"), peer);
    g.finish(0);
    expect(status(await first)).toBe(200);
    const results: Promise<number>[] = [];
    const send = (user: string, secret: string) => results.push(Promise.resolve(auth(cred(user, secret), peer)).then(status));
    send("x1", "a"); // runs
    send("x2", "b"); // queued
    send("x3", "c"); // queued
    send("x4", "d"); // refused: busy
    expect(await results[3]).toBe(429);
    expect(limiter.stats()).toMatchObject({ authChecksRunning: 1, authChecksQueued: 2, authRefusedBusy: 1 });
    send("alice", "right"); // known-good: displaces x3, goes first
    expect(await results[2]).toBe(429);
    g.finish(1); // x1 done: alice runs next
    expect(await results[0]).toBe(401);
    expect(g.calls.slice(1)).toEqual(["x1:a", "alice:right"]);
    g.finish(2);
    expect(await results[4]).toBe(200);
    g.finish(3); // x2
    expect(await results[1]).toBe(401);
    expect(g.calls.slice(1)).toEqual(["x1:a", "alice:right", "x2:b"]);
    expect(limiter.stats()).toMatchObject({ authChecks: 4, authRefusedBusy: 2, authChecksRunning: 0, authChecksQueued: 0 });
  });

  it("remembers at most maxAuthNames names (least recent forgotten)", async () => {
    const clock = new ManualClock(0);
    const limiter = new AuthLimiter({ clock, authFailureLimit: 1, authBackoff: 1000, maxAuthNames: 2 });
    const auth = limiter.wrap(check);
    for (const user of ["a", "b", "c"]) await auth(cred(user, "x"), peer);
    expect([limiter.backoffOf("a"), limiter.backoffOf("b"), limiter.backoffOf("c")]).toEqual([0, 1000, 1000]);
  });

  it("options are validated (InvalidOptionError naming the option)", () => {
    const invalid = (option: string) => expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option });
    expect(() => new AuthLimiter({ maxAuthChecks: 0 })).toThrow(invalid("maxAuthChecks"));
    expect(() => new AuthLimiter({ maxQueuedAuthChecks: -1 })).toThrow(invalid("maxQueuedAuthChecks"));
    expect(() => new AuthLimiter({ authFailureLimit: 0 })).toThrow(invalid("authFailureLimit"));
    expect(() => new AuthLimiter({ authBackoff: 0 })).toThrow(invalid("authBackoff"));
    expect(() => new AuthLimiter({ authBackoff: 2000, authBackoffMax: 1000 })).toThrow(invalid("authBackoffMax"));
    expect(() => new AuthLimiter({ maxAuthNames: 0.5 })).toThrow(invalid("maxAuthNames"));
    expect(() => new AuthLimiter({ clock: {} as never })).toThrow(invalid("clock"));
    // The server checks them under its own name, before it makes anything.
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, maxAuthChecks: 0 })).toThrow(invalid("maxAuthChecks"));
    expect(() => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, authBackoffMax: 10 })).toThrow(/PubSubServer: expected `authBackoffMax`/);
  });
});
