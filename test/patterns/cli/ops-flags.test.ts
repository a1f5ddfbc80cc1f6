/**
 * The long-running commands' operator flags, applied by the CLI framework (src/cli/cli.ts
 * runCli, observe, logEvents): `--metrics HOST:PORT` (Prometheus text on node:http, the
 * values equal to the command's stats), `--log-json` (pino's fields), and drops summarised
 * so that a flood of bad frames costs a few log lines. Runs the build (`npm run build`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { addUser, helloFrames } from "../../../patterns/pubsub/index.js";
import { afterEach, describe, expect, it } from "vitest";
import { sendMalformed } from "../../helpers/malformed.js";
import { metricsUrl, parseExposition, value } from "../../helpers/metrics.js";
import { killAll, startCli, type Child } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import { lazyRequest } from "../paranoid-pirate/fixtures.js";

afterEach(killAll);

/** The JSON log lines of a child's stderr. */
function jsonLines(child: Child): Record<string, unknown>[] {
  return child.errLines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

function endpoints(line: string): { frontend: string; backend: string } {
  const ready = JSON.parse(line) as { frontend: string[]; backend: string[] };
  return { frontend: ready.frontend[0]!, backend: ready.backend[0]! };
}

describe("--metrics and --log-json on the long-running commands", () => {
  it("zpatterns queue --metrics 127.0.0.1:0: /metrics counters equal the queue's stats, gauges its state", async () => {
    const queue = startCli(["queue", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0", "--json", "--log-json"]);
    const url = await metricsUrl(queue);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(url).not.toMatch(/:0\//);
    const ep = endpoints(await queue.waitLine(/"event":"ready"/));
    const worker = startCli(["worker", "--connect", ep.backend, "--handler", "upper", "--metrics", "127.0.0.1:0", "--json"]);
    const workerUrl = await metricsUrl(worker);
    await worker.waitLine(/"event":"started"/);
    const requests = 12;
    for (let i = 0; i < requests; i++) expect((await lazyRequest(ep.frontend, `hi ${i}`, { timeout: 5000 })).reply).toEqual([`HI ${i}`]);

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { samples, types } = parseExposition(await res.text());
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
    const workerScrape = parseExposition(await (await fetch(workerUrl)).text()).samples;

    // Gauges: the worker is known and idle, nothing waits.
    const p = "zmq_patterns_paranoid_pirate_queue_";
    expect(types.get(`${p}workers`)).toBe("gauge");
    expect(value(samples, `${p}workers`)).toBe(1);
    expect(value(samples, `${p}idle`)).toBe(1);
    expect(value(samples, `${p}pending`)).toBe(0);
    expect(types.get(`${p}requests_total`)).toBe("counter");

    worker.kill("SIGTERM");
    expect(await within(worker.exited, 10_000, "worker exit")).toBe(0);
    queue.kill("SIGTERM");
    expect(await within(queue.exited, 10_000, "queue exit")).toBe(0);
    const stats = JSON.parse(queue.lines.find((l) => l.includes('"event":"stopped"'))!) as Record<string, number> & { frontend: Record<string, number>; backend: Record<string, number> };
    const wstats = JSON.parse(worker.lines.find((l) => l.includes('"event":"stopped"'))!) as Record<string, number>;
    // Counters that no longer moved after the requests (heartbeats do, and are left out).
    expect(stats.requests).toBeGreaterThanOrEqual(requests);
    for (const key of ["requests", "dispatched", "replies", "readies", "redelivered", "dropped", "malformed", "rejected"]) {
      expect([key, value(samples, `${p}${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`)]).toEqual([key, stats[key]]);
    }
    expect(value(samples, `${p}dropped_by_reason_total`, { reason: "overflow" })).toBe(stats.droppedOverflow);
    expect(value(samples, `${p}socket_received_total`, { socket: "frontend" })).toBe(stats.frontend.received);
    expect(value(samples, `${p}socket_sent_total`, { socket: "frontend" })).toBe(stats.frontend.sent);
    expect(value(workerScrape, "zmq_patterns_paranoid_pirate_worker_requests_total")).toBe(wstats.requests);
    expect(value(workerScrape, "zmq_patterns_paranoid_pirate_worker_replies_total")).toBe(wstats.replies);

    // --log-json: every stderr line is a pino-compatible record.
    const logs = jsonLines(queue);
    expect(logs.length).toBeGreaterThan(1);
    for (const l of logs) {
      expect(typeof l.time).toBe("number");
      expect(typeof l.level).toBe("number");
      expect(typeof l.msg).toBe("string");
      expect(l.component).toBe("queue");
    }
    expect(logs.find((l) => l.event === "worker:ready")).toMatchObject({ level: 30, msg: expect.stringMatching(/^worker:ready /) });
    // The endpoint closed with the command.
    await expect(fetch(url)).rejects.toThrow();
  });

  it("a port in use exits 1; --log-level filters lines (warn: no info lines)", async () => {
    const first = startCli(["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0", "--log-json"]);
    const url = await metricsUrl(first);
    const port = new URL(url).port;
    const second = startCli(["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--metrics", `127.0.0.1:${port}`, "--log-level", "warn"]);
    expect(await within(second.exited, 10_000, "exit")).toBe(1);
    expect(second.errLines.join("\n")).toMatch(/--metrics 127\.0\.0\.1:\d+: cannot listen: .*EADDRINUSE/);
    const quiet = startCli(["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0", "--log-level", "warn"]);
    await quiet.waitLine(/^bound /);
    quiet.kill("SIGTERM");
    expect(await within(quiet.exited, 10_000, "exit")).toBe(0);
    expect(quiet.errLines.filter((l) => l.startsWith("metrics ") || l.startsWith("stopped"))).toEqual([]);
    first.kill("SIGTERM");
    expect(await within(first.exited, 10_000, "exit")).toBe(0);
  });

  it("a flood of bad frames at the queue costs a few log lines, and the summaries count every one", async () => {
    const queue = startCli(["queue", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--json", "--log-json", "--metrics", "127.0.0.1:0"]);
    const ep = endpoints(await queue.waitLine(/"event":"ready"/));
    // An unregistered backend peer sending heartbeats and replies (never READY), and garbage at the frontend.
    const rogue = new zmq.Dealer({ linger: 0 });
    rogue.connect(ep.backend);
    const flood = 3000;
    for (let i = 0; i < flood; i++) await rogue.send(i % 2 ? ["\x02"] : ["\x00\x6b\x8b\x45\x67", "", "forged"]);
    const garbage = await sendMalformed(ep.frontend, { count: 1000, seed: 13 });
    // The queue has handled every message once its counters (scraped) say so.
    const url = await metricsUrl(queue);
    const counted = async () => {
      const { samples } = parseExposition(await (await fetch(url)).text());
      return { rejected: value(samples, "zmq_patterns_paranoid_pirate_queue_rejected_total") ?? 0, received: value(samples, "zmq_patterns_paranoid_pirate_queue_socket_received_total", { socket: "frontend" }) ?? 0 };
    };
    // Every rogue message is a peer that never sent READY (rejected); every garbage message reached the frontend.
    await waitFor(async () => {
      const c = await counted();
      return c.rejected >= flood && c.received >= garbage;
    }, { timeout: 20_000, what: "every bad frame counted" });
    rogue.close();
    queue.kill("SIGTERM");
    expect(await within(queue.exited, 10_000, "queue exit")).toBe(0);
    const stats = JSON.parse(queue.lines.find((l) => l.includes('"event":"stopped"'))!) as Record<string, number>;
    const logs = jsonLines(queue);
    expect(stats.rejected).toBe(flood);
    expect(stats.malformed).toBeGreaterThan(0);
    // Bounded: a handful of lines, not one per message.
    expect(logs.length).toBeLessThan(30);
    // Every rejection and malformed message is in a line: the first in full, the rest in summaries.
    for (const [event, key] of [["worker:rejected", "rejected"], ["message:malformed", "malformed"]] as const) {
      const full = logs.filter((l) => l.event === event).length;
      const summarised = logs.filter((l) => l.event === "log:summary" && l.of === event).reduce((n, l) => n + Number(l.count), 0);
      expect([event, full + summarised]).toEqual([event, stats[key]]);
    }
  });

  it("pubsub serve: a run of failed logins from fresh connections is summarised, every one counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zp-ops-"));
    try {
      const users = join(dir, "users.json");
      await addUser(users, "alice", "wonderland", ["news."], 1024);
      const server = startCli(["pubsub", "serve", "--bind", "tcp://127.0.0.1:*", "--users", users, "--json", "--log-json", "--metrics", "127.0.0.1:0"]);
      const endpoint = (JSON.parse(await server.waitLine(/"event":"listening"/)) as { endpoint: string }).endpoint;
      const url = await metricsUrl(server);
      const guesses = 40;
      const peers: zmq.Dealer[] = [];
      try {
        for (let i = 0; i < guesses; i++) {
          const d = new zmq.Dealer({ linger: 0 });
          peers.push(d);
          d.connect(endpoint);
          await d.send(helloFrames("alice", `guess-${i}`, ["news."]));
        }
        await waitFor(async () => value(parseExposition(await (await fetch(url)).text()).samples, "zmq_patterns_pubsub_server_auth_failures_total") === guesses, { timeout: 20_000, what: "every guess refused" });
      } finally {
        for (const d of peers) d.close();
      }
      server.kill("SIGTERM");
      expect(await within(server.exited, 10_000, "exit")).toBe(0);
      const logs = jsonLines(server);
      const full = logs.filter((l) => l.event === "client:denied");
      const summarised = logs.filter((l) => l.event === "log:summary" && l.of === "client:denied");
      expect(full).toHaveLength(1);
      // A guess is denied (401) or, past the login limits (PROTOCOL.md 4.1.1), refused (429).
      expect(full[0]).toMatchObject({ level: 40, component: "pubsub serve", user: "alice" });
      expect([401, 429]).toContain(full[0]!.status);
      expect(summarised).toEqual([expect.objectContaining({ count: guesses - 1 })]);
      const reasons = summarised[0]!.reasons as Record<string, number>;
      expect(Object.keys(reasons).every((r) => r === "401" || r === "429")).toBe(true);
      expect(Object.values(reasons).reduce((a, b) => a + b, 0)).toBe(guesses - 1);
      expect(logs.length).toBeLessThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
