/**
 * Binary Star interop with an independent Python pair member (test/peers/bstar_server.py,
 * written from the Guide's text, Debian's python3-zmq): each of ours paired with it, the
 * active one killed with SIGKILL under a client's stream, the other taking the vote.
 * Uses the built CLI: `npm run build` first.
 */
import { afterEach, describe, expect, it } from "vitest";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startCli, startPython, type Child } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";

const HB = 100;
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

const ep = async () => `tcp://127.0.0.1:${await freePort()}`;
const ours = (role: string, frontend: string, local: string, remote: string) =>
  startCli(["bstar", "--role", role, "--frontend", frontend, "--local", local, "--remote", remote, "--handler", "upper", "--heartbeat-interval", String(HB)]);
const theirs = (role: string, frontend: string, local: string, remote: string) =>
  startPython("bstar_server.py", ["--role", role, "--frontend", frontend, "--local", local, "--remote", remote, "--heartbeat", String(HB)]);
const oursBecame = (c: Child, to: string, event: string) =>
  waitFor(() => c.errLines.some((l) => l.startsWith("bstar:state") && l.includes(`to=${to}`) && l.includes(`event=${event}`)), { what: `ours ${to} on ${event}` });

async function stream(c: LazyPirateClient, n: number, killAt: number, victim: Child): Promise<void> {
  for (let i = 1; i <= n; i++) {
    if (i === killAt) victim.kill("SIGKILL");
    expect((await within(c.request(`r${i}`), 15_000, `request ${i}`)).map(String)).toEqual([`R${i}`]);
  }
}

describe("Binary Star interop with a Python pair member", () => {
  it("Python primary, our backup: ours goes passive, then takes the vote when the primary is killed", async () => {
    const [pf, bf, ps, bs] = [await ep(), await ep(), await ep(), await ep()];
    const primary = theirs("primary", pf, ps, bs);
    const backup = ours("backup", bf, bs, ps);
    await Promise.all([primary.waitLine(/^READY/), backup.waitLine(/^bstar ready/)]);
    await primary.waitLine(/^STATE active peer-backup/);
    await oursBecame(backup, "passive", "peer-active");
    const c = new LazyPirateClient({ endpoint: [pf, bf], requestTimeout: 300, retries: 10, failoverDelay: 300 });
    cleanup.push(() => c.close());
    await stream(c, 60, 20, primary);
    await oursBecame(backup, "active", "client-request");
  });

  it("our primary, Python backup: it goes passive, then takes the vote when ours is killed", async () => {
    const [pf, bf, ps, bs] = [await ep(), await ep(), await ep(), await ep()];
    const primary = ours("primary", pf, ps, bs);
    const backup = theirs("backup", bf, bs, ps);
    await Promise.all([primary.waitLine(/^bstar ready/), backup.waitLine(/^READY/)]);
    await oursBecame(primary, "active", "peer-backup");
    await backup.waitLine(/^STATE passive peer-active/);
    const c = new LazyPirateClient({ endpoint: [pf, bf], requestTimeout: 300, retries: 10, failoverDelay: 300 });
    cleanup.push(() => c.close());
    await stream(c, 60, 20, primary);
    await backup.waitLine(/^STATE active client/);
    expect(backup.lines.some((l) => l.startsWith("FATAL"))).toBe(false);
  });
});
