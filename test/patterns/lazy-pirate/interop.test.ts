import { afterEach, describe, expect, it } from "vitest";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { freePort } from "../../helpers/addresses.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await killAll();
});

describe("LazyPirateClient against Python REP servers", () => {
  it("survives a flaky REP server that drops every 3rd request: all answered, retries counted", async () => {
    const py = startPython("rep_flaky.py", ["--bind", "tcp://127.0.0.1:*", "--drop-every", "3"]);
    const endpoint = (await py.waitLine(/^READY /)).split(" ")[1]!;
    const c = new LazyPirateClient({ endpoint, requestTimeout: 500, retries: 3 });
    cleanups.push(() => c.close());
    for (let i = 1; i <= 9; i++) expect((await c.request(`n${i}`)).map(String)).toEqual([`n${i}`]);
    expect(py.lines.filter((l) => l.startsWith("DROP"))).toHaveLength(4); // 3, 6, 9, 12 of 13 received
    expect(c.stats()).toMatchObject({ requests: 9, replies: 9, retries: 4, reopened: 4, abandoned: 0 });
    py.proc.stdin!.write("exit\n");
    expect(await py.exited).toBe(0);
  });

  it("survives seeded random drops", async () => {
    const py = startPython("rep_flaky.py", ["--bind", "tcp://127.0.0.1:*", "--seed", "7", "--drop-rate", "0.2"]);
    const endpoint = (await py.waitLine(/^READY /)).split(" ")[1]!;
    const c = new LazyPirateClient({ endpoint, requestTimeout: 400, retries: 10 });
    cleanups.push(() => c.close());
    for (let i = 1; i <= 10; i++) expect((await c.request(`s${i}`)).map(String)).toEqual([`s${i}`]);
    const drops = py.lines.filter((l) => l.startsWith("DROP")).length;
    expect(c.stats()).toMatchObject({ replies: 10, retries: drops });
  });

  it("rides over a REP server that dies and is restarted on the same port", async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    const first = startPython("rep_flaky.py", ["--bind", endpoint]);
    await first.waitLine(/^READY /);
    const c = new LazyPirateClient({ endpoint, requestTimeout: 300, retries: 20 });
    cleanups.push(() => c.close());
    expect((await c.request("before")).map(String)).toEqual(["before"]);
    first.kill("SIGKILL");
    await first.exited;
    const pending = c.request("during");
    await waitFor(() => c.stats().retries >= 1, { what: "a retry while the server is down" });
    const second = startPython("rep_flaky.py", ["--bind", endpoint]);
    await second.waitLine(/^READY /);
    expect((await pending).map(String)).toEqual(["during"]);
    expect((await c.request("after")).map(String)).toEqual(["after"]);
    expect(c.stats()).toMatchObject({ replies: 3, abandoned: 0 });
    expect(c.stats().reopened).toBe(c.stats().retries);
  });
});
