import { describe, it, expect } from "vitest";
import { Writable } from "node:stream";
import { EXIT, Output, UsageError, choiceArg, intArg, isUsageError, listArg, runCli, strArg, aborted, usage, type CliCommand } from "../../src/cli/cli.js";
import { InvalidOptionError } from "../../src/index.js";

class Sink extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

function cmd(name: string, run: CliCommand["run"], extra: Partial<CliCommand> = {}): CliCommand {
  return { name, summary: `summary of ${name}`, usage: "[--count N]", help: `Options:\n  --count N   how many`, options: { count: { type: "string" } }, run, ...extra };
}

const ran: string[] = [];
const commands: CliCommand[] = [
  cmd("hello", async (ctx) => {
    ran.push("hello");
    const n = intArg(ctx.values, "count", 1, 1);
    ctx.out.result(`hello x${n}`, { hello: n });
    ctx.out.log("done", { event: "done" });
    return EXIT.OK;
  }),
  cmd("fail", async () => {
    throw new Error("it broke");
  }),
  cmd("misuse", async () => {
    throw new UsageError("--count needs a friend");
  }),
  cmd("bad-option", async () => {
    throw new InvalidOptionError("endpoint", "Thing: expected `endpoint` to be a ZeroMQ endpoint");
  }),
  cmd("bug", async () => {
    // A real bug (not the user's input): must read as a failure, not as a usage error.
    throw new TypeError("Cannot read properties of undefined (reading 'send')");
  }),
  cmd("group alpha", async (ctx) => {
    ctx.out.result("alpha", { alpha: true, args: ctx.positionals });
    return EXIT.OK;
  }, { allowPositionals: true }),
  cmd("group beta", async () => EXIT.FAILURE),
  cmd("group deep one", async () => EXIT.OK),
];

async function run(...argv: string[]) {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(argv, commands, { stdout, stderr, signals: false });
  return { code, out: stdout.text, err: stderr.text };
}

describe("runCli", () => {
  it("--help at the top level lists commands and groups, exit 0", async () => {
    const r = await run("--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: zpatterns <command>/);
    expect(r.out).toMatch(/hello\s+summary of hello/);
    expect(r.out).toMatch(/group\s+\(group --help for its commands\)/);
    expect(r.out).not.toMatch(/alpha/);
    expect((await run("-h")).code).toBe(0);
  });

  it("no command prints the list on stderr, exit 2", async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Commands:/);
  });

  it("--help on a command shows its usage and options, exit 0, without running it", async () => {
    ran.length = 0;
    const r = await run("hello", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: zpatterns hello \[--count N\]/);
    expect(r.out).toMatch(/--count N\s+how many/);
    expect(r.out).toMatch(/--json/);
    expect(ran).toEqual([]);
  });

  it("--help on a nested group lists its commands and subgroups", async () => {
    const r = await run("group", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Usage: zpatterns group <command>/);
    expect(r.out).toMatch(/group alpha\s+summary of group alpha/);
    expect(r.out).toMatch(/group deep\s+\(group deep --help/);
    expect(r.out).not.toMatch(/hello/);
    const deep = await run("group", "deep", "--help");
    expect(deep.out).toMatch(/group deep one\s+summary of group deep one/);
    const nested = await run("group", "alpha", "--help");
    expect(nested.out).toMatch(/Usage: zpatterns group alpha/);
    expect((await run("group")).code).toBe(2);
  });

  it("unknown command -> 2 (top level and inside a group)", async () => {
    const r = await run("nope");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown command "nope"/);
    const g = await run("group", "gamma");
    expect(g.code).toBe(2);
    expect(g.err).toMatch(/unknown command "group gamma"/);
  });

  it("bad option or stray positional -> 2 with a hint", async () => {
    const r = await run("hello", "--colour", "red");
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--colour/);
    expect(r.err).toMatch(/zpatterns hello --help/);
    expect((await run("hello", "extra")).code).toBe(2);
    const bad = await run("hello", "--count", "zero");
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--count expects an integer >= 1/);
  });

  it("UsageError -> 2, a thrown error -> 1, a returned code is passed through", async () => {
    const u = await run("misuse");
    expect(u.code).toBe(2);
    expect(u.err).toMatch(/zpatterns: --count needs a friend/);
    const f = await run("fail");
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/zpatterns: it broke/);
    expect((await run("group", "beta")).code).toBe(1);
  });

  it("exit 2 only for usage errors: an InvalidOptionError -> 2 with a hint, a plain TypeError (a bug) -> 1", async () => {
    const bad = await run("bad-option");
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.err).toMatch(/zpatterns: Thing: expected `endpoint`/);
    expect(bad.err).toMatch(/zpatterns bad-option --help/);
    const bug = await run("bug");
    expect(bug.code).toBe(EXIT.FAILURE);
    expect(bug.err).toMatch(/Cannot read properties of undefined/);
    expect(bug.err).not.toMatch(/--help/);
  });

  it("usage() turns an InvalidOptionError into a UsageError and lets any other error through", () => {
    expect(() => usage(() => { throw new InvalidOptionError("n", "bad n"); })).toThrow(UsageError);
    const bug = new TypeError("x is not a function");
    expect(() => usage(() => { throw bug; })).toThrow(bug);
    expect(usage(() => 7)).toBe(7);
    expect(isUsageError(new UsageError("u"))).toBe(true);
    expect(isUsageError(Object.assign(new TypeError("other copy"), { code: "ZMQP_INVALID_OPTION" }))).toBe(true);
    expect(isUsageError(new TypeError("plain"))).toBe(false);
    expect(isUsageError(new Error("plain"))).toBe(false);
  });

  it("human output by default, JSON lines with --json (results and errors)", async () => {
    const human = await run("hello", "--count", "3");
    expect(human.code).toBe(0);
    expect(human.out).toBe("hello x3\n");
    expect(human.err).toBe("done\n");
    const json = await run("hello", "--count", "3", "--json");
    expect(JSON.parse(json.out)).toEqual({ hello: 3 });
    expect(JSON.parse(json.err)).toEqual({ event: "done" });
    const err = await run("fail", "--json");
    expect(JSON.parse(err.err.split("\n")[0]!)).toEqual({ error: "it broke" });
    const first = await run("--json", "hello", "--count", "2");
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toEqual({ hello: 2 });
    expect(JSON.parse((await run("--json", "group", "alpha")).out)).toEqual({ alpha: true, args: [] });
    const pos = await run("group", "alpha", "x", "y", "--json");
    expect(JSON.parse(pos.out)).toEqual({ alpha: true, args: ["x", "y"] });
  });

  it("signals: false installs no process handlers", async () => {
    const before = process.listenerCount("SIGINT");
    let during = -1;
    await runCli(["probe"], [cmd("probe", async () => ((during = process.listenerCount("SIGINT")), 0))], { stdout: new Sink(), stderr: new Sink(), signals: false });
    expect(during).toBe(before);
  });
});

describe("argument helpers", () => {
  it("intArg, strArg, choiceArg, listArg", () => {
    expect(intArg({}, "n", 4)).toBe(4);
    expect(intArg({ n: "12" }, "n", 4)).toBe(12);
    expect(() => intArg({ n: "1.5" }, "n", 4)).toThrow(UsageError);
    expect(() => intArg({ n: "-1" }, "n", 4)).toThrow(/>= 0/);
    expect(strArg({ s: "v" }, "s")).toBe("v");
    expect(strArg({}, "s")).toBeUndefined();
    expect(() => strArg({}, "s", true)).toThrow(/--s is required/);
    expect(choiceArg({ c: "b" }, "c", ["a", "b"])).toBe("b");
    expect(choiceArg({}, "c", ["a", "b"], "a")).toBe("a");
    expect(() => choiceArg({ c: "z" }, "c", ["a", "b"])).toThrow(/one of a, b, got "z"/);
    expect(listArg({ l: ["x", "y"] }, "l")).toEqual(["x", "y"]);
    expect(listArg({ l: "x" }, "l")).toEqual(["x"]);
    expect(listArg({}, "l")).toEqual([]);
  });

  it("aborted resolves on abort (and at once when already aborted)", async () => {
    const c = new AbortController();
    const p = aborted(c.signal);
    c.abort();
    await p;
    await aborted(c.signal);
  });

  it("Output writes results to stdout and logs to stderr", () => {
    const out = new Sink();
    const err = new Sink();
    const o = new Output(false, out, err);
    o.result("r", { r: 1 });
    o.log("l");
    o.error("e");
    expect([out.text, err.text]).toEqual(["r\n", "l\nzpatterns: e\n"]);
    const j = new Output(true, out, err);
    j.log("plain only");
    expect(err.text.endsWith("plain only\n")).toBe(true);
  });
});

describe("the real command list, from source", () => {
  it("imports and runs `version --json` in-process", async () => {
    const { commands: real } = await import("../../patterns/cli/commands.js");
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    const stdout = new Sink();
    const code = await runCli(["version", "--json"], real, { stdout, stderr: new Sink(), signals: false });
    expect(code).toBe(0);
    expect(JSON.parse(stdout.text)).toMatchObject({ version: pkg.version });
  });
});
