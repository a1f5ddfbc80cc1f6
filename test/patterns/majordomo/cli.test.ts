/** The built CLI: `zpatterns mdp broker|worker|client` (run `npm run build` first). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli } from "../../helpers/process.js";

afterEach(killAll);

async function cliBroker(extra: string[] = []): Promise<{ endpoint: string; stop(): Promise<number | string> }> {
  const b = startCli(["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--heartbeat-interval", "100", "--heartbeat-liveness", "5", ...extra]);
  const endpoint = (await b.waitLine(/^bound /)).split(" ")[1]!;
  return {
    endpoint,
    stop: () => {
      b.kill("SIGINT");
      return b.exited;
    },
  };
}

describe("zpatterns mdp", () => {
  it("broker, worker and client work together; client prints the reply on one line", async () => {
    const b = await cliBroker();
    const w = startCli(["mdp", "worker", "--connect", b.endpoint, "--service", "up", "--handler", "upper", "--heartbeat-interval", "100", "--heartbeat-liveness", "5"]);
    const c = startCli(["mdp", "client", "--connect", b.endpoint, "--service", "up", "--timeout", "1000", "--retries", "5", "hello", "there"]);
    expect(await c.exited).toBe(0);
    expect(c.lines).toEqual(["HELLO THERE"]);
    const j = startCli(["mdp", "client", "--connect", b.endpoint, "--service", "mmi.service", "--json", "up"]);
    expect(await j.exited).toBe(0);
    expect(JSON.parse(j.lines[0]!)).toMatchObject({ service: "mmi.service", frames: ["200"], final: true });
    w.kill("SIGTERM");
    expect(await w.exited).toBe(0);
    expect(await b.stop()).toBe(0);
  });

  it("streams MDP/0.2 PARTIAL replies from a handler module, one line each", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mdp-cli-"));
    try {
      const module = join(dir, "count.mjs");
      writeFileSync(module, "export default async function* (frames) { for (const f of frames) yield [String(f), String(String(f).length)]; }\n");
      const b = await cliBroker();
      startCli(["mdp", "worker", "--connect", b.endpoint, "--service", "count", "--mdp", "0.2", "--handler", module, "--heartbeat-interval", "100", "--heartbeat-liveness", "5"]);
      const c = startCli(["mdp", "client", "--connect", b.endpoint, "--service", "count", "--mdp", "0.2", "--timeout", "1000", "--retries", "5", "a", "bb", "ccc"]);
      expect(await c.exited).toBe(0);
      expect(c.lines).toEqual(["a 1", "bb 2", "ccc 3"]);
      expect(await b.stop()).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a worker stays up through a reconnect backoff (its handler failed) until SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mdp-cli-"));
    try {
      const module = join(dir, "fail.mjs");
      writeFileSync(module, "export default () => { throw new Error('boom'); };\n");
      const b = await cliBroker();
      const w = startCli(["mdp", "worker", "--connect", b.endpoint, "--service", "fail", "--handler", module, "--heartbeat-interval", "100", "--heartbeat-liveness", "5"]);
      const c = startCli(["mdp", "client", "--connect", b.endpoint, "--service", "fail", "--timeout", "300", "--retries", "0"]);
      expect(await c.exited).toBe(1);
      await new Promise((r) => setTimeout(r, 500));
      expect(w.proc.exitCode).toBe(null);
      w.kill("SIGTERM");
      expect(await w.exited).toBe(0);
      await b.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("client exits 1 when the request is abandoned or expired, 2 on usage errors", async () => {
    const b = await cliBroker(["--pending-timeout", "200"]);
    const expired = startCli(["mdp", "client", "--connect", b.endpoint, "--service", "nobody", "--retries", "0", "x"]);
    expect(await expired.exited).toBe(1);
    expect(expired.errLines.join("\n")).toMatch(/abandoned.*no worker for service nobody/);
    const none = startCli(["mdp", "client", "--connect", "tcp://127.0.0.1:1", "--service", "s", "--timeout", "100", "--retries", "1"]);
    expect(await none.exited).toBe(1);
    expect(await startCli(["mdp", "client", "--service", "s"]).exited).toBe(2);
    expect(await startCli(["mdp", "client", "--connect", b.endpoint, "--service", "s", "--retries", "x"]).exited).toBe(2);
    expect(await startCli(["mdp", "worker", "--connect", b.endpoint, "--service", "mmi.x"]).exited).toBe(2);
    expect(await startCli(["mdp", "broker"]).exited).toBe(2);
    expect(await startCli(["mdp", "broker", "--bind", "not-an-endpoint"]).exited).toBe(2);
    expect(await startCli(["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--pending-overflow", "later"]).exited).toBe(2);
    expect(await startCli(["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--expiry", "200"]).exited).toBe(2); // the old flag
    const dir = mkdtempSync(join(tmpdir(), "titanic-cli-"));
    try {
      expect(await startCli(["titanic", "--connect", "not-an-endpoint", "--dir", dir]).exited).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await b.stop()).toBe(0);
  });
});
