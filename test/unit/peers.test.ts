import { describe, it, expect, afterEach } from "vitest";
import { ManualClock, PeerTable, Reactor, type PeerEntry } from "../../src/index.js";

const id = (s: string) => Buffer.from(s);
let reactor: Reactor | undefined;
afterEach(async () => {
  await reactor?.close();
  reactor = undefined;
});

function setup(expiry = 100) {
  const clock = new ManualClock();
  reactor = new Reactor({ clock });
  const expired: PeerEntry<{ n: number }>[] = [];
  const table = new PeerTable<{ n: number }>(reactor, expiry, (e) => expired.push(e));
  return { clock, table, expired, reactor };
}

describe("PeerTable", () => {
  it("validates its arguments, naming the bad one", () => {
    reactor = new Reactor({ clock: new ManualClock() });
    expect(() => new PeerTable({} as Reactor, 100, () => {})).toThrow(/`reactor`/);
    expect(() => new PeerTable(reactor!, 0, () => {})).toThrow(/`expiry`/);
    expect(() => new PeerTable(reactor!, 1.5, () => {})).toThrow(TypeError);
    expect(() => new PeerTable(reactor!, 100, "x" as never)).toThrow(/`onExpire`/);
  });

  it("expires silent peers through reactor tickets, reporting each once", () => {
    const { clock, table, expired, reactor } = setup();
    table.add(id("a"), { n: 1 });
    clock.advance(40);
    table.add(id("b"), { n: 2 });
    expect(table.size).toBe(2);
    expect(reactor.stats().ticketsActive).toBe(2);
    clock.advance(60);
    expect(expired.map((e) => e.key)).toEqual(["a"]);
    expect(table.has("a")).toBe(false);
    expect(table.expired).toBe(1);
    clock.advance(40);
    expect(expired.map((e) => e.key)).toEqual(["a", "b"]);
    expect(table.size).toBe(0);
    expect(reactor.stats()).toMatchObject({ ticketsActive: 0, ticketsExpired: 2 });
  });

  it("touch resets expiry and lastSeen; touch of an unknown id is undefined", () => {
    const { clock, table, expired } = setup();
    table.add(id("a"), { n: 1 });
    for (let i = 0; i < 10; i++) {
      clock.advance(90);
      expect(table.touch(id("a"))?.lastSeen).toBe(clock.now());
    }
    expect(expired).toEqual([]);
    expect(table.get("a")!.ticket.expiresAt).toBe(900 + 100);
    expect(table.touch(id("zz"))).toBeUndefined();
    clock.advance(100);
    expect(expired).toHaveLength(1);
  });

  it("binary routing ids work as keys", () => {
    const { table } = setup();
    const bin = Buffer.from([0, 0x80, 0xff, 0x41]);
    table.add(bin, { n: 1 });
    expect(table.get(bin)?.id).toEqual(bin);
    expect(table.has(Buffer.from([0, 0x80, 0xff, 0x42]))).toBe(false);
  });

  it("moveToEnd changes iteration order (LRU), ignores stale entries", () => {
    const { table } = setup();
    const a = table.add(id("a"), { n: 1 });
    table.add(id("b"), { n: 2 });
    table.add(id("c"), { n: 3 });
    table.moveToEnd(a);
    expect([...table.values()].map((e) => e.key)).toEqual(["b", "c", "a"]);
    const stale = table.get("b")!;
    table.add(id("b"), { n: 20 }); // replaces: the new entry goes to the end
    expect([...table.values()].map((e) => e.key)).toEqual(["c", "a", "b"]);
    table.moveToEnd(stale); // not in the table any more: no effect
    expect([...table.values()].map((e) => e.key)).toEqual(["c", "a", "b"]);
  });

  it("delete removes without onExpire and cancels the ticket", () => {
    const { clock, table, expired, reactor } = setup();
    table.add(id("a"), { n: 1 });
    expect(table.delete("a")?.state.n).toBe(1);
    expect(table.delete("a")).toBeUndefined();
    expect(reactor.stats().ticketsActive).toBe(0);
    clock.advance(1000);
    expect(expired).toEqual([]);
  });

  it("a duplicate add replaces the entry; the old ticket never fires", () => {
    const { clock, table, expired, reactor } = setup();
    table.add(id("a"), { n: 1 });
    clock.advance(50);
    const second = table.add(id("a"), { n: 2 });
    expect(table.size).toBe(1);
    expect(reactor.stats().ticketsActive).toBe(1);
    clock.advance(50); // first entry would have expired here
    expect(expired).toEqual([]);
    clock.advance(50);
    expect(expired).toEqual([second]);
    expect(expired[0]!.state.n).toBe(2);
  });

  it("onExpire may touch, add and delete other peers", () => {
    const clock = new ManualClock();
    reactor = new Reactor({ clock });
    const log: string[] = [];
    const table: PeerTable<number> = new PeerTable<number>(reactor, 100, (e) => {
      log.push(e.key);
      if (e.key === "a") {
        table.delete("b"); // due at the same time: must not fire
        table.add(id("new"), 0);
      }
    });
    table.add(id("a"), 0);
    table.add(id("b"), 0);
    clock.advance(100);
    expect(log).toEqual(["a"]);
    expect([...table.values()].map((e) => e.key)).toEqual(["new"]);
    clock.advance(100);
    expect(log).toEqual(["a", "new"]);
  });

  it("clear removes everything without expiry callbacks", () => {
    const { clock, table, expired, reactor } = setup();
    for (let i = 0; i < 10; i++) table.add(id(`p${i}`), { n: i });
    table.clear();
    expect(table.size).toBe(0);
    expect(reactor.stats().ticketsActive).toBe(0);
    clock.advance(1000);
    expect(expired).toEqual([]);
  });
});
