/**
 * Clone (12/CHP) against independent Python peers written from RFC 12 (test/peers/
 * clone_server.py, clone_client.py), both directions: snapshots, subtrees, ttl, a
 * 10,000-key late joiner, and our client resynchronising after the Python server is killed
 * (kill -9) and restarted.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CloneClient, CloneServer } from "../../../patterns/clone/index.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import { cloneEndpoint } from "./helpers.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});
afterAll(killAll);

function client(endpoint: string, extra: { subtree?: string; serverTtl?: number } = {}): CloneClient {
  const c = new CloneClient({ endpoint, serverTtl: 1500, ...extra });
  cleanup.push(() => c.close());
  return c;
}

const text = (c: CloneClient) => Object.fromEntries(c.entries().map(([k, v]) => [k, v.toString()]));

describe("CloneClient against the Python clone_server.py", () => {
  it("syncs, sets, sees subtrees and ttl expiry", async () => {
    const ep = await cloneEndpoint();
    const py = startPython("clone_server.py", [ep]);
    await py.waitLine(/^READY/);
    const c = client(ep);
    await within(c.synced(), 10_000, "sync with the Python server");
    await c.set("/a/1", "one");
    await c.set("/b/1", "two");
    await c.set("/a/tmp", "gone soon", { ttl: 0.3 });
    await waitFor(() => c.size === 3, { what: "three keys via the Python server" });
    await py.waitLine(/^EXPIRED \/a\/tmp/);
    await waitFor(() => c.get("/a/tmp") === undefined, { what: "expiry seen" });
    const sub = client(ep, { subtree: "/a/" });
    await within(sub.synced(), 10_000, "subtree sync");
    expect(text(sub)).toEqual({ "/a/1": "one" });
    await c.delete("/a/1");
    await waitFor(() => sub.size === 0, { what: "delete in the subtree" });
    await waitFor(() => c.stats().hugz > 0, { what: "HUGZ from the Python server", timeout: 5000 });
    expect(c.stats()).toMatchObject({ malformed: 0, gaps: 0 });
  });

  it("resynchronises after the Python server is killed (-9) and restarted", async () => {
    const ep = await cloneEndpoint();
    let py = startPython("clone_server.py", [ep]);
    await py.waitLine(/^READY/);
    const c = client(ep);
    await c.synced();
    await c.set("/old", "1");
    await waitFor(() => c.get("/old") !== undefined, { what: "key set" });
    const lost = new Promise((r) => c.once("server:lost", r));
    py.kill("SIGKILL");
    await py.exited;
    await within(lost, 10_000, "server lost");
    py = startPython("clone_server.py", [ep]);
    await py.waitLine(/^READY/);
    const resynced = new Promise((r) => c.once("kv:synced", r));
    await within(resynced, 15_000, "resync with the restarted server");
    // The restarted server has an empty map (and starts its sequence again).
    expect(c.get("/old")).toBeUndefined();
    await c.set("/new", "2");
    await waitFor(() => c.get("/new")?.toString() === "2", { what: "update after the restart" });
    expect(c.stats().syncs).toBeGreaterThanOrEqual(2);
  });
});

describe("Python clone_client.py against CloneServer", () => {
  it("gets a 10,000-key snapshot, sets keys our client sees, and sees ours", async () => {
    const s = new CloneServer({ bind: await cloneEndpoint() });
    cleanup.push(() => s.close());
    await s.start();
    for (let i = 0; i < 10_000; i++) s.store.set({ key: `/k/${i}`, uuid: Buffer.alloc(0), props: {}, value: Buffer.from(`v${i}`) });
    const ours = client(s.endpoints.base);
    await within(ours.synced(), 15_000, "our client's sync");
    const py = startPython("clone_client.py", [s.endpoints.base, "--set", "/py/1=hello", "--set", "/py/tmp=x@0.5", "--updates", "4"]);
    expect(await py.waitLine(/^SNAPSHOT/, 20_000)).toBe("SNAPSHOT n=10000 seq=10000");
    await py.waitLine(/^SYNCED/);
    expect(py.lines.filter((l) => l.startsWith("HAVE ")).length).toBe(10_000);
    await waitFor(() => ours.get("/py/1")?.toString() === "hello", { what: "Python KVSET seen by our client" });
    await ours.set("/ours", "from-node");
    await py.waitLine(/^KVPUB \/ours=from-node seq=\d+$/);
    // The ttl expired: a KVPUB with an empty value.
    await py.waitLine(/^KVPUB \/py\/tmp= seq=\d+$/, 10_000);
    await py.waitLine(/^DONE/, 25_000);
    const seqs = py.lines.filter((l) => l.startsWith("KVPUB")).map((l) => Number(/seq=(\d+)/.exec(l)![1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(s.stats()).toMatchObject({ expired: 1, malformed: 0 });
  });

  it("gets a subtree snapshot only", async () => {
    const s = new CloneServer({ bind: await cloneEndpoint() });
    cleanup.push(() => s.close());
    await s.start();
    for (const k of ["/a/1", "/a/2", "/b/1"]) s.store.set({ key: k, uuid: Buffer.alloc(0), props: {}, value: Buffer.from(k) });
    const py = startPython("clone_client.py", [s.endpoints.base, "--subtree", "/a/"]);
    await py.waitLine(/^DONE/, 25_000);
    expect(py.lines.filter((l) => l.startsWith("HAVE ") || l.startsWith("SNAPSHOT"))).toEqual(["SNAPSHOT n=2 seq=3", "HAVE /a/1=/a/1", "HAVE /a/2=/a/2"]);
  });
});
