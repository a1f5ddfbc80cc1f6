/**
 * CloneServer + CloneClient over real tcp sockets, in one process: snapshot and updates,
 * subtrees, ttl, deletes, a 10,000-key late joiner, limits, malformed frames at the ROUTER
 * and the collector, a server closed and started again.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { EMPTY, InvalidOptionError, TimeoutError } from "../../../src/index.js";
import { CloneClient, CloneServer, ICANHAZ, cloneEndpoints, encodeSequence, kthxbaiMessage, kvFrames, kvsyncMessage, newUuid, type CloneChange, type CloneClientOptions } from "../../../patterns/clone/index.js";
import { malformedMessages, sendMalformed } from "../../helpers/malformed.js";
import { waitFor, within } from "../../helpers/wait.js";
import { cloneEndpoint, publishToCollector } from "./helpers.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(extra: Partial<ConstructorParameters<typeof CloneServer>[0]> = {}): Promise<CloneServer> {
  const s = new CloneServer({ bind: await cloneEndpoint(), heartbeatInterval: 100, ...extra });
  cleanup.push(() => s.close());
  await s.start();
  return s;
}

function client(endpoint: string | string[], extra: Partial<CloneClientOptions> = {}): CloneClient {
  const c = new CloneClient({ endpoint, serverTtl: 1000, ...extra });
  cleanup.push(() => c.close());
  return c;
}

const text = (c: CloneClient) => Object.fromEntries(c.entries().map(([k, v]) => [k, v.toString()]));

describe("CloneServer + CloneClient", () => {
  it("shares updates: set, delete, snapshot for a late joiner", async () => {
    const s = await server();
    const a = client(s.endpoints.base);
    await within(a.synced(), 10_000, "first sync");
    await a.set("/x", "1");
    await a.set("/y", "2");
    await waitFor(() => a.get("/y")?.toString() === "2", { what: "a sees /y" });
    await a.delete("/x");
    await waitFor(() => a.get("/x") === undefined, { what: "a sees the delete" });
    const b = client(s.endpoints.base);
    await within(b.synced(), 10_000, "late sync");
    expect(text(b)).toEqual({ "/y": "2" });
    expect(s.stats()).toMatchObject({ keys: 1, seq: 3, updates: 3, published: 3, deletes: 1, refused: 0, malformed: 0 });
    expect(s.stats().snapshots).toBeGreaterThanOrEqual(2);
    await waitFor(() => b.stats().hugz > 0, { what: "HUGZ when idle" });
  });

  it("keeps a subtree only", async () => {
    const s = await server();
    const all = client(s.endpoints.base);
    await all.synced();
    await all.set("/a/1", "a1");
    await all.set("/b/1", "b1");
    await waitFor(() => all.size === 2, { what: "two keys" });
    const sub = client(s.endpoints.base, { subtree: "/a/" });
    const changes: CloneChange[] = [];
    sub.on("kv:changed", (c) => changes.push(c));
    await sub.synced();
    expect(text(sub)).toEqual({ "/a/1": "a1" });
    await all.set("/b/2", "b2");
    await all.set("/a/2", "a2");
    await waitFor(() => sub.get("/a/2") !== undefined, { what: "subtree update" });
    expect(sub.get("/b/2")).toBeUndefined();
    expect(changes.map((c) => [c.key, c.cause])).toEqual([["/a/1", "snapshot"], ["/a/2", "update"]]);
    expect(() => new CloneClient({ endpoint: s.endpoints.base, subtree: "a" })).toThrow(InvalidOptionError);
  });

  it("expires a key set with a ttl and broadcasts the delete", async () => {
    const s = await server();
    const c = client(s.endpoints.base);
    await c.synced();
    const expired = new Promise((r) => s.once("kv:expired", r));
    await c.set("/tmp", "soon gone", { ttl: 0.2 });
    await c.set("/keep", "stays");
    await waitFor(() => c.get("/tmp") !== undefined, { what: "ttl key set" });
    await within(expired, 10_000, "expiry");
    await waitFor(() => c.get("/tmp") === undefined, { what: "ttl delete seen" });
    expect(c.get("/keep")?.toString()).toBe("stays");
    expect(s.stats()).toMatchObject({ expired: 1, keys: 1 });
  });

  it("sends a 10,000-key snapshot to a late joiner", async () => {
    const s = await server();
    for (let i = 0; i < 10_000; i++) s.store.set({ key: `/k/${i}`, uuid: Buffer.alloc(0), props: {}, value: Buffer.from(`v${i}`) });
    const c = client(s.endpoints.base);
    await within(c.synced(), 20_000, "10k snapshot");
    expect(c.size).toBe(10_000);
    expect(c.get("/k/9999")?.toString()).toBe("v9999");
    expect(c.stats()).toMatchObject({ snapshotEntries: 10_000, seq: 10_000 });
  });

  it("iterates over changes", async () => {
    const s = await server();
    const c = client(s.endpoints.base);
    await c.synced();
    const seen: string[] = [];
    const done = (async () => {
      for await (const change of c) {
        seen.push(`${change.key}=${change.value?.toString() ?? ""}`);
        if (seen.length === 3) break;
      }
    })();
    await c.set("/1", "a");
    await c.set("/2", "b");
    await c.delete("/1");
    await within(done, 10_000, "three changes");
    expect(seen).toEqual(["/1=a", "/2=b", "/1="]);
  });

  it("refuses updates beyond maxKeys and maxValueSize, and reserved keys, with counts", async () => {
    const s = await server({ maxKeys: 2, maxValueSize: 8 });
    const refused: string[] = [];
    s.on("kv:refused", (r) => refused.push(`${r.key}:${r.reason}`));
    const c = client(s.endpoints.base);
    await c.synced();
    await c.set("/1", "a");
    await c.set("/2", "b");
    // A refused update is never published: set() gives up after 3 x serverTtl.
    await Promise.all([expect(c.set("/3", "c")).rejects.toThrow(TimeoutError), expect(c.set("/1", "too long a value")).rejects.toThrow(/not published/)]);
    await c.set("/1", "ok");
    await waitFor(() => c.get("/1")?.toString() === "ok", { what: "last update" });
    expect(refused).toEqual(["/3:max-keys", "/1:value-size"]);
    expect(s.stats()).toMatchObject({ keys: 2, refused: 2, refusedMaxKeys: 1, refusedValueSize: 1 });
    // The repeats of the refused KVSETs were dropped by UUID.
    expect(s.stats().duplicates).toBe(c.stats().resent);
    await expect(c.set("HUGZ", "x")).rejects.toThrow(InvalidOptionError);
    expect(() => new CloneServer({ bind: "tcp://127.0.0.1:65535" })).toThrow(/bind/);
    expect(() => new CloneServer({ bind: "ipc:///tmp/x" })).toThrow(InvalidOptionError);
    expect(() => new CloneServer({ bind: "tcp://127.0.0.1:5000", maxKeys: 0 })).toThrow(/maxKeys/);
    expect(() => new CloneServer({ bind: "tcp://127.0.0.1:5000", ha: { role: "primary", local: "tcp://127.0.0.1:1", remote: "tcp://127.0.0.1:2" } as never })).toThrow(/ha\.peer/);
  });

  it("refuses snapshot requests beyond maxClients + maxPending, counted", async () => {
    const s = await server({ maxClients: 1, maxPending: 1 });
    for (let i = 0; i < 20_000; i++) s.store.set({ key: `/k/${i}`, uuid: Buffer.alloc(0), props: {}, value: Buffer.from("v") });
    const dealers = Array.from({ length: 4 }, () => new zmq.Dealer({ linger: 0 }));
    cleanup.push(() => dealers.forEach((d) => d.close()));
    for (const d of dealers) {
      d.connect(s.endpoints.snapshot);
      await d.send([ICANHAZ, ""]);
    }
    await waitFor(() => s.stats().refusedSnapshots >= 1, { what: "a refused snapshot" });
  });

  it("counts and drops malformed frames at the snapshot ROUTER and the collector, and keeps serving", async () => {
    const s = await server();
    const template = kvFrames({ key: "/m", seq: 0, uuid: newUuid(), props: { ttl: "1" }, value: Buffer.from("v") });
    const atRouter = await sendMalformed(s.endpoints.snapshot, { count: 200, seed: 3, templates: [[ICANHAZ, Buffer.from("/a/")]] });
    const atCollector = await publishToCollector(s.endpoints.collector, [
      ...malformedMessages(200, 4, [template]),
      // A bad seq, a bad uuid, bad properties, a bad ttl, an empty key.
      [Buffer.from("/k"), Buffer.alloc(7), EMPTY, EMPTY, Buffer.from("v")],
      [Buffer.from("/k"), encodeSequence(0), Buffer.alloc(5), EMPTY, Buffer.from("v")],
      [Buffer.from("/k"), encodeSequence(0), EMPTY, Buffer.from("noequals\n"), Buffer.from("v")],
      [Buffer.from("/k"), encodeSequence(0), EMPTY, Buffer.from("ttl=soon\n"), Buffer.from("v")],
      [EMPTY, encodeSequence(0), EMPTY, EMPTY, Buffer.from("v")],
    ]);
    expect(atRouter + atCollector).toBeGreaterThan(0);
    await waitFor(() => s.stats().malformedSnapshot > 0 && s.stats().malformedCollector >= 5, { what: "malformed counted" });
    expect(s.stats().malformed).toBe(s.stats().malformedSnapshot + s.stats().malformedCollector);
    const c = client(s.endpoints.base);
    await c.synced();
    await c.set("/ok", "1");
    await waitFor(() => c.get("/ok") !== undefined, { what: "server still serves" });
    expect(c.stats().malformed).toBe(0);
  });

  it("a client counts and drops malformed snapshot replies and publications, and still syncs", async () => {
    const ep = cloneEndpoints("test", "endpoint", await cloneEndpoint());
    const router = new zmq.Router({ linger: 0 });
    const pub = new zmq.Publisher({ linger: 0 });
    cleanup.push(() => router.close(), () => pub.close());
    await router.bind(ep.snapshot);
    await pub.bind(ep.publisher);
    const c = client(ep.base);
    const [id] = await router.receive();
    // Garbage, then a real snapshot.
    for (const m of malformedMessages(50, 9)) await router.send([id!, ...m]);
    await router.send(kvsyncMessage(id!, "/a", 1, Buffer.from("1")));
    await router.send(kthxbaiMessage(id!, 1, ""));
    await within(c.synced(), 10_000, "sync through the garbage");
    expect(text(c)).toEqual({ "/a": "1" });
    const before = c.stats().malformed;
    expect(before).toBeGreaterThan(0);
    for (const m of [[Buffer.from("/b")], [Buffer.from("/b"), Buffer.alloc(3), EMPTY, EMPTY, Buffer.from("x")], [EMPTY, encodeSequence(2), EMPTY, EMPTY, Buffer.from("x")]]) await pub.send(m);
    await pub.send(kvFrames({ key: "/b", seq: 2, uuid: EMPTY, props: {}, value: Buffer.from("2") }));
    await waitFor(() => c.get("/b") !== undefined, { what: "the good KVPUB applied" });
    expect(c.stats().malformed).toBe(before + 3);
  });
});
