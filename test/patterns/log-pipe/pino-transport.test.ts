/**
 * The pino transport: a burst with the collector stalled stays bounded (queue length and
 * counters, plus a generous RSS bound), a failed bind leaves nothing bound, and the
 * log-collector example runs end to end.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import type { LogSenderStats } from "../../../patterns/log-pipe/index.js";
import zeromqTransport from "../../../patterns/log-pipe/pino-transport.js";
import { killAll, start } from "../../helpers/process.js";
import { expectReleasedAfterFailedStart } from "./release.js";

afterEach(killAll);

type Counters = LogSenderStats;

describe("pino transport", () => {
  it("a failed bind closes the sender (no socket left bound behind the rejection)", async () => {
    await expectReleasedAfterFailedStart((free, taken) => zeromqTransport({ type: "push", bind: [free, taken], statsInterval: 0 }));
  });

  for (const type of ["push", "pub"] as const) {
    it(`a 100,000-record burst over ${type.toUpperCase()} with the collector stalled stays within the bound`, async () => {
      // A collector that connects and never reads.
      const stalled = type === "push" ? new zmq.Pull({ receiveHighWaterMark: 100, linger: 0 }) : new zmq.Subscriber({ receiveHighWaterMark: 100, linger: 0 });
      if (stalled instanceof zmq.Subscriber) stalled.subscribe();
      await stalled.bind("tcp://127.0.0.1:*");
      try {
        const hwm = 1000;
        const app = start(process.execPath, ["--expose-gc", "test/patterns/log-pipe/fixtures/pino-burst.mjs", stalled.lastEndpoint!, type, "100000", String(hwm)]);
        const line = await app.waitLine(/^\{/, 50_000);
        expect(await app.exited).toBe(0);
        const r = JSON.parse(line) as { rssBefore: number; rssMax: number; stats: Counters; final: Counters; maxQueued: number };
        // Every record accounted for, the queue never beyond its bound (our queue + the one in flight).
        expect(r.stats.accepted).toBe(100_000);
        expect(r.maxQueued).toBeLessThanOrEqual(hwm + 1);
        expect(r.stats.sent + r.stats.dropped + r.stats.queued).toBeGreaterThanOrEqual(100_000 - 1);
        expect(r.stats.droppedQueueFull).toBeGreaterThan(50_000);
        expect(r.final.sent + r.final.dropped).toBe(100_000);
        expect(r.final.queued).toBe(0);
        // ~30 MB of records went through. The bound is generous: most of the growth is garbage
        // in pino's worker thread (a transport that discards everything grows as much), not
        // held records; the queue length above is the real check.
        expect(r.rssMax - r.rssBefore).toBeLessThan(200 * 1024 * 1024);
      } finally {
        stalled.close();
      }
    }, 60_000);
  }

  it("the log-collector example: three applications -> one pipe -> a file", async () => {
    const example = start(process.execPath, ["dist/examples/log-collector.js", "3", "50"]);
    const line = await example.waitLine(/^collected/, 20_000);
    expect(await example.exited).toBe(0);
    expect(line).toContain("collected 150 records from 3 applications");
  });
});
