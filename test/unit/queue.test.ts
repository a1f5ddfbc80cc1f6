import { describe, it, expect } from "vitest";
import { BoundedQueue, QueueFullError, ZmqPatternsError } from "../../src/index.js";

const fill = (q: BoundedQueue<number>, from: number, to: number) => {
  for (let i = from; i < to; i++) q.push(i);
};

describe("BoundedQueue", () => {
  it("validates limit and overflow, naming them", () => {
    expect(() => new BoundedQueue(0)).toThrow(/`limit`/);
    expect(() => new BoundedQueue(-1)).toThrow(TypeError);
    expect(() => new BoundedQueue(2.5)).toThrow(/`limit`/);
    expect(() => new BoundedQueue(Number.NaN)).toThrow(/`limit`/);
    expect(() => new BoundedQueue(3, "wait" as never)).toThrow(/`overflow`/);
    expect(new BoundedQueue(1).limit).toBe(1);
  });

  it("reject: throws QueueFullError and leaves the queue unchanged", () => {
    const q = new BoundedQueue<number>(3, "reject", "test queue");
    fill(q, 0, 3);
    expect(q.full).toBe(true);
    let error: unknown;
    try {
      q.push(3);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toBeInstanceOf(ZmqPatternsError);
    expect((error as QueueFullError).code).toBe("ZMQP_QUEUE_FULL");
    expect((error as QueueFullError).limit).toBe(3);
    expect((error as Error).message).toMatch(/test queue/);
    expect([...q]).toEqual([0, 1, 2]);
    expect(q.dropped).toBe(0);
  });

  it("drop-newest: the pushed item is dropped and counted", () => {
    const q = new BoundedQueue<number>(2, "drop-newest");
    fill(q, 0, 2);
    expect(q.push(2)).toEqual({ accepted: false, dropped: 2 });
    expect(q.push(3)).toEqual({ accepted: false, dropped: 3 });
    expect([...q]).toEqual([0, 1]);
    expect(q.dropped).toBe(2);
  });

  it("drop-oldest: the head is dropped and counted, the new item kept", () => {
    const q = new BoundedQueue<number>(2, "drop-oldest");
    fill(q, 0, 2);
    expect(q.push(2)).toEqual({ accepted: true, dropped: 0 });
    expect(q.push(3)).toEqual({ accepted: true, dropped: 1 });
    expect([...q]).toEqual([2, 3]);
    expect(q.dropped).toBe(2);
  });

  it("wraps around its ring many times and grows past 16 keeping FIFO order", () => {
    const q = new BoundedQueue<number>(105);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) q.push(next++);
      for (let i = 0; i < 5; i++) expect(q.shift()).toBe(expected++);
    }
    expect(q.size).toBe(100); // 50 * (7 - 5)
    expect(q.peek()).toBe(expected);
    expect([...q]).toEqual(Array.from({ length: 100 }, (_, i) => expected + i));
    while (q.size > 0) expect(q.shift()).toBe(expected++);
    expect(q.shift()).toBeUndefined();
    expect(q.peek()).toBeUndefined();
  });

  it("unshift puts an item back at the head, even past the limit and across the ring edge", () => {
    const q = new BoundedQueue<number>(3);
    fill(q, 0, 3);
    q.shift();
    q.push(3); // head is now mid-ring
    q.unshift(0);
    expect(q.size).toBe(4);
    expect([...q]).toEqual([0, 1, 2, 3]);
  });

  it("removeWhere removes matching items in order and keeps the rest in order (after wrap-around)", () => {
    const q = new BoundedQueue<number>(20);
    fill(q, 0, 14);
    for (let i = 0; i < 10; i++) q.shift();
    fill(q, 14, 24); // wrapped
    expect(q.removeWhere((n) => n % 2 === 0)).toEqual([10, 12, 14, 16, 18, 20, 22]);
    expect([...q]).toEqual([11, 13, 15, 17, 19, 21, 23]);
    expect(q.dropped).toBe(0);
    expect(q.removeWhere(() => false)).toEqual([]);
  });

  it("drain empties the queue and counts the items as dropped", () => {
    const q = new BoundedQueue<string>(5, "drop-newest");
    q.push("a");
    q.push("b");
    expect(q.drain()).toEqual(["a", "b"]);
    expect(q.size).toBe(0);
    expect(q.dropped).toBe(2);
    expect(q.drain()).toEqual([]);
    q.push("c");
    expect(q.shift()).toBe("c");
  });
});
