/**
 * Exactly-once requests behind a 6/PPP queue: LazyPirateClient / PipelinedClient with
 * `exactlyOnce`, ParanoidPirateWorker with a reply cache, and a handler with a side effect
 * (a counter per request). Requests time out and are retried (a slow handler, replies
 * dropped on the way back, a worker closed after its handler ran but before the reply went
 * out); the effect runs once per request.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { LazyPirateClient, PipelinedClient } from "../../../patterns/lazy-pirate/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker, type ParanoidPirateWorkerOptions } from "../../../patterns/paranoid-pirate/index.js";
import { RequestAbandonedError, Reactor, ReplyCache, STAMP_MARKER, type WorkerHandler } from "../../../src/index.js";
import { after, effectHandler, Effects } from "../../helpers/effects.js";
import { waitFor, within } from "../../helpers/wait.js";

const HB = 100;
const open: { close(): Promise<void> }[] = [];
const track = <T extends { close(): Promise<void> }>(x: T): T => (open.push(x), x);

afterEach(async () => {
  await Promise.all(open.splice(0).reverse().map((x) => x.close()));
});

async function queue(): Promise<{ frontend: string; backend: string; q: ParanoidPirateQueue }> {
  const q = track(new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: HB, heartbeatLiveness: 3, pendingTimeout: 0 }));
  await q.start();
  return { q, frontend: q.endpoints.frontend[0]!, backend: q.endpoints.backend[0]! };
}

function worker(backend: string, handler: WorkerHandler, options: Partial<ParanoidPirateWorkerOptions> = {}): ParanoidPirateWorker {
  return track(new ParanoidPirateWorker({ endpoint: backend, handler, heartbeatInterval: HB, heartbeatLiveness: 3, reconnectInterval: 50, exactlyOnce: true, ...options }));
}

describe("ParanoidPirateWorker exactlyOnce behind a ParanoidPirateQueue", () => {
  it("a slow handler: the client's retries wait in the queue and are answered from the cache, the handler runs once", async () => {
    const { frontend, backend } = await queue();
    const effects = new Effects();
    const c = track(new LazyPirateClient({ endpoint: frontend, requestTimeout: 150, retries: 20, exactlyOnce: true }));
    const twoRetries = after(c, "request:retry", 2);
    const w = worker(backend, effectHandler(effects, (body) => (body === "slow" ? twoRetries : undefined)));
    await w.start();
    expect((await within(c.request("slow"), 20_000, "slow request")).map(String)).toEqual(["done:slow"]);
    expect(effects.runs.get("slow")).toBe(1);
    expect(w.stats().duplicates).toBeGreaterThanOrEqual(1);
    expect(w.stats().cacheHits).toBeGreaterThanOrEqual(1);
    expect(c.stats().retries).toBeGreaterThanOrEqual(2);
    // A new request is a new sequence number: it runs.
    expect((await c.request("slow")).map(String)).toEqual(["done:slow"]);
    expect(effects.runs.get("slow")).toBe(2);
  });

  it("without exactlyOnce the same slow request runs once per attempt (what the option prevents)", async () => {
    const { frontend, backend } = await queue();
    const effects = new Effects();
    const c = track(new LazyPirateClient({ endpoint: frontend, requestTimeout: 150, retries: 20 }));
    const twoRetries = after(c, "request:retry", 2);
    const w = worker(backend, effectHandler(effects, () => (effects.runs.get("slow") === 1 ? twoRetries : undefined)), { exactlyOnce: false });
    await w.start();
    await within(c.request("slow"), 20_000, "slow request");
    expect(effects.runs.get("slow")).toBeGreaterThan(1);
    expect(w.stats().duplicates).toBe(0);
  });

  it("replies dropped on the way back: every retry is answered from the cache, each effect runs once", async () => {
    const { frontend, backend } = await queue();
    const effects = new Effects();
    const w = worker(backend, effectHandler(effects));
    await w.start();
    const hop = track(await lossyHop(frontend));
    const c = track(new PipelinedClient({ endpoint: hop.endpoint, requestTimeout: 200, retries: 20, exactlyOnce: true, maxInFlight: 5 }));
    const bodies = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const replies = await within(Promise.all(bodies.map((b) => c.request(b))), 30_000, "20 requests");
    expect(replies.map((r) => String(r[0]))).toEqual(bodies.map((b) => `done:${b}`));
    expect(hop.dropped).toBeGreaterThanOrEqual(bodies.length);
    expect([...effects.runs.values()]).toEqual(bodies.map(() => 1));
    expect(w.stats().cacheHits).toBeGreaterThanOrEqual(bodies.length);
  });

  it("a malformed stamp is counted, not run, and given back (READY again); the worker goes on serving", async () => {
    const { frontend, backend, q } = await queue();
    const effects = new Effects();
    const w = worker(backend, effectHandler(effects));
    await w.start();
    const plain = track(new LazyPirateClient({ endpoint: frontend, requestTimeout: 500, retries: 0 }));
    const bad = Buffer.concat([STAMP_MARKER, Buffer.alloc(3)]);
    await expect(plain.request([bad, "x"])).rejects.toBeInstanceOf(RequestAbandonedError);
    expect(w.stats().malformed).toBeGreaterThanOrEqual(1);
    expect(effects.runs.size).toBe(0);
    expect(q.stats().redelivered).toBeGreaterThanOrEqual(1);
    const c = track(new LazyPirateClient({ endpoint: frontend, exactlyOnce: true }));
    expect((await c.request("ok")).map(String)).toEqual(["done:ok"]);
  });

  it("a worker closed after its handler ran but before the reply went out: a worker sharing its cache answers the retry", async () => {
    const { frontend, backend } = await queue();
    const effects = new Effects();
    const cache = new ReplyCache();
    let b: ParanoidPirateWorker | undefined;
    const a = worker(
      backend,
      effectHandler(effects, () => {
        // The effect happened; now this worker dies before its reply leaves.
        b = worker(backend, effectHandler(effects), { replyCache: cache });
        void a.close();
      }),
      { replyCache: cache },
    );
    await a.start();
    const c = track(new LazyPirateClient({ endpoint: frontend, requestTimeout: 200, retries: 30, exactlyOnce: true }));
    expect((await within(c.request("once"), 20_000, "request")).map(String)).toEqual(["done:once"]);
    expect(effects.runs.get("once")).toBe(1);
    expect(a.stats().droppedReplies).toBe(1);
    expect(b!.stats().cacheHits).toBeGreaterThanOrEqual(1);
  });

  it("the limit: with a cache per worker, a worker killed before its reply went out takes the cache with it, and the effect runs again", async () => {
    const { frontend, backend } = await queue();
    const effects = new Effects();
    const a = worker(
      backend,
      effectHandler(effects, () => {
        worker(backend, effectHandler(effects));
        void a.close();
      }),
    );
    await a.start();
    const c = track(new LazyPirateClient({ endpoint: frontend, requestTimeout: 200, retries: 30, exactlyOnce: true }));
    await within(c.request("once"), 20_000, "request");
    expect(effects.runs.get("once")).toBe(2);
  });
});

/**
 * A ROUTER-DEALER hop between the clients and the queue's frontend that drops every other
 * reply on its way back (the first, third, ...), counting them.
 */
async function lossyHop(upstream: string): Promise<{ endpoint: string; dropped: number; close(): Promise<void> }> {
  const reactor = new Reactor();
  const front = new zmq.Router({ linger: 0 });
  const back = new zmq.Dealer({ linger: 0 });
  let replies = 0;
  const hop = { endpoint: "", dropped: 0, close: () => reactor.close() };
  const f = reactor.add(front, { name: "hop-front", onMessage: (m) => void b.send(m) });
  const b = reactor.add(back, {
    name: "hop-back",
    onMessage: (m) => {
      if (replies++ % 2 === 0) hop.dropped++;
      else f.send(m);
    },
  });
  await front.bind("tcp://127.0.0.1:*");
  back.connect(upstream);
  hop.endpoint = front.lastEndpoint!;
  await waitFor(() => true);
  return hop;
}
