/**
 * `zpatterns serve` against the attacks of issue 14, as real process trees: hung handlers,
 * a handler that blocks its event loop (killed by the parent, quarantined as poison), a
 * burst of SIGTTIN/SIGTTOU, and rogue backend peers (status keeps them apart from purged
 * workers; worker ids are uuids, so the old `w<N>-<pid>` guess takes nothing over).
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { uniqAddress } from "../../helpers/addresses.js";
import { killAll, startPython, type Child } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { reqClient, startServe, status, statusWhen } from "./serve.js";

afterEach(killAll);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Send `body` from a DEALER (as a REQ would frame it) and leave the answer, if any, unread. */
async function fireAndForget(frontend: string, body: string): Promise<zmq.Dealer> {
  const dealer = new zmq.Dealer({ linger: 0 });
  dealer.connect(frontend);
  await dealer.send(["", body]);
  return dealer;
}

/** Wait until exactly `n` of `server`'s stderr lines match `re` (logs and status replies travel apart). */
async function logged(server: Child, re: RegExp, n: number): Promise<void> {
  const count = () => server.errLines.filter((l) => re.test(l)).length;
  await waitFor(() => count() >= n, { timeout: 10_000, what: `${n} log lines matching ${re}` });
  expect(count()).toBe(n);
}

/** Run `clients` REQ clients of `each` requests; resolves with the number answered (each checked). */
async function load(frontend: string, clients: number, each: number): Promise<number> {
  const all = Array.from({ length: clients }, (_, i) => reqClient(frontend, `load${i}`, "job", { limit: each }));
  await Promise.all(all.map((c) => c.done));
  return all.reduce((n, c) => n + c.answered, 0);
}

describe("zpatterns serve limits", () => {
  it("4 handlers that never settle (= --max-workers) do not stop the server: the next 200 requests are all answered", async () => {
    const { server, frontend, control } = await startServe(["--min-workers", "4", "--max-workers", "4", "--handler-timeout", "400", "--pending-timeout", "0"]);
    await statusWhen(control, (st) => st.ready === 4, "4 ready workers", 20_000);
    const hung = await Promise.all(Array.from({ length: 4 }, (_, i) => fireAndForget(frontend, `hang:${i}`)));
    try {
      // Every worker holds a request that never settles, and keeps heartbeating.
      await statusWhen(control, (s) => s.queue.dispatched >= 4 && s.idle === 0, "all 4 workers hung");
      expect(await load(frontend, 10, 20)).toBe(200);
      const s = await statusWhen(control, (st) => st.counters.poisoned === 4, "the 4 hung requests given up");
      // Each hung request cost 2 workers (the default --max-kills), then was poison.
      expect(s.counters.timedOut).toBe(8);
      expect(s.counters.purged).toBe(8);
      expect(s.queue.workersTimedOut).toBe(8);
      expect(s.queue.droppedRedeliveries).toBe(4);
      await logged(server, /dropped as poison: it cost 2 workers in 2 deliveries/, 4);
      expect(s.handlerTimeout).toBe(400);
      await logged(server, /dropped as poison/, 4);
      await logged(server, /purged .*handler ran past 400 ms/, 8);
    } finally {
      for (const d of hung) d.close();
    }
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);

  it("a handler that blocks its event loop is killed by the parent; after N kills the request is poison and later requests are answered", async () => {
    // Heartbeat expiry would take 3 s: the 300 ms handler timeout is what kills.
    const { server, frontend, control } = await startServe(["--min-workers", "2", "--max-workers", "2", "--heartbeat-interval", "1000", "--handler-timeout", "300", "--max-kills", "3"]);
    await statusWhen(control, (st) => st.ready === 2, "2 ready workers", 20_000);
    const poison = await fireAndForget(frontend, "block");
    try {
      const s = await statusWhen(control, (st) => st.counters.poisoned === 1, "the blocking request quarantined", 30_000);
      expect(s.counters.timedOut).toBe(3);
      expect(s.queue.dispatched).toBe(3);
      expect(s.queue.redelivered).toBe(2);
      await logged(server, /purged .*handler ran past 300 ms/, 3);
      await logged(server, /exited \(pid \d+, SIGKILL\) unexpectedly/, 3);
      await logged(server, /dropped as poison: it cost 3 workers in 3 deliveries/, 1);
      expect(await load(frontend, 4, 10)).toBe(40);
      // Sent again (a retrying client): refused at once, no worker lost; other content is served.
      const again = await fireAndForget(frontend, "block");
      await statusWhen(control, (st) => st.counters.quarantined === 1, "the resend refused", 10_000);
      again.close();
      expect(await load(frontend, 2, 5)).toBe(10);
      const after = await status(control);
      expect(after.counters).toMatchObject({ poisoned: 1, quarantined: 1, timedOut: 3 });
      expect(after.queue.dispatched).toBe(3 + 40 + 10);
      expect(after.queue.refused).toBe(1);
    } finally {
      poison.close();
    }
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);

  it("a poison's quarantine ends after --quarantine-timeout; with 0 nothing is quarantined", async () => {
    const opened: zmq.Dealer[] = [];
    const send = async (frontend: string) => void opened.push(await fireAndForget(frontend, "block"));
    try {
      const off = await startServe(["--min-workers", "1", "--handler-timeout", "200", "--max-redeliveries", "0", "--quarantine-timeout", "0"]);
      await statusWhen(off.control, (st) => st.ready === 1, "a ready worker", 20_000);
      await send(off.frontend);
      await statusWhen(off.control, (st) => st.counters.poisoned === 1, "the first poison", 20_000);
      await send(off.frontend);
      await statusWhen(off.control, (st) => st.counters.poisoned === 2, "the resend delivered, and poison again", 20_000);
      expect((await status(off.control)).counters).toMatchObject({ quarantined: 0, timedOut: 2 });
      off.server.kill("SIGTERM");
      expect(await off.server.exited).toBe(0);

      const on = await startServe(["--min-workers", "1", "--handler-timeout", "200", "--max-redeliveries", "0", "--quarantine-timeout", "1000"]);
      await statusWhen(on.control, (st) => st.ready === 1, "a ready worker", 20_000);
      await send(on.frontend);
      await statusWhen(on.control, (st) => st.counters.poisoned === 1, "the first poison", 20_000);
      // Resent until the quarantine has ended and it costs a worker again.
      await waitFor(async () => {
        const st = await status(on.control);
        if (st.counters.poisoned === 2) return st;
        await send(on.frontend);
        return false;
      }, { timeout: 30_000, every: 100, what: "the quarantine over" });
      const s = await status(on.control);
      expect(s.counters.quarantined).toBeGreaterThanOrEqual(1);
      expect(s.counters.timedOut).toBe(2);
      on.server.kill("SIGTERM");
      expect(await on.server.exited).toBe(0);
    } finally {
      for (const d of opened) d.close();
    }
  }, 90_000);

  it("100 SIGTTIN never fork past --max-workers, 100 SIGTTOU never retire below --min-workers", async () => {
    const { server, control } = await startServe(["--min-workers", "1", "--max-workers", "3"]);
    const pid = server.proc.pid!;
    await statusWhen(control, (st) => st.ready === 1, "1 ready worker", 20_000);
    // One signal at a time, each waited for until handled (scaled or refused): the kernel
    // merges a signal sent while the same one is pending, and every one must count here.
    let handled = 0;
    const send = async (signal: NodeJS.Signals, n: number) => {
      for (let i = 0; i < n; i++) {
        process.kill(pid, signal);
        handled++;
        await waitFor(async () => {
          const st = await status(control);
          expect(st.workers).toBeLessThanOrEqual(3);
          expect(st.workers).toBeGreaterThanOrEqual(1);
          return st.counters.scaledUp + st.counters.scaledDown + st.counters.refused === handled;
        }, { timeout: 10_000, what: `${signal} #${i + 1} handled` });
      }
    };
    await send("SIGTTIN", 100);
    let s = await status(control);
    expect(s.workers).toBe(3);
    expect(s.counters).toMatchObject({ started: 3, scaledUp: 2, refused: 98 });
    expect(s).toMatchObject({ minWorkers: 3, maxWorkers: 3, bounds: { minWorkers: 1, maxWorkers: 3 } });

    await send("SIGTTOU", 100);
    await statusWhen(control, (st) => st.children.length === 1, "the retired workers gone", 20_000);
    s = await status(control);
    expect(s.workers).toBe(1);
    expect(s.counters).toMatchObject({ started: 3, scaledDown: 2, refused: 196 });
    expect(s).toMatchObject({ minWorkers: 1, maxWorkers: 1 });
    await logged(server, /SIGTTIN refused: 3 workers, at --max-workers 3/, 98);
    await logged(server, /SIGTTOU refused: 1 workers, at --min-workers 1/, 98);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);

  it("rogue backend peers get no request and no forged reply through; status counts them apart from purged workers", async () => {
    const backend = await uniqAddress("tcp");
    const { server, frontend, control } = await startServe(["--backend", backend, "--min-workers", "2", "--max-workers", "2"]);
    await statusWhen(control, (st) => st.ready === 2, "2 ready workers", 20_000);
    let s = await status(control);
    for (const c of s.children) expect(c.id).toMatch(UUID);
    // The old scheme's guess (w1-<pid>), a random id, and a forger aiming at the victim client.
    const victim = "victim-client";
    const rogues = [
      startPython("rogue_peer.py", ["ppp-impostor", backend, `w1-${server.proc.pid}`, "-"]),
      startPython("rogue_peer.py", ["ppp-impostor", backend, "-", "-"]),
      startPython("rogue_peer.py", ["ppp-impostor", backend, "-", Buffer.from(victim).toString("hex")]),
    ];
    await Promise.all(rogues.map((r) => r.waitLine(/^READY/)));
    await statusWhen(control, (st) => st.counters.rejected >= 3, "the rogues rejected", 10_000);
    // Every answer is the victim's own request echoed by one of our workers (reqClient checks).
    const victimClient = reqClient(frontend, "victim", "job", { limit: 100, routingId: victim });
    expect(await load(frontend, 4, 25)).toBe(100);
    await victimClient.done;
    expect(victimClient.answered).toBe(100);
    s = await status(control);
    expect(rogues.flatMap((r) => r.lines).filter((l) => l.startsWith("GOT"))).toEqual([]);
    expect(s.counters.purged).toBe(0);
    expect(s.queue.workers).toBe(2);
    // Three peers, each counted once however much it says.
    // (Their heartbeats, every 200 ms, go on arriving: wait for the later ones.)
    s = await statusWhen(control, (st) => st.counters.rejectedMessages > 3, "the rogues' later messages counted", 10_000);
    expect(s.counters.rejected).toBe(3);

    // A worker of ours killed is purged; the rogues are not.
    const rejected = s.counters.rejected;
    process.kill(s.children[0]!.pid!, "SIGKILL");
    await statusWhen(control, (st) => st.counters.purged === 1, "the killed worker purged", 10_000);
    s = await status(control);
    expect(s.counters.rejected).toBe(rejected);
    await statusWhen(control, (st) => st.ready === 2, "the killed worker replaced", 20_000);
    expect((await status(control)).counters.purged).toBe(1);
    for (const r of rogues) r.kill("SIGTERM");
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 90_000);
});
