/**
 * Interop with independent Python MDP/0.1 peers (test/peers/mdp_*.py, pyzmq): our broker
 * serves their worker and client; our worker and client work under their broker.
 */
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { broker, client, closeAll, LIVENESS, STEADY_HB as HB, text, worker } from "./fixtures.js";

afterEach(async () => {
  await closeAll();
  await killAll();
});

describe("MDP/0.1 interop with Python peers", () => {
  it("our broker serves a Python worker and a Python client", async () => {
    const { broker: b, endpoint } = await broker({ heartbeatInterval: HB });
    const w = startPython("mdp_worker.py", [endpoint, "py.upper", String(HB), "upper", String(LIVENESS)]);
    await w.waitLine(/^READY/);
    await waitFor(() => b.stats().workers === 1);
    const c = startPython("mdp_client.py", [endpoint, "py.upper", "3000", "2", "hello", "mdp"]);
    expect(await c.waitLine(/^REPLY/)).toBe("REPLY HELLO MDP");
    expect(await c.exited).toBe(0);
    // Our client to their worker, through our broker.
    const ours = client(endpoint);
    expect(text(await ours.request("py.upper", ["abc"]))).toEqual(["ABC"]);
    // MMI from the Python client.
    const mmi = startPython("mdp_client.py", [endpoint, "mmi.service", "3000", "0", "py.upper"]);
    expect(await mmi.waitLine(/^REPLY/)).toBe("REPLY 200");
    // Heartbeats flow both ways: the Python worker stays registered well past its expiry.
    await new Promise((r) => setTimeout(r, HB * (LIVENESS + 2)));
    expect(b.stats()).toMatchObject({ workers: 1, workersExpired: 0, malformed: 0 });
    expect(w.lines).not.toContain("RECONNECT");
  });

  it("a Python client gets the expiry answer for a service with no worker", async () => {
    const { endpoint } = await broker({ pendingTimeout: 200 });
    const c = startPython("mdp_client.py", [endpoint, "nobody", "3000", "0", "x"]);
    expect(await c.waitLine(/^REPLY/)).toMatch(/^REPLY 504 mmi\.expired: /);
  });

  it("a Python worker sending an unexpected command gets DISCONNECT and re-registers", async () => {
    const { broker: b, endpoint } = await broker();
    const w = startPython("mdp_worker.py", [endpoint, "bad", String(HB), "bad", String(LIVENESS)]);
    await w.waitLine(/^DISCONNECT/);
    expect(b.stats().disconnectsSent).toBeGreaterThanOrEqual(1);
  });

  it("our worker and client work under the Python broker", async () => {
    const py = startPython("mdp_broker.py", ["tcp://127.0.0.1:0", String(HB), String(LIVENESS)]);
    const endpoint = (await py.waitLine(/^READY /)).split(" ")[1]!;
    const w = worker(endpoint, "js.echo", { heartbeatInterval: HB });
    await waitFor(() => w.connected);
    const c = client(endpoint);
    expect(text(await c.request("js.echo", ["one", "two"]))).toEqual(["one", "two"]);
    expect(text(await c.request("mmi.service", "js.echo"))).toEqual(["200"]);
    // Their client too.
    const pc = startPython("mdp_client.py", [endpoint, "js.echo", "3000", "2", "from", "python"]);
    expect(await pc.waitLine(/^REPLY/)).toBe("REPLY from python");
    // Our worker hears the Python broker's heartbeats and stays connected.
    await new Promise((r) => setTimeout(r, HB * (LIVENESS + 2)));
    expect(w.stats().reconnects).toBe(0);
  });
});
