import { describe, it, expect } from "vitest";
import * as zmq from "zeromq";
import { ClosedError, QueueFullError, Reactor, type DropEvent, type SendOverflow, type SocketHandle } from "../../src/index.js";
import { TRANSPORTS, uniqAddress, type Transport } from "../helpers/addresses.js";
import { waitFor, within } from "../helpers/wait.js";
import { own, tick, track, unhandled, useCleanup } from "./setup.js";

useCleanup();

/** A PUSH -> PULL pair with HWM 1 where the PULL is registered without onMessage: it does not read. */
async function stalledPair<P extends SendOverflow>(transport: Transport, overflow: P, limit: number) {
  const reactor = own(new Reactor());
  const drops: DropEvent[] = [];
  reactor.on("message:dropped", (e) => drops.push(e));
  const address = await uniqAddress(transport);
  const pull = track(new zmq.Pull({ receiveHighWaterMark: 1 }));
  await pull.bind(address);
  const push = track(new zmq.Push({ sendHighWaterMark: 1 }));
  push.connect(address);
  // Fill zeromq's pipe while the peer does not read: a send with sendTimeout 0 fails with
  // EAGAIN exactly when the high-water mark is reached.
  const big = "fill".padEnd(64 * 1024, "x");
  await push.send(big); // waits for the connection
  let filled = 1;
  push.sendTimeout = 0;
  for (;;) {
    try {
      await push.send(big);
      filled++;
    } catch (error) {
      if ((error as { code?: string }).code === "EAGAIN") break;
      throw error;
    }
  }
  push.sendTimeout = -1;
  const sender = reactor.add(push, { name: "sender", overflow, sendQueueLimit: limit });
  const readAll = async (expected: number) => {
    const out: string[] = [];
    while (out.length < expected) {
      const [m] = await pull.receive();
      const text = m!.toString();
      if (!text.startsWith("fill")) out.push(text);
    }
    return out;
  };
  return { reactor, drops, sender, pull, filled, readAll };
}

/** Send `n` messages synchronously: the first goes to zeromq, the rest meet the queue. */
function burst(handle: SocketHandle, n: number, prefix = "m"): unknown[] {
  const results: unknown[] = [];
  for (let i = 0; i < n; i++) results.push(handle.send(`${prefix}${i}`));
  return results;
}

const names = (events: DropEvent[]) => events.map((e) => String(e.message));

describe.each(TRANSPORTS)("send queue overflow over %s (peer not reading)", (transport) => {
  it("reject: throws QueueFullError once the queue is full, counts nothing as dropped", async () => {
    const { sender, drops, readAll } = await stalledPair(transport, "reject", 4);
    expect(burst(sender, 5)).toEqual([true, true, true, true, true]); // 1 in flight + 4 queued
    expect(() => sender.send("m5")).toThrow(QueueFullError);
    expect(() => sender.send("m6")).toThrow(QueueFullError);
    expect(sender.stats()).toMatchObject({ queued: 4, dropped: 0 });
    expect(drops).toEqual([]);
    expect(await readAll(5)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    await sender.flush();
    expect(sender.stats()).toMatchObject({ sent: 5, queued: 0, dropped: 0 });
  });

  it("drop-newest: the new messages are dropped, counted and reported", async () => {
    const { sender, drops, readAll } = await stalledPair(transport, "drop-newest", 3);
    expect(burst(sender, 7)).toEqual([true, true, true, true, false, false, false]);
    expect(sender.stats()).toMatchObject({ queued: 3, dropped: 3, droppedQueueFull: 3 });
    expect(names(drops)).toEqual(["m4", "m5", "m6"]);
    expect(drops.every((d) => d.reason === "queue-full" && d.socket === "sender")).toBe(true);
    expect(await readAll(4)).toEqual(["m0", "m1", "m2", "m3"]);
    await sender.flush();
    expect(sender.stats()).toMatchObject({ sent: 4, dropped: 3 });
  });

  it("drop-oldest: the oldest queued messages make room, counted and reported", async () => {
    const { sender, drops, readAll } = await stalledPair(transport, "drop-oldest", 3);
    expect(burst(sender, 7)).toEqual([true, true, true, true, true, true, true]);
    expect(sender.stats()).toMatchObject({ queued: 3, dropped: 3, droppedQueueFull: 3 });
    expect(names(drops)).toEqual(["m1", "m2", "m3"]); // m0 was already with zeromq
    expect(await readAll(4)).toEqual(["m0", "m4", "m5", "m6"]);
    await sender.flush();
    expect(sender.stats()).toMatchObject({ sent: 4, dropped: 3 });
  });

  it("wait: send() resolves only when the message enters the queue; nothing is lost; the wait list is bounded", async () => {
    const { sender, drops, readAll } = await stalledPair(transport, "wait", 2);
    const results = burst(sender, 5) as Promise<boolean>[];
    // 1 in flight + 2 queued; m3 and m4 wait, and the wait list holds at most sendQueueLimit senders
    expect(sender.stats()).toMatchObject({ queued: 4, dropped: 0 });
    expect(() => sender.send("too-many")).toThrow(QueueFullError);
    const settled: number[] = [];
    results.forEach((p, i) => void p.then(() => settled.push(i)));
    await tick();
    // A waiter enters the queue only when zeromq took a message: while the peer does not read,
    // the pipe takes a few messages at most and the rest stay waiting.
    expect(settled.sort()).toEqual([0, 1, 2, 3, 4].slice(0, Math.min(5, 3 + sender.stats().sent)));
    expect(settled).toContain(2);
    expect(await readAll(5)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(await Promise.all(results)).toEqual([true, true, true, true, true]);
    await sender.flush();
    expect(sender.stats()).toMatchObject({ sent: 5, queued: 0, dropped: 0 });
    expect(drops).toEqual([]);
  });

  it("wait: close() resolves waiting senders with false and counts them as closed", async () => {
    const { sender, drops } = await stalledPair(transport, "wait", 1);
    const results = burst(sender, 3) as Promise<boolean>[]; // in flight, queued, waiting
    await within(sender.close(), 5000, "close");
    expect(await Promise.all(results)).toEqual([true, true, false]);
    await tick();
    const s = sender.stats();
    expect(s.sent + s.droppedClosed).toBe(3);
    // the queue, then the wait list, then (if zeromq still held it) the one in flight
    expect(names(drops).slice(0, 2)).toEqual(["m1", "m2"]);
    expect(names(drops)).toEqual(s.sent === 1 ? ["m1", "m2"] : ["m1", "m2", "m0"]);
    expect(await sender.send("after")).toBe(false);
  });

  it("flush() resolves once everything was handed to zeromq; close() unblocks it", async () => {
    const { sender, readAll } = await stalledPair(transport, "reject", 10);
    burst(sender, 6);
    let flushed = false;
    const flushing = sender.flush().then(() => (flushed = true));
    await tick();
    const read = readAll(6);
    await within(flushing, 5000, "flush");
    expect(flushed).toBe(true);
    expect(await read).toHaveLength(6);
    expect(sender.stats().sent).toBe(6);
    await sender.flush(); // nothing pending: at once

    burst(sender, 3, "n");
    const pending = sender.flush();
    await sender.close();
    await within(pending, 5000, "flush after close");
  });
});

describe.each(TRANSPORTS)("ROUTER delivery failures over %s", (transport) => {
  it("mandatory ROUTER to a peer that never existed or has gone: peer:unreachable with the routing id, counted, no crash", async () => {
    const reactor = own(new Reactor());
    const unreachable: Buffer[] = [];
    const drops: DropEvent[] = [];
    reactor.on("peer:unreachable", (e) => {
      expect(e.error.code).toBe("ZMQP_PEER_UNREACHABLE");
      expect(e.error.routingId).toEqual(e.routingId);
      unreachable.push(e.routingId);
    });
    reactor.on("message:dropped", (e) => drops.push(e));
    const address = await uniqAddress(transport);
    const router = track(new zmq.Router({ mandatory: true }));
    await router.bind(address);
    const hellos: string[] = [];
    const rh = reactor.add(router, { name: "router", onMessage: ([id]) => void hellos.push(id!.toString()) });
    const dealer = track(new zmq.Dealer({ routingId: "w1", linger: 0 }));
    dealer.connect(address);
    const dh = reactor.add(dealer, { onMessage: () => {} });
    dh.send("hi");
    await waitFor(() => hellos.includes("w1"), { what: "hello from w1" });
    rh.send(["ghost", "hello?"]);
    rh.send(["w1", "still here"]);
    await waitFor(() => unreachable.length === 1 && rh.stats().sent === 1, { what: "unreachable ghost" });
    expect(unreachable[0]!.toString()).toBe("ghost");
    expect(drops.map((d) => d.reason)).toEqual(["unroutable"]);
    expect(String((drops[0]!.message as string[])[0])).toBe("ghost");
    await dh.close();
    // the ROUTER notices the disconnect at some point: keep sending until it reports it
    await waitFor(
      () => {
        if (unreachable.length < 2) rh.send(["w1", "are you there?"]);
        return unreachable.length >= 2;
      },
      { what: "w1 unreachable", every: 20 },
    );
    expect(unreachable[1]!.toString()).toBe("w1");
    const s = rh.stats();
    expect(s.droppedUnroutable).toBe(unreachable.length);
    expect(s.socketErrors).toBe(0);
    expect(reactor.stats().droppedUnroutable).toBeGreaterThanOrEqual(2);
    expect(rh.closed).toBe(false);
  });

  it("mandatory ROUTER (default sendTimeout) with no peer at all: unroutable, the queue keeps moving", async () => {
    const reactor = own(new Reactor());
    const unreachable: string[] = [];
    reactor.on("peer:unreachable", (e) => unreachable.push(e.routingId.toString()));
    const router = track(new zmq.Router({ mandatory: true }));
    await router.bind(await uniqAddress(transport));
    const rh = reactor.add(router, { onMessage: () => {} });
    expect(router.sendTimeout).toBe(0); // the reactor never lets a ROUTER send block its queue
    for (const id of ["a", "b", "c"]) rh.send([id, "x"]);
    await within(rh.flush(), 5000, "flush");
    expect(unreachable).toEqual(["a", "b", "c"]);
    expect(rh.stats()).toMatchObject({ droppedUnroutable: 3, dropped: 3, sent: 0 });
  });

  it("mandatory ROUTER with sendTimeout 0 at the HWM: EAGAIN is counted as hwm", async () => {
    const reactor = own(new Reactor());
    const drops: DropEvent[] = [];
    reactor.on("message:dropped", (e) => drops.push(e));
    const address = await uniqAddress(transport);
    const router = track(new zmq.Router({ mandatory: true, sendTimeout: 0, sendHighWaterMark: 1 }));
    await router.bind(address);
    let helloFrom: Buffer | undefined;
    const rh = reactor.add(router, { name: "router", onMessage: ([id]) => void (helloFrom = id) });
    const dealer = track(new zmq.Dealer({ routingId: "slow", receiveHighWaterMark: 1 }));
    dealer.connect(address);
    reactor.add(dealer).send("hello"); // registered without onMessage: it never reads
    await waitFor(() => helloFrom, { what: "hello" });
    const body = "y".repeat(16 * 1024);
    let total = 0;
    await waitFor(
      async () => {
        for (let i = 0; i < 50; i++, total++) rh.send([helloFrom!, body]);
        await rh.flush();
        return rh.stats().droppedHwm > 0;
      },
      { what: "EAGAIN at the HWM", every: 1 },
    );
    const s = rh.stats();
    expect(s.sent + s.dropped).toBe(total);
    expect(s.droppedHwm).toBe(s.dropped);
    expect(drops.length).toBe(s.dropped);
    expect(drops.every((d) => d.reason === "hwm")).toBe(true);
    expect(s.socketErrors).toBe(0);
  });
});

describe.each(TRANSPORTS)("Reactor lifecycle over %s", (transport) => {
  it("close while sends are queued and receives are pending: no hang, no unhandled rejection, drops counted as closed", async () => {
    const reactor = new Reactor();
    const drops: DropEvent[] = [];
    reactor.on("message:dropped", (e) => drops.push(e));
    let closedEvent = 0;
    reactor.on("reactor:closed", () => closedEvent++);
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull({ receiveHighWaterMark: 1 }));
    await pull.bind(address);
    const push = track(new zmq.Push({ sendHighWaterMark: 1 }));
    push.connect(address);
    const sender = reactor.add(push, { sendQueueLimit: 200 });
    const idleAddress = await uniqAddress(transport);
    const idle = track(new zmq.Dealer());
    await idle.bind(idleAddress);
    reactor.add(idle, { onMessage: () => {} }); // a receive that never completes
    reactor.add(pull); // not reading
    // 50 MB: more than the kernel's loopback buffers can hold, so sends are still queued at close
    const big = "z".repeat(256 * 1024);
    for (let i = 0; i < 200; i++) sender.send(big);
    await tick();
    const closing = reactor.close();
    expect(reactor.close()).toBe(closing); // idempotent: same promise
    await within(closing, 5000, "reactor.close");
    expect(closedEvent).toBe(1);
    expect(push.closed && pull.closed && idle.closed).toBe(true);
    const s = reactor.stats();
    expect(s.sockets).toBe(0);
    expect(s.sent + s.droppedClosed).toBe(200);
    expect(drops.filter((d) => d.reason === "closed")).toHaveLength(s.droppedClosed);
    expect(s.droppedClosed).toBeGreaterThan(0);
    expect(unhandled()).toEqual([]);
    // sends after close are dropped as closed, not thrown
    expect(sender.send("late")).toBe(false);
    expect(() => reactor.add(track(new zmq.Dealer()))).toThrow(ClosedError);
  });

  it("an AbortSignal closes the reactor and its sockets", async () => {
    const controller = new AbortController();
    const reactor = own(new Reactor({ signal: controller.signal }));
    const address = await uniqAddress(transport);
    const dealer = track(new zmq.Dealer());
    await dealer.bind(address);
    reactor.add(dealer, { onMessage: () => {} });
    const timerRan: number[] = [];
    reactor.every(5, () => timerRan.push(1));
    const closed = reactor.next("reactor:closed");
    controller.abort();
    expect(reactor.closed).toBe(true);
    await within(closed, 5000, "reactor:closed");
    expect(dealer.closed).toBe(true);
    expect(reactor.stats().timersActive).toBe(0);
    const before = timerRan.length;
    expect(() => reactor.add(track(new zmq.Dealer()))).toThrow(ClosedError);
    // an already-aborted signal closes at once
    const pre = new Reactor({ signal: AbortSignal.abort() });
    expect(pre.closed).toBe(true);
    await pre.close();
    expect(timerRan.length).toBe(before);
  });

  it("closing one handle leaves the others running; totals keep the closed socket's counts", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const router = track(new zmq.Router());
    await router.bind(address);
    const rh = reactor.add(router, { onMessage: ([id, m]) => void rh.send([id!, m!]) });
    const got = new Map<string, number>();
    const dealers = ["a", "b"].map((name) => {
      const d = track(new zmq.Dealer({ routingId: name }));
      d.connect(address);
      got.set(name, 0);
      return reactor.add(d, { name, onMessage: () => void got.set(name, got.get(name)! + 1) });
    });
    for (const d of dealers) for (let i = 0; i < 5; i++) d.send("ping");
    await waitFor(() => got.get("a") === 5 && got.get("b") === 5, { what: "first round" });
    const closing = dealers[0]!.close();
    expect(dealers[0]!.close()).toBe(closing);
    await closing;
    expect(dealers[0]!.closed).toBe(true);
    expect(reactor.sockets).toHaveLength(2);
    for (let i = 0; i < 5; i++) dealers[1]!.send("ping");
    await waitFor(() => got.get("b") === 10, { what: "second round" });
    const s = reactor.stats();
    expect(s.sockets).toBe(2);
    // a sent 5 and got 5 back before closing, b 10 and 10, the router 15 each way
    expect(s).toMatchObject({ sent: 30, received: 30 });
  });
});
