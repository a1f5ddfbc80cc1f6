/**
 * MajordomoBroker against a rogue worker (issue 14), real processes: a registered worker
 * that answers the request it holds with a REPLY naming another client (a victim). Rogue
 * peer: test/peers/rogue_peer.py.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { broker, client, closeAll, text, worker } from "./fixtures.js";

afterEach(async () => {
  await closeAll();
  await killAll();
});

describe("MajordomoBroker trust boundaries", () => {
  it("drops a worker's replies for a client it does not serve (counted, DISCONNECT); the victim gets none", async () => {
    const { broker: b, endpoint } = await broker({ pendingTimeout: 0, maxRedeliveries: 1_000_000 });
    const unexpected: string[] = [];
    b.on("reply:unexpected", (e) => unexpected.push(`${e.client.toString()} ${e.reason}`));
    worker(endpoint, "echo");
    const victim = client(endpoint, { socketOptions: { routingId: "victim-1" } });
    expect(text(await victim.request("echo", "first"))).toEqual(["first"]);
    const rogue = startPython("rogue_peer.py", ["mdp-forger", endpoint, "victim-1", "50"]);
    await rogue.waitLine(/^CONNECTED/);
    await waitFor(() => b.services().includes("rogue"), { what: "the rogue worker registered" });
    // A decoy's request is what the rogue holds each time it registers (redelivered after each DISCONNECT).
    const decoy = new zmq.Dealer({ linger: 0 });
    decoy.connect(endpoint);
    const decoyGot: Buffer[][] = [];
    void (async () => {
      for await (const m of decoy) decoyGot.push(m as Buffer[]);
    })().catch(() => undefined);
    try {
      await decoy.send(["", "MDPC01", "rogue", "decoy"]);
      let n = 0;
      while (!rogue.lines.some((l) => l.startsWith("FORGED"))) {
        expect(text(await victim.request("echo", `r${n}`))).toEqual([`r${n}`]);
        n++;
      }
      expect(await rogue.waitLine(/^FORGED/)).toBe("FORGED 50 DISCONNECTS 50");
      expect(unexpected).toEqual(Array.from({ length: 50 }, () => "victim-1 other client"));
      expect(decoyGot).toEqual([]);
      expect(b.stats()).toMatchObject({ unexpectedReplies: 50, disconnectsSent: 50 });
      expect(victim.stats()).toMatchObject({ retries: 0 });
    } finally {
      decoy.close();
    }
  });
});
