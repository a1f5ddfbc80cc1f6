/**
 * SimplePirateQueue against rogue peers (issue 14), real processes: a backend peer that
 * never sent READY pushing replies for a victim, and a peer connecting to the frontend with
 * a live client's routing id. Rogue peers: test/peers/rogue_peer.py.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { echoHandler } from "../../../src/index.js";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { SimplePirateQueue, SimplePirateWorker } from "../../../patterns/simple-pirate/index.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

async function queue(): Promise<SimplePirateQueue> {
  const q = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
  cleanup.push(() => q.close());
  await q.start();
  return q;
}

describe("SimplePirateQueue trust boundaries", () => {
  it("forwards nothing from a backend peer that never sent READY", async () => {
    const q = await queue();
    const victim = new zmq.Dealer({ linger: 0, routingId: "victim-1" });
    cleanup.push(() => victim.close());
    victim.connect(q.endpoints.frontend[0]!);
    const got: string[] = [];
    void (async () => {
      for await (const m of victim) got.push(m.map(String).join("|"));
    })().catch(() => undefined);
    // The victim's connection is up: a request waits in the backlog (no worker yet).
    await victim.send(["", "mine"]);
    await waitFor(() => q.stats().pending === 1, { what: "the victim's request held" });
    const rogue = startPython("rogue_peer.py", ["sp-unready", q.endpoints.backend[0]!, "victim-1", "200"]);
    await rogue.waitLine(/^SENT 200/);
    await waitFor(() => q.stats().unexpectedReplies === 200, { what: "every forged reply counted" });
    // Not taken on as a worker either: the victim's request still waits for a real one.
    expect(got).toEqual([]);
    expect(q.stats()).toMatchObject({ replies: 0, unexpectedReplies: 200, workers: 0, pending: 1 });
  });

  it("a peer connecting with a live client's routing id gets 0 replies; the victim's requests are still answered", async () => {
    const q = await queue();
    const worker = new SimplePirateWorker({ endpoint: q.endpoints.backend[0]!, handler: echoHandler });
    cleanup.push(() => worker.close());
    await waitFor(() => q.stats().workers === 1, { what: "the worker" });
    const victim = new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 5000, retries: 3, socketOptions: { routingId: "victim-1" } });
    cleanup.push(() => victim.close());
    expect((await victim.request(["first"])).map(String)).toEqual(["first"]);
    const hijacker = startPython("rogue_peer.py", ["hijack", q.endpoints.frontend[0]!, "victim-1", "3"]);
    await hijacker.waitLine(/^CONNECTED/);
    let answered = 0;
    while (!hijacker.lines.some((l) => l.startsWith("GOT"))) {
      const reply = await victim.request([`r${answered}`]);
      expect(reply.map(String)).toEqual([`r${answered}`]);
      answered++;
    }
    expect(await hijacker.waitLine(/^GOT/)).toBe("GOT 0");
    expect(answered).toBeGreaterThan(0);
    expect(q.stats().unexpectedReplies).toBe(0);
  });
});
