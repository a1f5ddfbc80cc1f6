/**
 * `hwm`: a stalled subscriber at HWM 100, 1,000, 10,000 and 100,000. The publisher sends
 * max(20,000, 2 x HWM) 1 KiB messages; we report the publisher's RSS growth, the messages
 * dropped (sent minus what the subscriber finds when it finally reads) and the publish rate,
 * for a PubSubServer (ROUTER, one stalled DEALER) and for raw zeromq.js PUB/SUB (one stalled
 * SUB), side by side. One round per HWM (each round moves up to 200 MiB).
 */
import * as zmq from "zeromq";
import { barChart, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

interface Result {
  count: number;
  rate: number;
  rssGrowth: number;
  dropsReported: number;
}

async function stalled(mode: "ours" | "raw", hwm: number, count: number): Promise<Result & { received: number }> {
  const server = await startServer("pubsub", [mode, "hwm", String(hwm)]);
  const control = new zmq.Push({ linger: 0 });
  control.connect(server.lines.find((l) => l.startsWith("CONTROL "))!.slice(8));
  let sub: zmq.Dealer | zmq.Subscriber;
  try {
    if (mode === "ours") {
      const d = new zmq.Dealer({ linger: 0, receiveHighWaterMark: hwm, receiveTimeout: 1000 });
      d.connect(server.endpoint);
      await d.send(["ZPS/1", "HELLO", "bench", "x", "t."]);
      await d.receive(); // 201, then stop reading
      sub = d;
    } else {
      const s = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: hwm, receiveTimeout: 1000 });
      s.connect(server.endpoint);
      s.subscribe("t.");
      await new Promise((r) => setTimeout(r, 300)); // let the subscription reach the PUB
      sub = s;
    }
    await control.send(["go", String(count), "1024"]);
    let line: string | undefined;
    while (!(line = server.lines.find((l) => l.startsWith("RESULT ")))) await new Promise((r) => setTimeout(r, 20));
    const result = JSON.parse(line.slice(7)) as Result;
    let received = 0;
    try {
      for (;;) {
        const msg = await sub.receive();
        if (mode === "raw" || msg[1]?.toString() === "MESSAGE") received++;
      }
    } catch {
      // receive timeout: the subscriber has read everything that was kept for it
    }
    return { ...result, received };
  } finally {
    control.close();
    sub!.close();
    await server.stop();
  }
}

/** The `hwm` benchmark (see the module documentation). */
export const hwmBench: Benchmark = {
  name: "hwm",
  description: "Stalled subscriber at HWM 100..100k: publisher RSS growth, drops, publish rate (PubSubServer vs raw PUB/SUB)",
  async run(ctx) {
    const results: BenchRow[] = [];
    const notes: string[] = [];
    const rss: { label: string; value: number; unit?: string }[] = [];
    const rows: string[] = [];
    for (const hwm of [100, 1000, 10_000, 100_000]) {
      const count = Math.max(20_000, 2 * hwm);
      const raw = await stalled("raw", hwm, count);
      const ours = await stalled("ours", hwm, count);
      ctx.log(`hwm ${hwm}: ours ${JSON.stringify(ours)} raw ${JSON.stringify(raw)}`);
      results.push({ case: `publish rate, HWM ${hwm}, ${count} x 1 KiB`, unit: "msgs/s", ours: ours.rate, raw: raw.rate, ratio: ours.rate / raw.rate, rounds: 1 });
      const mib = (b: number) => b / 1024 / 1024;
      rss.push({ label: `HWM ${hwm} ours`, value: mib(ours.rssGrowth), unit: "MiB" }, { label: `HWM ${hwm} raw PUB`, value: mib(raw.rssGrowth), unit: "MiB" });
      rows.push(
        `HWM ${String(hwm).padStart(6)}  sent ${count}  | ours: dropped ${count - ours.received} (reported ${ours.dropsReported}), RSS +${mib(ours.rssGrowth).toFixed(1)} MiB` +
          `  | raw PUB: dropped ${count - raw.received} (reported: none), RSS +${mib(raw.rssGrowth).toFixed(1)} MiB`,
      );
    }
    notes.push("", ...rows, "", barChart("Publisher RSS growth with one stalled subscriber", rss.map((r) => ({ ...r, value: Math.max(0, r.value) }))));
    return { ratio: median(results.map((r) => r.ratio)), results, notes };
  },
};
