/**
 * Wire exactness: our client talks to a 10/FLP server written by someone else from the RFC,
 * and our server answers a 10/FLP client written by someone else (Python peers in test/peers/).
 */
import { afterEach, describe, expect, it } from "vitest";
import { upperHandler } from "../../../src/index.js";
import { FreelanceClient, FreelanceServer } from "../../../patterns/freelance/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

const endpoint = async () => `tcp://127.0.0.1:${await freePort()}`;

describe("10/FLP interop with Python peers", () => {
  it("our client pings and uses flp_server.py servers, and fails over when one is killed", async () => {
    const eps = [await endpoint(), await endpoint()];
    const peers = eps.map((ep) => startPython("flp_server.py", [ep, "upper"]));
    await Promise.all(peers.map((p) => p.waitLine(/^READY /)));
    const c = new FreelanceClient({ endpoint: eps, pingInterval: 100, serverTtl: 400, requestTimeout: 300, retries: 10 });
    cleanup.push(() => c.close());
    await c.start();
    await waitFor(() => c.alive.length === 2, { what: "two live python servers" });
    const first = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(`p${i}`)));
    expect(first.map(String)).toEqual(Array.from({ length: 20 }, (_, i) => `P${i}`));
    await peers[0]!.waitLine(/^PING$/);
    // the python server saw our CCF (4-byte sequence) and our body
    await waitFor(() => peers.some((p) => p.lines.some((l) => /^REQUEST [0-9a-f]{8} p\d+$/.test(l))), { what: "requests at python" });
    peers[0]!.kill("SIGKILL");
    const second = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(`q${i}`)));
    expect(second.map(String)).toEqual(Array.from({ length: 20 }, (_, i) => `Q${i}`));
    expect(peers.flatMap((p) => p.lines).filter((l) => l.startsWith("BAD"))).toEqual([]);
    expect(c.stats()).toMatchObject({ malformed: 0, abandoned: 0 });
  });

  it("our server answers flp_client.py: PONG, then its CCFs echoed unmodified", async () => {
    const s = new FreelanceServer({ bind: await endpoint(), handler: upperHandler });
    cleanup.push(() => s.close());
    await s.start();
    const py = startPython("flp_client.py", [s.endpoint, "one", "two", "three"]);
    expect(await py.exited).toBe(0);
    expect(py.lines[0]).toBe("PONG");
    expect(py.lines.slice(1).sort()).toEqual(["REPLY ccf-1 ONE", "REPLY ccf-2 TWO", "REPLY ccf-3 THREE"]);
    expect(s.stats()).toMatchObject({ requests: 3, replies: 3, malformed: 0 });
    expect(s.stats().pings).toBeGreaterThanOrEqual(1);
  });
});
