/**
 * `lazy-pirate`: sequential request-reply round trips through a LazyPirateClient versus a raw
 * zeromq.js REQ socket, both against the same raw REP echo server process. Target ratio >= 0.9.
 */
import * as zmq from "zeromq";
import { LazyPirateClient } from "../patterns/lazy-pirate/index.js";
import { interleave, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

async function rawReq(endpoint: string, total: number, payload: Buffer): Promise<number> {
  const req = new zmq.Request({ linger: 0 });
  req.connect(endpoint);
  try {
    await req.send(payload);
    await req.receive();
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      await req.send(payload);
      await req.receive();
    }
    return total / ((performance.now() - t0) / 1000);
  } finally {
    req.close();
  }
}

async function lazyPirate(endpoint: string, total: number, payload: Buffer): Promise<number> {
  const client = new LazyPirateClient({ endpoint });
  try {
    await client.request(payload);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) await client.request(payload);
    return total / ((performance.now() - t0) / 1000);
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
    try {
      for (const [label, size, total] of [["32 B", 32, 5000], ["1 KiB", 1024, 5000]] as const) {
        const payload = Buffer.alloc(size, 0x61);
        const m = await interleave(
          ctx.rounds,
          () => rawReq(server.endpoint, total, payload),
          () => lazyPirate(server.endpoint, total, payload),
        );
        ctx.log(`lazy-pirate ${label}: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `REQ-REP round trip ${label}`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      }
    } finally {
      await server.stop();
    }
    return { ratio: median(results.map((r) => r.ratio)), results };
  },
};
