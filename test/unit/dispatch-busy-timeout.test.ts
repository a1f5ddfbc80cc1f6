/**
 * The dispatch engine's `busyTimeout` on a ManualClock, to the millisecond: a worker that
 * holds one request too long is removed as hung (even while it heartbeats) and its request
 * redelivered per `maxRedeliveries`; and the transport's `redeliver()` hook, which may drop
 * a request instead of redelivering it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Dispatcher, InvalidOptionError, ManualClock, Reactor, DISPATCH_DEFAULTS } from "../../src/index.js";

const b = (s: string) => Buffer.from(s);

let reactor: Reactor | undefined;
afterEach(async () => {
  await reactor?.close();
  reactor = undefined;
});

function setup(options: { busyTimeout?: number; maxRedeliveries?: number } = {}, redeliver?: (r: string, client: Buffer, from: Buffer, deliveries: number) => boolean) {
  const clock = new ManualClock();
  reactor = new Reactor({ clock });
  const delivered: string[] = [];
  const events: string[] = [];
  const engine = new Dispatcher<string>({
    reactor,
    heartbeatInterval: 1000,
    heartbeatLiveness: 3,
    pendingTimeout: 0,
    busyTimeout: 500,
    transport: { deliver: (w, r) => void delivered.push(`${String(w.id)} <- ${r}`), ...(redeliver ? { redeliver } : {}) },
    ...options,
  });
  engine.on("worker:disconnected", (e) => void events.push(`disconnected ${String(e.id)} ${e.reason} busy=${e.busy}`));
  engine.on("request:redelivered", (e) => void events.push(`redelivered ${String(e.client)} attempt=${e.attempt}`));
  engine.on("request:dropped", (e) => void events.push(`dropped ${String(e.client)} ${e.reason}`));
  const beat = (id: string) => engine.heartbeat(engine.worker(b(id))!);
  const reply = (id: string) => engine.reply(engine.worker(b(id))!);
  return { clock, engine, delivered, events, beat, reply };
}

describe("Dispatcher busyTimeout", () => {
  it("is 0 (never) by default and validated as an option", () => {
    expect(DISPATCH_DEFAULTS.busyTimeout).toBe(0);
    const r = (reactor = new Reactor({ clock: new ManualClock() }));
    expect(new Dispatcher({ reactor: r, transport: { deliver: () => undefined } }).settings.busyTimeout).toBe(0);
    let error: unknown;
    try {
      new Dispatcher({ reactor: r, transport: { deliver: () => undefined }, busyTimeout: -1 }, "SomeBroker");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).option).toBe("busyTimeout");
    expect(String(error)).toMatch(/SomeBroker/);
  });

  it("removes a worker busy for busyTimeout ms (not 1 ms before), though it heartbeats, and redelivers its request", () => {
    const { clock, engine, delivered, events, beat } = setup();
    engine.ready(b("A"), "", undefined);
    engine.request("", b("c1"), "1");
    for (let t = 0; t < 4; t++) {
      clock.advance(100);
      beat("A");
    }
    clock.advance(99); // t = 499
    expect(engine.worker(b("A"))?.request).toBe("1");
    engine.ready(b("B"), "", undefined); // idle, never times out
    clock.advance(1); // t = 500
    expect(events).toEqual(["disconnected A busy-timeout busy=true", "redelivered c1 attempt=1"]);
    expect(delivered).toEqual(["A <- 1", "B <- 1"]);
    expect(engine.stats()).toMatchObject({ workers: 1, workersTimedOut: 1, workersDisconnected: 1, redelivered: 1 });
  });

  it("a reply stops the clock; the next request gets busyTimeout from its own delivery; idle workers never time out", () => {
    const { clock, engine, events, beat, reply } = setup();
    engine.ready(b("A"), "", undefined);
    engine.request("", b("c1"), "1");
    clock.advance(499);
    expect(reply("A")).toBe("1");
    for (let t = 0; t < 20; t++) {
      clock.advance(100);
      beat("A");
    }
    engine.request("", b("c2"), "2"); // t = 2499
    clock.advance(499);
    expect(engine.stats().workersTimedOut).toBe(0);
    clock.advance(1);
    expect(events).toEqual(["disconnected A busy-timeout busy=true", "redelivered c2 attempt=1"]);
  });

  it("a re-READY while busy stops the clock for the request it gave back", () => {
    const { clock, engine, events } = setup();
    engine.ready(b("A"), "", undefined);
    engine.request("", b("c1"), "1");
    clock.advance(400);
    engine.ready(b("A"), "", undefined); // starts over: request 1 redelivered to A, clock re-armed
    clock.advance(499);
    expect(engine.stats().workersTimedOut).toBe(0);
    clock.advance(1);
    expect(events).toEqual(["redelivered c1 attempt=1", "disconnected A busy-timeout busy=true", "redelivered c1 attempt=2"]);
    expect(engine.stats()).toMatchObject({ workersTimedOut: 1, pending: 1 });
  });

  it("a request that hangs every worker it reaches is dropped after maxRedeliveries + 1 deliveries", () => {
    const { clock, engine, events, delivered } = setup({ maxRedeliveries: 1 });
    for (const id of ["A", "B", "C"]) engine.ready(b(id), "", undefined);
    engine.request("", b("poison"), "p");
    clock.advance(500);
    clock.advance(500);
    expect(delivered).toEqual(["A <- p", "B <- p"]);
    expect(events).toEqual(["disconnected A busy-timeout busy=true", "redelivered poison attempt=1", "disconnected B busy-timeout busy=true", "dropped poison redeliveries"]);
    expect(engine.stats()).toMatchObject({ workers: 1, idle: 1, workersTimedOut: 2, droppedRedeliveries: 1 });
    clock.advance(5000);
    expect(engine.stats().workersTimedOut).toBe(2);
  });

  it("arms nothing when 0, and a closed engine arms nothing", () => {
    const { clock, engine } = setup({ busyTimeout: 0 });
    engine.ready(b("A"), "", undefined);
    engine.request("", b("c1"), "1");
    expect(reactor!.stats()).toMatchObject({ ticketsActive: 1 }); // the heartbeat expiry only
    clock.advance(2999);
    engine.heartbeat(engine.worker(b("A"))!);
    clock.advance(2999);
    expect(engine.stats()).toMatchObject({ workers: 1, workersTimedOut: 0 });
    engine.shutdown();
    expect(reactor!.stats()).toMatchObject({ ticketsActive: 0 });
  });
});

describe("Dispatcher transport.redeliver", () => {
  it("is asked before each redelivery within maxRedeliveries; false drops the request (reason redeliveries)", () => {
    const asked: string[] = [];
    const { engine, events } = setup({ busyTimeout: 0, maxRedeliveries: 5 }, (r, client, from, deliveries) => {
      asked.push(`${r} ${String(client)} from ${String(from)} after ${deliveries}`);
      return deliveries < 2;
    });
    for (const id of ["A", "B", "C"]) engine.ready(b(id), "", undefined);
    engine.request("", b("c1"), "1");
    engine.unreachable(b("A"));
    engine.unreachable(b("B"));
    expect(asked).toEqual(["1 c1 from A after 1", "1 c1 from B after 2"]);
    expect(events).toEqual(["disconnected A unreachable busy=true", "redelivered c1 attempt=1", "disconnected B unreachable busy=true", "dropped c1 redeliveries"]);
    expect(engine.stats()).toMatchObject({ redelivered: 1, droppedRedeliveries: 1, idle: 1 });
  });

  it("is not asked once maxRedeliveries are spent", () => {
    let asked = 0;
    const { engine, events } = setup({ busyTimeout: 0, maxRedeliveries: 0 }, () => ++asked > 0);
    engine.ready(b("A"), "", undefined);
    engine.request("", b("c1"), "1");
    engine.unreachable(b("A"));
    expect(asked).toBe(0);
    expect(events.at(-1)).toBe("dropped c1 redeliveries");
  });
});
