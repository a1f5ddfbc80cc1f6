/**
 * Clone example: a CloneServer, a client that updates a few configuration keys (one with a
 * ttl), a watcher of the `/config/` subtree printing every change, and a late joiner that gets
 * the whole map in its snapshot.
 * Run: node dist/examples/clone.js
 */
import { freeTcpPortRange } from "../src/index.js";
import { CloneClient, CloneServer } from "../patterns/clone/index.js";

/** Run the example; resolves with the late joiner's map. */
export async function cloneExample(log: (line: string) => void = console.log): Promise<Record<string, string>> {
  const server = await CloneServer.start({ bind: `tcp://127.0.0.1:${await freeTcpPortRange(3)}` });
  const writer = new CloneClient({ endpoint: server.endpoints.base });
  const watcher = new CloneClient({ endpoint: server.endpoints.base, subtree: "/config/" });
  try {
    watcher.on("kv:changed", (c) => log(`watcher: ${c.key} = ${c.value?.toString() ?? "(deleted)"}`));
    await Promise.all([writer.synced(), watcher.synced()]);
    // The ttl's delete is the last update: the writer seeing it means everything is published.
    const expired = new Promise<void>((resolve) => writer.on("kv:changed", (c) => c.key === "/config/session" && c.value === undefined && resolve()));
    await writer.set("/config/colour", "blue");
    await writer.set("/config/size", "large");
    await writer.set("/config/session", "abc", { ttl: 0.5 });
    await writer.set("/stats/hits", "42");
    await writer.set("/config/colour", "green");
    await expired;
    const late = new CloneClient({ endpoint: server.endpoints.base });
    await late.synced();
    const map = Object.fromEntries(late.entries().map(([k, v]) => [k, v.toString()]));
    for (const [k, v] of Object.entries(map)) log(`late joiner: ${k}=${v}`);
    log(`done: ${late.size} keys, server seq ${server.stats().seq}, ${server.stats().expired} expired`);
    await late.close();
    return map;
  } finally {
    await Promise.all([writer.close(), watcher.close()]);
    await server.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await cloneExample();
