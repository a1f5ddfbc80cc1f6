/**
 * The CLI framework's operator flags (src/cli/cli.ts runCli + src/cli/flags.ts METRICS_FLAG),
 * in-process over the real command list: every long-running command documents and takes
 * --metrics; a bad --metrics or --log-level value exits 2 before the command opens anything.
 */
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { EXIT, runCli, type CliCommand } from "../../src/cli/cli.js";

class Sink extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** The commands that run until interrupted, with the arguments they need besides --metrics. */
const LONG_RUNNING: Record<string, string[]> = {
  queue: ["--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*"],
  worker: ["--connect", "tcp://127.0.0.1:1"],
  "simple-pirate queue": ["--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*"],
  "simple-pirate worker": ["--connect", "tcp://127.0.0.1:1"],
  "mdp broker": ["--bind", "tcp://127.0.0.1:*"],
  "mdp worker": ["--connect", "tcp://127.0.0.1:1", "--service", "echo"],
  "pubsub serve": ["--bind", "tcp://127.0.0.1:*", "--allow-any"],
  titanic: ["--connect", "tcp://127.0.0.1:1", "--dir", "/nonexistent"],
  serve: ["--frontend", "tcp://127.0.0.1:*", "--handler", "echo"],
  bstar: ["--role", "primary", "--frontend", "tcp://127.0.0.1:*", "--local", "tcp://127.0.0.1:*", "--remote", "tcp://127.0.0.1:1"],
  "freelance server": ["--bind", "tcp://127.0.0.1:5999"],
  pipe: [],
  "clone server": ["--bind", "tcp://127.0.0.1:5990"],
  mongrel2: ["--send-spec", "tcp://127.0.0.1:1", "--recv-spec", "tcp://127.0.0.1:2", "--handler", "/nonexistent.js"],
};

async function realCommands(): Promise<readonly CliCommand[]> {
  return (await import("../../patterns/cli/commands.js")).commands;
}

async function run(commands: readonly CliCommand[], args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(args, commands, { stdout, stderr, signals: false });
  return { code, out: stdout.text, err: stderr.text };
}

describe("runCli: --metrics on every long-running command", () => {
  it("each one documents --metrics HOST:PORT and the common --log-level/--log-json", async () => {
    const commands = await realCommands();
    for (const name of Object.keys(LONG_RUNNING)) {
      const cmd = commands.find((c) => c.name === name);
      expect(cmd, name).toBeDefined();
      expect(Object.keys(cmd!.options), name).toContain("metrics");
      const help = await run(commands, [...name.split(" "), "--help"]);
      expect([name, help.code]).toEqual([name, 0]);
      expect(help.out, name).toMatch(/--metrics HOST:PORT\s+serve Prometheus metrics/);
      expect(help.out, name).toMatch(/--log-level L/);
      expect(help.out, name).toMatch(/--log-json/);
    }
    // Commands that end by themselves do not take it.
    for (const name of ["client", "status", "version", "mdp client"]) expect(Object.keys(commands.find((c) => c.name === name)!.options), name).not.toContain("metrics");
  });

  it("a --metrics value that is not HOST:PORT exits 2 naming the flag, before the command runs", async () => {
    const commands = await realCommands();
    for (const [name, args] of Object.entries(LONG_RUNNING)) {
      for (const bad of ["nope", "127.0.0.1", "127.0.0.1:70000", ":9464"]) {
        const r = await run(commands, [...name.split(" "), ...args, "--metrics", bad]);
        expect([name, bad, r.code]).toEqual([name, bad, EXIT.USAGE]);
        expect(r.err).toMatch(/--metrics: expected `metrics` to be HOST:PORT/);
        expect(r.out).toBe("");
      }
    }
  });

  it("a host that is no address of this machine exits 2; a bad --log-level exits 2", async () => {
    const commands = await realCommands();
    const unknownHost = await run(commands, ["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--metrics", "no-such-host.invalid:0"]);
    expect(unknownHost.code).toBe(EXIT.USAGE);
    expect(unknownHost.err).toMatch(/cannot listen/);
    const notHere = await run(commands, ["mdp", "broker", "--bind", "tcp://127.0.0.1:*", "--metrics", "192.0.2.1:0"]);
    expect(notHere.code).toBe(EXIT.USAGE);
    const level = await run(commands, ["version", "--log-level", "loud"]);
    expect(level.code).toBe(EXIT.USAGE);
    expect(level.err).toMatch(/--log-level expects one of trace, debug, info, warn, error, fatal, silent/);
    expect((await run(commands, ["version", "--log-level", "error"])).code).toBe(0);
  });
});
