/** TitanicClient: calls cut short by close, a shared reactor or a deadline. */
import { afterEach, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir as makeTempDir } from "./fixtures.js";
import { ClosedError, Reactor, TimeoutError } from "../../../src/index.js";
import { TitanicClient, TitanicServer } from "../../../patterns/titanic/index.js";
import { broker, closeAll, HB, LIVENESS, track } from "../majordomo/fixtures.js";
import { waitFor, within } from "../../helpers/wait.js";

const tempDir = () => makeTempDir("titanic-client-");

afterEach(async () => {
  await closeAll();
  removeTempDirs();
});

describe("TitanicClient", () => {
  it("close() rejects a call() that is waiting between polls (ClosedError, not pending forever)", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5, pollInterval: 600_000, retryDelay: 600_000 }));
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

  it("closing a shared reactor rejects a call() waiting between polls (ClosedError)", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
    const reactor = new Reactor();
    const c = track(new TitanicClient({ endpoint, reactor, requestTimeout: 1000, retries: 5, pollInterval: 600_000, retryDelay: 600_000 }));
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

  it("call() rejects with TimeoutError at its deadline, even while a step is waiting for an answer", async () => {
    // No Titanic server: titanic.request is never answered, and each attempt waits 60 s.
    const { endpoint } = await broker({ pendingTimeout: 0 });
    const c = track(new TitanicClient({ endpoint, requestTimeout: 60_000, retries: 0 }));
    const outcome = c.call("echo", "x", { deadline: 200 }).then(
      () => "resolved",
      (error: unknown) => error,
    );
    expect(await within(outcome, 10_000, "call to reach its deadline")).toBeInstanceOf(TimeoutError);
    expect(c.mdp.stats()).toMatchObject({ inFlight: 0, aborted: 1 });
  });
});
