import { afterEach, describe, expect, it } from "vitest";
import { SimplePirateQueue, SimplePirateWorker } from "../../../patterns/simple-pirate/index.js";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { repEcho } from "./rep.js";

// Runs the built CLI: `npm run build` first.
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
});
async function echo(ignore?: (n: number) => boolean) {
  const s = await repEcho("tcp://127.0.0.1:*", { ignore, transform: (f) => [Buffer.from("re"), ...f] });
  cleanups.push(() => s.close());
  return s;
}

describe("zpatterns client", () => {
  it("sends each PAYLOAD and prints the reply frames TAB-separated, exit 0", async () => {
    const s = await echo();
    const cli = startCli(["client", "--connect", s.endpoint, "one", "two words"]);
    expect(await cli.exited).toBe(0);
    expect(cli.lines).toEqual(["re\tone", "re\ttwo words"]);
  });

  it("--count N sends request-1..N; --json prints JSON lines; retries are logged", async () => {
    const s = await echo((n) => n === 2);
    const cli = startCli(["client", "--connect", s.endpoint, "--count", "3", "--timeout", "300", "--json"]);
    expect(await cli.exited).toBe(0);
    expect(cli.lines.map((l) => JSON.parse(l) as unknown)).toEqual([1, 2, 3].map((i) => ({ request: `request-${i}`, reply: ["re", `request-${i}`] })));
    expect(cli.errLines.some((l) => (JSON.parse(l) as { event?: string }).event === "retry")).toBe(true);
  });

  it("reads one request per stdin line without PAYLOAD or --count", async () => {
    const s = await echo();
    const cli = startCli(["client", "--connect", s.endpoint], { stdin: "alpha\n\nbeta\n" });
    expect(await cli.exited).toBe(0);
    expect(cli.lines).toEqual(["re\talpha", "re\tbeta"]);
  });

  it("exits 1 when a request is abandoned", async () => {
    const s = await echo(() => true);
    const cli = startCli(["client", "--connect", s.endpoint, "--timeout", "100", "--retries", "1", "lost", "never-sent"]);
    expect(await cli.exited).toBe(1);
    expect(cli.lines).toEqual([]);
    expect(s.received).toBe(2);
    expect(cli.errLines.join("\n")).toMatch(/abandoned/);
  });

  it("--pipelined goes through a Simple Pirate queue with many requests in flight", async () => {
    const q = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
    cleanups.push(() => q.close());
    await q.start();
    for (let i = 0; i < 2; i++) {
      const w = new SimplePirateWorker({ endpoint: q.endpoints.backend[0]!, handler: (f) => f.map((x) => x.toString().toUpperCase()) });
      cleanups.push(() => w.close());
    }
    await waitFor(() => q.stats().workers === 2);
    const cli = startCli(["client", "--connect", q.endpoints.frontend[0]!, "--pipelined", "--count", "50"]);
    expect(await cli.exited).toBe(0);
    expect([...cli.lines].sort()).toEqual(Array.from({ length: 50 }, (_, i) => `REQUEST-${i + 1}`).sort());
  });

  it("exits 2 on usage errors", async () => {
    const cases = [[], ["--connect", "nope"], ["--connect", "tcp://127.0.0.1:1", "--count", "0"], ["--connect", "tcp://127.0.0.1:1", "--count", "2", "x"], ["--connect", "tcp://127.0.0.1:1", "--bogus"]];
    const codes = await Promise.all(cases.map((args) => startCli(["client", ...args]).exited));
    expect(codes).toEqual(cases.map(() => 2));
  });

  it("stops cleanly on SIGTERM while reading stdin", async () => {
    const s = await echo();
    const cli = startCli(["client", "--connect", s.endpoint]);
    cli.proc.stdin!.write("first\n");
    await cli.waitLine(/first/);
    cli.kill("SIGTERM");
    expect(await cli.exited).toBe(0);
    expect(cli.errLines.join("\n")).toMatch(/interrupted/);
  });

  it("exits 1 on SIGINT with a request unanswered", async () => {
    const s = await echo(() => true);
    const cli = startCli(["client", "--connect", s.endpoint, "--timeout", "60000", "stuck"]);
    await waitFor(() => s.received === 1, { what: "the request at the server" });
    cli.kill("SIGINT");
    expect(await cli.exited).toBe(1);
  });
});
