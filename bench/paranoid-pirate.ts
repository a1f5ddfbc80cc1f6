/**
 * `paranoid-pirate`: requests/s through ParanoidPirateQueue + 2 ParanoidPirateWorkers versus a
 * minimal hand-written raw zeromq.js LRU broker with 2 raw workers, in the same run. One
 * pipelined client (raw zeromq.js DEALER, `[requestId, EMPTY, payload]`, the same code for
 * both) keeps requests in flight; each worker serves one request at a time.
 */
import { pipelinedDealer } from "./clients.js";
import { interleave, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

/** 6/PPP queue throughput against a raw zeromq.js LRU broker. */
export const paranoidPirateBench: Benchmark = {
  name: "paranoid-pirate",
  description: "6/PPP queue + 2 workers vs a raw zeromq.js LRU broker + 2 raw workers (pipelined DEALER client)",
  async run(ctx) {
    const raw = await startServer("ppp-broker", ["raw"]);
    const ours = await startServer("ppp-broker", ["ours"]);
    const results: BenchRow[] = [];
    try {
      for (const [label, size, inFlight, total] of [
        ["32 B, 10 in flight", 32, 10, 5_000],
        ["32 B, 100 in flight", 32, 100, 5_000],
        ["1 KiB, 100 in flight", 1024, 100, 5_000],
      ] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const empty = Buffer.alloc(0);
        const frames = (i: number) => {
          const id = Buffer.allocUnsafe(4);
          id.writeInt32BE(i);
          return [id, empty, payload];
        };
        const m = await interleave(
          ctx.rounds,
          () => pipelinedDealer(raw.endpoint, total, inFlight, frames),
          () => pipelinedDealer(ours.endpoint, total, inFlight, frames),
        );
        ctx.log(`paranoid-pirate ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `LRU broker + 2 echo workers, ${label}`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      }
    } finally {
      await Promise.all([raw.stop(), ours.stop()]);
    }
    return { ratio: median(results.map((r) => r.ratio)), results };
  },
};
