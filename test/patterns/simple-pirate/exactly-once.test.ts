/**
 * Exactly-once requests behind a Simple Pirate queue: SimplePirateWorker with `exactlyOnce`
 * (the shared RequestRunner), LazyPirateClient with `exactlyOnce`, a slow handler with a side
 * effect whose retries queue up behind it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { SimplePirateQueue, SimplePirateWorker } from "../../../patterns/simple-pirate/index.js";
import { after, effectHandler, Effects } from "../../helpers/effects.js";
import { within } from "../../helpers/wait.js";

const open: { close(): Promise<void> }[] = [];
const track = <T extends { close(): Promise<void> }>(x: T): T => (open.push(x), x);
afterEach(async () => {
  await Promise.all(open.splice(0).reverse().map((x) => x.close()));
});

describe("SimplePirateWorker exactlyOnce behind a SimplePirateQueue", () => {
  it("a slow handler's retries are answered from the cache, the handler runs once", async () => {
    const q = track(new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", pendingTimeout: 0 }));
    await q.start();
    const effects = new Effects();
    const c = track(new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 150, retries: 20, exactlyOnce: true }));
    const twoRetries = after(c, "request:retry", 2);
    const w = track(new SimplePirateWorker({ endpoint: q.endpoints.backend[0]!, exactlyOnce: true, handler: effectHandler(effects, () => twoRetries) }));
    await w.start();
    expect((await within(c.request("slow"), 20_000, "slow request")).map(String)).toEqual(["done:slow"]);
    expect(effects.runs.get("slow")).toBe(1);
    expect(w.stats().cacheHits).toBeGreaterThanOrEqual(1);
  });
});
