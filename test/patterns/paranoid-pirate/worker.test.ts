import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, Reactor, echoHandler, type RequestHandler, type WorkerHandler } from "../../../src/index.js";
import { ParanoidPirateWorker, type ParanoidPirateWorkerOptions } from "../../../patterns/paranoid-pirate/index.js";
import { waitFor, within } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A hand-driven queue backend: a ROUTER that records what workers send. */
class RawQueue {
  readonly router = new zmq.Router({ linger: 0, mandatory: false });
  readonly got: { id: Buffer; frames: Buffer[]; at: number }[] = [];
  endpoint = "";
  #pump: Promise<void> | undefined;

  async bind(): Promise<this> {
    await this.router.bind("tcp://127.0.0.1:*");
    this.endpoint = this.router.lastEndpoint!;
    this.#pump = (async () => {
      try {
        for (;;) {
          const [id, ...frames] = (await this.router.receive()) as Buffer[];
          this.got.push({ id: id!, frames, at: performance.now() });
        }
      } catch {
        // closed
      }
    })();
    return this;
  }

  is(m: { frames: Buffer[] }, byte: number): boolean {
    return m.frames.length === 1 && m.frames[0]!.length === 1 && m.frames[0]![0] === byte;
  }

  readies(): { id: Buffer; at: number }[] {
    return this.got.filter((m) => this.is(m, 1));
  }

  heartbeats(id?: Buffer): number {
    return this.got.filter((m) => this.is(m, 2) && (!id || m.id.equals(id))).length;
  }

  replies(): string[][] {
    return this.got.filter((m) => m.frames.length > 1).map((m) => m.frames.map(String));
  }

  send(id: Buffer, ...frames: (string | Buffer)[]): Promise<void> {
    if (this.router.closed) return Promise.resolve(); // a queue that went away says nothing
    return this.router.send([id, ...frames]);
  }

  async close(): Promise<void> {
    this.router.close();
    await this.#pump;
  }
}

async function setup(options: Partial<ParanoidPirateWorkerOptions> & { handler?: RequestHandler | WorkerHandler } = {}) {
  const q = await new RawQueue().bind();
  cleanup.push(() => q.close());
  const w = new ParanoidPirateWorker({ endpoint: q.endpoint, handler: echoHandler, heartbeatInterval: 50, reconnectInterval: 50, ...options });
  cleanup.push(() => w.close());
  const ready = await waitFor(() => q.readies()[0], { what: "READY" });
  // Heartbeat the worker like a queue would, so it keeps its socket.
  const beat = setInterval(() => void q.send(ready.id, Buffer.from([2])).catch(() => undefined), 20);
  cleanup.push(() => clearInterval(beat));
  return { q, w, id: ready.id };
}

describe("ParanoidPirateWorker", () => {
  it("rejects bad options with an InvalidOptionError naming the option", () => {
    const ok = { endpoint: "tcp://127.0.0.1:1", handler: echoHandler };
    expect(() => new ParanoidPirateWorker({ ...ok, endpoint: "x" })).toThrow(/endpoint/);
    expect(() => new ParanoidPirateWorker({ ...ok, handler: undefined as never })).toThrow(/handler/);
    expect(() => new ParanoidPirateWorker({ ...ok, heartbeatInterval: 0 })).toThrow(/heartbeatInterval/);
    expect(() => new ParanoidPirateWorker({ ...ok, heartbeatLiveness: 0 })).toThrow(/heartbeatLiveness/);
    expect(() => new ParanoidPirateWorker({ ...ok, reconnectInterval: -1 })).toThrow(/reconnectInterval/);
    expect(() => new ParanoidPirateWorker({ ...ok, reconnectInterval: 500, reconnectMaxInterval: 100 })).toThrow(/reconnectMaxInterval/);
    expect(() => new ParanoidPirateWorker({ ...ok, handlerTimeout: -5 })).toThrow(/handlerTimeout/);
    expect(() => new ParanoidPirateWorker({ ...ok, maxPending: 0 })).toThrow(/maxPending/);
    expect(() => new ParanoidPirateWorker({ ...ok, sendQueueLimit: 0 })).toThrow(/sendQueueLimit/);
    expect(() => new ParanoidPirateWorker({ ...ok, errorReply: "x" as never })).toThrow(/errorReply/);
    expect(() => new ParanoidPirateWorker({ ...ok, reactor: {} as Reactor })).toThrow(/reactor/);
    for (const bad of [{ endpoint: undefined }, { handler: undefined }, { heartbeatInterval: 0 }, { maxPending: 0 }]) {
      expect(() => new ParanoidPirateWorker({ ...ok, ...bad } as never)).toThrow(InvalidOptionError);
    }
  });

  it("opens nothing in its constructor and starts by itself", async () => {
    const reactor = new Reactor();
    cleanup.push(() => reactor.close());
    const q = await new RawQueue().bind();
    cleanup.push(() => q.close());
    const w = new ParanoidPirateWorker({ endpoint: q.endpoint, handler: echoHandler, reactor });
    cleanup.push(() => w.close());
    expect(reactor.sockets).toHaveLength(0);
    expect(reactor.stats()).toMatchObject({ timersActive: 0, ticketsActive: 0 });
    const connected = w.next("link:connected");
    expect(await connected).toEqual([{ attempt: 1, endpoint: q.endpoint }]);
    await w.start(); // the same start
    expect(w.state).toBe("running");
    expect(w.connected).toBe(true);
  });

  it("says READY, heartbeats, and replies with the request's address stack", async () => {
    const { q, w, id } = await setup();
    await waitFor(() => q.heartbeats(id) >= 3, { what: "heartbeats" });
    await q.send(id, "client", "req-7", "", "a", "b");
    await waitFor(() => q.replies().length === 1, { what: "reply" });
    expect(q.replies()[0]).toEqual(["client", "req-7", "", "a", "b"]);
    await q.send(id, "", "no address"); // an empty address stack is allowed
    await waitFor(() => q.replies().length === 2, { what: "reply 2" });
    expect(q.replies()[1]).toEqual(["", "no address"]);
    expect(w.stats()).toMatchObject({ requests: 2, replies: 2, malformed: 0, connects: 1 });
  });

  it("keeps heartbeating while an async handler runs, and runs one request at a time", async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const handler: RequestHandler = async (frames) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => release.push(r));
      running--;
      return frames;
    };
    const { q, w, id } = await setup({ handler });
    for (const n of ["1", "2", "3"]) await q.send(id, "c", "", n);
    await waitFor(() => release.length === 1 && w.stats().pending === 2, { what: "one running, two queued" });
    const beats = q.heartbeats(id);
    await waitFor(() => q.heartbeats(id) >= beats + 4, { what: "heartbeats during the handler" });
    while (q.replies().length < 3) {
      const r = release.shift();
      r?.();
      await waitFor(() => release.length > 0 || q.replies().length === 3, { what: "next request" });
    }
    expect(q.replies().map((r) => r[2])).toEqual(["1", "2", "3"]);
    expect(most).toBe(1);
    expect(w.connected).toBe(true);
    expect(w.stats().reconnects).toBe(0);
  });

  it("reconnects on a fresh socket with READY and exponential backoff when the queue is silent", async () => {
    const q = await new RawQueue().bind();
    cleanup.push(() => q.close());
    const w = new ParanoidPirateWorker({ endpoint: q.endpoint, handler: echoHandler, heartbeatInterval: 20, heartbeatLiveness: 2, reconnectInterval: 20, reconnectMaxInterval: 80 });
    cleanup.push(() => w.close());
    const delays: number[] = [];
    w.on("link:reconnecting", (e) => delays.push(e.delay));
    await waitFor(() => q.readies().length >= 5, { what: "5 READYs", timeout: 5000 });
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80]);
    const ids = new Set(q.readies().map((r) => r.id.toString("hex")));
    expect(ids.size).toBe(q.readies().length); // a new socket (new routing id) each time
    // Once the queue speaks (to whichever socket is current), the worker keeps its socket:
    // one routing id collects heartbeats for longer than liveness × interval.
    const beat = setInterval(() => {
      for (const r of q.readies()) void q.send(r.id, Buffer.from([2])).catch(() => undefined);
    }, 10);
    cleanup.push(() => clearInterval(beat));
    await waitFor(() => q.readies().some((r) => q.heartbeats(r.id) >= 6), { what: "a kept socket", timeout: 5000 });
  });

  it("drops a reply whose request came before a reconnect", async () => {
    let finish!: () => void;
    const handler: RequestHandler = (frames) => new Promise((r) => (finish = () => r(frames)));
    const q = await new RawQueue().bind();
    cleanup.push(() => q.close());
    const w = new ParanoidPirateWorker({ endpoint: q.endpoint, handler, heartbeatInterval: 20, heartbeatLiveness: 2, reconnectInterval: 20 });
    cleanup.push(() => w.close());
    const first = await waitFor(() => q.readies()[0], { what: "READY" });
    const stale: string[] = [];
    w.on("reply:dropped", (e) => stale.push(e.reason));
    await q.send(first.id, "c", "", "old");
    await waitFor(() => finish !== undefined, { what: "handler started" });
    await waitFor(() => q.readies().length >= 2, { what: "reconnect" }); // the queue never answers
    finish();
    await waitFor(() => stale.length === 1, { what: "stale reply" });
    expect(stale).toEqual(["reconnected"]);
    expect(q.replies()).toEqual([]);
    expect(w.stats()).toMatchObject({ droppedReplies: 1, replies: 0 });
  });

  it("says READY again when a handler throws, and gives up one past handlerTimeout", async () => {
    let calls = 0;
    const handler: RequestHandler = (frames) => {
      calls++;
      if (String(frames[0]) === "throw") throw new Error("boom");
      if (String(frames[0]) === "hang") return new Promise(() => undefined);
      return frames;
    };
    const { q, w, id } = await setup({ handler, handlerTimeout: 100, heartbeatInterval: 50 });
    const errors: unknown[] = [];
    w.on("request:failed", (e) => errors.push(e.error));
    await q.send(id, "c", "", "throw");
    await waitFor(() => q.readies().length === 2, { what: "READY after the error" });
    expect(String(errors[0])).toMatch(/boom/);
    await q.send(id, "c", "", "hang");
    await waitFor(() => q.readies().length === 3, { what: "READY after the timeout" });
    await q.send(id, "c", "", "fine");
    await waitFor(() => q.replies().length === 1, { what: "next request served" });
    expect(q.replies()[0]).toEqual(["c", "", "fine"]);
    expect(w.stats()).toMatchObject({ failed: 2, timedOut: 1, replies: 1 });
    expect(String(errors[1])).toMatch(/handlerTimeout/);
    expect(calls).toBe(3);
  });

  it("counts and drops malformed messages from the queue", async () => {
    const { q, w, id } = await setup();
    await q.send(id, Buffer.from([1])); // READY is not for workers
    await q.send(id, Buffer.from([9]));
    await q.send(id, "no", "delimiter");
    await q.send(id, "c", ""); // no content
    await waitFor(() => w.stats().malformed === 4, { what: "4 malformed" });
    await q.send(id, "c", "", "ok");
    await waitFor(() => q.replies().length === 1, { what: "still serving" });
  });

  it("answers with errorReply when a handler fails, instead of READY", async () => {
    const handler: RequestHandler = () => {
      throw new Error("no");
    };
    const { q, w, id } = await setup({ handler, errorReply: (error, request) => ["error", String((error as Error).message), ...request] });
    await q.send(id, "c", "", "x");
    await waitFor(() => q.replies().length === 1, { what: "error reply" });
    expect(q.replies()[0]).toEqual(["c", "", "error", "no", "x"]);
    expect(q.readies()).toHaveLength(1);
    expect(w.stats()).toMatchObject({ failed: 1, replies: 1 });
  });

  it("drops (and counts) requests beyond maxPending; aborts a handler's signal when the link is lost", async () => {
    let signal: AbortSignal | undefined;
    const handler: WorkerHandler = (_frames, ctx) => {
      signal = ctx.signal;
      return new Promise(() => undefined);
    };
    const { q, w, id } = await setup({ handler, maxPending: 1 });
    const dropped: string[] = [];
    w.on("request:dropped", (e) => dropped.push(`${String(e.client)}:${e.reason}`));
    for (const n of ["a", "b", "c"]) await q.send(id, n, "", n);
    await waitFor(() => dropped.length === 1, { what: "overflow" });
    expect(dropped).toEqual(["c:overflow"]);
    expect(w.stats()).toMatchObject({ requests: 3, running: 1, pending: 1, droppedRequests: 1 });
    expect(signal?.aborted).toBe(false);
    const lost = w.next("link:lost");
    await q.close(); // the queue goes away: the worker loses the link
    await within(lost, 5000, "link:lost");
    expect(signal?.aborted).toBe(true);
    expect(dropped).toEqual(["c:overflow", "b:reconnected"]);
  });

  it("closes cleanly: sockets and timers of its reactor back to zero", async () => {
    const reactor = new Reactor();
    cleanup.push(() => reactor.close());
    const q = await new RawQueue().bind();
    cleanup.push(() => q.close());
    const w = new ParanoidPirateWorker({ endpoint: q.endpoint, handler: echoHandler, heartbeatInterval: 50, reactor });
    await waitFor(() => q.readies().length === 1, { what: "READY" });
    await w.close();
    await w.close();
    expect(reactor.stats()).toMatchObject({ sockets: 0, timersActive: 0 });
    const ac = new AbortController();
    const w2 = new ParanoidPirateWorker({ endpoint: q.endpoint, handler: echoHandler, signal: ac.signal });
    ac.abort();
    await waitFor(() => w2.closed, { what: "closed by signal" });
    await w2.close();
    expect(w2.reactor.stats()).toMatchObject({ sockets: 0, timersActive: 0 });
  });

  it("cancels a running handler's timeout timer on close (shared reactor)", async () => {
    const reactor = new Reactor();
    cleanup.push(() => reactor.close());
    const q = await new RawQueue().bind();
    cleanup.push(() => q.close());
    const w = new ParanoidPirateWorker({ endpoint: q.endpoint, handler: () => new Promise(() => undefined), handlerTimeout: 60_000, heartbeatInterval: 50, reactor });
    const ready = await waitFor(() => q.readies()[0], { what: "READY" });
    await q.send(ready.id, "c", "", "stall");
    await waitFor(() => w.stats().running === 1, { what: "busy" });
    await w.close();
    expect(reactor.stats()).toMatchObject({ sockets: 0, timersActive: 0 });
  });
});

describe("ParanoidPirateWorker: a handler that returns something that is not a message", () => {
  for (const mode of ["sync", "async"] as const) {
    it(`counts it as a failed request and stays usable (${mode})`, async () => {
      const handler: RequestHandler = (frames) => {
        const reply = frames[0]!.toString() === "bad" ? (undefined as never) : frames;
        return mode === "sync" ? reply : Promise.resolve(reply);
      };
      const { q, w, id } = await setup({ handler });
      await q.send(id, "c", "", "bad");
      await waitFor(() => w.stats().failed === 1, { what: "handler error" });
      await q.send(id, "c", "", "good");
      await waitFor(() => q.replies().length === 1, { what: "reply after the bad one" });
      expect(q.replies()[0]).toEqual(["c", "", "good"]);
      expect(w.stats()).toMatchObject({ running: 0, failed: 1, replies: 1 });
    });
  }
});
