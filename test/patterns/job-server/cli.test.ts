/**
 * `zpatterns serve` as a real process tree: plain REQ clients, workers killed, TTIN/TTOU/HUP
 * under load, autoscaling, SIGTERM drain, the control endpoint and `zpatterns status`.
 */
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { type JobServerStatus } from "../../../patterns/job-server/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { reqClient, startServe, status } from "./serve.js";

afterEach(killAll);

describe("zpatterns serve", () => {
  it("answers every request from 20 REQ clients while workers are killed and TTIN/TTOU/HUP arrive", async () => {
    const { server, frontend, control } = await startServe(["--min-workers", "1", "--max-workers", "3"]);
    const pid = server.proc.pid!;
    await waitFor(async () => (await status(control)).ready === 1, { timeout: 20_000, what: "1 ready worker" });
    const clients = Array.from({ length: 20 }, (_, i) => reqClient(frontend, `c${i}`, "sleep:2"));
    await waitFor(() => clients.every((c) => c.answered > 0), { timeout: 20_000, what: "every client answered once" });
    await waitFor(async () => (await status(control)).ready === 3, { timeout: 20_000, what: "the pool grown to 3 under load" });

    // A worker killed mid-load is purged and replaced; its request is redelivered.
    const victim = (await status(control)).children[0]!;
    process.kill(victim.pid!, "SIGKILL");
    await waitFor(async () => {
      const s = await status(control);
      return s.ready === 3 && s.children.every((c) => c.pid !== victim.pid);
    }, { timeout: 20_000, what: "the killed worker replaced" });

    // The worker count follows the signals within a second, within --min-workers..--max-workers.
    process.kill(pid, "SIGTTIN");
    await waitFor(() => server.errLines.some((l) => l.includes("SIGTTIN refused: 3 workers, at --max-workers 3")), { timeout: 1000, what: "TTIN refused at max" });
    process.kill(pid, "SIGTTOU");
    await waitFor(async () => (await status(control)).workers === 2, { timeout: 1000, what: "2 workers after TTOU" });
    process.kill(pid, "SIGTTOU");
    await waitFor(async () => (await status(control)).workers === 1, { timeout: 1000, what: "1 worker after TTOU" });
    process.kill(pid, "SIGTTIN");
    await waitFor(async () => (await status(control)).workers === 2, { timeout: 1000, what: "2 workers after TTIN" });

    // HUP: every worker replaced, one at a time, with requests flowing.
    const before = (await status(control)).children.map((c) => c.pid);
    process.kill(pid, "SIGHUP");
    await waitFor(async () => {
      const s = await status(control);
      return s.ready === 2 && s.children.every((c) => !before.includes(c.pid));
    }, { timeout: 15_000, what: "all workers restarted" });

    // And one more crash after the restart.
    process.kill((await status(control)).children[1]!.pid!, "SIGKILL");
    const answeredBefore = clients.reduce((n, c) => n + c.answered, 0);
    await waitFor(() => clients.reduce((n, c) => n + c.answered, 0) > answeredBefore + 40, { timeout: 20_000, what: "load continues after the crash" });

    await Promise.all(clients.map((c) => c.stop()));
    const total = clients.reduce((n, c) => n + c.answered, 0);
    expect(total).toBe(clients.reduce((n, c) => n + c.sent, 0));
    const s = await status(control);
    expect(s.counters.crashed).toBeGreaterThanOrEqual(2);
    expect(s.counters.restarts).toBe(1);
    expect(s.queue.dropped).toBe(0);
    expect(s.queue.replies + s.queue.lateReplies).toBeGreaterThanOrEqual(total);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(server.errLines.some((l) => l.includes("exited") && l.includes("unexpectedly"))).toBe(true);
    expect(server.errLines.some((l) => l.includes("scaled up to 2 workers: SIGTTIN"))).toBe(true);
    expect(s.counters.refused).toBe(1);
  }, 90_000);

  it("grows toward max while requests wait and shrinks toward min when idle", async () => {
    const { server, frontend, control } = await startServe(["--min-workers", "1", "--max-workers", "3", "--scale-interval", "100", "--idle-timeout", "400"]);
    await waitFor(async () => (await status(control)).ready === 1, { timeout: 20_000, what: "1 ready worker" });
    const clients = Array.from({ length: 6 }, (_, i) => reqClient(frontend, `c${i}`, "sleep:50"));
    await waitFor(async () => (await status(control)).ready === 3, { timeout: 10_000, what: "the pool grown to 3" });
    await Promise.all(clients.map((c) => c.stop()));
    await waitFor(async () => (await status(control)).workers === 1, { timeout: 10_000, what: "the pool shrunk to 1" });
    const s = await status(control);
    expect(s.counters.scaledUp).toBeGreaterThanOrEqual(2);
    expect(s.counters.scaledDown).toBeGreaterThanOrEqual(2);
    expect(server.errLines.some((l) => l.includes("requests waiting"))).toBe(true);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 60_000);

  it("SIGTERM drains: a running request is answered before the server exits", async () => {
    const { server, frontend, control } = await startServe(["--min-workers", "1"]);
    await waitFor(async () => (await status(control)).ready === 1, { timeout: 20_000, what: "a ready worker" });
    const req = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
    req.connect(frontend);
    try {
      await req.send("sleep:600");
      await waitFor(async () => (await status(control)).queue.dispatched === 1, { what: "request dispatched" });
      server.kill("SIGTERM");
      const [, body] = await req.receive();
      expect(body!.toString()).toBe("sleep:600");
      expect(await server.exited).toBe(0);
      expect(server.errLines.some((l) => l.includes("draining"))).toBe(true);
    } finally {
      req.close();
    }
  });

  it("zpatterns status prints the status; the control endpoint survives garbage", async () => {
    const { server, frontend, control } = await startServe(["--min-workers", "2", "--max-workers", "2", "--json"]);
    await waitFor(async () => (await status(control)).ready === 2, { timeout: 20_000, what: "2 ready workers" });
    await sendMalformed(control, { type: "dealer", count: 100, templates: [[Buffer.from(""), Buffer.from("STATUS")]] });
    await sendMalformed(frontend, { type: "dealer", count: 100, templates: [[Buffer.from(""), Buffer.from("job")]] });
    const human = startCli(["status", "--connect", control]);
    expect(await human.exited).toBe(0);
    expect(human.lines[0]).toMatch(/^workers 2 \(ready 2, min 2, max 2\)/);
    const json = startCli(["status", "--connect", control, "--json"]);
    expect(await json.exited).toBe(0);
    const parsed = JSON.parse(json.lines[0]!) as JobServerStatus;
    expect(parsed).toMatchObject({ workers: 2, ready: 2, pending: 0 });
    expect(parsed.control.malformed).toBeGreaterThan(0);
    expect(parsed.queue.malformed).toBeGreaterThan(0);
    const nobody = startCli(["status", "--connect", await uniqAddress("tcp"), "--timeout", "300"]);
    expect(await nobody.exited).toBe(1);
    expect(server.errLines.some((l) => l.includes('"event":"worker:ready"'))).toBe(true);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 60_000);

  it("a handler that cannot load makes workers crash-loop with a growing delay, not a fork storm", async () => {
    const frontend = await uniqAddress("tcp");
    const control = await uniqAddress("tcp");
    const server = startCli(["serve", "--frontend", frontend, "--control", control, "--handler", "test/patterns/job-server/fixtures/no-such-handler.mjs", "--min-workers", "1"]);
    await server.waitLine(/^serve: frontend/, 20_000);
    await waitFor(async () => (await status(control)).counters.crashed >= 3, { timeout: 20_000, what: "three crashes" });
    const s = await status(control);
    // 100, 200, 400 ms ... between restarts: a few in these seconds, never hundreds.
    expect(s.counters.started).toBeLessThan(12);
    expect(server.errLines.some((l) => l.includes("unexpectedly"))).toBe(true);
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  }, 60_000);

  it("usage errors exit 2", async () => {
    const noFrontend = startCli(["serve", "--handler", "echo"]);
    expect(await noFrontend.exited).toBe(2);
    const badEndpoint = startCli(["serve", "--frontend", "nope", "--handler", "echo"]);
    expect(await badEndpoint.exited).toBe(2);
    expect(badEndpoint.errLines.join("\n")).toMatch(/frontend/);
    const badOverflow = startCli(["serve", "--frontend", "tcp://127.0.0.1:*", "--handler", "echo", "--pending-overflow", "sideways"]);
    expect(await badOverflow.exited).toBe(2);
    const remoteControl = startCli(["serve", "--frontend", "tcp://127.0.0.1:*", "--handler", "echo", "--control", "tcp://*:5557"]);
    expect(await remoteControl.exited).toBe(2);
    expect(remoteControl.errLines.join("\n")).toMatch(/control.*loopback/);
    const badTimeout = startCli(["serve", "--frontend", "tcp://127.0.0.1:*", "--handler", "echo", "--handler-timeout", "-1"]);
    expect(await badTimeout.exited).toBe(2);
    const help = startCli(["serve", "--help"]);
    expect(await help.exited).toBe(0);
    expect(help.lines.join("\n")).toMatch(/--handler-timeout MS\s+kill and replace a worker whose handler runs longer, 0 = never \(default 30000\)/);
    expect(help.lines.join("\n")).toMatch(/--max-redeliveries N/);
  });
});
