/**
 * CloneServer as a Binary Star HA pair (the Guide's model 6), in one process over tcp: the
 * backup copies the primary, the primary is closed, the client fails over (its snapshot
 * request is the vote) and every KVSET sent before, around and after the failover is there.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CloneClient, CloneServer } from "../../../patterns/clone/index.js";
import { freeTcpEndpoint } from "../../../src/index.js";
import { waitFor, within } from "../../helpers/wait.js";
import { cloneEndpoint } from "./helpers.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function pair(): Promise<{ primary: CloneServer; backup: CloneServer }> {
  const [p, b, lp, lb] = [await cloneEndpoint(), await cloneEndpoint(), await freeTcpEndpoint(), await freeTcpEndpoint()];
  const primary = new CloneServer({ bind: p, heartbeatInterval: 100, ha: { role: "primary", local: lp, remote: lb, peer: b, heartbeatInterval: 100 } });
  const backup = new CloneServer({ bind: b, heartbeatInterval: 100, ha: { role: "backup", local: lb, remote: lp, peer: p, heartbeatInterval: 100 } });
  cleanup.push(() => primary.close(), () => backup.close());
  await Promise.all([primary.start(), backup.start()]);
  return { primary, backup };
}

describe("CloneServer HA pair", () => {
  it("fails over to the backup without losing a KVSET", async () => {
    const { primary, backup } = await pair();
    const synced = new Promise((r) => backup.once("peer:synced", r));
    await waitFor(() => primary.haState === "active" && backup.haState === "passive", { what: "primary active, backup passive" });
    await within(synced, 10_000, "backup copies the primary");
    const c = new CloneClient({ endpoint: [primary.endpoints.base, backup.endpoints.base], serverTtl: 1000 });
    cleanup.push(() => c.close());
    await within(c.synced(), 10_000, "first sync");
    const sets: Promise<void>[] = [];
    for (let i = 0; i < 10; i++) sets.push(c.set(`/k/${i}`, `v${i}`));
    await Promise.all(sets);
    await waitFor(() => c.size === 10 && backup.stats().keys === 10, { what: "ten keys on the client and the passive" });
    expect(backup.stats()).toMatchObject({ pending: 0, replicated: 10 });
    // Around the failover: KVSETs as the primary closes, and while the backup is passive.
    const failedOver = new Promise((r) => c.once("endpoint:failover", r));
    const closing = primary.close();
    for (let i = 10; i < 20; i++) await c.set(`/k/${i}`, `v${i}`);
    await closing;
    await within(failedOver, 10_000, "client fails over");
    for (let i = 20; i < 30; i++) await c.set(`/k/${i}`, `v${i}`);
    await waitFor(() => backup.haState === "active", { what: "backup takes over", timeout: 15_000 });
    await waitFor(() => c.size === 30 && c.endpoint === backup.endpoints.base && c.isSynced, { what: "30 keys after the failover", timeout: 15_000 });
    expect(Object.fromEntries(c.entries().map(([k, v]) => [k, v.toString()]))).toEqual(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`/k/${i}`, `v${i}`])));
    expect(backup.stats().keys).toBe(30);
    expect(backup.stats().pendingApplied).toBeGreaterThan(0);
    expect(c.stats().failovers).toBeGreaterThanOrEqual(1);
  });

  it("the passive refuses snapshots and holds KVSETs de-duplicated by UUID", async () => {
    const { primary, backup } = await pair();
    await waitFor(() => backup.haState === "passive", { what: "backup passive" });
    const c = new CloneClient({ endpoint: [backup.endpoints.base], serverTtl: 5000 });
    cleanup.push(() => c.close());
    await waitFor(() => backup.stats().refusedSnapshots > 0, { what: "snapshot refused by the passive" });
    expect(c.isSynced).toBe(false);
    const d = new CloneClient({ endpoint: [primary.endpoints.base, backup.endpoints.base], serverTtl: 5000 });
    cleanup.push(() => d.close());
    await d.synced();
    await d.set("/a", "1");
    await waitFor(() => backup.stats().keys === 1, { what: "passive copied /a" });
    await waitFor(() => backup.stats().pending === 0, { what: "pending cleared by the active's KVPUB" });
    expect(backup.stats().updates).toBe(1);
  });
});
