/**
 * Titanic under crashes, with the built CLI (run `npm run build` first): broker and Titanic
 * are killed (SIGKILL) mid-run and restarted on the same endpoint and directory; every
 * accepted request is answered, once, with the right reply. Plus a Python 9/TSP client.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TitanicClient } from "../../../patterns/titanic/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startCli, startPython, type Child } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { closeAll, HB, LIVENESS, text, track, worker } from "../majordomo/fixtures.js";

let dir = "";
afterEach(async () => {
  await closeAll();
  await killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function startStack(endpoint: string): Promise<{ broker: Child; titanic: Child }> {
  const broker = startCli(["mdp", "broker", "--bind", endpoint, "--heartbeat-interval", String(HB), "--heartbeat-liveness", String(LIVENESS), "--pending-timeout", "300"]);
  await broker.waitLine(/^bound /);
  const titanic = startCli(["titanic", "--connect", endpoint, "--dir", dir, "--heartbeat-interval", String(HB), "--heartbeat-liveness", String(LIVENESS), "--dispatch-interval", "50", "--dispatch-timeout", "1000"]);
  await titanic.waitLine(/^titanic ready/);
  return { broker, titanic };
}

describe("Titanic crash recovery", () => {
  it("answers every accepted request exactly once after broker and Titanic are killed and restarted", async () => {
    dir = mkdtempSync(join(tmpdir(), "titanic-crash-"));
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    let stack = await startStack(endpoint);
    let executed = 0;
    // After the first three executions the worker holds the next request until the stack has
    // been killed and restarted: the crash always falls between done and not-yet-done work,
    // however slow the machine (no race between submitting and executing).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    worker(endpoint, "slow.upper", {
      handler: async (f) => {
        executed++;
        if (executed > 3) await gate;
        await new Promise((r) => setTimeout(r, 20));
        return f.map((x) => x.toString().toUpperCase());
      },
    });
    const c = track(new TitanicClient({ endpoint, requestTimeout: 500, retries: 20, pollInterval: 20, retryDelay: 50 }));
    const N = 30;
    const accepted = new Map<string, string>();
    for (let i = 0; i < N; i++) {
      const answer = await c.request("slow.upper", [`job-${i}`]);
      expect(answer.status).toBe("200");
      accepted.set(answer.body[0]!.toString(), `JOB-${i}`);
    }
    // Mid-run: some requests done, others not.
    await waitFor(() => executed >= 3, { what: "a few executions" });
    stack.broker.kill("SIGKILL");
    stack.titanic.kill("SIGKILL");
    await Promise.all([stack.broker.exited, stack.titanic.exited]);
    expect(executed).toBeLessThan(N);
    stack = await startStack(endpoint);
    release();
    const answered = new Map<string, string[]>();
    await Promise.all(
      [...accepted.keys()].map(async (uuid) => {
        const reply = await waitFor(
          async () => {
            const a = await c.reply(uuid);
            expect(a.status === "200" || a.status === "300").toBe(true);
            return a.status === "200" ? a.body : undefined;
          },
          { timeout: 20_000, every: 50, what: `reply for ${uuid}` },
        );
        expect(answered.has(uuid)).toBe(false);
        answered.set(uuid, text(reply));
        expect((await c.closeRequest(uuid)).status).toBe("200");
      }),
    );
    expect(answered.size).toBe(N);
    for (const [uuid, expected] of accepted) expect(answered.get(uuid)).toEqual([expected]);
    expect(readdirSync(dir).filter((n) => !n.startsWith("."))).toEqual([]);
    stack.titanic.kill("SIGTERM");
    expect(await stack.titanic.exited).toBe(0);
  });

  it("serves an independent Python 9/TSP client", async () => {
    dir = mkdtempSync(join(tmpdir(), "titanic-py-"));
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    await startStack(endpoint);
    worker(endpoint, "echo");
    const py = startPython("titanic_client.py", [endpoint, "echo", "20", "from", "python"]);
    expect(await py.waitLine(/^REPLY/, 15_000)).toBe("REPLY from python");
    expect(await py.exited).toBe(0);
  });
});
