import { describe, it, expect } from "vitest";
import * as zmq from "zeromq";
import { ManualClock, Reactor, type HandlerErrorEvent, type SocketError, type Timer } from "../../src/index.js";
import { TRANSPORTS, uniqAddress } from "../helpers/addresses.js";
import { waitFor } from "../helpers/wait.js";
import { own, track, useCleanup } from "./setup.js";

useCleanup();

describe.each(TRANSPORTS)("Reactor over %s", (transport) => {
  it("serves 20 DEALERs and a ROUTER on one reactor: every message arrives, in order per socket", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const router = track(new zmq.Router());
    await router.bind(address);
    const seenByRouter = new Map<string, number[]>();
    const routerHandle = reactor.add(router, {
      name: "router",
      onMessage: ([id, body]) => {
        const key = id!.toString();
        const list = seenByRouter.get(key) ?? [];
        list.push(Number(body!.toString()));
        seenByRouter.set(key, list);
        routerHandle.send([id!, body!]);
      },
    });
    const DEALERS = 20;
    const PER = 25;
    const replies = new Map<string, number[]>();
    const dealers = Array.from({ length: DEALERS }, (_, i) => {
      const name = `d${i}`;
      const dealer = track(new zmq.Dealer({ routingId: name }));
      dealer.connect(address);
      replies.set(name, []);
      return reactor.add(dealer, { name, onMessage: ([body]) => void replies.get(name)!.push(Number(body!.toString())) });
    });
    for (let n = 0; n < PER; n++) for (const d of dealers) d.send(String(n));
    const total = DEALERS * PER;
    await waitFor(() => reactor.stats().received === 2 * total, { what: "all echoes", timeout: 15_000 });
    const expected = Array.from({ length: PER }, (_, n) => n);
    for (const d of dealers) {
      expect(seenByRouter.get(d.name)).toEqual(expected);
      expect(replies.get(d.name)).toEqual(expected);
    }
    const s = reactor.stats();
    expect(s).toMatchObject({ sockets: DEALERS + 1, received: 2 * total, sent: 2 * total, dropped: 0, handlerErrors: 0, socketErrors: 0 });
    expect(routerHandle.stats()).toMatchObject({ received: total, sent: total });
  });

  it("a throwing handler and a rejecting async handler are reported; other sockets keep working", async () => {
    const reactor = own(new Reactor());
    const errors: HandlerErrorEvent[] = [];
    reactor.on("handler:error", (e) => errors.push(e));
    const a1 = await uniqAddress(transport);
    const a2 = await uniqAddress(transport);
    const a3 = await uniqAddress(transport);
    const [pull1, pull2, pull3] = [track(new zmq.Pull()), track(new zmq.Pull()), track(new zmq.Pull())];
    await pull1.bind(a1);
    await pull2.bind(a2);
    await pull3.bind(a3);
    const got: string[] = [];
    reactor.add(pull1, {
      name: "thrower",
      onMessage: ([m]) => {
        got.push(`thrower:${m}`);
        throw new Error(`sync ${m}`);
      },
    });
    reactor.add(pull2, {
      name: "rejecter",
      onMessage: async ([m]) => {
        got.push(`rejecter:${m}`);
        await Promise.resolve();
        throw new Error(`async ${m}`);
      },
    });
    reactor.add(pull3, { name: "good", onMessage: ([m]) => void got.push(`good:${m}`) });
    const pushes = [a1, a2, a3].map((a) => {
      const p = track(new zmq.Push());
      p.connect(a);
      return reactor.add(p);
    });
    for (let i = 0; i < 3; i++) for (const p of pushes) p.send(String(i));
    await waitFor(() => got.length === 9 && errors.length === 6, { what: "9 messages and 6 errors" });
    for (const who of ["thrower", "rejecter", "good"]) expect(got.filter((g) => g.startsWith(who))).toEqual([0, 1, 2].map((i) => `${who}:${i}`));
    expect(errors.filter((e) => e.socket === "thrower").map((e) => (e.error as Error).message)).toEqual(["sync 0", "sync 1", "sync 2"]);
    expect(errors.filter((e) => e.socket === "rejecter").map((e) => (e.error as Error).message)).toEqual(["async 0", "async 1", "async 2"]);
    expect(errors.every((e) => e.source === "message")).toBe(true);
    expect(reactor.stats()).toMatchObject({ handlerErrors: 6, received: 9 });
  });

  it("timers are cancelled from a message handler and from another timer (ManualClock, real sockets)", async () => {
    const clock = new ManualClock();
    const reactor = own(new Reactor({ clock }));
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull());
    await pull.bind(address);
    const fired: string[] = [];
    const victim = reactor.after(100, () => fired.push("victim"));
    const ticker: Timer = reactor.every(10, () => fired.push("ticker"));
    const selfCancel: Timer = reactor.every(10, () => {
      fired.push("self");
      selfCancel.cancel();
    });
    let later: Timer | undefined = undefined;
    reactor.after(20, () => {
      fired.push("killer");
      later!.cancel();
    });
    later = reactor.after(30, () => fired.push("later"));
    const ticket = reactor.tickets(50).add(() => fired.push("ticket"));
    let received = 0;
    reactor.add(pull, {
      onMessage: () => {
        received++;
        victim.cancel();
        ticker.cancel();
        ticket.reset();
        reactor.after(5, () => fired.push("made-in-handler"));
      },
    });
    const push = track(new zmq.Push());
    push.connect(address);
    reactor.add(push).send("go");
    await waitFor(() => received === 1, { what: "the message" });
    clock.advance(40);
    expect(fired).toEqual(["made-in-handler", "self", "killer"]);
    clock.advance(100);
    expect(fired).toEqual(["made-in-handler", "self", "killer", "ticket"]);
    expect(reactor.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
  });
});

describe.each(TRANSPORTS)("Reactor events over %s", (transport) => {
  it("a throwing event listener is reported as handler:error (source listener) and the pump carries on", async () => {
    const reactor = own(new Reactor());
    const errors: HandlerErrorEvent[] = [];
    reactor.on("handler:error", (e) => errors.push(e));
    reactor.on("message:dropped", () => {
      throw new Error("bad listener");
    });
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull({ receiveHighWaterMark: 1 }));
    await pull.bind(address);
    const push = track(new zmq.Push());
    push.connect(address);
    const sender = reactor.add(push, { overflow: "drop-newest", sendQueueLimit: 1 });
    let got = 0;
    reactor.add(pull, { onMessage: () => void got++ });
    expect([sender.send("a"), sender.send("b"), sender.send("c")]).toEqual([true, true, false]);
    expect(errors.map((e) => [e.source, (e.error as Error).message])).toEqual([["listener", "bad listener"]]);
    await waitFor(() => got === 2, { what: "the two queued messages" });
  });

  it("monitor: true passes socket events through as socket:event", async () => {
    const reactor = own(new Reactor());
    const events: string[] = [];
    reactor.on("socket:event", (e) => void events.push(`${e.socket}:${e.event.type}`));
    const address = await uniqAddress(transport);
    const router = track(new zmq.Router());
    reactor.add(router, { name: "r", monitor: true, onMessage: () => {} });
    await router.bind(address);
    const dealer = track(new zmq.Dealer());
    dealer.connect(address);
    reactor.add(dealer).send("hi");
    if (transport === "inproc") {
      // libzmq reports no monitor events for inproc: the pump must still run and stop cleanly
      await reactor.close();
      return;
    }
    await waitFor(() => events.includes("r:bind") && events.includes("r:accept"), { what: "bind/accept events" });
    await reactor.close();
  });
});

describe.each(TRANSPORTS)("Reactor read pump and receive timeouts over %s", (transport) => {
  it("a socket with receiveTimeout 0 neither starves the event loop nor reports errors", async () => {
    const reactor = own(new Reactor());
    const errors: unknown[] = [];
    reactor.on("socket:error", (e) => errors.push(e));
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull({ receiveTimeout: 0 }));
    await pull.bind(address);
    const got: string[] = [];
    reactor.add(pull, { onMessage: ([m]) => void got.push(m!.toString()) });
    const timeout = pull.receiveTimeout;
    if (timeout !== -1) pull.close(); // otherwise the pump spins on EAGAIN and this test never ends
    expect(timeout).toBe(-1);
    // a timer still fires: the event loop is not starved
    await new Promise((r) => setTimeout(r, 20));
    const push = track(new zmq.Push());
    push.connect(address);
    reactor.add(push).send("after idle");
    await waitFor(() => got.length === 1, { what: "the message" });
    expect(errors).toEqual([]);
  });

  it("a receive timeout set behind the reactor's back is not an error", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull());
    await pull.bind(address);
    const got: string[] = [];
    const handle = reactor.add(pull, {
      onMessage: ([m]) => {
        got.push(m!.toString());
        pull.receiveTimeout = 5; // applies to the pump's next receive
      },
    });
    const push = track(new zmq.Push());
    push.connect(address);
    const sender = reactor.add(push);
    sender.send("first");
    await waitFor(() => got.length === 1, { what: "the first message" });
    await new Promise((r) => setTimeout(r, 50)); // several receive timeouts pass
    sender.send("late");
    await waitFor(() => got.length === 2, { what: "the late message" });
    expect(handle.stats().socketErrors).toBe(0);
  });
});

describe.each(TRANSPORTS)("a socket read by two pumps over %s", (transport) => {
  it("the second pump reports EBUSY once and stops; the first keeps reading; nothing freezes", async () => {
    const first = own(new Reactor());
    const second = own(new Reactor());
    const errors: SocketError[] = [];
    second.on("socket:error", (e) => void errors.push(e.error));
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull());
    await pull.bind(address);
    const got: string[] = [];
    first.add(pull, { onMessage: ([m]) => void got.push(m!.toString()) });
    const again = second.add(pull, { name: "again", onMessage: () => {} });
    await new Promise((r) => setTimeout(r, 20)); // timers still run
    expect(errors).toHaveLength(1);
    expect(errors[0]!.zmqCode).toBe("EBUSY");
    expect(errors[0]!.message).toMatch(/something else is receiving/);
    expect(again.stats().socketErrors).toBe(1);
    const push = track(new zmq.Push());
    push.connect(address);
    first.add(push).send("still read");
    await waitFor(() => got.length === 1, { what: "the message" });
  });
});

describe("Reactor without a handler:error listener", () => {
  it("with no handler:error listener, errors become process warnings instead of vanishing", async () => {
    const reactor = own(new Reactor({ clock: new ManualClock() }));
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      reactor.after(0, () => {
        throw new Error("nobody listens");
      });
      (reactor.clock as ManualClock).advance(1);
      await waitFor(() => warnings.some((w) => w.includes("nobody listens")), { what: "a process warning" });
      expect(reactor.stats().timerErrors).toBe(1);
    } finally {
      process.off("warning", onWarning);
    }
  });
});
