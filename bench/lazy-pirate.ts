/**
 * `lazy-pirate`: sequential request-reply round trips through a LazyPirateClient versus a raw
 * zeromq.js REQ socket, both against the same raw REP echo server process. Target ratio >= 0.9.
 */
import * as zmq from "zeromq";
import { LazyPirateClient } from "../patterns/lazy-pirate/index.js";
import { interleave, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

/** Client-side CPU time per request (user + system, µs) of each timed run, by side. */
type CpuLog = { raw: number[]; ours: number[] };

/** Time `run` (which does `total` requests); log its CPU µs/request; return req/s. */
async function timed(total: number, cpu: number[], run: () => Promise<void>): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const elapsed = performance.now() - t0;
  const c = process.cpuUsage(c0);
  cpu.push((c.user + c.system) / total);
  return total / (elapsed / 1000);
}

async function rawReq(endpoint: string, total: number, payload: Buffer, cpu: number[]): Promise<number> {
  const req = new zmq.Request({ linger: 0 });
  req.connect(endpoint);
  try {
    await req.send(payload);
    await req.receive();
    return await timed(total, cpu, async () => {
      for (let i = 0; i < total; i++) {
        await req.send(payload);
        await req.receive();
      }
    });
  } finally {
    req.close();
  }
}

async function lazyPirate(endpoint: string, total: number, payload: Buffer, cpu: number[]): Promise<number> {
  const client = new LazyPirateClient({ endpoint });
  try {
    await client.request(payload);
    return await timed(total, cpu, async () => {
      for (let i = 0; i < total; i++) await client.request(payload);
    });
  } finally {
    await client.close();
  }
}

export const lazyPirateBench: Benchmark = {
  name: "lazy-pirate",
  description: "Sequential round trips: LazyPirateClient vs a raw zeromq.js REQ, same raw REP echo server",
  async run(ctx) {
    const server = await startServer("rep-echo", []);
    const results: BenchRow[] = [];
    const notes: string[] = [];
    try {
      for (const [label, size, total] of [["32 B", 32, 5000], ["1 KiB", 1024, 5000]] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const cpu: CpuLog = { raw: [], ours: [] };
        const m = await interleave(
          ctx.rounds,
          () => rawReq(server.endpoint, total, payload, cpu.raw),
          () => lazyPirate(server.endpoint, total, payload, cpu.ours),
        );
        notes.push(`${label}: client CPU per request (median) ours ${median(cpu.ours).toFixed(1)} µs, raw ${median(cpu.raw).toFixed(1)} µs`);
        ctx.log(`lazy-pirate ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `REQ-REP round trip ${label}`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      }
    } finally {
      await server.stop();
    }
    return { ratio: median(results.map((r) => r.ratio)), results, notes };
  },
};
