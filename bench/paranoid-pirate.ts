/**
 * `paranoid-pirate`: requests/s through ParanoidPirateQueue + 2 ParanoidPirateWorkers versus a
 * minimal hand-written raw zeromq.js LRU broker with 2 raw workers, in the same run. One
 * pipelined client (raw zeromq.js DEALER, `[requestId, EMPTY, payload]`, the same code for
 * both) keeps requests in flight; each worker serves one request at a time.
 */
import { RequestStamper } from "../src/index.js";
import { pipelinedDealer } from "./clients.js";
import { interleave, median, startServer, type Benchmark, type BenchRow, type ServerProcess } from "./lib.js";

/** The server process's CPU time so far (µs), asked with SIGUSR2. */
async function serverCpu(server: ServerProcess): Promise<number> {
  const seen = server.lines.length;
  server.proc.kill("SIGUSR2");
  for (let i = 0; i < 1000; i++) {
    const line = server.lines.slice(seen).find((l) => l.startsWith("CPU "));
    if (line) return Number(line.slice(4));
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error("the server did not report its CPU time");
}

/** Run the client against `server`; log the server's CPU µs per request; return req/s. */
async function measured(server: ServerProcess, cpu: number[], total: number, inFlight: number, frames: (i: number) => Buffer[]): Promise<number> {
  const c0 = await serverCpu(server);
  const rate = await pipelinedDealer(server.endpoint, total, inFlight, frames);
  cpu.push(((await serverCpu(server)) - c0) / total);
  return rate;
}

/** 6/PPP queue throughput against a raw zeromq.js LRU broker. */
export const paranoidPirateBench: Benchmark = {
  name: "paranoid-pirate",
  description: "6/PPP queue + 2 workers vs a raw zeromq.js LRU broker + 2 raw workers (pipelined DEALER client)",
  async run(ctx) {
    const raw = await startServer("ppp-broker", ["raw"]);
    const ours = await startServer("ppp-broker", ["ours"]);
    const oursXo = await startServer("ppp-broker", ["ours-xo"]);
    const results: BenchRow[] = [];
    const notes: string[] = ["server CPU per request (user + system, µs; median; lower is better; the wall-clock ratio is noisy on a loaded machine):"];
    try {
      // exactly-once: each request carries a stamp (src/exactly-once.ts) that our workers strip,
      // look up and cache the reply under; the raw workers echo it like any frame.
      const stamper = new RequestStamper("bench-client");
      let stampId = 0;
      for (const [label, size, inFlight, total, xo] of [
        ["32 B, 10 in flight", 32, 10, 5_000, false],
        ["32 B, 100 in flight", 32, 100, 5_000, false],
        ["1 KiB, 100 in flight", 1024, 100, 5_000, false],
        ["32 B, 100 in flight, exactly-once (stamped, replies cached)", 32, 100, 5_000, true],
      ] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const empty = Buffer.alloc(0);
        const frames = (i: number) => {
          const id = Buffer.allocUnsafe(4);
          id.writeInt32BE(i);
          return xo ? [id, empty, stamper.frame(++stampId), payload] : [id, empty, payload];
        };
        const cpu = { raw: [] as number[], ours: [] as number[] };
        const m = await interleave(
          ctx.rounds,
          () => measured(raw, cpu.raw, total, inFlight, frames),
          () => measured(xo ? oursXo : ours, cpu.ours, total, inFlight, frames),
        );
        const cpuRaw = median(cpu.raw);
        const cpuOurs = median(cpu.ours);
        ctx.log(`paranoid-pirate ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}; server CPU/request ours ${cpuOurs.toFixed(1)} µs raw ${cpuRaw.toFixed(1)} µs`);
        notes.push(`  ${label}: ours ${cpuOurs.toFixed(1)} µs, raw ${cpuRaw.toFixed(1)} µs (raw/ours ${(cpuRaw / cpuOurs).toFixed(3)})`);
        results.push({ case: `LRU broker + 2 echo workers, ${label}`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      }
    } finally {
      await Promise.all([raw.stop(), ours.stop(), oursXo.stop()]);
    }
    return { ratio: median(results.map((r) => r.ratio)), results, notes };
  },
};
