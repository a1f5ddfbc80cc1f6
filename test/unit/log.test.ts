/**
 * src/log.ts (createLogger, loggerOption, the lifecycle's `logger`) and the CLI's Output
 * summaries (src/cli/cli.ts logSummarised/flush): levels, pino's JSON fields, a pino logger
 * accepted as a class's logger, and a flood of one event costing two lines.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Output } from "../../src/cli/cli.js";
import { createLogger, InvalidOptionError, loggerOption, ManualClock, Reactor, silentLogger, type Logger } from "../../src/index.js";
import { SimplePirateQueue } from "../../patterns/simple-pirate/index.js";

class Sink extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
  get lines(): string[] {
    return this.text.split("\n").filter((l) => l.length > 0);
  }
}

describe("createLogger", () => {
  it("writes pino-compatible JSON lines: time, numeric level, msg, bound component, fields", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "debug", json: true, write: (l) => lines.push(l), bindings: { component: "queue" }, now: () => 1234 });
    log.info({ event: "worker:ready", id: Buffer.from([1, 2]) }, "worker ready");
    log.debug("plain");
    log.error({ err: new Error("boom") });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { time: 1234, level: 30, msg: "worker ready", component: "queue", event: "worker:ready", id: "0102" },
      { time: 1234, level: 20, msg: "plain", component: "queue" },
      { time: 1234, level: 50, msg: "", component: "queue", err: "boom" },
    ]);
  });

  it("drops lines below its level; silent drops all; human lines are msg k=v", () => {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", write: (l) => lines.push(l) });
    log.info("no");
    log.debug({ a: 1 }, "no");
    log.warn({ reason: "overflow", n: 3 }, "dropped");
    expect(lines).toEqual(["dropped reason=overflow n=3"]);
    expect(log.enabled("error")).toBe(true);
    expect(log.enabled("info")).toBe(false);
    const silent = createLogger({ level: "silent", write: (l) => lines.push(l) });
    silent.error("no");
    expect(silent.enabled("fatal")).toBe(false);
    expect(lines).toHaveLength(1);
    expect(log.child({ component: "x" }).level).toBe("warn");
    expect(() => createLogger({ level: "loud" as never, write: () => undefined })).toThrow(InvalidOptionError);
  });
});

describe("the lifecycle's logger option", () => {
  it("defaults to silent, refuses what is not a logger, and takes a pino logger", async () => {
    expect(loggerOption("X", {})).toBe(silentLogger);
    expect(() => loggerOption("X", { logger: { info() {} } })).toThrow(/`logger` to be a logger/);
    expect(() => new SimplePirateQueue({ frontend: "inproc://log-a", backend: "inproc://log-b", logger: 3 as never })).toThrow(InvalidOptionError);
    const sink = new Sink();
    const logger: Logger = pino({ level: "debug" }, sink).child({ component: "sp-queue" });
    const reactor = new Reactor({ clock: new ManualClock() });
    const queue = new SimplePirateQueue({ frontend: "inproc://log-c", backend: "inproc://log-d", reactor, logger });
    await queue.start();
    await queue.close();
    await reactor.close();
    const records = sink.lines.map((l) => JSON.parse(l) as { level: number; msg: string; component: string; class: string; cause?: string });
    expect(records.map((r) => [r.level, r.msg, r.component, r.class])).toEqual([
      [20, "started", "sp-queue", "SimplePirateQueue"],
      [20, "closed", "sp-queue", "SimplePirateQueue"],
    ]);
    expect(records[1]!.cause).toBe("close");
  });
});

describe("Output: levels and summaries", () => {
  it("--log-json lines carry pino's fields; --log-level filters them", () => {
    const out = new Sink();
    const err = new Sink();
    const o = new Output(false, out, err, { level: "info", logJson: true, component: "queue" });
    o.log("worker:ready id=01", { event: "worker:ready" });
    o.log("debug only", {}, "debug");
    o.error("it broke");
    const [first, second] = err.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ level: 30, msg: "worker:ready id=01", component: "queue", event: "worker:ready" });
    expect(typeof first!.time).toBe("number");
    expect(second).toMatchObject({ level: 50, msg: "it broke", component: "queue" });
    expect(err.lines).toHaveLength(2);
  });

  it("a flood of one event: the first line in full, then one summary with the counts by reason", () => {
    const err = new Sink();
    const o = new Output(true, new Sink(), err, { summaryInterval: 60_000 });
    for (let i = 0; i < 10_000; i++) o.logSummarised("request:dropped", `request:dropped n=${i}`, { event: "request:dropped", n: i }, i % 4 === 0 ? "closed" : "overflow");
    o.logSummarised("message:malformed", "message:malformed", { event: "message:malformed" });
    expect(err.lines).toHaveLength(2);
    o.flush();
    const records = err.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records).toEqual([
      { event: "request:dropped", n: 0 },
      { event: "message:malformed" },
      { event: "log:summary", of: "request:dropped", count: 9999, windowMs: expect.any(Number), reasons: { overflow: 7500, closed: 2499 } },
    ]);
    // A new interval: the next one is in full again; nothing counted, no summary.
    o.logSummarised("request:dropped", "request:dropped again", { event: "request:dropped", again: true });
    o.flush();
    expect(err.lines).toHaveLength(4);
    const quiet = new Output(false, new Sink(), err, { level: "error" });
    quiet.logSummarised("request:dropped", "x", {});
    quiet.flush();
    expect(err.lines).toHaveLength(4);
  });
});
