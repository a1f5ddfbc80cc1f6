/**
 * `majordomo`: requests/s through our MajordomoBroker versus a minimal hand-written raw
 * zeromq.js MDP/0.1 service router, in the same run. Both are driven by the same pipelined
 * raw DEALER client speaking MDP/0.1 (100 requests in flight) and served by the same two raw
 * echo workers (each in a process of their own), so the only difference is the broker.
 */
import { pipelinedDealer } from "./clients.js";
import { interleave, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

export const majordomoBench: Benchmark = {
  name: "majordomo",
  description: "MDP/0.1 echo through MajordomoBroker vs a raw zeromq.js service router (1 pipelined client, 2 workers)",
  async run(ctx) {
    const raw = await startServer("majordomo", ["raw"]);
    const ours = await startServer("majordomo", ["ours"]);
    const workers = await Promise.all([startServer("majordomo", ["workers", raw.endpoint, "2", "echo"]), startServer("majordomo", ["workers", ours.endpoint, "2", "echo"])]);
    const results: BenchRow[] = [];
    try {
      for (const [label, size, total] of [["32 B", 32, 30_000], ["1 KiB", 1024, 20_000]] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const frames = () => ["", "MDPC01", "echo", payload];
        const m = await interleave(
          ctx.rounds,
          () => pipelinedDealer(raw.endpoint, total, 100, frames),
          () => pipelinedDealer(ours.endpoint, total, 100, frames),
        );
        ctx.log(`majordomo ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `MDP echo ${label}, 2 workers, 100 in flight`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      }
    } finally {
      await Promise.all([raw.stop(), ours.stop(), ...workers.map((w) => w.stop())]);
    }
    return { ratio: median(results.map((r) => r.ratio)), results };
  },
};
