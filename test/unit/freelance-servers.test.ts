/** The Freelance client's server table, socket-free, on a ManualClock to the millisecond. */
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/index.js";
import { ServerTable } from "../../patterns/freelance/index.js";

const A = "tcp://127.0.0.1:1";
const B = "tcp://127.0.0.1:2";
const C = "tcp://127.0.0.1:3";

function setup(endpoints = [A, B, C]) {
  const clock = new ManualClock(1000);
  const table = new ServerTable(endpoints, { pingInterval: 2000, serverTtl: 6000, probeInterval: 250 }, clock.now());
  const tick = () => {
    const r = table.tick(clock.now());
    return { ping: r.ping.map((s) => s.endpoint), expired: r.expired.map((s) => s.endpoint) };
  };
  return { clock, table, tick };
}

describe("ServerTable", () => {
  it("starts with every server unknown and due for a ping; routing ids are the endpoints", () => {
    const { table, tick } = setup([A, B, A]);
    expect(table.servers.map((s) => s.endpoint)).toEqual([A, B]);
    expect(table.servers[0]!.id.equals(Buffer.from(A))).toBe(true);
    expect(table.live()).toEqual([]);
    expect(table.pick()).toBeUndefined();
    expect(tick()).toEqual({ ping: [A, B], expired: [] });
    expect(tick()).toEqual({ ping: [], expired: [] });
  });

  it("probes a server not alive every probeInterval, a live one every pingInterval", () => {
    const { clock, table, tick } = setup([A, B]);
    tick();
    clock.advance(249);
    expect(tick().ping).toEqual([]);
    clock.advance(1);
    expect(tick().ping).toEqual([A, B]);
    expect(table.heard(A, clock.now())).toMatchObject({ revived: true });
    expect(table.heard(A, clock.now())).toMatchObject({ revived: false });
    clock.advance(250);
    expect(tick().ping).toEqual([B]);
    clock.advance(1749); // 1999 ms after A was heard
    expect(tick().ping).toEqual([B]);
    clock.advance(1);
    expect(tick().ping).toEqual([A]);
    clock.advance(250);
    expect(tick().ping).toEqual([B]);
  });

  it("a server is alive until serverTtl after its last message, then pinged as a probe", () => {
    const { clock, table, tick } = setup([A]);
    tick();
    table.heard(A, clock.now()); // t=1000
    clock.advance(3000);
    table.heard(A, clock.now()); // t=4000
    clock.advance(5999);
    expect(tick().expired).toEqual([]);
    expect(table.live().map((s) => s.endpoint)).toEqual([A]);
    clock.advance(1);
    expect(tick()).toEqual({ ping: [A], expired: [A] });
    expect(table.live()).toEqual([]);
    clock.advance(250);
    expect(tick().ping).toEqual([A]);
    expect(table.heard(A, clock.now())).toMatchObject({ revived: true });
  });

  it("lost() makes a live server dead at once", () => {
    const { clock, table, tick } = setup([A, B]);
    tick();
    table.heard(A, clock.now());
    table.heard(B, clock.now());
    expect(table.lost(A, clock.now())).toBe(true);
    expect(table.lost(A, clock.now())).toBe(false);
    expect(table.lost("tcp://other:1", clock.now())).toBe(false);
    expect(table.live().map((s) => s.endpoint)).toEqual([B]);
    clock.advance(250);
    expect(tick().ping).toEqual([A]);
  });

  it("ignores routing ids that are none of ours", () => {
    const { clock, table } = setup();
    expect(table.heard("tcp://x:9", clock.now())).toBeUndefined();
    expect(table.get("tcp://x:9")).toBeUndefined();
  });

  it("picks live servers in turn, skipping the ones already tried while others are alive", () => {
    const { clock, table } = setup();
    for (const ep of [A, B, C]) table.heard(ep, clock.now());
    expect([1, 2, 3, 4].map(() => table.pick()!.endpoint)).toEqual([A, B, C, A]);
    expect(table.pick(new Set([C]))!.endpoint).toBe(B);
    expect(table.pick(new Set([A, C]))!.endpoint).toBe(B);
    table.lost(B, clock.now());
    expect(table.pick(new Set([A]))!.endpoint).toBe(C);
    // every live one tried: the next in turn
    expect(table.pick(new Set([A, C]))!.endpoint).toBe(A);
    table.lost(A, clock.now());
    table.lost(C, clock.now());
    expect(table.pick()).toBeUndefined();
  });
});
