/**
 * `reactor`: echo throughput (DEALER pipelined, 100 in flight, 32 B and 1 KiB) through a
 * Reactor-based ROUTER echo versus a hand-written raw zeromq.js ROUTER echo.
 */
import { pipelinedDealer } from "./clients.js";
import { interleave, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

export const reactorBench: Benchmark = {
  name: "reactor",
  description: "ROUTER echo through the Reactor vs a raw zeromq.js echo loop (DEALER, 100 in flight)",
  async run(ctx) {
    const raw = await startServer("echo", ["raw"]);
    const ours = await startServer("echo", ["reactor"]);
    const results: BenchRow[] = [];
    try {
      for (const [label, size, total] of [["32 B", 32, 100_000], ["1 KiB", 1024, 50_000]] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const frames = () => [payload];
        const m = await interleave(
          ctx.rounds,
          () => pipelinedDealer(raw.endpoint, total, 100, frames),
          () => pipelinedDealer(ours.endpoint, total, 100, frames),
        );
        ctx.log(`reactor ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `echo ${label}, 100 in flight`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      }
    } finally {
      await Promise.all([raw.stop(), ours.stop()]);
    }
    return { ratio: median(results.map((r) => r.ratio)), results };
  },
};
