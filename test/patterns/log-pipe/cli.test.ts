/**
 * `zpatterns pipe` as real processes (built CLI), plus Python peers speaking the same
 * one-frame JSON convention.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { uniqAddress } from "../../helpers/addresses.js";
import { killAll, startCli, startPython, type Child } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

afterEach(killAll);

const FIX = "test/patterns/log-pipe/fixtures";
const docs = (n: number, extra: Record<string, unknown> = {}) => Array.from({ length: n }, (_, i) => JSON.stringify({ seq: i, msg: `line ${i}`, ...extra }));

/** The counters a pipe printed on exit (run with --json). */
function statsOf(child: Child): Record<string, number> {
  const line = child.errLines.find((l) => l.includes('"pipe:stats"'));
  if (!line) throw new Error(`no stats line in:\n${child.errLines.join("\n")}`);
  return JSON.parse(line) as Record<string, number>;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "zmqp-pipe-"));
}

describe("zpatterns pipe", () => {
  it("stdin -> PUB -> SUB -> stdout round trip", async () => {
    const ep = await uniqAddress("tcp");
    const collector = startCli(["pipe", "--input", "zmq", "--bind", ep, "--count", "5", "--json"]);
    const sender = startCli(["pipe", "--output", "zmq", "--connect", ep, "--json"], { stdin: docs(5).join("\n") + "\n" });
    expect(await sender.exited).toBe(0);
    expect(await collector.exited).toBe(0);
    expect(collector.lines.map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2, 3, 4]);
    expect(statsOf(sender)).toMatchObject({ in: 5, out: 5, dropped: 0, invalid: 0 });
    expect(statsOf(collector)).toMatchObject({ in: 5, out: 5 });
  });

  it("PUSH -> PULL with explicit input/output flags and a zmq-to-zmq relay", async () => {
    const a = await uniqAddress("tcp");
    const b = await uniqAddress("tcp");
    const collector = startCli(["pipe", "--input", "zmq", "--socket-type", "pull", "--bind", b, "--count", "3", "--json"]);
    const relay = startCli(["pipe", "--input", "zmq", "--output", "zmq", "--socket-type", "pull", "--socket-type", "push", "--input-bind", a, "--output-connect", b, "--count", "3", "--json"]);
    await waitFor(() => relay.errLines.some((l) => l.includes("pipe:started")), { what: "relay bound" });
    const sender = startCli(["pipe", "--output", "zmq", "--socket-type", "push", "--connect", a, "--json"], { stdin: docs(3).join("\n") });
    expect(await sender.exited).toBe(0);
    expect(await relay.exited).toBe(0);
    expect(await collector.exited).toBe(0);
    expect(collector.lines.map((l) => JSON.parse(l).msg)).toEqual(["line 0", "line 1", "line 2"]);
  });

  it("with the collector down the sender exits normally and reports its drops", async () => {
    const ep = await uniqAddress("tcp");
    for (const type of ["push", "pub"]) {
      const sender = startCli(["pipe", "--output", "zmq", "--socket-type", type, "--connect", ep, "--hwm", "100", "--linger", "200", "--json"], { stdin: docs(1000).join("\n") });
      expect(await sender.exited).toBe(0);
      const stats = statsOf(sender);
      expect(stats).toMatchObject({ in: 1000, out: 0, dropped: 1000 });
    }
  });

  it("reports a non-JSON line on stderr, counts it and never sends it", async () => {
    const child = startCli(["pipe", "--json"], { stdin: `${docs(1)[0]}\nnot json at all\n\n{"ok":true}\n` });
    expect(await child.exited).toBe(0);
    expect(child.lines).toEqual(['{"seq":0,"msg":"line 0"}', '{"ok":true}']);
    expect(child.errLines.some((l) => l.includes("pipe:invalid") && l.includes("not json at all"))).toBe(true);
    expect(statsOf(child)).toMatchObject({ in: 3, out: 2, invalid: 1 });
  });

  it("codec raw passes text through untouched", async () => {
    const child = startCli(["pipe", "--codec", "raw", "--json"], { stdin: "plain text\n{not json\n" });
    expect(await child.exited).toBe(0);
    expect(child.lines).toEqual(["plain text", "{not json"]);
    expect(statsOf(child)).toMatchObject({ in: 2, out: 2, invalid: 0 });
  });

  it("filters change and drop messages, sync and async, in order; a throwing filter is counted", async () => {
    const input = [
      { level: "info", msg: "a" },
      { level: "debug", msg: "b" },
      { level: "info", msg: "c", drop: true },
      { level: "warn", msg: "d", boom: true },
      { level: "info", msg: "e" },
    ].map((m) => JSON.stringify(m));
    const child = startCli(["pipe", "--filter", `${FIX}/filter-tag.mjs`, "--filter", `${FIX}/filter-async.mjs`, "--filter", `${FIX}/filter-throws.mjs`, "--json"], { stdin: input.join("\n") });
    expect(await child.exited).toBe(0);
    expect(child.lines.map((l) => JSON.parse(l))).toEqual([
      { level: "info", msg: "A", tagged: true },
      { level: "info", msg: "E", tagged: true },
    ]);
    expect(statsOf(child)).toMatchObject({ in: 5, out: 2, filtered: 2, errors: 1 });
  });

  it("appends to a file and reopens it on SIGHUP (log rotation)", async () => {
    const dir = tempDir();
    try {
      const file = join(dir, "app.log");
      const child = startCli(["pipe", "--output", "file", "--file", file, "--json"]);
      const stdin = child.proc.stdin!;
      stdin.write(docs(2).join("\n") + "\n");
      await waitFor(() => existsSync(file) && readFileSync(file, "utf8").split("\n").length === 3, { what: "two lines in the file" });
      renameSync(file, `${file}.1`);
      child.proc.kill("SIGHUP");
      await waitFor(() => child.errLines.some((l) => l.includes("pipe:reopened")), { what: "reopen" });
      stdin.end(docs(3, { after: true }).join("\n") + "\n");
      expect(await child.exited).toBe(0);
      const old = readFileSync(`${file}.1`, "utf8").trim().split("\n");
      const fresh = readFileSync(file, "utf8").trim().split("\n");
      expect(old.map((l) => JSON.parse(l).after)).toEqual([undefined, undefined]);
      expect(fresh.map((l) => JSON.parse(l).after)).toEqual([true, true, true]);
      expect(statsOf(child)).toMatchObject({ in: 5, out: 5 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("file -> file, and a missing input file is a failure (exit 1)", async () => {
    const dir = tempDir();
    try {
      const input = join(dir, "in.log");
      const output = join(dir, "out.log");
      writeFileSync(input, docs(3).join("\n") + "\nbroken\n");
      const child = startCli(["pipe", "--input", "file", "--output", "file", "--input-file", input, "--output-file", output, "--json"]);
      expect(await child.exited).toBe(0);
      expect(readFileSync(output, "utf8").trim().split("\n").map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2]);
      expect(statsOf(child)).toMatchObject({ in: 4, out: 3, invalid: 1 });
      const missing = startCli(["pipe", "--input", "file", "--file", join(dir, "nope.log")]);
      expect(await missing.exited).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("usage errors exit 2", async () => {
    const both = startCli(["pipe", "--input", "zmq", "--output", "zmq", "--bind", "tcp://127.0.0.1:1"]);
    expect(await both.exited).toBe(2);
    const wrongType = startCli(["pipe", "--socket-type", "pub"]);
    expect(await wrongType.exited).toBe(2);
    const noEndpoint = startCli(["pipe", "--input", "zmq"]);
    expect(await noEndpoint.exited).toBe(2);
    const badEndpoint = startCli(["pipe", "--output", "zmq", "--connect", "foo://bar"]);
    expect(await badEndpoint.exited).toBe(2);
  });
});

describe("interop with a Python peer (one frame, one JSON document)", () => {
  it("our PUB -> Python SUB, and Python PUSH -> our PULL", async () => {
    const ep1 = await uniqAddress("tcp");
    const sub = startPython("pipe_recv.py", ["sub", "connect", ep1, "4"]);
    await sub.waitLine(/^ready$/);
    const pub = startCli(["pipe", "--output", "zmq", "--bind", ep1, "--json"], { stdin: docs(4).join("\n") });
    expect(await pub.exited).toBe(0);
    expect(await sub.exited).toBe(0);
    expect(sub.lines.slice(1).map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2, 3]);

    const ep2 = await uniqAddress("tcp");
    const pull = startCli(["pipe", "--input", "zmq", "--socket-type", "pull", "--bind", ep2, "--count", "4", "--json"]);
    const push = startPython("pipe_send.py", ["push", "connect", ep2, "4"]);
    expect(await push.exited).toBe(0);
    expect(await pull.exited).toBe(0);
    expect(pull.lines.map((l) => JSON.parse(l))).toEqual([0, 1, 2, 3].map((i) => ({ from: "python", seq: i, msg: `hello ${i}` })));
  });

  it("Python PUB -> our SUB, and our PUSH -> Python PULL", async () => {
    const ep1 = await uniqAddress("tcp");
    const pub = startPython("pipe_send.py", ["pub", "bind", ep1, "3"]);
    await pub.waitLine(/^ready$/);
    const sub = startCli(["pipe", "--input", "zmq", "--connect", ep1, "--count", "3", "--json"]);
    expect(await sub.exited).toBe(0);
    expect(sub.lines.map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2]);

    const ep2 = await uniqAddress("tcp");
    const pull = startPython("pipe_recv.py", ["pull", "bind", ep2, "3"]);
    await pull.waitLine(/^ready$/);
    const push = startCli(["pipe", "--output", "zmq", "--socket-type", "push", "--connect", ep2, "--json"], { stdin: docs(3).join("\n") });
    expect(await push.exited).toBe(0);
    expect(await pull.exited).toBe(0);
    expect(pull.lines.slice(1).map((l) => JSON.parse(l).seq)).toEqual([0, 1, 2]);
  });
});
