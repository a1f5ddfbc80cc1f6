/**
 * The Pipe (decode -> filters -> encode, bounded backlog, counters, lifecycle) and the stream
 * and file ends, without sockets.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { ClosedError, InvalidOptionError } from "../../../src/index.js";
import { FileOutput, LineInput, Pipe, StreamOutput, type PipeInput, type PipeOutput } from "../../../patterns/log-pipe/index.js";
import { within } from "../../helpers/wait.js";

/** An input that delivers `lines` and ends. */
function listInput(lines: string[]): PipeInput {
  return {
    async run(sink) {
      for (const line of lines) await sink(line);
    },
    async close() {},
  };
}

/** An output that keeps what it is sent. */
function arrayOutput(): PipeOutput & { sent: string[] } {
  const sent: string[] = [];
  return { sent, send: (text) => (sent.push(text), true), close: async () => {}, stats: () => ({ sent: sent.length, dropped: 0 }) };
}

describe("Pipe", () => {
  it("validates its options with InvalidOptionErrors naming the option", () => {
    const output = new StreamOutput(new PassThrough());
    for (const [options, option] of [
      [{ output }, "input"],
      [{ input: {} as never, output }, "input"],
      [{ input: listInput([]) }, "output"],
      [{ input: listInput([]), output, codec: "xml" as never }, "codec"],
      [{ input: listInput([]), output, filters: ["nope"] as never }, "filters"],
      [{ input: listInput([]), output, backlog: 0 }, "backlog"],
    ] as const) {
      let error: unknown;
      try {
        new Pipe(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe(option);
    }
  });

  it("run() moves every message in order, closes both ends and resolves with the counters", async () => {
    const output = arrayOutput();
    const pipe = new Pipe({ input: listInput(['{"n":1}', "not json", '{"n":2}']), output });
    const stats = await within(pipe.run(), 5000, "run");
    expect(output.sent).toEqual(['{"n":1}', '{"n":2}']);
    expect(stats).toMatchObject({ in: 3, out: 2, invalid: 1 });
    expect(pipe.state).toBe("closed");
    expect(await pipe.run()).toEqual(stats);
  });

  it("a filter result that cannot be encoded is counted as a filter error; the pipe keeps going", async () => {
    const lines = ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}'];
    const output = arrayOutput();
    const errors: unknown[] = [];
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const filter = (m: unknown) => {
      const n = (m as { n: number }).n;
      if (n === 2) return BigInt(2); // sync, JSON.stringify throws
      if (n === 3) return Promise.resolve(circular); // async, JSON.stringify throws
      if (n === 4) return () => 4; // JSON.stringify gives undefined: nothing to send
      return m;
    };
    const pipe = new Pipe({ input: listInput(lines), output, filters: [filter], onFilterError: (e) => errors.push(e) });
    const stats = await pipe.run();
    expect(output.sent).toEqual(['{"n":1}', '{"n":5}']);
    expect(stats).toMatchObject({ in: 5, out: 2, errors: 3 });
    expect(errors).toHaveLength(3);
  });

  it("stops after `count` messages; a slow async filter makes later ones wait in the bounded backlog", async () => {
    const output = arrayOutput();
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify({ i }));
    const slow = (m: unknown) => new Promise((resolve) => setImmediate(() => resolve(m)));
    const input: PipeInput = {
      async run(sink) {
        for (const line of lines) void sink(line); // does not wait: the backlog fills
      },
      async close() {},
    };
    const pipe = new Pipe({ input, output, filters: [slow], backlog: 3, count: 3 });
    const stats = await pipe.run();
    expect(output.sent.map((t) => JSON.parse(t).i)).toEqual([0, 1, 2]);
    expect(stats.in).toBe(3);
    expect(stats.dropped).toBeGreaterThan(0);
  });

  it("close() stops it as if the input had ended; an input that fails makes run() reject", async () => {
    const stream = new PassThrough();
    const output = arrayOutput();
    const pipe = new Pipe({ input: new LineInput(stream), output });
    const running = pipe.run();
    stream.write('{"a":1}\n');
    await within((async () => {
      while (output.sent.length === 0) await new Promise((r) => setImmediate(r));
    })(), 5000, "first line through");
    await pipe.close();
    expect((await running).out).toBe(1);
    await expect(pipe.start()).rejects.toBeInstanceOf(ClosedError);

    const broken = new Pipe({ input: { run: () => Promise.reject(new Error("input broke")), close: async () => {} }, output: arrayOutput() });
    await expect(broken.run()).rejects.toThrow("input broke");
    expect(broken.closed).toBe(true);
  });

  it("a pre-aborted signal: closed at once, run() resolves with zero counters", async () => {
    const ac = new AbortController();
    ac.abort();
    const pipe = new Pipe({ input: listInput(['{"a":1}']), output: arrayOutput(), signal: ac.signal });
    expect(pipe.closed).toBe(true);
    expect(await pipe.run()).toMatchObject({ in: 0, out: 0 });
  });
});

describe("LineInput and StreamOutput", () => {
  it("validate their stream", () => {
    expect(() => new LineInput({} as never)).toThrow(InvalidOptionError);
    expect(() => new StreamOutput({} as never)).toThrow(InvalidOptionError);
  });

  it("LineInput skips blank lines and ends with its stream; StreamOutput drops (counted) once closed", async () => {
    const source = new PassThrough();
    const sink = new PassThrough();
    let written = "";
    sink.on("data", (chunk: Buffer) => (written += chunk.toString()));
    const pipe = new Pipe({ input: new LineInput(source), output: new StreamOutput(sink), codec: "raw" });
    const running = pipe.run();
    source.end("one\n\n  \ntwo\n");
    expect(await within(running, 5000, "run")).toMatchObject({ in: 2, out: 2 });
    expect(written).toBe("one\ntwo\n");
    const out = new StreamOutput(new PassThrough());
    expect(out.send("x")).toBe(true);
    await out.close();
    expect(out.send("y")).toBe(false);
    expect(out.stats()).toEqual({ sent: 1, dropped: 1 });
  });
});

describe("FileOutput", () => {
  it("a reopen that fails (directory gone) does not throw nor keep the closed descriptor; lines are dropped and counted until a reopen succeeds", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "zp-fo-")), "logs");
    mkdirSync(dir);
    const path = join(dir, "out.log");
    const out = new FileOutput(path);
    try {
      expect(out.send("one")).toBe(true); // starts it (opens the file)
      rmSync(dir, { recursive: true });
      expect(() => out.reopen()).not.toThrow();
      expect(out.send("lost")).toBe(false);
      expect(out.stats()).toMatchObject({ sent: 1, dropped: 1 });
      mkdirSync(dir);
      out.reopen();
      expect(out.send("two")).toBe(true);
      expect(readFileSync(path, "utf8")).toBe("two\n");
    } finally {
      await out.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(out.send("after close")).toBe(false);
    expect(out.reopen()).toBe(false);
  });

  it("opens nothing until started; a file that cannot be opened makes start() reject", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zp-fo-"));
    try {
      const out = new FileOutput(join(dir, "never.log"));
      expect(out.reopen()).toBe(false);
      await out.close();
      expect(() => readFileSync(join(dir, "never.log"))).toThrow();
      const bad = new FileOutput(join(dir, "missing-dir", "x.log"));
      await expect(bad.start()).rejects.toThrow(/ENOENT/);
      await bad.close();
      expect(() => new FileOutput("")).toThrow(InvalidOptionError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
