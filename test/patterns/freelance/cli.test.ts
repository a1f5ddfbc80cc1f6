/**
 * Freelance as processes: servers started with the built CLI, two of three killed with
 * SIGKILL while a client sends a steady stream; the CLI client's output and exit codes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { FreelanceClient } from "../../../patterns/freelance/index.js";
import { freePort } from "../../helpers/addresses.js";
import { PING, ccfFrame } from "../../../patterns/freelance/index.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await killAll();
});

const endpoint = async () => `tcp://127.0.0.1:${await freePort()}`;

async function cliServer(ep: string, handler = "echo") {
  const child = startCli(["freelance", "server", "--bind", ep, "--handler", handler]);
  await child.waitLine(/^server ready protocol=freelance/);
  return child;
}

describe("zpatterns freelance", () => {
  it("three server processes, two killed -9 mid-stream: every request answered", async () => {
    const eps = [await endpoint(), await endpoint(), await endpoint()];
    const servers = await Promise.all(eps.map((ep) => cliServer(ep)));
    const c = new FreelanceClient({ endpoint: eps, pingInterval: 100, serverTtl: 400, requestTimeout: 300, retries: 10 });
    cleanup.push(() => c.close());
    await c.start();
    await waitFor(() => c.alive.length === 3, { what: "three live servers" });
    let answered = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      all.push(c.request(`k${i}`).then((r) => void (String(r[0]) === `k${i}` && answered++)));
      if (i === 60) servers[0]!.kill("SIGKILL");
      if (i === 130) servers[1]!.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 3));
    }
    await Promise.all(all);
    expect(answered).toBe(200);
    expect(c.stats().abandoned).toBe(0);
    expect(await servers[0]!.exited).toBe("SIGKILL");
    await waitFor(() => c.alive.length === 1, { what: "only the survivor alive" });
    expect(c.alive).toEqual([eps[2]]);
  });

  it("client prints every reply and exits 0; exits 1 when a request is abandoned; 2 on usage errors", async () => {
    const eps = [await endpoint(), await endpoint()];
    await Promise.all(eps.map((ep) => cliServer(ep, "upper")));
    const ok = startCli(["freelance", "client", "--connect", eps[0]!, "--connect", eps[1]!, "--count", "20"]);
    expect(await ok.exited).toBe(0);
    expect([...ok.lines].sort()).toEqual(Array.from({ length: 20 }, (_, i) => `REQUEST-${i + 1}`).sort());

    const piped = startCli(["freelance", "client", "--connect", eps[0]!, "--shotgun", "--json"], { stdin: "a\nb\n" });
    expect(await piped.exited).toBe(0);
    expect(piped.lines.map((l) => JSON.parse(l) as { request: string; reply: string[] }).sort((x, y) => x.request.localeCompare(y.request))).toEqual([
      { request: "a", reply: ["A"] },
      { request: "b", reply: ["B"] },
    ]);

    const none = startCli(["freelance", "client", "--connect", await endpoint(), "--timeout", "100", "--retries", "1", "x"]);
    expect(await none.exited).toBe(1);

    expect(await startCli(["freelance", "client"]).exited).toBe(2);
    expect(await startCli(["freelance", "server", "--bind", "tcp://*:5555"]).exited).toBe(2);
    const help = startCli(["freelance", "server", "--help"]);
    expect(await help.exited).toBe(0);
    expect(help.lines.join("\n")).toMatch(/--bind EP/);
  });

  it("a server process fed malformed frames counts them and keeps answering", async () => {
    const ep = await endpoint();
    const srv = await cliServer(ep);
    const sent = await sendMalformed(ep, { count: 300, seed: 11, templates: [[PING], [ccfFrame(1), Buffer.from("x")]] });
    expect(sent).toBeGreaterThan(0);
    await waitFor(() => srv.errLines.some((l) => l.startsWith("message:malformed")), { what: "malformed logged" });
    const c = new FreelanceClient({ endpoint: ep, pingInterval: 100, serverTtl: 400, requestTimeout: 500 });
    cleanup.push(() => c.close());
    expect((await c.request("alive?")).map(String)).toEqual(["alive?"]);
    expect(srv.proc.exitCode).toBeNull();
    srv.kill("SIGTERM");
    expect(await srv.exited).toBe(0);
    const stopped = srv.lines.find((l) => l.startsWith("server stopped"));
    expect(Number(/malformed=(\d+)/.exec(stopped ?? "")?.[1])).toBeGreaterThan(0);
  });
});
