/**
 * `clone`: KVSET -> KVPUB updates/s through a CloneServer (a server process) with 1 and 10
 * subscribers, versus a raw zeromq.js SUB -> PUB forwarding loop in the same kind of process,
 * driven by the same raw sockets in this process (an XPUB sending KVSETs to the collector,
 * raw SUBs counting KVPUBs); the time to take a 100k-key snapshot (ICANHAZ? to KTHXBAI on a
 * raw DEALER) from a CloneServer versus a raw ROUTER replaying prebuilt messages; and the
 * server's RSS per 1M keys (measured in a child process: RSS before and after loading them),
 * versus a plain Map<string, Buffer> of the same keys and values.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { EMPTY } from "../src/index.js";
import { cloneEndpoints, encodeSequence, icanhazMessage } from "../patterns/clone/index.js";
import { interleave, median, startServer, type Benchmark, type BenchRow } from "./lib.js";

const VALUE = Buffer.alloc(32, 0x61);
const KEYS = Array.from({ length: 1000 }, (_, i) => Buffer.from(`/bench/${i}`));

/** Send `total` KVSETs to the server at `base`; resolves with updates/s once every one of `subs` subscribers got them all. */
async function updates(base: string, subscribers: number, total: number): Promise<number> {
  const ep = cloneEndpoints("bench", "endpoint", base);
  const xpub = new zmq.XPublisher({ sendHighWaterMark: 200_000, linger: 0 });
  const subs = Array.from({ length: subscribers }, () => new zmq.Subscriber({ receiveHighWaterMark: 200_000, linger: 0 }));
  try {
    xpub.connect(ep.collector);
    await xpub.receive(); // the collector subscribed
    for (const s of subs) {
      s.subscribe("/bench/");
      s.connect(ep.publisher);
    }
    const seq = encodeSequence(0);
    const kvset = (i: number) => [KEYS[i % KEYS.length]!, seq, EMPTY, EMPTY, VALUE];
    // Warm-up: each subscriber has heard one update (its subscription is in place).
    const warm = subs.map(async (s) => void (await s.receive()));
    const ticker = setInterval(() => void xpub.send(kvset(0)).catch(() => undefined), 20);
    await Promise.all(warm);
    clearInterval(ticker);
    // Drain what the warm-up left in flight.
    const counts = subs.map(() => 0);
    const t0 = performance.now();
    const done = subs.map(async (s, k) => {
      for await (const [key] of s) {
        if (key!.length === 0) continue;
        if (++counts[k]! >= total) return;
      }
    });
    for (let i = 0; i < total; i++) await xpub.send(kvset(i));
    await Promise.all(done);
    return total / ((performance.now() - t0) / 1000);
  } finally {
    xpub.close();
    for (const s of subs) s.close();
  }
}

/** Keys/s of one snapshot: ICANHAZ? to KTHXBAI on a raw DEALER. */
async function snapshot(base: string): Promise<number> {
  const dealer = new zmq.Dealer({ receiveHighWaterMark: 100_000, linger: 0 });
  try {
    dealer.connect(cloneEndpoints("bench", "endpoint", base).snapshot);
    const t0 = performance.now();
    await dealer.send(icanhazMessage(""));
    let keys = 0;
    for await (const [key] of dealer) {
      if (key!.toString() === "KTHXBAI") break;
      keys++;
    }
    return keys / ((performance.now() - t0) / 1000);
  } finally {
    dealer.close();
  }
}

const here = fileURLToPath(new URL(".", import.meta.url));

/** MB of RSS a child process grew by while loading `n` keys (`rss`: a CloneServer's store; `raw-rss`: a Map). */
async function rss(mode: "rss" | "raw-rss", n: number): Promise<number> {
  const proc = spawn(process.execPath, ["--expose-gc", `${here}servers/clone.js`, mode, String(n)], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once("line", resolve);
    proc.once("exit", (code) => reject(new Error(`clone ${mode} exited with ${code}`)));
  });
  await once(proc, "exit");
  const [, before, after] = line.split(" ").map(Number);
  return (after! - before!) / 1024 / 1024;
}

export const cloneBench: Benchmark = {
  name: "clone",
  description: "Clone: KVSET->KVPUB updates/s with 1 and 10 subscribers vs a raw SUB->PUB loop; 100k-key snapshot; server RSS per 1M keys",
  async run(ctx) {
    const results: BenchRow[] = [];
    const notes: string[] = [];
    const raw = await startServer("clone", ["raw"]);
    const ours = await startServer("clone", ["ours"]);
    try {
      for (const n of [1, 10]) {
        const total = n === 1 ? 50_000 : 20_000;
        const m = await interleave(
          ctx.rounds,
          () => updates(raw.endpoint, n, total),
          () => updates(ours.endpoint, n, total),
        );
        results.push({ case: `updates, ${n} subscriber${n > 1 ? "s" : ""}`, unit: "updates/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
        ctx.log(`clone updates ${n} subs: ours ${m.ours.toFixed(0)}/s raw ${m.raw.toFixed(0)}/s`);
      }
    } finally {
      await Promise.all([raw.stop(), ours.stop()]);
    }
    const keys = 100_000;
    const rawSnap = await startServer("clone", ["raw-snap", String(keys)]);
    const oursSnap = await startServer("clone", ["ours-snap", String(keys)]);
    try {
      const m = await interleave(
        ctx.rounds,
        () => snapshot(rawSnap.endpoint),
        () => snapshot(oursSnap.endpoint),
      );
      results.push({ case: "snapshot, 100k keys", unit: "keys/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      notes.push(`snapshot of 100k keys: ours ${((keys / m.ours) * 1000).toFixed(0)} ms, raw ROUTER replay ${((keys / m.raw) * 1000).toFixed(0)} ms`);
    } finally {
      await Promise.all([rawSnap.stop(), oursSnap.stop()]);
    }
    const million = 1_000_000;
    const oursMb = await rss("rss", million);
    const rawMb = await rss("raw-rss", million);
    results.push({ case: "RSS per 1M keys (MB, ratio raw/ours)", unit: "MB", ours: oursMb, raw: rawMb, ratio: rawMb / oursMb, rounds: 1 });
    notes.push(`server RSS for 1M keys (32-byte values): ${oursMb.toFixed(0)} MB; a plain Map<string, Buffer>: ${rawMb.toFixed(0)} MB`);
    return { ratio: median(results.slice(0, 2).map((r) => r.ratio)), results, notes };
  },
};
