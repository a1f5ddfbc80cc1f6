/**
 * TitanicServer limits against the attacks of issue 14 (item 4), with the built CLI (run
 * `npm run build` first): a broker and a Titanic process, requests from this process.
 * - large requests for a service that does not exist: refused by size (400) or by the
 *   store quota (500); those stored are deleted after `--pending-timeout` (titanic.reply
 *   then answers 400) and the quota is free again;
 * - 238 junk requests for dead services do not keep a legitimate request stored after them
 *   from being answered.
 * - an independent Python 9/TSP client (test/peers/titanic_client.py) hears 400 for an
 *   expired request.
 * Plus, in process: the quota survives a restart, and the options are validated.
 */
import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir as makeTempDir } from "./fixtures.js";
import { TitanicClient, TitanicServer } from "../../../patterns/titanic/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startCli, startPython, type Child } from "../../helpers/process.js";
import { metricsUrl, scrape, value } from "../../helpers/metrics.js";
import { waitFor } from "../../helpers/wait.js";
import { broker, closeAll, HB, LIVENESS, text, track, worker } from "../majordomo/fixtures.js";

const tempDir = () => makeTempDir("titanic-limits-");

afterEach(async () => {
  await closeAll();
  await killAll();
  removeTempDirs();
});

const MB = 1_000_000;
const storedFiles = (dir: string) => readdirSync(dir).filter((n) => !n.startsWith("."));

/** A broker and a Titanic process on a fresh endpoint; `titanicArgs` are extra flags. */
async function stack(dir: string, brokerArgs: string[], titanicArgs: string[]): Promise<{ endpoint: string; titanic: Child }> {
  const endpoint = `tcp://127.0.0.1:${await freePort()}`;
  const b = startCli(["mdp", "broker", "--bind", endpoint, "--heartbeat-interval", String(HB), "--heartbeat-liveness", String(LIVENESS), ...brokerArgs]);
  await b.waitLine(/^bound /);
  const titanic = startCli(["titanic", "--connect", endpoint, "--dir", dir, "--heartbeat-interval", String(HB), "--heartbeat-liveness", String(LIVENESS), ...titanicArgs]);
  await titanic.waitLine(/^titanic ready/);
  return { endpoint, titanic };
}

describe("TitanicServer limits (processes)", () => {
  it("ten 10 MB requests for a service that does not exist: the quota stores three, refuses seven (500), a 20 MB one is refused by size (400); the TTL deletes the three (then 400) and frees the quota", async () => {
    const dir = tempDir();
    const { endpoint, titanic } = await stack(dir, [], ["--dispatch-interval", "100", "--max-request-size", String(16 * MB), "--max-store-bytes", String(35 * MB), "--pending-timeout", "1000", "--metrics", "127.0.0.1:0"]);
    const c = track(new TitanicClient({ endpoint, requestTimeout: 30_000, retries: 0 }));
    const big = Buffer.alloc(10 * MB, 7);
    const statuses: string[] = [];
    const accepted: string[] = [];
    for (let i = 0; i < 10; i++) {
      const a = await c.request("no.such.service", big);
      statuses.push(a.status);
      if (a.status === "200") accepted.push(a.body[0]!.toString());
    }
    expect(statuses).toEqual(["200", "200", "200", "500", "500", "500", "500", "500", "500", "500"]);
    expect((await c.request("no.such.service", Buffer.alloc(20 * MB))).status).toBe("400");
    // The three stored requests wait while the service has no worker, then are deleted:
    // titanic.reply answers 400 (unknown: do not retry) and nothing is left on disk.
    // Wait on the server's own counters (its --metrics): three expired, nothing stored.
    const url = await metricsUrl(titanic);
    await waitFor(async () => {
      const samples = await scrape(url);
      return (value(samples, "zmq_patterns_titanic_expired_total") === 3 && value(samples, "zmq_patterns_titanic_bytes") === 0) || undefined;
    }, { timeout: 20_000, what: "the three stored requests expired and their bytes freed" });
    for (const uuid of accepted) expect((await c.reply(uuid)).status).toBe("400");
    expect(storedFiles(dir)).toEqual([]);
    // The quota is free again.
    expect((await c.request("no.such.service", big)).status).toBe("200");
    titanic.kill("SIGTERM");
    expect(await titanic.exited).toBe(0);
    // Refusals and expiries are summarised, never one log line each: the first of each in
    // full, the rest as one summary line (flushed at exit) with the count by reason.
    const lines = titanic.errLines.filter((l) => /^request:(refused|expired)/.test(l));
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(lines.find((l) => l.startsWith("request:refused:"))).toMatch(/^request:refused: 7 more in \d+ ms reason=quota:6 reason=size:1$/);
    expect(lines.find((l) => l.startsWith("request:expired:"))).toMatch(/^request:expired: 2 more/);
  }, 60_000);

  it("an independent Python 9/TSP client sees an expired request answered 400 (unknown: do not retry)", async () => {
    const dir = tempDir();
    const { endpoint } = await stack(dir, [], ["--dispatch-interval", "100", "--pending-timeout", "500"]);
    const py = startPython("titanic_client.py", [endpoint, "no.such.service", "50", "x"]);
    await py.waitLine(/^UUID [0-9a-f]{32}$/, 15_000);
    expect(await py.waitLine(/^UNKNOWN$/, 20_000)).toBe("UNKNOWN");
    expect(await py.exited).toBe(1);
    expect(storedFiles(dir)).toEqual([]);
  }, 60_000);

  it("under an independent Python MDP broker (which never expires requests), its mmi.service answers keep a dead service's requests out of the slots and expire them, while a live one is served", async () => {
    const py = startPython("mdp_broker.py", ["tcp://127.0.0.1:0", String(HB), String(LIVENESS)]);
    const endpoint = (await py.waitLine(/^READY /)).split(" ")[1]!;
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 5000, concurrency: 1, pendingTimeout: 300 }).then(track);
    worker(endpoint, "echo");
    const c = track(new TitanicClient({ endpoint, requestTimeout: 2000, retries: 3, pollInterval: 20 }));
    const expired = server.next("request:expired");
    // With one slot, a dispatch of the dead request would hold it for good at this broker.
    const dead = (await c.request("nobody", "x")).body[0]!.toString();
    expect(text(await c.call("echo", "y"))).toEqual(["y"]);
    expect((await expired)[0]).toMatchObject({ uuid: dead, service: "nobody" });
    expect(server.stats()).toMatchObject({ expired: 1, dispatched: 1, completed: 1 });
  }, 60_000);

  it("238 junk requests for dead services do not starve a legitimate request stored after them", async () => {
    const dir = tempDir();
    // Long broker and dispatch timeouts: a dispatcher that sent the junk to the broker would
    // hold every slot for 5 s per round (15 rounds before the legitimate request).
    const { endpoint } = await stack(dir, ["--pending-timeout", "10000"], ["--dispatch-interval", "200", "--dispatch-timeout", "5000"]);
    const c = track(new TitanicClient({ endpoint, requestTimeout: 5000, retries: 3, pollInterval: 50 }));
    const junk: string[] = [];
    for (let i = 0; i < 238; i++) {
      // Half for one dead service, half for as many distinct ones.
      const a = await c.request(i % 2 === 0 ? "ghost" : `ghost.${i}`, `junk-${i}`);
      expect(a.status).toBe("200");
      junk.push(a.body[0]!.toString());
    }
    worker(endpoint, "upper", { handler: (f) => f.map((x) => x.toString().toUpperCase()) });
    const legit = await c.request("upper", "legit");
    expect(legit.status).toBe("200");
    const uuid = legit.body[0]!.toString();
    const t0 = performance.now();
    const answer = await waitFor(
      async () => {
        const a = await c.reply(uuid);
        return a.status === "200" ? a : undefined;
      },
      { timeout: 30_000, every: 50, what: "the legitimate request's reply" },
    );
    console.log(`legitimate request answered ${(performance.now() - t0).toFixed(0)} ms after it was stored, behind 238 junk requests`);
    expect(text(answer.body)).toEqual(["LEGIT"]);
    // The junk is still waiting (its services have no worker), not lost.
    expect((await c.reply(junk[0]!)).status).toBe("300");
    expect((await c.reply(junk.at(-1)!)).status).toBe("300");
  }, 60_000);
});

describe("TitanicServer limits (in process)", () => {
  const timings = { heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 };

  it("counts what a restart finds in the store against the quota", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const dir = tempDir();
    // Each 900-byte request takes one 4 KiB block: two fit in 10000 bytes, not three.
    const options = { endpoint, dir, ...timings, maxRequestSize: 1000, maxStoreBytes: 10_000 };
    const first = await TitanicServer.start(options).then(track);
    const c = track(new TitanicClient({ endpoint, requestTimeout: 2000, retries: 3 }));
    expect((await c.request("later", Buffer.alloc(900))).status).toBe("200");
    expect((await c.request("later", Buffer.alloc(900))).status).toBe("200");
    const bytes = first.stats().bytes;
    expect(bytes).toBe(2 * 4096);
    await first.close();
    const second = await TitanicServer.start(options).then(track);
    expect(second.stats()).toMatchObject({ bytes, pending: 2 });
    expect((await c.request("later", Buffer.alloc(900))).status).toBe("500");
    expect(second.stats()).toMatchObject({ refusedQuota: 1, refused: 1 });
  });

  it("expires a request whose service has no worker after pendingTimeout (request:expired), and never one whose service has a worker", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), ...timings, pendingTimeout: 300 }).then(track);
    const c = track(new TitanicClient({ endpoint, requestTimeout: 2000, retries: 3, pollInterval: 20 }));
    const expired = server.next("request:expired");
    const dead = (await c.request("nobody", "x")).body[0]!.toString();
    const [e] = await expired;
    expect(e).toMatchObject({ uuid: dead, service: "nobody" });
    expect(e.waitedMs).toBeGreaterThanOrEqual(300);
    expect((await c.reply(dead)).status).toBe("400");
    // A slow but present worker: its request outlives pendingTimeout and is answered.
    worker(endpoint, "slow", { handler: async (f) => (await new Promise((r) => setTimeout(r, 400)), f) });
    expect(text(await c.call("slow", "y"))).toEqual(["y"]);
    expect(server.stats()).toMatchObject({ expired: 1, completed: 1, pending: 0 });
    expect(server.stats().serviceChecks).toBeGreaterThanOrEqual(2);
  });

  it("options are validated (InvalidOptionError naming the option)", () => {
    const invalid = (option: string) => expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option });
    const base = { endpoint: "tcp://127.0.0.1:1", dir: "/tmp/x" };
    expect(() => new TitanicServer({ ...base, maxRequestSize: 0 })).toThrow(invalid("maxRequestSize"));
    expect(() => new TitanicServer({ ...base, maxStoreBytes: 1.5 })).toThrow(invalid("maxStoreBytes"));
    expect(() => new TitanicServer({ ...base, maxRequestSize: 2000, maxStoreBytes: 1000 })).toThrow(invalid("maxStoreBytes"));
    expect(() => new TitanicServer({ ...base, pendingTimeout: -1 })).toThrow(invalid("pendingTimeout"));
    expect(() => new TitanicServer({ ...base, concurrency: 0 })).toThrow(invalid("concurrency"));
  });
});
