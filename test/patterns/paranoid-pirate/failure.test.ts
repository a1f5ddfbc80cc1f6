/**
 * 6/PPP under failure, with real processes (the built CLI: run `npm run build` first):
 * workers SIGKILLed at random moments, a worker that hangs, the queue killed and restarted
 * on the same port, workers started before the queue.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ParanoidPirateQueue } from "../../../patterns/paranoid-pirate/index.js";
import { freePort } from "../../helpers/addresses.js";
import { prng, sendMalformed } from "../../helpers/malformed.js";
import { killAll, startCli, type Child } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import { RawLazyClient, runClients } from "./fixtures.js";

const INTERVAL = 100;
const LIVENESS = 3;
const HB = ["--heartbeat-interval", String(INTERVAL), "--heartbeat-liveness", String(LIVENESS)];
const upper = (p: string) => p.toUpperCase();
const cleanup: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

function worker(backend: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  return startCli(["worker", "--connect", backend, "--handler", "test/patterns/paranoid-pirate/chaos-handler.mjs", ...HB, "--reconnect-interval", "100", ...extra], { env });
}

function queueProcess(frontend: string, backend: string): Child {
  return startCli(["queue", "--frontend", frontend, "--backend", backend, ...HB]);
}

async function inProcessQueue(): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: INTERVAL, heartbeatLiveness: LIVENESS });
  cleanup.push(() => q.close());
  await q.start();
  return q;
}

async function stop(child: Child): Promise<number | string> {
  await child.waitLine(/^(worker started|queue ready)/); // its SIGTERM handler is installed
  child.kill("SIGTERM");
  return within(child.exited, 5000, "exit on SIGTERM");
}

describe("6/PPP failure handling with real processes", () => {
  it("answers 2,000 requests from 6 clients while workers are SIGKILLed at random moments", async () => {
    const q = await inProcessQueue();
    const backend = q.endpoints.backend[0]!;
    let purges = 0;
    q.on("worker:expired", () => void purges++);
    q.on("worker:disconnected", () => void purges++);
    let workers = Array.from({ length: 4 }, () => worker(backend));
    await Promise.all(workers.map((w) => w.waitLine(/^worker started/)));
    await waitFor(() => q.stats().workers === 4, { what: "4 workers" });

    // Kill a worker the queue knows at a random point every 60-180 answers (at most 15
    // kills), starting a replacement each time. Tied to progress, not to the clock, so a
    // fast run and a slow (loaded) run see the same chaos.
    const random = prng(42);
    const kills: number[] = [];
    let nextKill = 60 + Math.floor(random() * 120);
    const chaos = (answered: number) => {
      if (answered < nextKill || kills.length >= 15) return;
      // only workers the queue knows (a process killed before its READY is never purged)
      const known = workers.filter((w) => w.errLines.some((l) => l.startsWith("link:established")));
      if (known.length === 0) return;
      nextKill = answered + 60 + Math.floor(random() * 120);
      const victim = known[Math.floor(random() * known.length)]!;
      victim.kill("SIGKILL");
      kills.push(answered);
      workers = workers.filter((w) => w !== victim).concat(worker(backend));
    };
    const t0 = performance.now();
    const result = await runClients(q.endpoints.frontend[0]!, 6, 2000, upper, { timeout: 600, retries: 30, onAnswer: chaos });
    const s = q.stats();
    // Every killed worker is purged (expired or unreachable); how fast is covered on a
    // ManualClock in test/unit/dispatch.test.ts.
    await waitFor(() => purges >= kills.length, { what: "every killed worker purged", timeout: 5000 });
    console.log(
      `[ppp chaos] 2000 requests in ${(performance.now() - t0).toFixed(0)} ms: ${kills.length} workers SIGKILLed, ` +
        `${result.retried} requests retried by clients (${result.resends} resends), ${s.redelivered} redelivered by the queue, ` +
        `${s.workersExpired} expired + ${s.workersUnreachable} unreachable workers purged, ` +
        `dropped ${s.dropped}, late replies ${s.lateReplies}`,
    );
    expect(result.answered).toBe(2000);
    expect(kills.length).toBeGreaterThanOrEqual(5);
    expect(q.stats().workersExpired + q.stats().workersDisconnected).toBeGreaterThanOrEqual(kills.length);
    expect(s.malformed).toBe(0);
    for (const w of workers) expect(await stop(w)).toBe(0);
    await waitFor(() => q.stats().workers === 0, { what: "stopped workers purged" });
  }, 90_000); // about 5 s on an idle machine; process starts slow down a lot under load

  it("purges a worker that hangs (blocked event loop) and redelivers its request", async () => {
    const q = await inProcessQueue();
    const backend = q.endpoints.backend[0]!;
    const expired: { busy: boolean; silentMs: number }[] = [];
    q.on("worker:expired", (e) => expired.push({ busy: e.busy, silentMs: e.silentMs }));
    const hung = worker(backend, [], { PPP_CHAOS: "hang" });
    await waitFor(() => q.stats().workers === 1, { what: "the hanging worker" });
    const client = new RawLazyClient(q.endpoints.frontend[0]!, 10_000, 0);
    cleanup.push(() => client.close());
    const answer = client.request("stuck");
    await waitFor(() => q.stats().dispatched === 1, { what: "request dispatched" });
    const healthy = worker(backend);
    await healthy.waitLine(/^worker started/);
    const { reply, attempts } = await answer;
    expect(reply).toEqual(["STUCK"]);
    expect(attempts).toBe(1); // answered through the queue's redelivery, not a client retry
    expect(expired).toHaveLength(1);
    expect(expired[0]!.busy).toBe(true);
    console.log(`[ppp hang] hung worker purged after ${expired[0]!.silentMs.toFixed(0)} ms of silence, request redelivered`);
    expect(q.stats()).toMatchObject({ redelivered: 1, replies: 1, workersExpired: 1 });
    hung.kill("SIGKILL");
    expect(await stop(healthy)).toBe(0);
  });

  it("frees a worker whose async handler stalls, with --handler-timeout", async () => {
    const q = await inProcessQueue();
    const backend = q.endpoints.backend[0]!;
    const stalled = worker(backend, ["--handler-timeout", "200"], { PPP_CHAOS: "stall" });
    await waitFor(() => q.stats().workers === 1, { what: "the stalling worker" });
    const client = new RawLazyClient(q.endpoints.frontend[0]!, 10_000, 0);
    cleanup.push(() => client.close());
    // The first try stalls; the worker gives it up (READY), the queue redelivers it to the
    // same (now healthy) worker.
    expect((await client.request("slow")).reply).toEqual(["SLOW"]);
    expect(q.stats()).toMatchObject({ redelivered: 1, duplicateReady: 1, workersExpired: 0 });
    expect(await stop(stalled)).toBe(0);
    expect(stalled.lines.at(-1)).toMatch(/timedOut=1/);
  });

  it("survives the queue being killed and restarted on the same port mid-run", async () => {
    const fe = `tcp://127.0.0.1:${await freePort()}`;
    const be = `tcp://127.0.0.1:${await freePort()}`;
    let queue = queueProcess(fe, be);
    await queue.waitLine(/^queue ready/);
    const workers = Array.from({ length: 3 }, () => worker(be));
    await Promise.all(workers.map((w) => w.waitLine(/^worker started/)));
    let restarted = false;
    const run = runClients(fe, 4, 400, upper, {
      timeout: 500,
      retries: 40,
      onAnswer: (n) => {
        if (n === 150 && !restarted) {
          restarted = true;
          queue.kill("SIGKILL");
          queue = queueProcess(fe, be);
        }
      },
    });
    const result = await run;
    expect(restarted).toBe(true);
    expect(result.answered).toBe(400);
    // Garbage at the restarted queue does not stop it.
    await sendMalformed(fe, { count: 50, seed: 3 });
    await sendMalformed(be, { count: 50, seed: 4 });
    const after = await runClients(fe, 2, 20, upper, { timeout: 1000 });
    expect(after.answered).toBe(20);
    const readies = await waitFor(() => {
      const n = queue.errLines.filter((l) => l.startsWith("worker:ready")).length;
      return n >= 3 && n;
    }, { what: "3 READY at the new queue" });
    console.log(`[ppp restart] queue restarted after 150 replies: ${result.retried} requests retried (${result.resends} resends); the new queue saw ${readies} READY`);
    for (const w of workers) expect(await stop(w)).toBe(0);
    expect(await stop(queue)).toBe(0);
    expect(queue.lines.at(-1)).toMatch(/^queue stopped .*malformed=[1-9]/);
  });

  it("serves workers that were started before the queue", async () => {
    const fe = `tcp://127.0.0.1:${await freePort()}`;
    const be = `tcp://127.0.0.1:${await freePort()}`;
    const workers = Array.from({ length: 2 }, () => worker(be));
    await Promise.all(workers.map((w) => w.waitLine(/^worker started/)));
    const queue = queueProcess(fe, be);
    await queue.waitLine(/^queue ready/);
    const result = await runClients(fe, 3, 60, upper, { timeout: 1000, retries: 10 });
    expect(result.answered).toBe(60);
    for (const w of workers) expect(await stop(w)).toBe(0);
    expect(await stop(queue)).toBe(0);
  });
});
