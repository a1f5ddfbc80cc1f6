/**
 * Binary Star example: a primary and a backup server (`zpatterns bstar`, two processes) and a
 * Lazy Pirate client that lists both frontends. Part-way through, the primary is killed with
 * SIGKILL; the client times out, waits its failover delay, resends to the backup, which takes
 * the vote and answers: every request is answered.
 * Run: node dist/examples/binary-star.js [REQUESTS]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { freeTcpEndpoint } from "../src/index.js";
import { LazyPirateClient } from "../patterns/lazy-pirate/index.js";

const CLI = fileURLToPath(new URL("../patterns/cli/main.js", import.meta.url));
const HEARTBEAT = 200; // the peer expires after 400 ms

/** Start one server; resolves once it printed its ready line. Its state changes go to `log`. */
function server(role: string, frontend: string, local: string, remote: string, log: (line: string) => void): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, "bstar", "--role", role, "--frontend", frontend, "--local", local, "--remote", remote, "--handler", "upper", "--heartbeat-interval", String(HEARTBEAT)], { stdio: ["ignore", "pipe", "pipe"] });
  createInterface({ input: child.stderr! }).on("line", (l) => log(`${role}: ${l}`));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (l) => l.startsWith("bstar ready") && resolve(child));
    child.once("exit", (code) => reject(new Error(`${role} exited (${code}) before it was ready`)));
  });
}

/** Run `requests` requests while the active server is killed; resolves with what happened. */
export async function binaryStarExample(requests = 60, log: (line: string) => void = console.log): Promise<{ answered: number; failovers: number }> {
  const [pFront, bFront, pState, bState] = [await freeTcpEndpoint(), await freeTcpEndpoint(), await freeTcpEndpoint(), await freeTcpEndpoint()];
  const primary = await server("primary", pFront, pState, bState, log);
  const backup = await server("backup", bFront, bState, pState, log);
  // The Guide's client: one server at a time, a timeout, then a settle delay before the other.
  const client = new LazyPirateClient({ endpoint: [pFront, bFront], requestTimeout: 500, retries: 5, failoverDelay: 2 * HEARTBEAT + 100 });
  client.on("endpoint:failover", (e) => log(`client: no answer from ${e.from}, moving to ${e.to}`));
  let answered = 0;
  try {
    // Wait for the pair to settle (primary active) before the stream starts.
    await new Promise((r) => setTimeout(r, 3 * HEARTBEAT));
    for (let i = 1; i <= requests; i++) {
      if (i === Math.floor(requests / 3)) {
        log(`${answered} answered: kill -9 the primary`);
        primary.kill("SIGKILL");
      }
      const reply = await client.request(`request ${i}`);
      if (String(reply[0]) !== `REQUEST ${i}`) throw new Error(`wrong reply to request ${i}: ${String(reply[0])}`);
      answered++;
    }
    log(`${answered}/${requests} answered, ${client.stats().failovers} failover(s)`);
    return { answered, failovers: client.stats().failovers };
  } finally {
    await client.close();
    for (const child of [primary, backup]) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 60);
  const result = await binaryStarExample(n);
  process.exitCode = result.answered === n ? 0 : 1;
}
