/**
 * Binary Star with real processes (the built CLI: run `npm run build` first): kill -9 of the
 * active server under a steady stream of requests, the backup alone, the restarted primary,
 * and a broken state link (no split brain).
 */
import { afterEach, describe, expect, it } from "vitest";
import { RequestAbandonedError } from "../../../src/index.js";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { freePort } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { killAll, startCli, type Child } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";

const HB = 100; // peer expiry 200 ms
const cleanup: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

interface Ports {
  pFront: string;
  bFront: string;
  pState: string;
  bState: string;
}

async function ports(): Promise<Ports> {
  const ep = async () => `tcp://127.0.0.1:${await freePort()}`;
  return { pFront: await ep(), bFront: await ep(), pState: await ep(), bState: await ep() };
}

function bstar(role: "primary" | "backup", frontend: string, local: string, remote: string): Child {
  return startCli(["bstar", "--role", role, "--frontend", frontend, "--local", local, "--remote", remote, "--handler", "upper", "--heartbeat-interval", String(HB)]);
}

const primaryOf = (p: Ports, remote = p.bState) => bstar("primary", p.pFront, p.pState, remote);
const backupOf = (p: Ports, remote = p.pState) => bstar("backup", p.bFront, p.bState, remote);

/** The states a server went through, from its stderr `bstar:state` lines. */
const states = (c: Child): string[] => c.errLines.flatMap((l) => /^bstar:state .*to=(\w+)/.exec(l)?.[1] ?? []);
const became = (c: Child, state: string, event?: string) =>
  waitFor(() => c.errLines.some((l) => l.startsWith("bstar:state") && l.includes(`to=${state}`) && (!event || l.includes(`event=${event}`))), { what: `${state}${event ? ` on ${event}` : ""}`, timeout: 10_000 });

function client(endpoint: string | string[], extra: Record<string, number> = {}): LazyPirateClient {
  const c = new LazyPirateClient({ endpoint, requestTimeout: 300, retries: 10, failoverDelay: 300, ...extra });
  cleanup.push(() => c.close());
  return c;
}

describe("Binary Star pair with real processes", () => {
  it("kill -9 of the active primary under a steady stream: every request answered; the restarted primary comes back passive", async () => {
    const p = await ports();
    let primary = primaryOf(p);
    const backup = backupOf(p);
    await Promise.all([primary.waitLine(/^bstar ready role=primary/), backup.waitLine(/^bstar ready role=backup/)]);
    await became(primary, "active", "peer-backup");
    await became(backup, "passive", "peer-active");

    const c = client([p.pFront, p.bFront]);
    const total = 150;
    const killAt = 40;
    const answers: string[] = [];
    for (let i = 1; i <= total; i++) {
      if (i === killAt) primary.kill("SIGKILL");
      const reply = await within(c.request(`req-${i}`), 15_000, `request ${i}`);
      answers.push(reply.map(String).join(""));
    }
    expect(answers).toEqual(Array.from({ length: total }, (_, i) => `REQ-${i + 1}`));
    expect(await primary.exited).toBe("SIGKILL");
    // The backup took the client vote once its peer expired.
    await became(backup, "active", "client-request");
    expect(c.stats().failovers).toBeGreaterThanOrEqual(1);

    // The primary restarts on the same endpoints: it sees the active backup and stays passive.
    primary = primaryOf(p);
    await primary.waitLine(/^bstar ready role=primary/);
    await became(primary, "passive", "peer-active");
    for (let i = 1; i <= 20; i++) expect((await within(c.request(`after-${i}`), 15_000, `after ${i}`)).map(String)).toEqual([`AFTER-${i}`]);
    expect(states(primary)).toEqual(["passive"]);
    expect(states(backup)).toEqual(["passive", "active"]);
    // It refuses clients that reach it directly (the backup is alive).
    await expect(client(p.pFront, { retries: 1 }).request("direct")).rejects.toBeInstanceOf(RequestAbandonedError);
    expect([...primary.errLines, ...backup.errLines].some((l) => l.startsWith("bstar:fatal"))).toBe(false);
  });

  it("the backup alone refuses clients: it never becomes active without having seen its primary", async () => {
    const p = await ports();
    const backup = backupOf(p);
    await backup.waitLine(/^bstar ready role=backup state=backup/);
    const c = client(p.bFront, { requestTimeout: 200, retries: 4, failoverDelay: 0 });
    // 5 attempts over >= 1 s, far past the 200 ms peer expiry: every one a refused vote.
    await expect(c.request("anyone?")).rejects.toBeInstanceOf(RequestAbandonedError);
    await expect(c.request("still?")).rejects.toBeInstanceOf(RequestAbandonedError);
    backup.kill("SIGTERM");
    expect(await within(backup.exited, 5000, "exit")).toBe(0);
    const stopped = backup.lines.find((l) => l.startsWith("bstar stopped"))!;
    expect(stopped).toMatch(/state=backup /);
    expect(Number(/ refusedRequests=(\d+)/.exec(stopped)?.[1])).toBeGreaterThanOrEqual(2);
    expect(stopped).toMatch(/ replies=0 /);
    expect(states(backup)).toEqual([]);
  });

  it("malformed frames at the frontend of a running pair member: counted, the process alive and serving", async () => {
    const p = await ports();
    const primary = primaryOf(p);
    const backup = backupOf(p);
    await Promise.all([primary.waitLine(/^bstar ready/), backup.waitLine(/^bstar ready/)]);
    await became(primary, "active", "peer-backup");
    for (const type of ["dealer", "req", "router"] as const) await sendMalformed(p.pFront, { type, count: 50 }).catch(() => 0);
    expect(await within(client(p.pFront).request("alive?"), 10_000, "reply")).toEqual([Buffer.from("ALIVE?")]);
    await waitFor(() => primary.errLines.some((l) => l.startsWith("message:malformed socket=frontend")), { what: "malformed logged" });
    primary.kill("SIGTERM");
    expect(await within(primary.exited, 5000, "exit")).toBe(0);
    expect(Number(/ malformedFrontend=(\d+)/.exec(primary.lines.find((l) => l.startsWith("bstar stopped"))!)?.[1])).toBeGreaterThan(0);
  });

  // A broken state link with clients reaching both servers: at most one is ever active.
  const SPLITS = [
    ["the primary cannot hear the backup", (p: Ports) => [primaryOf(p, `tcp://127.0.0.1:1`), backupOf(p)]],
    ["the backup cannot hear the primary", (p: Ports) => [primaryOf(p), backupOf(p, `tcp://127.0.0.1:1`)]],
    ["neither hears the other", (p: Ports) => [primaryOf(p, `tcp://127.0.0.1:1`), backupOf(p, `tcp://127.0.0.1:1`)]],
  ] as const;
  for (const [title, make] of SPLITS) {
    it(`no split brain when ${title}`, async () => {
      const p = await ports();
      const [primary, backup] = make(p) as [Child, Child];
      await Promise.all([primary.waitLine(/^bstar ready/), backup.waitLine(/^bstar ready/)]);
      // Clients voting on both servers, directly and through a failover list, for > 10 x the expiry.
      const direct = [client(p.pFront, { retries: 0 }), client(p.bFront, { retries: 0 })];
      const both = client([p.pFront, p.bFront], { retries: 20 });
      const answered = { primary: 0, backup: 0, both: 0 };
      const until = Date.now() + 2500;
      const vote = async (c: LazyPirateClient, key: keyof typeof answered) => {
        while (Date.now() < until) {
          const ok = await c.request("vote").then(() => true, () => false);
          if (ok) answered[key]++;
        }
      };
      await Promise.all([vote(direct[0]!, "primary"), vote(direct[1]!, "backup"), vote(both, "both")]);
      // The primary serves (it took the vote after 2 x heartbeatInterval); the backup never did.
      expect(states(primary)).toEqual(["active"]);
      expect(states(backup).includes("active")).toBe(false);
      expect(answered.backup).toBe(0);
      expect(answered.primary).toBeGreaterThan(0);
      expect(answered.both).toBeGreaterThan(0);
      expect([...primary.errLines, ...backup.errLines].some((l) => l.startsWith("bstar:fatal"))).toBe(false);
    });
  }
});
