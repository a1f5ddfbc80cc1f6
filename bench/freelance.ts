/**
 * `freelance`: requests/s of a FreelanceClient (100 in flight) over 1 and 3 FreelanceServers
 * versus a raw zeromq.js ROUTER-to-ROUTER loop (the same 10/FLP frames, round-robin over the
 * servers) against raw zeromq.js servers, in the same run; and failover time: a request is in
 * flight on a server whose replies take 50 ms, that server is killed (-9), and the time from
 * the kill to the request's answer from the other server is measured (median of the rounds).
 * For comparison, the same for a Binary Star pair: kill -9 of the active server, the time to
 * the next answer of a Lazy Pirate client that lists both (the Guide's client: a timeout, then
 * a settle delay of 2 x heartbeat before the backup, which takes the client's vote once its
 * peer has expired).
 */
import * as zmq from "zeromq";
import { freeTcpEndpoint } from "../src/index.js";
import { FreelanceClient } from "../patterns/freelance/index.js";
import { LazyPirateClient } from "../patterns/lazy-pirate/index.js";
import { interleave, median, startServer, type Benchmark, type BenchRow, type ServerProcess } from "./lib.js";

const PAYLOAD = Buffer.alloc(32, 0x61);

/** Raw ROUTER client: `[server, ccf, payload]` round-robin over `servers`, `inFlight` outstanding. Returns req/s. */
async function rawClient(servers: string[], total: number, inFlight: number): Promise<number> {
  const router = new zmq.Router({ mandatory: true, sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, linger: 0 });
  for (const s of servers) router.connect(s);
  try {
    const ids = servers.map((s) => Buffer.from(s));
    // Warm-up: until each server is reachable (a ROUTER-to-ROUTER send fails until connected).
    for (const id of ids) {
      for (;;) {
        try {
          await router.send([id, Buffer.from([0, 0, 0, 0]), PAYLOAD]);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      await router.receive();
    }
    const t0 = performance.now();
    let sent = 0;
    const ccf = (i: number) => {
      const b = Buffer.allocUnsafe(4);
      b.writeUInt32BE(i >>> 0);
      return b;
    };
    for (; sent < Math.min(inFlight, total); sent++) await router.send([ids[sent % ids.length]!, ccf(sent), PAYLOAD]);
    for (let received = 0; received < total; received++) {
      await router.receive();
      if (sent < total) {
        await router.send([ids[sent % ids.length]!, ccf(sent), PAYLOAD]);
        sent++;
      }
    }
    return total / ((performance.now() - t0) / 1000);
  } finally {
    router.close();
  }
}

/** FreelanceClient with `inFlight` outstanding. Returns req/s. */
async function oursClient(servers: string[], total: number, inFlight: number): Promise<number> {
  const client = new FreelanceClient({ endpoint: servers, maxInFlight: inFlight, maxPending: inFlight, sendQueueLimit: 100_000 });
  try {
    await client.request(PAYLOAD); // warm-up: a server is alive
    const t0 = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < total) {
        next++;
        await client.request(PAYLOAD);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return total / ((performance.now() - t0) / 1000);
  } finally {
    await client.close();
  }
}

/** ms from kill -9 of the server a request is in flight on to that request's answer. */
async function failover(): Promise<number> {
  const a = await startServer("flp", ["slow", "1"]);
  const b = await startServer("flp", ["slow", "1"]);
  const byEndpoint = new Map<string, ServerProcess>([
    [a.endpoint, a],
    [b.endpoint, b],
  ]);
  const client = new FreelanceClient({ endpoint: [a.endpoint, b.endpoint], requestTimeout: 500, retries: 5, pingInterval: 200, serverTtl: 600 });
  try {
    for (let i = 0; i < 4; i++) await client.request(PAYLOAD);
    let t0 = 0;
    let armed = true;
    client.on("request:routed", (e) => {
      const victim = armed ? byEndpoint.get(e.servers[0] ?? "") : undefined;
      if (!victim) return;
      armed = false;
      t0 = performance.now();
      victim.proc.kill("SIGKILL");
    });
    await client.request(PAYLOAD);
    return performance.now() - t0;
  } finally {
    await client.close();
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** ms from kill -9 of the active Binary Star server to the next answered request. */
async function binaryStarFailover(heartbeat: number): Promise<number> {
  const ep = () => freeTcpEndpoint();
  const [pFront, bFront, pState, bState] = [await ep(), await ep(), await ep(), await ep()];
  const primary = await startServer("bstar", ["primary", pFront, pState, bState, String(heartbeat)]);
  const backup = await startServer("bstar", ["backup", bFront, bState, pState, String(heartbeat)]);
  const client = new LazyPirateClient({ endpoint: [pFront, bFront], requestTimeout: 500, retries: 5, failoverDelay: 2 * heartbeat + 100 });
  try {
    await new Promise((r) => setTimeout(r, 3 * heartbeat)); // the pair settles: primary active
    for (let i = 0; i < 10; i++) await client.request(PAYLOAD);
    const t0 = performance.now();
    primary.proc.kill("SIGKILL");
    await client.request(PAYLOAD);
    return performance.now() - t0;
  } finally {
    await client.close();
    await Promise.all([primary.stop(), backup.stop()]);
  }
}

export const freelanceBench: Benchmark = {
  name: "freelance",
  description: "FreelanceClient over 1 and 3 FreelanceServers vs a raw zeromq.js ROUTER-to-ROUTER loop; Freelance and Binary Star failover time after kill -9",
  async run(ctx) {
    const results: BenchRow[] = [];
    const notes: string[] = [];
    for (const n of [1, 3]) {
      const raw = await startServer("flp", ["raw", String(n)]);
      const ours = await startServer("flp", ["ours", String(n)]);
      try {
        const total = 20_000;
        const m = await interleave(
          ctx.rounds,
          () => rawClient(raw.endpoint.split(","), total, 100),
          () => oursClient(ours.endpoint.split(","), total, 100),
        );
        ctx.log(`freelance ${n} server(s): ours ${m.ours.toFixed(0)} raw ${m.raw.toFixed(0)} ratio ${m.ratio.toFixed(3)}`);
        results.push({ case: `32 B, 100 in flight, ${n} server${n > 1 ? "s" : ""}`, unit: "req/s", ours: m.ours, raw: m.raw, ratio: m.ratio, rounds: ctx.rounds });
      } finally {
        await Promise.all([raw.stop(), ours.stop()]);
      }
    }
    const times: number[] = [];
    for (let i = 0; i < ctx.rounds; i++) times.push(await failover());
    notes.push(`Freelance failover (kill -9 of the server a request is in flight on, 2 servers, requestTimeout 500): median ${median(times).toFixed(1)} ms (${times.map((t) => t.toFixed(1)).join(", ")})`);
    const bstar: number[] = [];
    for (let i = 0; i < ctx.rounds; i++) bstar.push(await binaryStarFailover(200));
    notes.push(`Binary Star failover (kill -9 of the active server; heartbeat 200 ms, requestTimeout 500, settle delay 500): median ${median(bstar).toFixed(1)} ms (${bstar.map((t) => t.toFixed(1)).join(", ")})`);
    return { ratio: median(results.map((r) => r.ratio)), results, notes };
  },
};
