/**
 * What a request held in a broker's backlog costs in memory (issue 14: "held requests cost
 * at most ~2x their payload plus a small fixed overhead").
 *
 * For each broker (Simple Pirate, 6/PPP, Majordomo) and payload size, a child process
 * (`node --expose-gc`) runs the broker alone, with no workers and no request deadline; this
 * process sends it N requests from a raw DEALER; the child waits until all N are held
 * (`stats().pending`), collects garbage and prints the growth of heap + external memory
 * (and RSS) per held request, against a baseline taken after a warm-up of the same size.
 *
 * Usage (after `npm run build`): `node dist/bench/held-memory.js [N] [SIZE...]`
 * (default N 100000, sizes 1 and 1024). Prints one table; `--json` prints JSON lines.
 * @module
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { MajordomoBroker } from "../patterns/majordomo/index.js";
import { ParanoidPirateQueue } from "../patterns/paranoid-pirate/index.js";
import { SimplePirateQueue } from "../patterns/simple-pirate/index.js";

const BROKERS = ["simple-pirate", "paranoid-pirate", "majordomo"] as const;
type BrokerName = (typeof BROKERS)[number];
const EMPTY = Buffer.alloc(0);
const MDPC01 = Buffer.from("MDPC01");
const SERVICE = Buffer.from("echo");
const WARMUP = 2000;

/** One measurement, as the child prints it. */
export interface HeldMemory {
  broker: BrokerName;
  size: number;
  requests: number;
  /** (heapUsed + external) growth per held request, bytes. */
  bytesPerRequest: number;
  /** RSS growth per held request, bytes. */
  rssPerRequest: number;
  /** bytesPerRequest / size. */
  ratio: number;
}

function usage(): { total: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  const m = process.memoryUsage();
  return { total: m.heapUsed + m.external, rss: m.rss };
}

/** The child: run `broker` with no workers; report memory once `n` requests are held. */
async function child(broker: BrokerName, size: number, n: number): Promise<void> {
  const limits = { maxPending: n + WARMUP, pendingTimeout: 0, sendQueueLimit: 10 };
  const frontendOptions = { frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", ...limits };
  const b = broker === "majordomo" ? new MajordomoBroker({ bind: "tcp://127.0.0.1:*", highWaterMark: 1000, ...limits }) : broker === "simple-pirate" ? new SimplePirateQueue(frontendOptions) : new ParanoidPirateQueue(frontendOptions);
  await b.start();
  const endpoint = b instanceof MajordomoBroker ? b.endpoints[0] : b.endpoints.frontend[0];
  const waitFor = async (pending: number) => {
    while (b.stats().pending < pending) await new Promise((r) => setTimeout(r, 20));
  };
  process.stdout.write(`READY ${endpoint}\n`);
  const lines = createInterface({ input: process.stdin });
  let before = { total: 0, rss: 0 };
  for await (const line of lines) {
    if (line === "WARM") {
      await waitFor(WARMUP);
      before = usage();
      process.stdout.write("WARMED\n");
    } else if (line === "MEASURE") {
      await waitFor(WARMUP + n);
      const after = usage();
      const bytesPerRequest = (after.total - before.total) / n;
      const result: HeldMemory = { broker, size, requests: n, bytesPerRequest: Math.round(bytesPerRequest), rssPerRequest: Math.round((after.rss - before.rss) / n), ratio: Number((bytesPerRequest / size).toFixed(2)) };
      process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
      break;
    }
  }
  await b.close();
  process.exit(0);
}

async function send(dealer: zmq.Dealer, broker: BrokerName, body: Buffer, count: number): Promise<void> {
  const frames = broker === "majordomo" ? [EMPTY, MDPC01, SERVICE, body] : [EMPTY, body];
  for (let i = 0; i < count; i++) await dealer.send(frames);
}

/** The parent: one child per case. */
async function measure(broker: BrokerName, size: number, n: number): Promise<HeldMemory> {
  const proc = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "child", broker, String(size), String(n)], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const next = async (prefix: string): Promise<string> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`${broker}: child exited before ${prefix}`);
      if ((value as string).startsWith(prefix)) return (value as string).slice(prefix.length).trim();
    }
  };
  const endpoint = await next("READY");
  const dealer = new zmq.Dealer({ sendHighWaterMark: 0, linger: 0 });
  dealer.connect(endpoint);
  try {
    const body = Buffer.alloc(size, 0x61);
    await send(dealer, broker, body, WARMUP);
    proc.stdin!.write("WARM\n");
    await next("WARMED");
    await send(dealer, broker, body, n);
    proc.stdin!.write("MEASURE\n");
    return JSON.parse(await next("RESULT")) as HeldMemory;
  } finally {
    dealer.close();
    proc.stdin!.end();
    if (proc.exitCode === null) proc.kill("SIGTERM");
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "child") return child(args[1] as BrokerName, Number(args[2]), Number(args[3]));
  const json = args.includes("--json");
  const nums = args.filter((a) => a !== "--json").map(Number);
  const n = nums[0] ?? 100_000;
  const sizes = nums.length > 1 ? nums.slice(1) : [1, 1024];
  if (!json) process.stdout.write(`held requests: ${n} per case (heap + external growth per request, after gc)\n${"broker".padEnd(16)} ${"payload".padStart(8)} ${"bytes/req".padStart(10)} ${"rss/req".padStart(9)} ${"x payload".padStart(10)}\n`);
  for (const broker of BROKERS) {
    for (const size of sizes) {
      const r = await measure(broker, size, n);
      if (json) process.stdout.write(JSON.stringify(r) + "\n");
      else process.stdout.write(`${broker.padEnd(16)} ${String(size).padStart(8)} ${String(r.bytesPerRequest).padStart(10)} ${String(r.rssPerRequest).padStart(9)} ${r.ratio.toFixed(2).padStart(10)}\n`);
    }
  }
}

await main();
