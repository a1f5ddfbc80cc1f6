import { describe, it, expect } from "vitest";
import * as zmq from "zeromq";
import { ClosedError, HeartbeatLink, InvalidOptionError, ManualClock, Reactor, type CancelTimer, type Clock, type HeartbeatLinkOptions } from "../../src/index.js";
import { TRANSPORTS, uniqAddress } from "../helpers/addresses.js";
import { waitFor, within } from "../helpers/wait.js";
import { own, track, useCleanup } from "./setup.js";

useCleanup();

/** A ROUTER "broker" that records what each peer sent and, while `answering`, heartbeats back. */
async function broker(reactor: Reactor, address: string) {
  const router = track(new zmq.Router({ mandatory: true, sendTimeout: 0 }));
  await router.bind(address);
  const state = {
    answering: true,
    log: [] as { id: string; body: string }[],
    ids: [] as string[],
  };
  const handle = reactor.add(router, {
    name: "broker",
    onMessage: ([id, body]) => {
      const key = id!.toString("hex");
      if (!state.ids.includes(key)) state.ids.push(key);
      state.log.push({ id: key, body: body!.toString() });
      if (state.answering) handle.send([id!, "HB"]);
    },
  });
  return { state, handle, count: (id: string, body: string) => state.log.filter((l) => l.id === id && l.body === body).length };
}

function linkOptions(reactor: Reactor, endpoint: string, extra: Partial<HeartbeatLinkOptions> = {}): HeartbeatLinkOptions {
  return {
    reactor,
    endpoint,
    greeting: () => "READY",
    heartbeat: () => "HB",
    onMessage: () => {},
    heartbeatInterval: 100,
    heartbeatLiveness: 3,
    reconnectInterval: 40,
    reconnectMaxInterval: 160,
    ...extra,
  };
}

describe("HeartbeatLink options", () => {
  it("validates its options, naming the bad one", () => {
    const reactor = own(new Reactor());
    const good = linkOptions(reactor, "tcp://127.0.0.1:1");
    const bad: [Partial<HeartbeatLinkOptions> | Record<string, unknown>, RegExp][] = [
      [{ reactor: {} as never }, /`reactor`/],
      [{ endpoint: "nowhere" }, /`endpoint`/],
      [{ greeting: undefined }, /`greeting`/],
      [{ heartbeat: "HB" as never }, /`heartbeat`/],
      [{ onMessage: undefined }, /`onMessage`/],
      [{ heartbeatInterval: 0 }, /`heartbeatInterval`/],
      [{ heartbeatLiveness: 0 }, /`heartbeatLiveness`/],
      [{ reconnectInterval: -1 }, /`reconnectInterval`/],
      [{ reconnectInterval: 100, reconnectMaxInterval: 50 }, /`reconnectMaxInterval`/],
      [{ socketOptions: 5 as never }, /`socketOptions`/],
      [{ overflow: "wait" as never }, /`overflow`/],
      [{ sendQueueLimit: 0 }, /`sendQueueLimit`/],
      [{ signal: {} as never }, /`signal`/],
    ];
    for (const [patch, re] of bad) {
      expect(() => new HeartbeatLink({ ...good, ...patch } as HeartbeatLinkOptions)).toThrow(re);
      expect(() => new HeartbeatLink({ ...good, ...patch } as HeartbeatLinkOptions)).toThrow(InvalidOptionError);
    }
    expect(reactor.sockets).toHaveLength(0); // nothing leaked by the failed constructions
  });

  it("the constructor opens nothing; start() connects", async () => {
    const reactor = own(new Reactor());
    const link = new HeartbeatLink(linkOptions(reactor, "tcp://127.0.0.1:1"));
    expect(reactor.sockets).toHaveLength(0);
    expect(reactor.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
    expect(link.send("early")).toBe(false); // nothing to send on yet: counted
    expect(link.stats().dropped).toBe(1);
    await link.start();
    expect(link.connected).toBe(true);
    expect(reactor.sockets).toHaveLength(1);
    await link.close();
    expect(reactor.sockets).toHaveLength(0);
    expect(reactor.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
  });

  it("a failed connect or greeting fails start() and leaves no socket, timer or ticket behind", async () => {
    const reactor = own(new Reactor());
    const good = linkOptions(reactor, "tcp://127.0.0.1:1");
    const bad = new HeartbeatLink({ ...good, endpoint: "tcp://127.0.0.1:notaport" });
    await expect(bad.start()).rejects.toThrow(InvalidOptionError);
    await expect(bad.start()).rejects.toThrow(/`endpoint`/);
    const noGreeting = new HeartbeatLink({
      ...good,
      greeting: () => {
        throw new Error("no greeting");
      },
    });
    await expect(noGreeting.start()).rejects.toThrow(/no greeting/);
    expect(reactor.sockets).toHaveLength(0);
    expect(reactor.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0, sockets: 0 });
    await bad.close();
    await noGreeting.close();
  });
});

describe.each(TRANSPORTS)("HeartbeatLink over %s", (transport) => {
  it("greets, heartbeats when idle, passes messages, reconnects on a fresh socket with growing backoff, and resets it on traffic", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const b = await broker(reactor, address);
    const got: string[] = [];
    const link = new HeartbeatLink(linkOptions(reactor, address, { onMessage: ([f]) => void got.push(f!.toString()) }));
    const lost: string[] = [];
    const delays: number[] = [];
    const connected: number[] = [];
    const established: number[] = [];
    link.on("link:lost", (e) => void lost.push(e.reason));
    link.on("link:reconnecting", (e) => void delays.push(e.delay));
    link.on("link:connected", (e) => void connected.push(e.attempt));
    link.on("link:established", (e) => void established.push(e.attempt));
    await link.start();
    try {
      // greeting first, then heartbeats while idle
      await waitFor(() => b.state.ids.length === 1 && b.count(b.state.ids[0]!, "HB") >= 3, { what: "greeting and 3 heartbeats" });
      const first = b.state.ids[0]!;
      expect(b.state.log[0]).toEqual({ id: first, body: "READY" });
      expect(b.count(first, "READY")).toBe(1);
      expect(link.connected).toBe(true);
      expect(got.length).toBeGreaterThanOrEqual(1); // the broker's heartbeats reach onMessage
      expect(link.stats().heartbeatsSent).toBeGreaterThanOrEqual(3);

      // app traffic goes out on the same socket
      expect(link.send(["work", "done"])).toBe(true);
      await waitFor(() => b.state.log.some((l) => l.body === "work"), { what: "app message" });

      // the broker goes silent: lost, then reconnects on new sockets with backoff 40, 80, 160, 160
      const start = delays.length; // 0 unless a stalled machine already cost us a heartbeat
      const idsBefore = b.state.ids.length;
      b.state.answering = false;
      await waitFor(() => delays.length >= start + 4 && b.state.ids.length >= idsBefore + 4, { what: "four reconnects", timeout: 15_000 });
      expect(delays.slice(start, start + 4)).toEqual([40, 80, 160, 160]);
      expect(lost.every((r) => r === "heartbeat timeout")).toBe(true);
      // every reconnect is a new socket (a new routing id at the broker) that greets again
      for (const id of b.state.ids) expect(b.state.log.find((l) => l.id === id)!.body).toBe("READY");

      // traffic resets the backoff
      const heard = link.stats().received;
      b.state.answering = true;
      await waitFor(() => link.connected && link.stats().received > heard + 1, { what: "answers on a socket", timeout: 15_000 });
      b.state.answering = false;
      const before = delays.length;
      await waitFor(() => delays.length > before, { what: "the next loss", timeout: 15_000 });
      expect(delays[before]).toBe(40);
      const s = link.stats();
      expect(s.connects).toBe(connected.length);
      expect(established[0]).toBe(1); // the broker answered on the first socket
      expect(new Set(established).size).toBe(established.length); // once per socket
      expect(s.reconnects).toBe(delays.length);
    } finally {
      await link.close();
    }
  });

  it("sends one heartbeat per idle interval even when timers fire a little late (timer jitter)", async () => {
    // A clock whose timers run slightly late by varying amounts, as real timers do.
    const inner = new ManualClock();
    let late = 0;
    const lates = [0.5, 0.1, 0.3, 0.05];
    let fires = 0;
    const clock: Clock = {
      now: () => inner.now() + late,
      setTimer: (fn, ms): CancelTimer =>
        inner.setTimer(() => {
          late = lates[fires++ % lates.length]!;
          fn();
        }, ms),
    };
    const reactor = own(new Reactor({ clock }));
    const address = await uniqAddress(transport);
    const b = await broker(reactor, address);
    b.state.answering = false;
    const link = new HeartbeatLink(linkOptions(reactor, address, { heartbeatInterval: 100, heartbeatLiveness: 1000 }));
    await link.start();
    try {
      await waitFor(() => b.state.ids.length === 1, { what: "greeting" });
      const id = b.state.ids[0]!;
      for (let i = 1; i <= 12; i++) {
        inner.advance(101); // one interval plus the lateness (< 1 ms)
        await waitFor(() => b.count(id, "HB") === i, { what: `heartbeat ${i}` });
      }
      expect(link.stats().heartbeatsSent).toBe(12);
      // app traffic postpones the heartbeat by a full interval
      inner.advance(50);
      link.send("work");
      inner.advance(95);
      await waitFor(() => b.state.log.some((l) => l.body === "work"), { what: "work" });
      expect(link.stats().heartbeatsSent).toBe(12);
      inner.advance(6);
      await waitFor(() => b.count(id, "HB") === 13, { what: "heartbeat after the work" });
    } finally {
      await link.close();
    }
  });

  it("reconnect() drops the socket and greets on a new one; close is idempotent and stops everything", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const b = await broker(reactor, address);
    const link = new HeartbeatLink(linkOptions(reactor, address, { heartbeatInterval: 1000, reconnectInterval: 10 }));
    await link.start();
    const timersBefore = reactor.stats().timersActive;
    await waitFor(() => b.state.ids.length === 1, { what: "first greeting" });
    const lost = link.next("link:lost");
    link.reconnect("broker said DISCONNECT");
    expect(link.connected).toBe(false);
    expect(link.send("while away")).toBe(false); // counted, not thrown
    expect(link.stats().dropped).toBe(1);
    const [{ reason }] = await lost;
    expect(reason).toBe("broker said DISCONNECT");
    await waitFor(() => b.state.ids.length === 2, { what: "greeting on a new socket" });
    expect(b.state.log.filter((l) => l.body === "READY")).toHaveLength(2);
    expect(link.connected).toBe(true);

    const closing = link.close();
    expect(link.close()).toBe(closing);
    await within(closing, 5000, "link.close");
    expect(link.closed).toBe(true);
    expect(link.connected).toBe(false);
    expect(() => link.send("x")).toThrow(ClosedError);
    link.reconnect(); // harmless after close
    expect(reactor.sockets.map((h) => h.name)).toEqual(["broker"]);
    expect(reactor.stats().timersActive).toBeLessThan(timersBefore);
  });

  it("keeps reconnecting when a reconnect fails (socketOptions throws once), reporting the error", async () => {
    const reactor = own(new Reactor());
    const errors: unknown[] = [];
    reactor.on("handler:error", (e) => errors.push(e.error));
    const address = await uniqAddress(transport);
    const b = await broker(reactor, address);
    let calls = 0;
    const link = new HeartbeatLink(
      linkOptions(reactor, address, {
        reconnectInterval: 10,
        socketOptions: () => {
          if (++calls === 2) throw new Error("no keys yet");
          return {};
        },
      }),
    );
    const lost: string[] = [];
    link.on("link:lost", (e) => void lost.push(e.reason));
    await link.start();
    try {
      await waitFor(() => b.state.ids.length === 1, { what: "first greeting" });
      link.reconnect("test");
      await waitFor(() => b.state.ids.length === 2, { what: "greeting after the failed attempt" });
      expect(calls).toBe(3);
      expect(lost).toEqual(["test", "connect failed: no keys yet"]);
      expect(errors.map((e) => (e as Error).message)).toEqual(["no keys yet"]);
      expect(link.connected).toBe(true);
    } finally {
      await link.close();
    }
  });

  it("an AbortSignal closes the link (also when already aborted)", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    await broker(reactor, address);
    const controller = new AbortController();
    const link = new HeartbeatLink(linkOptions(reactor, address, { signal: controller.signal }));
    await link.start();
    expect(link.connected).toBe(true);
    controller.abort();
    expect(link.closed).toBe(true);
    await link.close();
    expect(reactor.sockets.map((h) => h.name)).toEqual(["broker"]);
    const pre = new HeartbeatLink(linkOptions(reactor, address, { signal: AbortSignal.abort() }));
    expect(pre.closed).toBe(true);
    await expect(pre.start()).rejects.toThrow(ClosedError);
    await pre.close();
    expect(reactor.sockets.map((h) => h.name)).toEqual(["broker"]);
  });
});
