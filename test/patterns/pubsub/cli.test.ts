import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readUsersFile } from "../../../patterns/pubsub/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

afterEach(killAll);

async function users(): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), "zps-cli-")), "users.json");
  const add = startCli(["pubsub", "adduser", "--users", file, "--user", "carol", "--password", "-", "--allow", "alerts.", "--cost", "1024"], { stdin: "carol-pw\n" });
  expect(await add.exited).toBe(0);
  return file;
}

async function serve(file: string) {
  const srv = startCli(["pubsub", "serve", "--bind", "tcp://127.0.0.1:*", "--ingest", "tcp://127.0.0.1:*", "--users", file, "--expiry", "2000"]);
  const line = await srv.waitLine(/^listening /, 20_000);
  const [, endpoint, , ingest] = line.split(" ");
  return { srv, endpoint: endpoint!, ingest: ingest! };
}

describe("zpatterns pubsub (built CLI)", () => {
  it("adduser stores a hash; serve + subscribe --count + publish deliver topic<TAB>body and exit 0", async () => {
    const file = await users();
    const stored = await readUsersFile(file);
    expect(stored.users.carol!.allow).toEqual(["alerts."]);
    expect(JSON.stringify(stored)).not.toContain("carol-pw");
    const { srv, endpoint, ingest } = await serve(file);
    const sub = startCli(["pubsub", "subscribe", "--connect", endpoint, "--user", "carol", "--password", "carol-pw", "--count", "2", "alerts."]);
    await waitFor(() => sub.errLines.includes("session started"), { what: "subscriber session", timeout: 20_000 });
    for (const body of ["disk full", "cpu hot"]) {
      const pub = startCli(["pubsub", "publish", "--connect", ingest, "alerts.host1", body]);
      expect(await pub.exited).toBe(0);
    }
    expect(await sub.exited).toBe(0);
    expect(sub.lines).toEqual(["alerts.host1\tdisk full", "alerts.host1\tcpu hot"]);
    await waitFor(() => srv.errLines.some((l) => l.startsWith("authenticated carol")));
    srv.kill("SIGTERM");
    expect(await srv.exited).toBe(0);
  }, 60_000);

  it("subscribe exits 3 on a wrong password and on a topic outside the entitlements", async () => {
    const file = await users();
    const { endpoint } = await serve(file);
    const bad = startCli(["pubsub", "subscribe", "--connect", endpoint, "--user", "carol", "--password", "nope", "alerts."]);
    const outside = startCli(["pubsub", "subscribe", "--connect", endpoint, "--user", "carol", "--password", "carol-pw", "payroll."]);
    expect(await bad.exited).toBe(3);
    expect(await outside.exited).toBe(3);
    expect(bad.errLines.join("\n")).toMatch(/denied: 401/);
    expect(outside.errLines.join("\n")).toMatch(/denied: 403/);
  }, 60_000);

  it("usage errors exit 2 and --help documents exit code 3", async () => {
    const help = startCli(["pubsub", "subscribe", "--help"]);
    expect(await help.exited).toBe(0);
    expect(help.lines.join("\n")).toMatch(/3 when the server refuses/);
    const noAuth = startCli(["pubsub", "serve", "--bind", "tcp://127.0.0.1:*"]);
    expect(await noAuth.exited).toBe(2);
  });

  it("an scrypt cost outside 1024..1048576 is a usage error (exit 2)", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zps-cli-")), "users.json");
    for (const cost of ["2", "512", "2097152"]) {
      const add = startCli(["pubsub", "adduser", "--users", file, "--user", "u", "--password", "p", "--allow", "x.", "--cost", cost]);
      expect(await add.exited).toBe(2);
    }
  });

  it("pubsub publish with no server listening fails (exit 1) instead of reporting 'sent'", async () => {
    const pub = startCli(["pubsub", "publish", "--connect", `tcp://127.0.0.1:${await freePort()}`, "t.x", "body"]);
    expect(await pub.exited).toBe(1);
    expect(pub.lines.join("\n")).not.toMatch(/sent/);
  }, 20_000);
});
