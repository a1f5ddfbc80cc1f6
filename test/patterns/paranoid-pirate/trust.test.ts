/**
 * ParanoidPirateQueue against rogue peers (issue 14), real processes: a registered worker
 * that forges replies naming a victim client, and a peer that connects with a live worker's
 * routing id. Rogue peers: test/peers/rogue_peer.py.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { echoHandler } from "../../../src/index.js";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "../../../patterns/paranoid-pirate/index.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

async function queue(): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: 500, heartbeatLiveness: 10 });
  cleanup.push(() => q.close());
  await q.start();
  return q;
}

describe("ParanoidPirateQueue trust boundaries", () => {
  it("a rogue worker's forged replies naming a victim reach it 0 times in 300 requests; counted as unexpected", async () => {
    const q = await queue();
    const frontend = q.endpoints.frontend[0]!;
    const rogue = startPython("rogue_peer.py", ["ppp-forger", q.endpoints.backend[0]!, "victim-1", "3000"]);
    await waitFor(() => q.stats().workers === 1, { what: "the rogue worker registered" });
    // A decoy request keeps the rogue busy for ever (it never answers): every victim request goes to the honest worker.
    const decoy = new zmq.Dealer({ linger: 0 });
    cleanup.push(() => decoy.close());
    decoy.connect(frontend);
    await decoy.send(["", "decoy"]);
    await rogue.waitLine(/^HELD/);
    const honest = new ParanoidPirateWorker({ endpoint: q.endpoints.backend[0]!, handler: echoHandler, heartbeatInterval: 500, heartbeatLiveness: 10 });
    cleanup.push(() => honest.close());
    await waitFor(() => q.stats().workers === 2, { what: "the honest worker" });
    const victim = new LazyPirateClient({ endpoint: frontend, requestTimeout: 5000, retries: 3, socketOptions: { routingId: "victim-1" } });
    cleanup.push(() => victim.close());
    let wrong = 0;
    for (let i = 0; i < 300; i++) {
      const reply = await victim.request([`r${i}`]);
      if (reply.map(String).join("|") !== `r${i}`) wrong++;
    }
    await rogue.waitLine(/^SENT 3000/, 30_000);
    await waitFor(() => q.stats().unexpectedReplies === 3000, { what: "every forged reply counted", timeout: 20_000 });
    expect(wrong).toBe(0);
    expect(q.stats()).toMatchObject({ unexpectedReplies: 3000, replies: 300 });
  });

  it("a peer connecting with a live worker's routing id is refused: 0 requests reach it, the worker keeps serving", async () => {
    const q = await queue();
    const worker = new ParanoidPirateWorker({ endpoint: q.endpoints.backend[0]!, handler: echoHandler, heartbeatInterval: 500, heartbeatLiveness: 10, socketOptions: { routingId: "worker-1" } });
    cleanup.push(() => worker.close());
    await waitFor(() => q.stats().workers === 1, { what: "the worker" });
    const hijacker = startPython("rogue_peer.py", ["hijack", q.endpoints.backend[0]!, "worker-1", "3"]);
    await hijacker.waitLine(/^CONNECTED/);
    const client = new LazyPirateClient({ endpoint: q.endpoints.frontend[0]!, requestTimeout: 5000, retries: 3 });
    cleanup.push(() => client.close());
    let answered = 0;
    while (!hijacker.lines.some((l) => l.startsWith("GOT"))) {
      const reply = await client.request([`r${answered}`]);
      expect(reply.map(String)).toEqual([`r${answered}`]);
      answered++;
    }
    expect(await hijacker.waitLine(/^GOT/)).toBe("GOT 0");
    expect(answered).toBeGreaterThan(0);
    expect(q.stats()).toMatchObject({ workers: 1, duplicateReady: 0, readies: 1 });
  });
});
