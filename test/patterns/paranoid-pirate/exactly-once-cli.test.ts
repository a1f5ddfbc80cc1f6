/**
 * The built CLI with exactly-once requests (run `npm run build` first): `zpatterns worker
 * --exactly-once` behind `zpatterns queue`, `zpatterns client --exactly-once`; the slow first
 * request's retries are answered from the worker's cache (its stats line counts them); a
 * worker process SIGKILLed after its effect, whose handler keeps its record under `ctx.stamp`
 * with the effect (test/patterns/paranoid-pirate/durable-handler.mjs): the effect runs once.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli } from "../../helpers/process.js";
import { within } from "../../helpers/wait.js";

afterEach(killAll);

const HB = ["--heartbeat-interval", "100", "--heartbeat-liveness", "5"];

describe("zpatterns worker|client --exactly-once", () => {
  it("the retries of a slow request are answered from the worker's reply cache", async () => {
    const queue = startCli(["queue", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--pending-timeout", "0", ...HB, "--json"]);
    const ready = JSON.parse(await queue.waitLine(/"event":"ready"/)) as { frontend: string[]; backend: string[] };
    const [frontend, backend] = [ready.frontend[0]!, ready.backend[0]!];
    const worker = startCli(["worker", "--connect", backend, "--handler", "test/patterns/paranoid-pirate/chaos-handler.mjs", "--exactly-once", "--reply-cache-size", "100", "--reply-cache-ttl", "30000", ...HB, "--json"], { env: { PPP_CHAOS: "slow" } });
    await worker.waitLine(/started/);
    const client = startCli(["client", "--connect", frontend, "--exactly-once", "--client-id", "cli-test", "--timeout", "100", "--retries", "100", "--json", "hello"]);
    expect(await within(client.exited, 20_000, "client exit")).toBe(0);
    expect(client.lines.map((l) => JSON.parse(l) as { reply?: string[] }).find((l) => l.reply)?.reply).toEqual(["HELLO"]);
    worker.kill("SIGTERM");
    expect(await within(worker.exited, 10_000, "worker exit")).toBe(0);
    const stopped = JSON.parse(worker.lines.find((l) => l.includes('"stopped"'))!) as Record<string, number>;
    expect(stopped.duplicates).toBeGreaterThanOrEqual(1);
    expect(stopped.cacheHits).toBeGreaterThanOrEqual(1);
    expect(stopped.cacheEntries).toBe(1);
  });

  it("a worker process SIGKILLed after its effect: a handler that records the reply under ctx.stamp with the effect answers the retry, the effect ran once", async () => {
    const store = join(mkdtempSync(join(tmpdir(), "xo-")), "effects.jsonl");
    const queue = startCli(["queue", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--pending-timeout", "0", ...HB, "--json"]);
    const ready = JSON.parse(await queue.waitLine(/"event":"ready"/)) as { frontend: string[]; backend: string[] };
    const [frontend, backend] = [ready.frontend[0]!, ready.backend[0]!];
    const args = ["worker", "--connect", backend, "--handler", "test/patterns/paranoid-pirate/durable-handler.mjs", "--exactly-once", ...HB, "--json"];
    const doomed = startCli(args, { env: { XO_STORE: store, XO_DIE: "1" } });
    await doomed.waitLine(/started/);
    const client = startCli(["client", "--connect", frontend, "--exactly-once", "--timeout", "300", "--retries", "100", "--json", "hello"]);
    expect(await within(doomed.exited, 20_000, "the worker killing itself")).toBe("SIGKILL");
    const survivor = startCli(args, { env: { XO_STORE: store } });
    expect(await within(client.exited, 20_000, "client exit")).toBe(0);
    expect(client.lines.map((l) => JSON.parse(l) as { reply?: string[] }).find((l) => l.reply)?.reply).toEqual(["done:hello"]);
    expect(readFileSync(store, "utf8").trim().split("\n")).toHaveLength(1);
    survivor.kill("SIGTERM");
    expect(await within(survivor.exited, 10_000, "survivor exit")).toBe(0);
  });

  it("exit 2 (usage) for a reply cache flag without --exactly-once, and for --client-id without it", async () => {
    const worker = startCli(["worker", "--connect", "tcp://127.0.0.1:1", "--reply-cache-size", "5"]);
    const client = startCli(["client", "--connect", "tcp://127.0.0.1:1", "--client-id", "x", "hello"]);
    expect(await within(worker.exited, 10_000, "worker exit")).toBe(2);
    expect(await within(client.exited, 10_000, "client exit")).toBe(2);
  });
});
