/**
 * Exactly-once requests behind the Majordomo broker: MajordomoClient with `exactlyOnce`,
 * MajordomoWorker with a reply cache, a handler with a side effect (a counter per request).
 * Requests time out and are retried (a slow handler whose reply goes to a closed lane; a
 * worker closed after its handler ran but before the reply went out); the effect runs once.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ReplyCache } from "../../../src/index.js";
import { after, effectHandler, Effects } from "../../helpers/effects.js";
import { within } from "../../helpers/wait.js";
import { broker, client, closeAll, worker } from "./fixtures.js";

afterEach(closeAll);

describe("MajordomoWorker exactlyOnce behind a MajordomoBroker", () => {
  for (const version of [1, 2] as const) {
    it(`MDP/0.${version}: a slow handler's retries are answered from the cache, the handler runs once`, async () => {
      const { endpoint } = await broker({ pendingTimeout: 0 });
      const effects = new Effects();
      const c = client(endpoint, { requestTimeout: 150, retries: 20, exactlyOnce: true, version });
      const twoRetries = after(c, "request:retry", 2);
      const w = worker(endpoint, "svc", { version, exactlyOnce: true, handler: effectHandler(effects, () => (effects.runs.get("slow") === 1 ? twoRetries : undefined)) });
      await w.start();
      expect((await within(c.request("svc", "slow"), 20_000, "slow request")).map(String)).toEqual(["done:slow"]);
      expect(effects.runs.get("slow")).toBe(1);
      expect(w.stats()).toMatchObject({ cacheEntries: 1 });
      expect(w.stats().cacheHits).toBeGreaterThanOrEqual(1);
      // Requests of other clients, and new requests of this one, are not duplicates.
      const other = client(endpoint, { exactlyOnce: true, version });
      expect((await other.request("svc", "slow")).map(String)).toEqual(["done:slow"]);
      expect(effects.runs.get("slow")).toBe(2);
    });
  }

  it("a worker closed after its handler ran but before the reply went out: the worker sharing its cache answers the redelivery", async () => {
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const effects = new Effects();
    const cache = new ReplyCache();
    let b: ReturnType<typeof worker> | undefined;
    const a = worker(endpoint, "svc", {
      replyCache: cache,
      handler: effectHandler(effects, () => {
        b = worker(endpoint, "svc", { replyCache: cache, handler: effectHandler(effects) });
        void a.close();
      }),
    });
    await a.start();
    const c = client(endpoint, { requestTimeout: 200, retries: 30, exactlyOnce: true });
    expect((await within(c.request("svc", "once"), 20_000, "request")).map(String)).toEqual(["done:once"]);
    expect(effects.runs.get("once")).toBe(1);
    expect(a.stats().droppedReplies).toBe(1);
    expect(b!.stats().cacheHits).toBeGreaterThanOrEqual(1);
  });

  it("a plain (unstamped) client through an exactlyOnce worker runs every request", async () => {
    const { endpoint } = await broker();
    const effects = new Effects();
    worker(endpoint, "svc", { exactlyOnce: true, handler: effectHandler(effects) });
    const c = client(endpoint);
    await c.request("svc", "x");
    await c.request("svc", "x");
    expect(effects.runs.get("x")).toBe(2);
  });
});
