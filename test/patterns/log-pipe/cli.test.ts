/**
 * `zpatterns pipe` as real processes (built CLI), plus Python peers speaking the same
 * one-frame JSON convention, and the library classes' option checks and malformed input.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { LogReceiver, LogSender, Pipe, StreamOutput, LineInput, FileOutput } from "../../../patterns/tools/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { malformedMessages, sendMalformed } from "../../helpers/malformed.js";
import { killAll, startCli, startPython, type Child } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

afterEach(killAll);

const FIX = "test/patterns/tools/fixtures";
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

describe("pipe library", () => {
  it("validates options with TypeErrors naming the option", () => {
    expect(() => new LogSender({} as never)).toThrow(/bind/);
    expect(() => new LogSender({ connect: "nope" })).toThrow(/connect/);
    expect(() => new LogSender({ connect: "tcp://127.0.0.1:1", hwm: 0 })).toThrow(/hwm/);
    expect(() => new LogSender({ connect: "tcp://127.0.0.1:1", type: "sub" as never })).toThrow(/type/);
    expect(() => new LogReceiver({ bind: "tcp://127.0.0.1:1", subscribe: [1] as never })).toThrow(/subscribe/);
    expect(() => new Pipe({ input: {} as never, output: new StreamOutput(process.stdout) })).toThrow(/input/);
    expect(() => new Pipe({ input: new LineInput(process.stdin), output: new StreamOutput(process.stdout), codec: "xml" as never })).toThrow(/codec/);
    expect(() => new FileOutput("")).toThrow(TypeError);
  });

  it("counts malformed (multi-frame) and invalid messages on a bound PULL and never crashes", async () => {
    const receiver = await new LogReceiver({ type: "pull", bind: "tcp://127.0.0.1:*" }).start();
    const seen: string[] = [];
    const output = { send: (t: string) => (seen.push(t), true), close: async () => {}, stats: () => ({ sent: seen.length, dropped: 0 }) };
    const pipe = new Pipe({ input: receiver, output });
    const running = pipe.run();
    const sent = await sendMalformed(receiver.endpoints[0]!, { type: "push", count: 200, templates: [[Buffer.from('{"a":1}')]] });
    await waitFor(() => {
      const s = pipe.stats();
      return s.in + s.malformed === sent;
    }, { what: "all garbage accounted for" });
    await receiver.close();
    const stats = await running;
    expect(stats.malformed).toBeGreaterThan(0);
    expect(stats.in).toBe(stats.out + stats.invalid);
    expect(stats.invalid).toBeGreaterThan(0);
  });

  it("counts garbage on a bound SUB input and on a bound PUB output's subscription channel", async () => {
    const receiver = await new LogReceiver({ type: "sub", bind: "tcp://127.0.0.1:*" }).start();
    const seen: string[] = [];
    const pipe = new Pipe({ input: receiver, output: { send: (t: string) => (seen.push(t), true), close: async () => {}, stats: () => ({ sent: seen.length, dropped: 0 }) } });
    const running = pipe.run();
    // A publisher's messages only flow once the subscription reached it: send until they arrive.
    const pub = new zmq.Publisher({ linger: 0 });
    pub.connect(receiver.endpoints[0]!);
    const garbage = malformedMessages(200, 7, [[Buffer.from('{"a":1}')]]);
    await waitFor(async () => {
      for (const m of garbage) await pub.send(m);
      const s = pipe.stats();
      return s.malformed > 0 && s.in > 0;
    }, { what: "garbage counted at the SUB" });
    pub.close();
    const stats = await pipe.close();
    expect(stats.in).toBe(stats.out + stats.invalid);
    expect(await pipe.close()).toEqual(stats);

    const sender = await new LogSender({ bind: "tcp://127.0.0.1:*", hwm: 10 }).start();
    const xsub = new zmq.XSubscriber({ linger: 0 });
    xsub.connect(sender.endpoints[0]!);
    await xsub.send([Buffer.from([7, 1, 2])]);
    await xsub.send([Buffer.alloc(0)]);
    await xsub.send([Buffer.from([0x00])]); // an unsubscribe without a subscription
    await waitFor(() => sender.stats().malformed === 2, { what: "2 malformed subscription frames" });
    expect(sender.stats().subscriptions).toBe(0);
    await xsub.send([Buffer.from([1])]);
    await waitFor(() => sender.stats().subscriptions === 1, { what: "a real subscription" });
    xsub.close();
    await sender.close();
  });

  it("a PUSH sender rides out a collector restart: held while away (bounded, counted), flowing again after", async () => {
    // The first collector picks a free port; the second one rebinds it.
    const bindPull = async (ep: string) => {
      const pull = new zmq.Pull({ linger: 0, receiveTimeout: 10_000 });
      // A closed socket releases its port asynchronously: retry the bind.
      await waitFor(() => pull.bind(ep).then(() => true, () => false), { what: `bind ${ep}` });
      return pull;
    };
    const collect = async (pull: zmq.Pull, n: number, what: string) => {
      const got: string[] = [];
      try {
        while (got.length < n) got.push(((await pull.receive()) as Buffer[])[0]!.toString());
      } catch (error) {
        throw new Error(`${what}: got ${JSON.stringify(got)}, sender ${JSON.stringify(sender.stats())}: ${String(error)}`);
      } finally {
        pull.close();
      }
      return got;
    };
    const pull1 = await bindPull("tcp://127.0.0.1:*");
    const ep = pull1.lastEndpoint!;
    const sender = await new LogSender({ type: "push", connect: ep, hwm: 50, reconnectInterval: 20, reconnectMaxInterval: 100 }).start();
    for (let i = 0; i < 3; i++) sender.send(`a${i}`);
    expect(await collect(pull1, 3, "first collector")).toEqual(["a0", "a1", "a2"]);
    // Collector gone: the sender holds at most hwm (+1 in flight) and counts the rest.
    for (let i = 0; i < 200; i++) sender.send(`b${i}`);
    const away = sender.stats();
    expect(away.queued).toBeLessThanOrEqual(51);
    expect(away.accepted).toBe(203);
    // Back again: what was held arrives, then new messages.
    const pull2 = await bindPull(ep);
    for (let i = 0; i < 5; i++) sender.send(`c${i}`);
    expect((await collect(pull2, 5, "second collector")).length).toBe(5);
    await sender.close();
    const s = sender.stats();
    expect(s.sent + s.dropped).toBe(s.accepted);
    expect(s.droppedQueueFull).toBeGreaterThan(0);
  });

  it("a PUB sender holds messages until a subscriber arrives, then sends them in order", async () => {
    const sender = await new LogSender({ bind: "tcp://127.0.0.1:*", hwm: 10 }).start();
    for (let i = 0; i < 15; i++) sender.send(JSON.stringify({ i }));
    expect(sender.stats()).toMatchObject({ accepted: 15, queued: 10, dropped: 5, droppedQueueFull: 5, sent: 0 });
    const receiver = new LogReceiver({ connect: sender.endpoints[0]! });
    const got: string[] = [];
    const pipe = new Pipe({ input: receiver, output: { send: (t) => (got.push(t), true), close: async () => {}, stats: () => ({ sent: got.length, dropped: 0 }) }, count: 10 });
    const stats = await pipe.run();
    expect(stats.out).toBe(10);
    expect(got.map((t) => JSON.parse(t).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await sender.close();
    expect(sender.stats()).toMatchObject({ sent: 10, dropped: 5 });
    expect(sender.send("late")).toBe(false);
    expect(sender.stats().droppedClosed).toBe(1);
  });
});
