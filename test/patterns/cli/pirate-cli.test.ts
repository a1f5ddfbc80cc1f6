/**
 * `zpatterns queue|worker` (6/PPP), `zpatterns simple-pirate queue|worker` and
 * `zpatterns demo`, run from the build (`npm run build` first).
 */
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli, type Child } from "../../helpers/process.js";
import { within } from "../../helpers/wait.js";
import { lazyRequest } from "../paranoid-pirate/fixtures.js";

afterEach(killAll);

function endpoints(line: string): { frontend: string; backend: string } {
  const m = /frontend=(\S+) backend=(\S+)/.exec(line);
  if (!m) throw new Error(`no endpoints in ${line}`);
  return { frontend: m[1]!, backend: m[2]! };
}

async function exitCode(child: Child, ms = 10_000): Promise<number | string> {
  return within(child.exited, ms, "process exit");
}

describe("zpatterns queue / worker", () => {
  it("prints help and rejects bad usage with exit code 2", async () => {
    // all at once: six processes
    const help = startCli(["queue", "--help"]);
    const spHelp = startCli(["simple-pirate", "queue", "--help"]);
    const missing = startCli(["queue", "--backend", "tcp://127.0.0.1:*"]);
    const overflow = startCli(["simple-pirate", "queue", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--pending-overflow", "later"]);
    const handler = startCli(["worker", "--connect", "tcp://127.0.0.1:1", "--handler", "test/does-not-exist.mjs"]);
    const interval = startCli(["worker", "--connect", "tcp://127.0.0.1:1", "--heartbeat-interval", "0"]);
    expect(await exitCode(help)).toBe(0);
    expect(help.lines.join("\n")).toMatch(/--heartbeat-liveness N\s+silent intervals/);
    expect(help.lines.join("\n")).toMatch(/--pending-timeout MS .*default 2000/);
    expect(await exitCode(spHelp)).toBe(0);
    expect(spHelp.lines.join("\n")).toMatch(/--max-pending N\s+requests held/);
    expect(await exitCode(missing)).toBe(2);
    expect(missing.errLines.join("\n")).toMatch(/--frontend is required/);
    expect(await exitCode(overflow)).toBe(2);
    expect(await exitCode(handler)).toBe(2);
    expect(await exitCode(interval)).toBe(2);
  });

  for (const protocol of ["paranoid", "simple"] as const) {
    it(`runs a ${protocol} queue and worker that answer requests and stop on SIGTERM/SIGINT with exit 0`, async () => {
      const [queueCmd, workerCmd, hb] = protocol === "paranoid" ? [["queue"], ["worker"], ["--heartbeat-interval", "100"]] : [["simple-pirate", "queue"], ["simple-pirate", "worker"], []];
      const queue = startCli([...queueCmd, "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", ...hb]);
      const ep = endpoints(await queue.waitLine(/^queue ready/));
      expect(queue.lines[0]).toContain(`protocol=${protocol}`);
      const worker = startCli([...workerCmd, "--connect", ep.backend, "--handler", "upper", ...hb]);
      await worker.waitLine(/^worker started/);
      for (let i = 0; i < 3; i++) expect((await lazyRequest(ep.frontend, `hi ${i}`, { timeout: 5000 })).reply).toEqual([`HI ${i}`]);
      worker.kill("SIGINT");
      expect(await exitCode(worker)).toBe(0);
      expect(worker.lines.at(-1)).toMatch(/^worker stopped .*replies=[3-9]/); // 3, or more if a client retried
      queue.kill("SIGTERM");
      expect(await exitCode(queue)).toBe(0);
      expect(queue.lines.at(-1)).toMatch(/^queue stopped .*replies=[3-9]/);
    });
  }

  it("prints JSON lines with --json and loads a handler module by path", async () => {
    const queue = startCli(["queue", "--json", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--heartbeat-interval", "100"]);
    const ready = JSON.parse(await queue.waitLine(/"event":"ready"/)) as { frontend: string[]; backend: string[]; protocol: string };
    expect(ready.protocol).toBe("paranoid");
    const worker = startCli(["worker", "--json", "--connect", ready.backend[0]!, "--handler", "test/patterns/paranoid-pirate/chaos-handler.mjs", "--heartbeat-interval", "100"]);
    await worker.waitLine(/"event":"started"/);
    expect((await lazyRequest(ready.frontend[0]!, "module", { timeout: 5000 })).reply).toEqual(["MODULE"]);
    queue.kill("SIGTERM");
    worker.kill("SIGTERM");
    expect(await exitCode(queue)).toBe(0);
    expect(await exitCode(worker)).toBe(0);
    const stopped = JSON.parse(queue.lines.at(-1)!) as { event: string; replies: number };
    expect(stopped.event).toBe("stopped");
    expect(stopped.replies).toBeGreaterThanOrEqual(1);
  });
});

describe("zpatterns demo", () => {
  it("runs the Paranoid Pirate demo for --duration 3000, ends by itself and prints a summary", async () => {
    const demo = startCli(["demo", "--duration", "3000"]);
    expect(await exitCode(demo, 20_000)).toBe(0);
    const out = demo.lines.join("\n");
    expect(out).toMatch(/Summary/);
    expect(out).toMatch(/requests \d+/);
    expect(out).toMatch(/p50 [\d.]+ ms/);
    expect(out).toMatch(/p99 [\d.]+ ms/);
    expect(out).toMatch(/redelivered \d+/);
    expect(out).toMatch(/purged \d+/);
    expect(demo.errLines.some((l) => /\d+ replies\/s/.test(l))).toBe(true);
  });
});
