import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { AbortedError, ClosedError, EMPTY, QueueFullError, RequestAbandonedError } from "../../../src/index.js";
import { PipelinedClient } from "../../../patterns/lazy-pirate/index.js";
import { waitFor } from "../../helpers/wait.js";
import { repEcho } from "./rep.js";

const text = (frames: Buffer[]) => frames.map((f) => f.toString());
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function own<T extends { close(): unknown }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

/** A ROUTER server under test control: `reply(msg)` decides what goes back (may be several messages). */
async function routerServer(reply: (msg: Buffer[]) => Buffer[][]): Promise<{ endpoint: string; received: Buffer[][] }> {
  const router = own(new zmq.Router({ linger: 0 }));
  await router.bind("tcp://127.0.0.1:*");
  const received: Buffer[][] = [];
  void (async () => {
    try {
      for await (const msg of router) {
        received.push(msg);
        for (const out of reply(msg)) await router.send(out);
      }
    } catch {
      // closed
    }
  })();
  return { endpoint: router.lastEndpoint!, received };
}

describe("PipelinedClient", () => {
  it("works against a plain REP server (REP echoes the request-id envelope)", async () => {
    const s = own(await repEcho("tcp://127.0.0.1:*"));
    const c = own(new PipelinedClient({ endpoint: s.endpoint }));
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => c.request(["x", `${i}`])));
    expect(replies.map((r) => text(r)[1])).toEqual(Array.from({ length: 30 }, (_, i) => `${i}`));
  });

  it("sends [requestId, EMPTY, ...body] and matches replies by id in any order", async () => {
    const held: Buffer[][] = [];
    const s = await routerServer((msg) => {
      held.push(msg);
      // answer in reverse order once 5 are in
      return held.length === 5 ? held.reverse().map((m) => [m[0]!, m[1]!, EMPTY, Buffer.from(`re:${m[3]}`)]) : [];
    });
    const c = own(new PipelinedClient({ endpoint: s.endpoint }));
    const replies = await Promise.all(["a", "b", "c", "d", "e"].map((p) => c.request(p)));
    expect(replies.map((r) => r[0]!.toString())).toEqual(["re:a", "re:b", "re:c", "re:d", "re:e"]);
    const ids = s.received.map((m) => m[1]!);
    expect(ids.every((id) => id.length === 4)).toBe(true);
    expect(new Set(ids.map((id) => id.toString("hex"))).size).toBe(5);
    expect(s.received.every((m) => m[2]!.length === 0)).toBe(true);
  });

  it("resends with the same id on timeout, discards duplicate and unknown replies, drops malformed ones", async () => {
    let n = 0;
    const s = await routerServer((m) => {
      n++;
      const reply = [m[0]!, m[1]!, EMPTY, m[3]!];
      if (n === 1) return []; // first attempt unanswered
      return [reply, reply, [m[0]!, Buffer.from([9, 9, 9, 9]), EMPTY, Buffer.from("?")], [m[0]!, Buffer.from("junk")]];
    });
    const c = own(new PipelinedClient({ endpoint: s.endpoint, requestTimeout: 500, retries: 2 }));
    const reasons: string[] = [];
    c.on("reply:discarded", (e) => reasons.push(e.reason));
    c.on("message:malformed", (e) => reasons.push(`malformed ${e.socket} ${e.frames}`));
    expect(text(await c.request("p"))).toEqual(["p"]);
    expect(s.received[0]![1]).toEqual(s.received[1]![1]);
    await waitFor(() => reasons.length === 3, { what: "3 discards" });
    expect(reasons.sort()).toEqual(["malformed dealer 1", "unknown", "unknown"]);
    expect(c.stats()).toMatchObject({ requests: 1, replies: 1, retries: 1, discarded: 2, malformed: 1, reopened: 0 });
  });

  it("abandons a request with a TimeoutError after its retries, others unaffected", async () => {
    const s = await routerServer((m) => (m[3]!.toString() === "lost" ? [] : [[m[0]!, m[1]!, EMPTY, m[3]!]]));
    const c = own(new PipelinedClient({ endpoint: s.endpoint, requestTimeout: 300, retries: 1 }));
    const lost = c.request("lost");
    expect(text(await c.request("ok", { requestTimeout: 5000 }))).toEqual(["ok"]);
    const error = await lost.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestAbandonedError);
    expect((error as RequestAbandonedError).attempts).toBe(2);
    expect(c.stats()).toMatchObject({ abandoned: 1, replies: 1, retries: 1 });
  });

  it("bounds the in-flight window and the backlog; aborts one request", async () => {
    const s = await routerServer(() => []);
    const c = own(new PipelinedClient({ endpoint: s.endpoint, maxInFlight: 2, maxPending: 2, requestTimeout: 60_000 }));
    const ac = new AbortController();
    const pending = [c.request("1"), c.request("2", { signal: ac.signal }), c.request("3"), c.request("4")];
    await expect(c.request("5")).rejects.toBeInstanceOf(QueueFullError);
    expect(c.stats()).toMatchObject({ inFlight: 2, pending: 2 });
    await waitFor(() => s.received.length === 2, { what: "2 requests sent" });
    ac.abort();
    await expect(pending[1]).rejects.toBeInstanceOf(AbortedError);
    await waitFor(() => s.received.length === 3, { what: "the third request moves into the window" });
    expect(c.stats()).toMatchObject({ inFlight: 2, pending: 1, aborted: 1 });
    await c.close();
    for (const p of [pending[0], pending[2], pending[3]]) await expect(p).rejects.toBeInstanceOf(ClosedError);
  });

  it("fails over to the next endpoint after a timeout (the DEALER is connected to one at a time)", async () => {
    const silent = await routerServer(() => []);
    const live = own(await repEcho("tcp://127.0.0.1:*"));
    const c = own(new PipelinedClient({ endpoint: [silent.endpoint, live.endpoint], requestTimeout: 300, retries: 2 }));
    const replies = await Promise.all(["a", "b", "c"].map((p) => c.request(p)));
    expect(replies.map((r) => text(r)[0])).toEqual(["a", "b", "c"]);
    expect(silent.received).toHaveLength(3); // never round-robin: all three went to the first endpoint
    expect(c.stats()).toMatchObject({ failovers: 1, retries: 3 });
    expect(c.endpoint).toBe(live.endpoint);
  });

  it("validates maxInFlight", () => {
    expect(() => new PipelinedClient({ endpoint: "tcp://127.0.0.1:1", maxInFlight: 0 })).toThrow(/maxInFlight/);
  });
});
