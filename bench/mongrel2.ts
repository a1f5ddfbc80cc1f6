/**
 * `mongrel2`: requests/s of HTTP through Debian's mongrel2 to a Mongrel2Handler running a
 * node:http listener and back, under a Node load (keep-alive agent, 50 requests in flight),
 * against, in the same run: the same load through mongrel2 to a raw zeromq.js PULL/PUB loop
 * that answers every request with fixed bytes (the cost of our handler and adapter), and the
 * same listener on a plain http.createServer() (what putting mongrel2 in front costs); and, as
 * a note, Mongrel2Handler with a raw `onRequest` (no node:http adapter). Each
 * handler runs in its own process; rounds rotate the order.
 */
import * as http from "node:http";
import { launchMongrel2, mongrel2Available, type RunningMongrel2 } from "../patterns/mongrel2/launch.js";
import { median, startServer, type Benchmark, type BenchRow, type ServerProcess } from "./lib.js";

const CONCURRENCY = 50;
const TOTAL = 3000;

/** `total` GETs of `url` with `concurrency` in flight over a keep-alive agent. Returns req/s. */
async function load(url: string, total: number, concurrency: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          res.resume();
          res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        })
        .on("error", reject);
    });
  try {
    // warm-up: open the connections
    await Promise.all(Array.from({ length: concurrency }, get));
    let started = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started < total) {
          started++;
          await get();
        }
      }),
    );
    return total / ((performance.now() - t0) / 1000);
  } finally {
    agent.destroy();
  }
}

export const mongrel2Bench: Benchmark = {
  name: "mongrel2",
  description: "HTTP req/s through mongrel2 to Mongrel2Handler (node:http listener) vs a raw zeromq.js handler loop and vs the listener on http.createServer()",
  async run(ctx) {
    if (!mongrel2Available()) throw new Error("the mongrel2 bench needs mongrel2 and m2sh (apt-get install mongrel2-core)");
    const m2ours: RunningMongrel2 = await launchMongrel2();
    const m2raw: RunningMongrel2 = await launchMongrel2();
    const m2oursRaw: RunningMongrel2 = await launchMongrel2();
    const procs: ServerProcess[] = [];
    try {
      procs.push(await startServer("mongrel2", ["ours", m2ours.sendSpec, m2ours.recvSpec]));
      procs.push(await startServer("mongrel2", ["raw", m2raw.sendSpec, m2raw.recvSpec]));
      procs.push(await startServer("mongrel2", ["ours-raw", m2oursRaw.sendSpec, m2oursRaw.recvSpec]));
      const plain = await startServer("mongrel2", ["http"]);
      procs.push(plain);
      const cases: Record<"ours" | "raw" | "http" | "oursRaw", () => Promise<number>> = {
        oursRaw: () => load(`${m2oursRaw.url}/`, TOTAL, CONCURRENCY),
        ours: () => load(`${m2ours.url}/`, TOTAL, CONCURRENCY),
        raw: () => load(`${m2raw.url}/`, TOTAL, CONCURRENCY),
        http: () => load(`${plain.endpoint}/`, TOTAL, CONCURRENCY),
      };
      const order = ["ours", "raw", "http", "oursRaw"] as const;
      const got = { ours: [] as number[], raw: [] as number[], http: [] as number[], oursRaw: [] as number[] };
      const vsRaw: number[] = [];
      const vsHttp: number[] = [];
      const vsRawOursRaw: number[] = [];
      for (let i = 0; i < ctx.rounds; i++) {
        const round: Partial<Record<(typeof order)[number], number>> = {};
        for (let k = 0; k < order.length; k++) {
          const name = order[(i + k) % order.length]!;
          round[name] = await cases[name]();
          got[name].push(round[name]);
        }
        vsRaw.push(round.ours! / round.raw!);
        vsHttp.push(round.ours! / round.http!);
        vsRawOursRaw.push(round.oursRaw! / round.raw!);
        ctx.log(`mongrel2 round ${i + 1}: ours ${round.ours!.toFixed(0)} raw ${round.raw!.toFixed(0)} http ${round.http!.toFixed(0)} ours-raw ${round.oursRaw!.toFixed(0)} req/s`);
      }
      const results: BenchRow[] = [
        { case: `GET, keep-alive, ${CONCURRENCY} in flight: mongrel2+ours vs mongrel2+raw zeromq.js`, unit: "req/s", ours: median(got.ours), raw: median(got.raw), ratio: median(vsRaw), rounds: ctx.rounds },
        { case: `same: mongrel2+ours vs the listener on http.createServer()`, unit: "req/s", ours: median(got.ours), raw: median(got.http), ratio: median(vsHttp), rounds: ctx.rounds },
      ];
      const notes = [
        `the second row's "raw" column is plain http.createServer() (no mongrel2): ratio ${median(vsHttp).toFixed(3)}`,
        `Mongrel2Handler with a raw onRequest (no node:http adapter): ${median(got.oursRaw).toFixed(0)} req/s, ratio to the raw loop ${median(vsRawOursRaw).toFixed(3)}`,
      ];
      return { ratio: median(vsRaw), results, notes };
    } finally {
      await Promise.all(procs.map((p) => p.stop()));
      await Promise.all([m2ours.stop(), m2raw.stop(), m2oursRaw.stop()]);
    }
  },
};
