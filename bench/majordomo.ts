/**
 * `majordomo`: requests/s through our MajordomoBroker versus a minimal hand-written raw
 * zeromq.js MDP/0.1 service router, in the same run. Both are driven by the same pipelined
 * raw DEALER client speaking MDP/0.1 (100 requests in flight) and served by the same two raw
 * echo workers (in a process of their own), so the only difference is the broker.
 * With one-request-at-a-time workers the run is latency bound, so the broker's CPU time per
 * request (requests per broker CPU-second) is reported too.
 */
import { pipelinedDealer } from "./clients.js";
import { interleave, median, startServer, type Benchmark, type BenchRow, type ServerProcess } from "./lib.js";

/** The server's CPU time so far, µs (it prints `CPU <µs>` on SIGUSR2). */
async function cpuTime(server: ServerProcess): Promise<number> {
  const seen = server.lines.length;
  server.proc.kill("SIGUSR2");
  for (let i = 0; i < 500; i++) {
    const line = server.lines.slice(seen).find((l) => l.startsWith("CPU "));
    if (line) return Number(line.slice(4));
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("server did not report its CPU time");
}

/** Run the client against `server` and return [req/s, requests per broker CPU-second]. */
async function measure(server: ServerProcess, total: number, frames: () => unknown[]): Promise<[number, number]> {
  const before = await cpuTime(server);
  const rate = await pipelinedDealer(server.endpoint, total, 100, frames as never);
  const used = (await cpuTime(server)) - before;
  return [rate, (total + 1) / (used / 1e6)];
}

export const majordomoBench: Benchmark = {
  name: "majordomo",
  description: "MDP/0.1 echo through MajordomoBroker vs a raw zeromq.js service router (1 pipelined client, 2 workers)",
  async run(ctx) {
    const raw = await startServer("majordomo", ["raw"]);
    const ours = await startServer("majordomo", ["ours"]);
    const workers = await Promise.all([startServer("majordomo", ["workers", raw.endpoint, "2", "echo"]), startServer("majordomo", ["workers", ours.endpoint, "2", "echo"])]);
    const results: BenchRow[] = [];
    const cpuRows: BenchRow[] = [];
    try {
      for (const [label, size, total] of [["32 B", 32, 30_000], ["1 KiB", 1024, 20_000]] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const frames = () => ["", "MDPC01", "echo", payload];
        const cpu = { ours: [] as number[], raw: [] as number[] };
        const m = await interleave(
          ctx.rounds,
          async () => {
            const [rate, perCpu] = await measure(raw, total, frames);
            cpu.raw.push(perCpu);
            return rate;
          },
          async () => {
            const [rate, perCpu] = await measure(ours, total, frames);
            cpu.ours.push(perCpu);
            return rate;
          },
        );
        ctx.log(`majordomo ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `MDP echo ${label}, 2 workers, 100 in flight`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
        const cpuRatio = median(cpu.ours.map((o, i) => o / cpu.raw[i]!));
        cpuRows.push({ case: `  broker CPU: ${label}`, unit: "req/cpu-s", ours: median(cpu.ours), raw: median(cpu.raw), ratio: cpuRatio, rounds: ctx.rounds });
      }
    } finally {
      await Promise.all([raw.stop(), ours.stop(), ...workers.map((w) => w.stop())]);
    }
    // The headline ratio is throughput; CPU rows show the broker's own cost per request.
    return { ratio: median(results.map((r) => r.ratio)), results: [...results, ...cpuRows] };
  },
};
