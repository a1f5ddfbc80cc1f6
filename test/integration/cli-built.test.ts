/**
 * The built `zpatterns` binary (run `npm run build` first).
 */
import { describe, it, expect, afterEach } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, killAll, startCli } from "../helpers/process.js";

afterEach(killAll);

const built = existsSync(join(ROOT, "dist/patterns/cli/main.js"));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

describe("zpatterns (built)", () => {
  it("is built (run `npm run build` first)", () => {
    expect(built, "dist/patterns/cli/main.js is missing: run `npm run build`").toBe(true);
  });

  it("version --json prints one JSON line and exits 0", async () => {
    const cli = startCli(["version", "--json"]);
    expect(await cli.exited).toBe(0);
    expect(cli.lines).toHaveLength(1);
    const record = JSON.parse(cli.lines[0]!) as Record<string, string>;
    expect(record.version).toBe(pkg.version);
    expect(record.libzmq).toMatch(/^4\.\d+\.\d+$/);
    expect(record.node).toBe(process.versions.node);
  });

  it("demo --scene pubsub --json ends by itself with exit 0: one authorised, one denied (401), one expired", async () => {
    const cli = startCli(["demo", "--scene", "pubsub", "--json"]);
    expect(await cli.exited).toBe(0);
    const summary = JSON.parse(cli.lines.at(-1)!) as { aliceReceived: number; deniedStatus: number; expired: number; malformed: number };
    expect(summary.aliceReceived).toBeGreaterThan(0);
    expect(summary.deniedStatus).toBe(401);
    expect(summary.expired).toBe(1);
    expect(summary.malformed).toBe(0);
  });

  it("demo --scene pirate --duration 500 --json prints the Paranoid Pirate summary", async () => {
    const cli = startCli(["demo", "--scene", "pirate", "--duration", "500", "--json"]);
    expect(await cli.exited).toBe(0);
    const summary = JSON.parse(cli.lines.at(-1)!) as { scene: string; replies: number };
    expect(summary.scene).toBe("paranoid-pirate");
    expect(summary.replies).toBeGreaterThan(0);
  });

  it("--help exits 0; an unknown command and a bad option exit 2", async () => {
    const help = startCli(["--help"]);
    expect(await help.exited).toBe(0);
    expect(help.lines.join("\n")).toMatch(/version/);
    const unknown = startCli(["frobnicate"]);
    expect(await unknown.exited).toBe(2);
    expect(unknown.errLines.join("\n")).toMatch(/unknown command "frobnicate"/);
    const bad = startCli(["demo", "--duration", "soon"]);
    expect(await bad.exited).toBe(2);
  });
});
