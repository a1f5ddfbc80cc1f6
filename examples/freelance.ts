/**
 * Freelance example (Guide ch4, 10/FLP): three servers and one client that knows them all.
 * The client pings the servers, spreads requests over the live ones, and keeps every request
 * answered while two of the three servers are shut down mid-stream (their requests in flight
 * time out and are retried on a live server).
 * Run: node dist/examples/freelance.js   (ends by itself)
 */
import { pathToFileURL } from "node:url";
import { freeTcpPort, upperHandler } from "../src/index.js";
import { FreelanceClient, FreelanceServer } from "../patterns/freelance/index.js";

/** Run the example; resolves with the client's counters. */
export async function main(log: (line: string) => void = console.log): Promise<ReturnType<FreelanceClient["stats"]>> {
  const servers: FreelanceServer[] = [];
  for (let i = 0; i < 3; i++) servers.push(await FreelanceServer.start({ bind: `tcp://127.0.0.1:${await freeTcpPort()}`, handler: upperHandler }));
  const client = new FreelanceClient({ endpoint: servers.map((s) => s.endpoint), pingInterval: 200, serverTtl: 600, requestTimeout: 300, retries: 5 });
  client.on("server:alive", (e) => log(`  server alive: ${e.endpoint}`));
  client.on("server:dead", (e) => log(`  server dead (${e.reason}): ${e.endpoint}`));
  try {
    await client.start();
    const pending: Promise<void>[] = [];
    for (let i = 1; i <= 30; i++) {
      pending.push(client.request(`hello ${i}`).then((reply) => log(`reply: ${reply.map(String).join(" ")}`)));
      if (i === 10 || i === 20) {
        const victim = servers[i / 10 - 1]!;
        log(`  shutting down ${victim.endpoint}`);
        await victim.close();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(pending);
    const stats = client.stats();
    log(`done: ${stats.replies} replies, ${stats.retries} retries, ${stats.abandoned} abandoned, ${stats.alive} server(s) alive`);
    return stats;
  } finally {
    await client.close();
    await Promise.all(servers.map((s) => s.close()));
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
