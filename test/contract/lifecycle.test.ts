/**
 * Lifecycle contract suite: every long-lived class, the same cases (describe.each).
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, Reactor, type Lifecycle } from "../../src/index.js";
import { uniqAddress } from "../helpers/addresses.js";
import { waitFor, within } from "../helpers/wait.js";
import type { FactoryContext, LifecycleFactory } from "./harness.js";
import { factories } from "./factories/index.js";

const BOUND = 10_000;

let deferred: (() => unknown)[] = [];
const ctx: FactoryContext = {
  endpoint: () => uniqAddress("tcp"),
  defer: (fn) => void deferred.push(fn),
};

afterEach(async () => {
  for (const fn of deferred.splice(0).reverse()) await fn();
});

function track<T extends Lifecycle>(instance: T): T {
  deferred.push(() => instance.close());
  return instance;
}

async function bindOnce(endpoint: string): Promise<boolean> {
  const probe = new zmq.Router({ linger: 0 });
  try {
    await probe.bind(endpoint);
    return true;
  } catch {
    return false;
  } finally {
    probe.close();
  }
}

/**
 * True when `endpoint` can be bound again. libzmq closes a listener on its I/O thread after
 * `close()` returns, so the port may stay busy for a moment: retry (bounded) until it is free.
 */
async function bindable(endpoint: string): Promise<boolean> {
  return waitFor(() => bindOnce(endpoint), { timeout: 5000, every: 20, what: `${endpoint} to be free` }).catch(() => false);
}

describe.each(factories.map((f) => [f.name, f] as const))("lifecycle contract: %s", (_name, factory: LifecycleFactory) => {
  it("start() twice returns the same promise and starts once", async () => {
    const s = track(await factory.make(ctx, {}));
    let started = 0;
    s.on("lifecycle:started", () => void started++);
    const a = s.start();
    const b = s.start();
    expect(a).toBe(b);
    await within(a, BOUND, "start");
    await within(s.start(), BOUND, "third start");
    expect(started).toBe(1);
    expect(s.state).toBe("running");
  });

  it("close() twice returns the same promise; closed, cause close, owned reactor closed", async () => {
    const s = track(await factory.make(ctx, {}));
    await within(s.start(), BOUND, "start");
    const events: unknown[] = [];
    s.on("lifecycle:closed", (e) => void events.push(e));
    const a = s.close();
    expect(s.close()).toBe(a);
    expect(s.closed).toBe(true);
    await within(a, BOUND, "close");
    expect(events).toEqual([{ cause: "close" }]);
    expect(s.state).toBe("closed");
    expect(s.reactor.closed).toBe(true);
    await expect(s.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("the logger option (lifecycle base) gets its start and close at debug", async () => {
    const lines: [string, Record<string, unknown>][] = [];
    const at = (level: string) => (fields: object | string, msg?: string) => void lines.push([`${level} ${typeof fields === "string" ? fields : (msg ?? "")}`, typeof fields === "string" ? {} : (fields as Record<string, unknown>)]);
    const logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
    const s = track(await factory.make(ctx, { logger }));
    await within(s.start(), BOUND, "start");
    await within(s.close(), BOUND, "close");
    const mine = lines.filter(([, f]) => f.class === factory.name.split(" ")[0]);
    expect(mine.map(([l]) => l)).toEqual(["debug started", "debug closed"]);
  });

  it("close() before start() resolves; start() then rejects with ClosedError", async () => {
    const s = track(await factory.make(ctx, {}));
    await within(s.close(), BOUND, "close");
    await expect(s.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("close() during start(): start rejects with ClosedError, close resolves", async () => {
    const s = track(await factory.make(ctx, {}));
    const starting = s.start();
    const closing = s.close();
    await expect(within(starting, BOUND, "start")).rejects.toBeInstanceOf(ClosedError);
    await within(closing, BOUND, "close");
    expect(s.state).toBe("closed");
  });

  it("a pre-aborted signal makes it closed at once; start rejects", async () => {
    const ac = new AbortController();
    ac.abort();
    const s = track(await factory.make(ctx, { signal: ac.signal }));
    expect(s.closed).toBe(true);
    await expect(s.start()).rejects.toBeInstanceOf(ClosedError);
    await within(s.close(), BOUND, "close");
    expect(s.closeCause).toBe("signal");
    expect(s.reactor.closed).toBe(true);
  });

  it("aborting the signal after start closes it", async () => {
    const ac = new AbortController();
    const s = track(await factory.make(ctx, { signal: ac.signal }));
    await within(s.start(), BOUND, "start");
    const closed = s.next("lifecycle:closed");
    ac.abort();
    expect(s.closed).toBe(true);
    expect(await within(closed, BOUND, "lifecycle:closed")).toEqual([{ cause: "signal" }]);
  });

  it("a shared reactor is not closed by close()", async () => {
    const reactor = new Reactor();
    deferred.push(() => reactor.close());
    const s = track(await factory.make(ctx, { reactor }));
    expect(s.reactor).toBe(reactor);
    await within(s.start(), BOUND, "start");
    await within(s.close(), BOUND, "close");
    expect(reactor.closed).toBe(false);
  });

  it("a shared reactor closing first closes it (cause reactor) and rejects pending calls", async () => {
    const reactor = new Reactor();
    deferred.push(() => reactor.close());
    const s = track(await factory.make(ctx, { reactor }));
    await within(s.start(), BOUND, "start");
    const pending = factory.pending?.(s, ctx);
    pending?.catch(() => undefined);
    const closed = s.next("lifecycle:closed");
    await reactor.close();
    expect(s.closed).toBe(true);
    expect(await within(closed, BOUND, "lifecycle:closed")).toEqual([{ cause: "reactor" }]);
    if (pending) await expect(within(pending, BOUND, "pending call")).rejects.toBeInstanceOf(ClosedError);
  });

  it("a started instance with a pending call: close() rejects it with ClosedError", async (t) => {
    if (!factory.pending) return t.skip();
    const s = track(await factory.make(ctx, {}));
    await within(s.start(), BOUND, "start");
    const pending = factory.pending(s, ctx);
    pending.catch(() => undefined);
    await within(s.close(), BOUND, "close");
    await expect(within(pending, BOUND, "pending call")).rejects.toBeInstanceOf(ClosedError);
  });

  it("a start that fails half-way leaves nothing bound and can be retried after close", async (t) => {
    if (!factory.failing) return t.skip();
    const free = await ctx.endpoint();
    const taken = await ctx.endpoint();
    const holder = new zmq.Router({ linger: 0 });
    await holder.bind(taken);
    deferred.push(() => holder.close());
    const s = track(await factory.failing(ctx, free, taken, {}));
    await expect(within(s.start(), BOUND, "start")).rejects.toThrow();
    expect(await bindable(free)).toBe(true);
    await within(s.close(), BOUND, "close");
    expect(s.reactor.closed).toBe(true);
  });
});
