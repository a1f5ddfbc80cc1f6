/**
 * Clone as processes, through the built bin: `zpatterns clone server` killed with SIGKILL and
 * restarted while clients watch (they resynchronise), an HA pair whose active process is
 * killed (the client moves to the backup and no KVSET is lost), and `clone set`/`get`/
 * `watch` output and exit codes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { CloneClient, ICANHAZ } from "../../../patterns/clone/index.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { freeTcpEndpoint } from "../../../src/index.js";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import { cloneEndpoint } from "./helpers.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

async function cliServer(args: string[]) {
  const child = startCli(["clone", "server", "--heartbeat-interval", "200", ...args]);
  await child.waitLine(/^clone ready /);
  return child;
}

async function run(args: string[]) {
  const child = startCli(args);
  const code = await child.exited;
  return { code, out: child.lines, err: child.errLines };
}

describe("zpatterns clone", () => {
  it("set, get (sorted KEY=VALUE only), get --subtree, --json, watch, and usage errors", async () => {
    const ep = await cloneEndpoint();
    const srv = await cliServer(["--bind", ep]);
    const watch = startCli(["clone", "watch", "--connect", ep, "--json"]);
    await waitFor(() => watch.errLines.some((l) => l.includes('"kv:synced"')), { what: "watch synced" });
    expect((await run(["clone", "set", "--connect", ep, "/b/2", "two"])).code).toBe(0);
    expect((await run(["clone", "set", "--connect", ep, "/a/1", "one"])).code).toBe(0);
    const set = await run(["clone", "set", "--connect", ep, "/c", "tmp", "--ttl", "60"]);
    expect(set.code).toBe(0);
    expect(set.out).toEqual(["/c=tmp seq=3"]);
    const get = await run(["clone", "get", "--connect", ep]);
    expect(get).toMatchObject({ code: 0, out: ["/a/1=one", "/b/2=two", "/c=tmp"] });
    expect(await run(["clone", "get", "--connect", ep, "--subtree", "/a/"])).toMatchObject({ code: 0, out: ["/a/1=one"] });
    const json = await run(["clone", "get", "--connect", ep, "--json", "--subtree", "/b/"]);
    expect(json.out.map((l) => JSON.parse(l))).toEqual([{ key: "/b/2", value: "two" }]);
    expect((await run(["clone", "set", "--connect", ep, "/a/1", ""])).code).toBe(0);
    await waitFor(() => watch.lines.length >= 4, { what: "four changes watched" });
    expect(watch.lines.slice(0, 4).map((l) => JSON.parse(l) as { key: string; deleted: boolean; cause: string })).toMatchObject([
      { key: "/b/2", value: "two", deleted: false, cause: "update" },
      { key: "/a/1", value: "one", deleted: false },
      { key: "/c", value: "tmp" },
      { key: "/a/1", value: null, deleted: true },
    ]);
    const refused = await startCli(["clone", "server", "--bind", await cloneEndpoint(), "--max-value-size", "4"]);
    const refusedEp = /bind=(\S+)/.exec(await refused.waitLine(/^clone ready /))![1]!;
    const tooBig = await run(["clone", "set", "--connect", refusedEp, "/k", "too big", "--server-ttl", "300"]);
    expect(tooBig.code).toBe(1);
    expect(tooBig.err.join("\n")).toMatch(/not published/);
    await waitFor(() => refused.errLines.some((l) => l.startsWith("kv:refused key=/k reason=value-size")), { what: "refusal logged" });
    expect((await run(["clone", "get"])).code).toBe(2);
    expect((await run(["clone", "get", "--connect", "ipc:///x"])).code).toBe(2);
    expect((await run(["clone", "set", "--connect", ep, "only-key"])).code).toBe(2);
    expect((await run(["clone", "server", "--bind", ep, "--role", "primary"])).code).toBe(2);
    expect((await run(["clone", "server", "--bind", ep])).code).toBe(1);
    // Garbage at the snapshot ROUTER of a server process: logged, counted, still serving.
    await sendMalformed(ep, { count: 100, seed: 5, templates: [[ICANHAZ, Buffer.from("/a/")]] });
    await waitFor(() => srv.errLines.some((l) => l.startsWith("message:malformed socket=snapshot")), { what: "malformed logged" });
    expect((await run(["clone", "get", "--connect", ep, "--subtree", "/b/"])).out).toEqual(["/b/2=two"]);
    srv.kill("SIGTERM");
    expect(await srv.exited).toBe(0);
    expect(srv.lines.at(-1)).toMatch(/^clone stopped keys=2 seq=4 /);
  });

  it("a server killed -9 and restarted: clients resynchronise", async () => {
    const ep = await cloneEndpoint();
    let srv = await cliServer(["--bind", ep]);
    const c = new CloneClient({ endpoint: ep, serverTtl: 1000 });
    cleanup.push(() => c.close());
    await c.synced();
    await c.set("/before", "1");
    await waitFor(() => c.get("/before") !== undefined, { what: "set before the kill" });
    srv.kill("SIGKILL");
    expect(await srv.exited).toBe("SIGKILL");
    await waitFor(() => c.stats().lost > 0, { what: "server lost" });
    srv = await cliServer(["--bind", ep]);
    expect((await run(["clone", "set", "--connect", ep, "/after", "2"])).code).toBe(0);
    await waitFor(() => c.get("/after")?.toString() === "2" && c.get("/before") === undefined, { what: "resynchronised with the new server", timeout: 15_000 }).catch((e: Error) => {
      throw new Error(`${e.message}: client ${JSON.stringify(c.stats())} map ${JSON.stringify(c.entries().map(([k]) => k))} synced ${c.isSynced}`);
    });
    expect(c.stats().syncs).toBeGreaterThanOrEqual(2);
  });

  it("an HA pair: the active process killed -9, the client moves to the backup without losing a KVSET", async () => {
    const [p, b, lp, lb] = [await cloneEndpoint(), await cloneEndpoint(), await freeTcpEndpoint(), await freeTcpEndpoint()];
    const ha = ["--ha-heartbeat-interval", "100"];
    const primary = await cliServer(["--bind", p, "--role", "primary", "--local", lp, "--remote", lb, "--peer", b, ...ha]);
    const backup = await cliServer(["--bind", b, "--role", "backup", "--local", lb, "--remote", lp, "--peer", p, ...ha]);
    await waitFor(() => backup.errLines.some((l) => l.startsWith("peer:synced")), { what: "backup synced from the primary" });
    const c = new CloneClient({ endpoint: [p, b], serverTtl: 1000 });
    cleanup.push(() => c.close());
    await within(c.synced(), 10_000, "sync");
    for (let i = 0; i < 10; i++) await c.set(`/k/${i}`, `${i}`);
    await waitFor(() => c.size === 10, { what: "ten keys" });
    primary.kill("SIGKILL");
    for (let i = 10; i < 20; i++) await c.set(`/k/${i}`, `${i}`);
    await waitFor(() => c.endpoint === b && c.isSynced && c.size === 20, { what: "twenty keys from the backup", timeout: 15_000 });
    const get = await run(["clone", "get", "--connect", p, "--connect", b, "--server-ttl", "1000"]);
    expect(get.code).toBe(0);
    expect(get.out).toEqual(Array.from({ length: 20 }, (_, i) => `/k/${i}`).sort().map((k) => `${k}=${k.slice(3)}`));
    expect(backup.errLines.some((l) => l.startsWith("pending:applied"))).toBe(true);
    // Recovery: the primary restarted comes back passive and copies the backup's map.
    const again = await cliServer(["--bind", p, "--role", "primary", "--local", lp, "--remote", lb, "--peer", b, ...ha]);
    await waitFor(() => again.errLines.some((l) => /^peer:synced seq=\d+ keys=20$/.test(l)), { what: "restarted primary copies the backup", timeout: 15_000 });
    expect(again.errLines.some((l) => /^bstar:state from=primary to=passive/.test(l))).toBe(true);
  });
});
