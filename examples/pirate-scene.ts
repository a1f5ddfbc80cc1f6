/**
 * The Paranoid Pirate scene of the main demo: a 6/PPP queue, four workers (two steady, one
 * that is slow now and then, one in a child process that is killed or frozen, and restarted) and
 * four Lazy Pirate clients, with live progress once a second and a summary at the end.
 * `runDemo` (examples/demo.ts) calls {@link runPirateScene}; it runs from the build.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LazyPirateClient } from "../patterns/lazy-pirate/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker } from "../patterns/paranoid-pirate/index.js";
import type { RequestHandler } from "../src/index.js";

/** Options of {@link runPirateScene}. */
export interface PirateSceneOptions {
  /** How long the clients send requests, ms. */
  duration: number;
  /** Progress lines. */
  log: (line: string) => void;
  /** Stops the scene early. */
  signal?: AbortSignal;
  /** Clients. Default 4. */
  clients?: number;
  /** 6/PPP heartbeat interval, ms. Default 250 (so a purge takes 750 ms). */
  heartbeatInterval?: number;
}

/** What the scene measured. */
export interface PirateSummary {
  durationMs: number;
  requests: number;
  replies: number;
  /** Client resends after a timeout. */
  retries: number;
  /** Requests the clients gave up on. */
  abandoned: number;
  /** Requests the queue sent to another worker after theirs died. */
  redelivered: number;
  /** Workers the queue purged (expired or unreachable). */
  purged: number;
  /** Times the crashing worker was killed. */
  crashes: number;
  /** Reply latency percentiles as the clients saw them (retries included), ms. */
  p50: number;
  p99: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Run the scene; resolves with the summary once everything is closed. */
export async function runPirateScene(options: PirateSceneOptions): Promise<PirateSummary> {
  const { duration, log, signal } = options;
  const interval = options.heartbeatInterval ?? 250;
  const queue = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: interval });
  await queue.start();
  const frontend = queue.endpoints.frontend[0]!;
  const backend = queue.endpoints.backend[0]!;
  let purged = 0;
  queue.on("worker:expired", (e) => {
    purged++;
    log(`  ! worker ${e.id.toString("hex")} purged after ${e.silentMs.toFixed(0)} ms of silence${e.busy ? " (its request is redelivered)" : ""}`);
  });
  queue.on("worker:disconnected", (e) => {
    purged++;
    log(`  ! worker ${e.id.toString("hex")} is ${e.reason}${e.busy ? " (its request is redelivered)" : ""}`);
  });

  // Workers in this process: two steady, one that overloads now and then.
  const steady: RequestHandler = async (frames) => {
    await sleep(1 + Math.random() * 3);
    return frames;
  };
  const slow: RequestHandler = async (frames) => {
    await sleep(Math.random() < 0.08 ? 600 + Math.random() * 900 : 2 + Math.random() * 5);
    return frames;
  };
  const workers = [steady, steady, slow].map((handler) => new ParanoidPirateWorker({ endpoint: backend, handler, heartbeatInterval: interval }));

  // The crashing worker: a child process (the zpatterns CLI) killed and restarted.
  const cli = fileURLToPath(new URL("../patterns/cli/main.js", import.meta.url));
  let child: ChildProcess | undefined;
  let crashes = 0;
  let running = true;
  const startChild = () => {
    child = spawn(process.execPath, [cli, "worker", "--connect", backend, "--handler", "echo", "--heartbeat-interval", String(interval)], { stdio: "ignore" });
  };
  startChild();
  const chaos = (async () => {
    while (running) {
      await sleep(800 + Math.random() * 1200);
      if (!running) break;
      crashes++;
      if (crashes % 2 === 0) {
        // A hang: the process stops (SIGSTOP) and so do its heartbeats; the queue purges it
        // after liveness × interval of silence.
        log(`  ! crashing worker frozen (crash ${crashes}); the queue should purge it in ${3 * interval} ms`);
        child?.kill("SIGSTOP");
        await sleep(4 * interval);
      }
      child?.kill("SIGKILL");
      log(`  ! crashing worker killed (crash ${crashes}); restarting it`);
      await sleep(300);
      if (running) startChild();
    }
  })();

  // Lazy Pirate clients, each sending one request after another.
  const clients = Array.from({ length: options.clients ?? 4 }, () => new LazyPirateClient({ endpoint: frontend, requestTimeout: 1000, retries: 5 }));
  const latencies: number[] = [];
  let requests = 0;
  let replies = 0;
  let stopClients = false;
  const t0 = performance.now();
  const loops = clients.map(async (client, c) => {
    for (let n = 0; !stopClients; n++) {
      const sent = performance.now();
      requests++;
      try {
        const reply = await client.request(`client ${c} request ${n}`);
        if (reply.length === 1 && String(reply[0]) === `client ${c} request ${n}`) {
          replies++;
          latencies.push(performance.now() - sent);
        }
      } catch {
        // abandoned or closed: counted by the client
      }
    }
  });

  let last = 0;
  const progress = setInterval(() => {
    const s = queue.stats();
    const retries = clients.reduce((n, c) => n + c.stats().retries, 0);
    log(`  ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s  ${String(replies - last).padStart(5)} replies/s  workers ${s.workers} (idle ${s.idle})  retries ${retries}  redelivered ${s.redelivered}  purged ${purged}`);
    last = replies;
  }, 1000);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, duration);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
  clearInterval(progress);
  stopClients = true;
  running = false;
  const retries = clients.reduce((n, c) => n + c.stats().retries, 0);
  const abandoned = clients.reduce((n, c) => n + c.stats().abandoned, 0);
  const durationMs = performance.now() - t0;
  // Closing the clients rejects what is still in flight; the loops then end.
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(loops);
  await chaos;
  child?.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.close()));
  const s = queue.stats();
  await queue.close();
  latencies.sort((a, b) => a - b);
  return { durationMs, requests, replies, retries, abandoned, redelivered: s.redelivered, purged, crashes, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const summary = await runPirateScene({ duration: Number(process.argv[2] ?? 5000), log: console.log });
  console.log(summary);
}
