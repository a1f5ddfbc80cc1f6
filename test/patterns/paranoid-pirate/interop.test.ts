/**
 * Wire exactness: our queue serves 6/PPP workers written by someone else from the spec, and
 * our worker serves a queue written by someone else (Python peers in test/peers/).
 */
import { afterEach, describe, expect, it } from "vitest";
import { upperHandler } from "../../../src/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "../../../patterns/paranoid-pirate/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { runClients } from "./fixtures.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

const upper = (p: string) => p.toUpperCase();

describe("6/PPP interop with Python peers", () => {
  it("our queue serves ppp_worker.py workers and purges one killed mid-run", async () => {
    const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: 100 });
    cleanup.push(() => q.close());
    await q.start();
    const backend = q.endpoints.backend[0]!;
    const workers = [startPython("ppp_worker.py", [backend, "100", "3"]), startPython("ppp_worker.py", [backend, "100", "3"])];
    await Promise.all(workers.map((w) => w.waitLine(/^CONNECTED 1/)));
    await waitFor(() => q.stats().workers === 2, { what: "2 python workers" });
    const first = await runClients(q.endpoints.frontend[0]!, 4, 100, upper, { timeout: 1000 });
    expect(first.answered).toBe(100);
    workers[0]!.kill("SIGKILL");
    await waitFor(() => q.stats().workersExpired + q.stats().workersDisconnected === 1, { what: "killed worker purged" });
    const second = await runClients(q.endpoints.frontend[0]!, 2, 50, upper, { timeout: 1000 });
    expect(second.answered).toBe(50);
    expect(q.stats()).toMatchObject({ workers: 1, malformed: 0, rejected: 0 });
  });

  it("our worker serves ppp_queue.py and stays connected through its heartbeats", async () => {
    const fe = `tcp://127.0.0.1:${await freePort()}`;
    const be = `tcp://127.0.0.1:${await freePort()}`;
    const py = startPython("ppp_queue.py", [fe, be, "100", "3"]);
    await py.waitLine(/^READY/);
    const workers = [0, 1].map(() => new ParanoidPirateWorker({ endpoint: be, handler: upperHandler, heartbeatInterval: 100, heartbeatLiveness: 5 }));
    for (const w of workers) cleanup.push(() => w.close());
    const result = await runClients(fe, 4, 100, upper, { timeout: 1000 });
    expect(result.answered).toBe(100);
    // a second of heartbeats both ways: nobody reconnects, nobody expires
    const beats = workers[0]!.stats().heartbeatsReceived;
    await waitFor(() => workers[0]!.stats().heartbeatsReceived >= beats + 8, { what: "queue heartbeats" });
    for (const w of workers) expect(w.stats()).toMatchObject({ reconnects: 0, malformed: 0 });
    expect(workers.reduce((n, w) => n + w.stats().replies, 0)).toBe(100);
    expect(py.lines.filter((l) => l.startsWith("EXPIRED"))).toEqual([]);
  });
});
