import { describe, it, expect } from "vitest";
import { InvalidOptionError, ManualClock } from "../../src/index.js";
import { BINARY_STAR_STATES, BinaryStarFsm, BSTAR_HEARTBEAT_INTERVAL, type BinaryStarEvent, type BinaryStarFatal, type BinaryStarState, type BinaryStarTransition } from "../../patterns/binary-star/index.js";

const EVENTS: readonly BinaryStarEvent[] = ["peer-primary", "peer-backup", "peer-active", "peer-passive", "client-request"];

/** Put a machine in `state` (with a fresh peer, heard at clock 0). */
function inState(state: BinaryStarState, clock: ManualClock, heartbeatInterval = 1000): BinaryStarFsm {
  const role = state === "backup" ? "backup" : state === "primary" ? "primary" : "primary";
  const fsm = new BinaryStarFsm({ role, heartbeatInterval, clock });
  if (state === "active") fsm.peer("backup");
  if (state === "passive") fsm.peer("active");
  expect(fsm.state).toBe(state);
  return fsm;
}

type Expect = BinaryStarState | { fatal: BinaryStarFatal["reason"] };
// Client requests with the peer alive (just heard).
const TABLE: Record<BinaryStarState, Record<BinaryStarEvent, Expect>> = {
  primary: { "peer-primary": { fatal: "both-primary" }, "peer-backup": "active", "peer-active": "passive", "peer-passive": "primary", "client-request": "primary" },
  backup: { "peer-primary": "backup", "peer-backup": { fatal: "both-backup" }, "peer-active": "passive", "peer-passive": "backup", "client-request": "backup" },
  active: { "peer-primary": "active", "peer-backup": "active", "peer-active": { fatal: "both-active" }, "peer-passive": "active", "client-request": "active" },
  passive: { "peer-primary": "active", "peer-backup": "active", "peer-active": "passive", "peer-passive": { fatal: "both-passive" }, "client-request": "passive" },
};

describe("BinaryStarFsm: every state x event (peer alive)", () => {
  for (const state of BINARY_STAR_STATES) {
    for (const event of EVENTS) {
      const want = TABLE[state][event];
      it(`${state} + ${event} -> ${typeof want === "string" ? want : `fatal ${want.fatal}`}`, () => {
        const clock = new ManualClock(1000);
        const fsm = inState(state, clock);
        const changes: BinaryStarTransition[] = [];
        const fatals: BinaryStarFatal[] = [];
        fsm.on("state:changed", (t) => changes.push(t));
        fsm.on("fatal", (f) => fatals.push(f));
        clock.advance(10);
        const out = fsm.handle(event);
        if (typeof want === "string") {
          expect(out.state).toBe(want);
          expect(fsm.state).toBe(want);
          expect(out.changed).toBe(want !== state);
          expect(changes).toEqual(want !== state ? [{ from: state, to: want, event }] : []);
          expect(fatals).toEqual([]);
          expect(fsm.fatal).toBeUndefined();
          expect(out.accept).toBe(event === "client-request" && want === "active");
          expect(fsm.serving).toBe(want === "active");
        } else {
          const fatal = { reason: want.fatal, state, event };
          expect(out).toEqual({ state, changed: false, accept: false, fatal });
          expect(fatals).toEqual([fatal]);
          expect(fsm.fatal).toEqual(fatal);
          expect(fsm.state).toBe(state);
          expect(fsm.serving).toBe(false);
          expect(changes).toEqual([]);
        }
      });
    }
  }
});

describe("BinaryStarFsm: client requests once the peer expired (the client vote)", () => {
  const AFTER: Record<BinaryStarState, BinaryStarState> = { primary: "active", backup: "backup", active: "active", passive: "active" };
  for (const state of BINARY_STAR_STATES) {
    it(`${state} + client-request, peer silent 2 x interval -> ${AFTER[state]}`, () => {
      const clock = new ManualClock(0);
      const fsm = inState(state, clock, 100);
      // Peer heard at 0 (or the machine made at 0): expiry at 200.
      expect(fsm.peerExpiry).toBe(200);
      clock.advance(199);
      expect(fsm.peerExpired).toBe(false);
      expect(fsm.clientRequest()).toBe(state === "active");
      expect(fsm.state).toBe(state);
      clock.advance(1);
      expect(fsm.peerExpired).toBe(true);
      expect(fsm.clientRequest()).toBe(AFTER[state] === "active");
      expect(fsm.state).toBe(AFTER[state]);
    });
  }
});

describe("BinaryStarFsm: timing and scenarios", () => {
  it("uses heartbeatInterval 1000 by default: peer expiry 2000 ms after the last peer state", () => {
    expect(BSTAR_HEARTBEAT_INTERVAL).toBe(1000);
    const clock = new ManualClock(500);
    const fsm = new BinaryStarFsm({ role: "backup", clock });
    expect(fsm.heartbeatInterval).toBe(1000);
    expect(fsm.peerExpiry).toBe(2500);
    expect(fsm.peerSeen).toBe(false);
    clock.advance(700);
    fsm.peer("active");
    expect(fsm.peerSeen).toBe(true);
    expect(fsm.peerExpiry).toBe(3200);
    clock.advance(1000);
    fsm.peer("active"); // every peer state pushes the expiry on
    expect(fsm.peerExpiry).toBe(4200);
    clock.advance(1999);
    expect(fsm.clientRequest()).toBe(false);
    expect(fsm.state).toBe("passive");
    clock.advance(1);
    expect(fsm.clientRequest()).toBe(true);
    expect(fsm.state).toBe("active");
  });

  it("a backup that never saw its primary never becomes active, however long it waits", () => {
    const clock = new ManualClock();
    const fsm = new BinaryStarFsm({ role: "backup", heartbeatInterval: 10, clock });
    for (let i = 0; i < 100; i++) {
      clock.advance(1000);
      expect(fsm.clientRequest()).toBe(false);
    }
    expect(fsm.state).toBe("backup");
    // Even a passive peer (a primary that is not serving) does not make it active.
    fsm.peer("passive");
    clock.advance(1000);
    expect(fsm.clientRequest()).toBe(false);
    expect(fsm.state).toBe("backup");
  });

  it("a primary alone serves on the first client request 2 x interval after it started", () => {
    const clock = new ManualClock(100);
    const fsm = new BinaryStarFsm({ role: "primary", clock });
    clock.advance(1999);
    expect(fsm.clientRequest()).toBe(false);
    expect(fsm.state).toBe("primary");
    clock.advance(1);
    expect(fsm.clientRequest()).toBe(true);
    expect(fsm.state).toBe("active");
    expect(fsm.clientRequest()).toBe(true);
  });

  it("failover and recovery: primary active, dies, backup takes the vote, primary restarts passive", () => {
    const clock = new ManualClock();
    const primary = new BinaryStarFsm({ role: "primary", clock });
    const backup = new BinaryStarFsm({ role: "backup", clock });
    // Both up: they exchange states.
    const [p0, b0] = [primary.state, backup.state];
    primary.peer(b0);
    backup.peer(p0);
    expect([primary.state, backup.state]).toEqual(["active", "backup"]);
    clock.advance(1000);
    const [p1, b1] = [primary.state, backup.state];
    backup.peer(p1);
    primary.peer(b1);
    expect([primary.state, backup.state]).toEqual(["active", "passive"]);
    expect(primary.clientRequest()).toBe(true);
    expect(backup.clientRequest()).toBe(false);
    // The primary dies at 1000 (its last state). The backup refuses until 3000.
    clock.advance(1999);
    expect(backup.clientRequest()).toBe(false);
    clock.advance(1);
    expect(backup.clientRequest()).toBe(true);
    expect(backup.state).toBe("active");
    // The primary restarts: it hears the active backup and comes back passive.
    const again = new BinaryStarFsm({ role: "primary", clock });
    again.peer(backup.state);
    expect(again.state).toBe("passive");
    expect(again.clientRequest()).toBe(false);
    backup.peer(again.state);
    expect(backup.state).toBe("active");
    expect(backup.fatal).toBeUndefined();
  });

  it("a passive server becomes active when its peer restarts (peer-primary / peer-backup)", () => {
    const clock = new ManualClock();
    const fsm = new BinaryStarFsm({ role: "backup", clock });
    fsm.peer("active");
    const changes: BinaryStarTransition[] = [];
    fsm.on("state:changed", (t) => changes.push(t));
    clock.advance(500);
    fsm.peer("primary");
    expect(changes).toEqual([{ from: "passive", to: "active", event: "peer-primary" }]);
  });

  it("after a fatal transition it refuses everything and ignores later events", () => {
    const clock = new ManualClock();
    const fsm = new BinaryStarFsm({ role: "primary", clock });
    fsm.peer("backup");
    const fatals: BinaryStarFatal[] = [];
    fsm.on("fatal", (f) => fatals.push(f));
    fsm.peer("active");
    expect(fatals).toEqual([{ reason: "both-active", state: "active", event: "peer-active" }]);
    const expiry = fsm.peerExpiry;
    clock.advance(10_000);
    expect(fsm.clientRequest()).toBe(false);
    expect(fsm.peer("backup")).toEqual({ state: "active", changed: false, accept: false, fatal: fatals[0] });
    expect(fsm.peerExpiry).toBe(expiry);
    expect(fsm.state).toBe("active");
    expect(fsm.serving).toBe(false);
    expect(fatals).toHaveLength(1);
  });

  it("validates its options", () => {
    expect(() => new BinaryStarFsm(undefined as never)).toThrow(InvalidOptionError);
    expect(() => new BinaryStarFsm({} as never)).toThrow(/role/);
    expect(() => new BinaryStarFsm({ role: "main" as never })).toThrow(/role/);
    expect(() => new BinaryStarFsm({ role: "primary", heartbeatInterval: 0 })).toThrow(/heartbeatInterval/);
    expect(() => new BinaryStarFsm({ role: "primary", clock: {} as never })).toThrow(/clock/);
    try {
      new BinaryStarFsm({ role: "backup", heartbeatInterval: 1.5 });
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidOptionError).option).toBe("heartbeatInterval");
    }
  });
});
