/** Defects found in review: lifecycle edges of the Titanic client and server. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ClosedError, Reactor, TimeoutError } from "../../../src/index.js";
import { TitanicClient, TitanicServer, TitanicStore } from "../../../patterns/titanic/index.js";
import { broker, closeAll, HB, LIVENESS, text, track, worker } from "../majordomo/fixtures.js";
import { waitFor, within } from "../../helpers/wait.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "titanic-review-"));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await closeAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("Titanic review", () => {
  it("close() rejects a call() that is waiting between polls (ClosedError, not pending forever)", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
    const c = track(new TitanicClient({ endpoint, timeout: 1000, retries: 5, pollInterval: 600_000, retryDelay: 600_000 }));
    const call = c.call("nobody", "x");
    const outcome = call.then(
      () => "resolved",
      (error: unknown) => error,
    );
    // The first titanic.reply answered 300: the call now sleeps for pollInterval.
    await waitFor(() => server.stats().replied["300"] >= 1);
    await c.close();
    const result = await within(outcome, 5000);
    expect(result).toBeInstanceOf(ClosedError);
  });

  it("a corrupt stored file is treated as absent: 400 for a corrupt request, re-dispatch for a corrupt reply (never 300 forever)", async () => {
    const { endpoint } = await broker();
    const dir = tempDir();
    const store = new TitanicStore(dir);
    await store.init();
    const badReq = "b".repeat(32);
    writeFileSync(join(dir, `${badReq}.req`), "garbage");
    const badRep = "c".repeat(32);
    await store.put(badRep, "req", [Buffer.from("upper"), Buffer.from("again")]);
    writeFileSync(join(dir, `${badRep}.rep`), "garbage");
    const server = await TitanicServer.start({ endpoint, dir, heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
    worker(endpoint, "upper", { handler: (f) => f.map((x) => x.toString().toUpperCase()) });
    const c = track(new TitanicClient({ endpoint, timeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
    expect((await c.reply(badReq)).status).toBe("400");
    const answer = await waitFor(async () => {
      const a = await c.reply(badRep);
      return a.status === "200" ? a : undefined;
    });
    expect(text(answer.body)).toEqual(["AGAIN"]);
    expect(server.stats().corrupt).toBeGreaterThanOrEqual(2);
  });

  it("closing a shared reactor rejects a call() waiting between polls (ClosedError)", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
    const reactor = new Reactor();
    const c = track(new TitanicClient({ endpoint, reactor, timeout: 1000, retries: 5, pollInterval: 600_000, retryDelay: 600_000 }));
    const outcome = c.call("nobody", "x").then(
      () => "resolved",
      (error: unknown) => error,
    );
    await waitFor(() => server.stats().replied["300"] >= 1);
    await reactor.close();
    expect(await within(outcome, 5000)).toBeInstanceOf(ClosedError);
    await c.close();
    expect(reactor.listenerCount("reactor:closed")).toBe(0);
  });

  it("start() is idempotent, and a close() while it runs makes it reject with ClosedError", async () => {
    const { broker: b, endpoint } = await broker();
    const options = { endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 };
    const racing = new TitanicServer(options);
    const started = racing.start().then(
      () => "resolved",
      (error: unknown) => error,
    );
    await racing.close();
    expect(await started).toBeInstanceOf(ClosedError);

    const twice = track(new TitanicServer(options));
    await Promise.all([twice.start(), twice.start()]);
    await twice.start();
    worker(endpoint, "echo");
    const c = track(new TitanicClient({ endpoint, timeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
    expect(text(await c.call("echo", "x"))).toEqual(["x"]);
    // titanic.request/reply/close once each, plus echo: four workers, not seven.
    expect(b.stats().readies).toBe(4);
  });

  it("bounds the requests waiting for a reply (maxPending): beyond it titanic.request answers 500, counted", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500, maxPending: 2 }).then(track);
    const c = track(new TitanicClient({ endpoint, timeout: 1000, retries: 5 }));
    const first = await c.request("nobody", "1");
    expect(first.status).toBe("200");
    expect((await c.request("nobody", "2")).status).toBe("200");
    expect((await c.request("nobody", "3")).status).toBe("500");
    expect(server.stats()).toMatchObject({ stored: 2, pending: 2, refused: 1 });
    expect((await c.closeRequest(first.body[0]!.toString())).status).toBe("200");
    expect((await c.request("nobody", "4")).status).toBe("200");
    expect(() => new TitanicServer({ endpoint, dir: tempDir(), maxPending: 0 })).toThrow(/maxPending/);
  });

  it("close() waits for a dispatch that is storing its reply: no event after close() resolved", async () => {
    const { endpoint } = await broker();
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
    worker(endpoint, "echo");
    const order: string[] = [];
    server.on("request:completed", () => order.push("completed"));
    let reached: (() => void) | undefined;
    const storing = new Promise<void>((r) => (reached = r));
    let gate: (() => void) | undefined;
    const put = server.store.put.bind(server.store);
    server.store.put = async (uuid, kind, frames) => {
      if (kind === "rep") {
        reached!();
        await new Promise<void>((r) => (gate = r));
      }
      return put(uuid, kind, frames);
    };
    const c = track(new TitanicClient({ endpoint, timeout: 1000, retries: 5 }));
    expect((await c.request("echo", "x")).status).toBe("200");
    await storing;
    const closing = server.close().then(() => order.push("closed"));
    gate!();
    await closing;
    expect(order).toEqual(["completed", "closed"]);
  });

  it("call() rejects with TimeoutError at its deadline, even while a step is waiting for an answer", async () => {
    // No Titanic server: titanic.request is never answered, and each attempt waits 60 s.
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const c = track(new TitanicClient({ endpoint, timeout: 60_000, retries: 0 }));
    const outcome = c.call("echo", "x", { deadline: 200 }).then(
      () => "resolved",
      (error: unknown) => error,
    );
    expect(await within(outcome, 10_000, "call to reach its deadline")).toBeInstanceOf(TimeoutError);
    expect(c.mdp.stats()).toMatchObject({ inFlight: 0, aborted: 1 });
  });
});
