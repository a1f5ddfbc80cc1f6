/**
 * `pubsub`: fan-out throughput. One publisher process sends 32-byte messages to 1, 10 and
 * 100 subscribers (DEALERs in this process); we measure copies delivered per second through
 * a PubSubServer versus a hand-written raw zeromq.js ROUTER loop sending the same copies
 * (same frames, same socket options), rounds interleaved.
 */
import * as zmq from "zeromq";
import { interleave, median, startServer, type Benchmark, type BenchRow, type ServerProcess } from "./lib.js";

/** Subscribers connected to one server; `round()` measures one burst. */
export interface Audience {
  round(count: number, size: number): Promise<number>;
  close(): void;
}

/** Connect `n` DEALER subscribers (a HELLO in `version`, allow-any) and wait for their sessions. */
export async function audience(server: ServerProcess, n: number, hwm: number, version: "ZPS/1" | "ZPS/1.1" = "ZPS/1"): Promise<Audience> {
  const control = new zmq.Push({ linger: 0 });
  control.connect(server.lines.find((l) => l.startsWith("CONTROL "))!.slice(8));
  const subs: zmq.Dealer[] = [];
  let received = 0;
  for (let i = 0; i < n; i++) {
    const d = new zmq.Dealer({ linger: 0, receiveHighWaterMark: hwm });
    d.connect(server.endpoint);
    await d.send([version, "HELLO", "bench", "x", "t."]);
    await d.receive();
    subs.push(d);
    void (async () => {
      for await (const _ of d) received++;
    })().catch(() => undefined);
  }
  return {
    async round(count, size) {
      const expected = count * n;
      const start = received;
      const t0 = performance.now();
      await control.send(["go", String(count), String(size)]);
      let last = received;
      let lastChange = performance.now();
      while (received - start < expected) {
        await new Promise((r) => setTimeout(r, 5));
        if (received !== last) {
          last = received;
          lastChange = performance.now();
        } else if (performance.now() - lastChange > 2000) break; // drops: stop waiting
      }
      return (received - start) / ((performance.now() - t0) / 1000);
    },
    close() {
      control.close();
      for (const d of subs) d.close();
    },
  };
}

/** The `pubsub` benchmark (see the module documentation). */
export const pubsubBench: Benchmark = {
  name: "pubsub",
  description: "Fan-out copies/s to 1, 10, 100 subscribers: PubSubServer vs a raw zeromq.js ROUTER loop",
  async run(ctx) {
    const results: BenchRow[] = [];
    // ZPS/1.1 (§3.7): each copy stamped with the subscriber's sequence number and the send
    // time; the raw loop then stamps too, with a counter per identity.
    for (const [n, version] of [[1, "ZPS/1"], [10, "ZPS/1"], [100, "ZPS/1"], [10, "ZPS/1.1"]] as const) {
      const count = Math.round(100_000 / n);
      const raw = await startServer("pubsub", ["raw", "fanout", "100000"]);
      const ours = await startServer("pubsub", ["ours", "fanout", "100000"]);
      const a = await audience(raw, n, 100_000, version);
      const b = await audience(ours, n, 100_000, version);
      try {
        const m = await interleave(ctx.rounds, () => a.round(count, 32), () => b.round(count, 32));
        ctx.log(`pubsub ${n} ${version} subscribers: ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `fan-out to ${n}, 32 B${version === "ZPS/1.1" ? ", ZPS/1.1 stamped" : ""}`, unit: "copies/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      } finally {
        a.close();
        b.close();
        await Promise.all([raw.stop(), ours.stop()]);
      }
    }
    return { ratio: median(results.map((r) => r.ratio)), results };
  },
};
