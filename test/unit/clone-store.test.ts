/**
 * The Clone cores, socket-free (patterns/clone/store.ts): CloneStore (sequence numbers,
 * deletes, limits, subtrees, ttl expiry on ManualClock to the millisecond) and CloneReplica
 * (the client's apply rule: buffered during a snapshot, only strictly newer updates applied).
 */
import { describe, expect, it } from "vitest";
import { EMPTY, InvalidOptionError, ManualClock } from "../../src/index.js";
import { CloneReplica, CloneStore, type CloneEntry, type KvMessage } from "../../patterns/clone/index.js";

const upd = (key: string, value: string, props = {}) => ({ key, uuid: EMPTY, props, value: Buffer.from(value) });
const kv = (key: string, seq: number, value: string): KvMessage => ({ key, seq, uuid: EMPTY, props: {}, value: Buffer.from(value) });

describe("CloneStore", () => {
  it("gives every update the next sequence number; an empty value deletes", () => {
    const s = new CloneStore({ clock: new ManualClock() });
    expect(s.set(upd("/a", "1"))).toMatchObject({ ok: true, kv: { seq: 1 }, deleted: false });
    expect(s.set(upd("/b", "2"))).toMatchObject({ ok: true, kv: { seq: 2 } });
    expect(s.set(upd("/a", ""))).toMatchObject({ ok: true, kv: { seq: 3 }, deleted: true });
    expect(s.size).toBe(1);
    expect(s.seq).toBe(3);
    expect(s.get("/a")).toBeUndefined();
  });

  it("refuses beyond maxKeys, maxValueSize, long and reserved keys; updates and deletes still pass when full", () => {
    const s = new CloneStore({ clock: new ManualClock(), maxKeys: 2, maxValueSize: 3 });
    s.set(upd("/a", "1"));
    s.set(upd("/b", "1"));
    expect(s.set(upd("/c", "1"))).toMatchObject({ ok: false, reason: "max-keys" });
    expect(s.set(upd("/a", "1234"))).toMatchObject({ ok: false, reason: "value-size" });
    expect(s.set(upd("x".repeat(1025), "1"))).toMatchObject({ ok: false, reason: "key-size" });
    expect(s.set(upd("HUGZ", "1"))).toMatchObject({ ok: false, reason: "reserved-key" });
    expect(s.set(upd("/a", "2"))).toMatchObject({ ok: true });
    expect(s.set(upd("/c", ""))).toMatchObject({ ok: true, deleted: true });
    expect(s.seq).toBe(4);
    expect(() => new CloneStore({ maxKeys: 0 })).toThrow(InvalidOptionError);
  });

  it("snapshots a subtree", () => {
    const s = new CloneStore({ clock: new ManualClock() });
    for (const k of ["/a/1", "/b/1", "/a/2"]) s.set(upd(k, k));
    expect([...s.snapshot("/a/")].map((e) => e.key)).toEqual(["/a/1", "/a/2"]);
    expect([...s.snapshot()].length).toBe(3);
  });

  it("expires keys at their ttl to the millisecond, as deletes with their own sequence numbers", () => {
    const clock = new ManualClock();
    const expired: CloneEntry[] = [];
    const s = new CloneStore({ clock, onExpired: (e) => expired.push(e) });
    s.set(upd("/a", "1"), 2);
    s.set(upd("/b", "1"), 0.5);
    s.set(upd("/c", "1"));
    clock.advance(499);
    expect(expired).toEqual([]);
    clock.advance(1);
    expect(expired.map((e) => [e.key, e.seq, e.value.length])).toEqual([["/b", 4, 0]]);
    // Setting /a again restarts its ttl (and a plain set clears it).
    clock.advance(1000);
    s.set(upd("/a", "2"), 1);
    clock.advance(999);
    expect(expired.length).toBe(1);
    clock.advance(1);
    expect(expired.map((e) => e.key)).toEqual(["/b", "/a"]);
    expect(s.get("/a")).toBeUndefined();
    expect(s.expired).toBe(2);
    expect(s.size).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it("holds expiry while not expiring (a passive HA member) and catches up when turned on", () => {
    const clock = new ManualClock();
    const expired: string[] = [];
    const s = new CloneStore({ clock, onExpired: (e) => expired.push(e.key) });
    s.expiring = false;
    s.set(upd("/a", "1"), 1);
    clock.advance(5000);
    expect(expired).toEqual([]);
    s.expiring = true;
    expect(expired).toEqual(["/a"]);
  });

  it("replicates a peer's updates with their sequence numbers", () => {
    const s = new CloneStore({ clock: new ManualClock() });
    s.replicate(kv("/a", 10, "x"));
    expect(s.seq).toBe(10);
    expect(s.set(upd("/b", "y"))).toMatchObject({ kv: { seq: 11 } });
    s.advance(20);
    expect(s.seq).toBe(20);
  });
});

describe("CloneReplica", () => {
  it("applies the snapshot, then only buffered updates strictly newer than KTHXBAI's seq", () => {
    const r = new CloneReplica();
    r.beginSync();
    expect(r.publication(kv("/a", 5, "old"))).toEqual({ outcome: "buffered" });
    expect(r.publication(kv("/b", 7, "new"))).toEqual({ outcome: "buffered" });
    r.snapshotEntry(kv("/a", 5, "old"));
    r.snapshotEntry(kv("/c", 2, "c"));
    const { changes, resync } = r.endSync(6);
    expect(resync).toBe(false);
    expect(changes.map((c) => [c.key, c.value?.toString(), c.cause])).toEqual([
      ["/a", "old", "snapshot"],
      ["/c", "c", "snapshot"],
      ["/b", "new", "update"],
    ]);
    expect(r.seq).toBe(7);
    expect(r.stats()).toMatchObject({ stale: 1, applied: 1, syncs: 1 });
    // Seq 7 again after 7 was applied: not a late update but another numbering.
    expect(r.publication(kv("/b", 7, "again"))).toEqual({ outcome: "regressed" });
    expect(r.publication(kv("/b", 9, "gap"))).toMatchObject({ outcome: "applied" });
    expect(r.stats().gaps).toBe(1);
    expect(r.publication(kv("/b", 10, ""))).toMatchObject({ outcome: "applied", change: { key: "/b", value: undefined, previous: Buffer.from("gap") } });
    expect(r.entries().map((e) => e.key)).toEqual(["/a", "/c"]);
  });

  it("discards updates before any snapshot, and outside its subtree", () => {
    const r = new CloneReplica({ subtree: "/a/" });
    expect(r.publication(kv("/a/1", 1, "x"))).toEqual({ outcome: "stale" });
    r.beginSync();
    r.snapshotEntry(kv("/b/1", 1, "x"));
    r.endSync(1);
    expect(r.size).toBe(0);
    expect(r.publication(kv("/b/2", 2, "x"))).toEqual({ outcome: "outside" });
    expect(r.publication(kv("/a/2", 3, "x"))).toMatchObject({ outcome: "applied" });
    // With a subtree, gaps are the other subtrees' updates: not counted.
    expect(r.stats()).toMatchObject({ outside: 1, gaps: 0 });
    expect(() => new CloneReplica({ subtree: "a" })).toThrow(InvalidOptionError);
  });

  it("a resync reports what changed: deletes of keys gone, new values; a lower sequence (a restarted server) is taken", () => {
    const r = new CloneReplica();
    r.beginSync();
    r.snapshotEntry(kv("/a", 1, "1"));
    r.snapshotEntry(kv("/b", 2, "2"));
    r.endSync(50);
    r.beginSync();
    r.snapshotEntry(kv("/b", 1, "2"));
    r.snapshotEntry(kv("/c", 2, "3"));
    const { changes } = r.endSync(2);
    expect(changes.map((c) => [c.key, c.value?.toString()])).toEqual([
      ["/a", undefined],
      ["/c", "3"],
    ]);
    expect(r.seq).toBe(2);
    expect(r.publication(kv("/d", 3, "4"))).toMatchObject({ outcome: "applied" });
  });

  it("asks for the snapshot again when its sync buffer overflowed", () => {
    const r = new CloneReplica({ maxBuffered: 2 });
    r.beginSync();
    r.publication(kv("/a", 1, "1"));
    r.publication(kv("/a", 2, "1"));
    expect(r.publication(kv("/a", 3, "1"))).toEqual({ outcome: "overflow" });
    expect(r.endSync(0)).toEqual({ changes: [], resync: true });
    expect(r.synced).toBe(false);
    expect(r.stats().bufferOverflows).toBe(1);
  });

  it("tells a restarted server's numbering (an older seq after a newer one) from a late update", () => {
    const r = new CloneReplica();
    r.beginSync();
    r.endSync(10);
    // Published before the snapshot, arriving after it: stale, not a restart.
    expect(r.publication(kv("/a", 9, "late"))).toEqual({ outcome: "stale" });
    expect(r.publication(kv("/a", 11, "x"))).toMatchObject({ outcome: "applied" });
    expect(r.publication(kv("/a", 1, "restarted"))).toEqual({ outcome: "regressed" });
    expect(r.stats()).toMatchObject({ stale: 1, regressions: 1 });
  });
});
