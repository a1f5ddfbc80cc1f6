/**
 * PubSubServer login limits (PROTOCOL.md §4.1.1) against a password-guessing run (issue 14,
 * item 5), with the built CLI (run `npm run build` first): a `pubsub serve` process with a
 * production-cost users file, a Python guesser (test/peers/pubsub_guesser.py) making one
 * guess per fresh connection, and legitimate logins from this process. Their latency during
 * the run is compared with the latency without it, measured in the same test, as a ratio.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { addUser, DEFAULT_SCRYPT_COST, PubSubClient } from "../../../patterns/pubsub/index.js";
import { killAll, startCli, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const dirs: string[] = [];
afterEach(async () => {
  await killAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Open a session and close it: ms from the first HELLO to 201. */
async function login(endpoint: string, user: string, password: string): Promise<number> {
  const c = new PubSubClient({ endpoint, user, password, subscribe: ["news."] });
  try {
    const t0 = performance.now();
    await c.ready();
    return performance.now() - t0;
  } finally {
    await c.close();
  }
}

/** Median of alternating alice and bob logins, `rounds` each. */
async function loginLatency(endpoint: string, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    times.push(await login(endpoint, "alice", "alice-pw"));
    times.push(await login(endpoint, "bob", "bob-pw"));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

describe("PubSubServer login limits (processes)", () => {
  it.each([
    { run: "against alice", target: "alice" },
    { run: "spraying random user names", target: "*" },
  ])("during a guessing run $run from fresh connections, alice and bob still log in promptly; the guesses are refused 429", async ({ target }) => {
    const dir = mkdtempSync(join(tmpdir(), "zps-guess-"));
    dirs.push(dir);
    const file = join(dir, "users.json");
    await addUser(file, "alice", "alice-pw", ["news."], DEFAULT_SCRYPT_COST);
    await addUser(file, "bob", "bob-pw", ["news."], DEFAULT_SCRYPT_COST);
    const srv = startCli(["pubsub", "serve", "--bind", "tcp://127.0.0.1:*", "--users", file, "--auth-failure-limit", "5", "--auth-backoff", "1000", "--auth-backoff-max", "60000"]);
    const endpoint = (await srv.waitLine(/^listening /, 20_000)).split(" ")[1]!;

    const baseline = await loginLatency(endpoint, 3);
    // The run goes on (up to 100,000 guesses or 60 s) until the logins below are measured.
    const guesser = startPython("pubsub_guesser.py", [endpoint, target, "100000", "32", "60"]);
    await guesser.waitLine(/^progress 200 /, 30_000);
    // Against one name, guess on past its failure limit (5 denials): the back-off is what
    // refuses from then on, however slowly a loaded machine runs the password checks.
    if (target === "alice") {
      const past = Number(/^progress (\d+)/.exec(await guesser.waitLine(/^progress \d+ denied (?:[6-9]|\d{2,})$/, 60_000))![1]);
      await guesser.waitLine(new RegExp(`^progress ${past + 200} `), 60_000);
    }
    const during = await loginLatency(endpoint, 3);
    const stillGuessing = guesser.proc.exitCode === null;
    guesser.kill("SIGTERM");
    const result = JSON.parse((await guesser.waitLine(/^RESULT /, 60_000)).slice("RESULT ".length)) as Record<string, number>;
    expect(await guesser.exited).toBe(0);
    srv.kill("SIGTERM");
    expect(await srv.exited).toBe(0);
    const statsLine = await waitFor(() => srv.errLines.find((l) => l.startsWith("stats ")), { what: "the server's stats line" });
    const stats = JSON.parse(statsLine.slice("stats ".length)) as Record<string, number>;

    const answers = Object.entries(result).filter(([k]) => /^\d{3}$/.test(k)).reduce((n, [, v]) => n + v, 0);
    console.log(`${target}: login median ${baseline.toFixed(1)} ms without, ${during.toFixed(1)} ms during the run (x${(during / baseline).toFixed(2)}); guesser ${JSON.stringify(result)}; server authChecks ${stats.authChecks}, authRefused ${stats.authRefused}`);
    // The run lasted through the measurement. Every guess was answered, nearly all with
    // 429; none timed out or failed (500).
    expect(stillGuessing).toBe(true);
    expect(answers).toBeGreaterThanOrEqual(1000);
    expect(result.timeout ?? 0).toBe(0);
    expect(result["500"] ?? 0).toBe(0);
    expect(result["429"]).toBeGreaterThanOrEqual(answers * 0.9);
    // The refusals are counted (the legitimate logins may add a few of their own).
    expect(stats.authRefused).toBeGreaterThanOrEqual(result["429"]!);
    expect(stats.throttled).toBeGreaterThanOrEqual(stats.authRefused!);
    if (target === "alice") {
      // Password checks stayed few: the name's back-off refuses before scrypt runs.
      expect(stats.authRefusedBackoff).toBeGreaterThan(0);
      expect(stats.authChecks).toBeLessThan(100);
    } else {
      // Every name is new: the bounded pool refuses, and the known-good logins go first.
      expect(stats.authRefusedBusy).toBeGreaterThan(0);
    }
    // A legitimate login during the run: a generous ratio to the one without it (measured
    // x2-5 on a loaded 2-core machine, where the guesser takes a core; x26 before the limits,
    // which also let only ~400 guesses through in 26 s, each a password check).
    expect(during / baseline).toBeLessThan(10);
  }, 120_000);
});
