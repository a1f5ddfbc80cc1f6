/** 9/TSP end to end: the three services, call(), persistence across restarts. */
import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir as makeTempDir } from "./fixtures.js";
import { TitanicClient, TitanicServer, isTitanicUuid } from "../../../patterns/titanic/index.js";
import { broker, closeAll, HB, LIVENESS, text, track, worker } from "../majordomo/fixtures.js";
import { waitFor } from "../../helpers/wait.js";
import { InvalidOptionError } from "../../../src/index.js";

const tempDir = () => makeTempDir("titanic-test-");

afterEach(async () => {
  await closeAll();
  removeTempDirs();
});

function server(endpoint: string, dir: string): Promise<TitanicServer> {
  return TitanicServer.start({ endpoint, dir, heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
}

function tclient(endpoint: string): TitanicClient {
  return track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
}

describe("Titanic (9/TSP)", () => {
  it("stores a request, dispatches it, serves the reply (200), then closes it", async () => {
    const { endpoint } = await broker();
    const dir = tempDir();
    const t = await server(endpoint, dir);
    worker(endpoint, "upper", { handler: (f) => f.map((x) => x.toString().toUpperCase()) });
    const c = tclient(endpoint);
    const submitted = await c.request("upper", ["hello"]);
    expect(submitted.status).toBe("200");
    const uuid = submitted.body[0]!.toString();
    expect(isTitanicUuid(uuid)).toBe(true);
    const answer = await waitFor(async () => {
      const a = await c.reply(uuid);
      return a.status === "200" ? a : undefined;
    });
    expect(text(answer.body)).toEqual(["HELLO"]);
    // Idempotent: asking again gives the same reply.
    expect(text((await c.reply(uuid)).body)).toEqual(["HELLO"]);
    expect((await c.closeRequest(uuid)).status).toBe("200");
    expect((await c.reply(uuid)).status).toBe("400");
    expect((await c.closeRequest(uuid)).status).toBe("200");
    expect(readdirSync(dir)).toEqual([]);
    expect(t.stats()).toMatchObject({ stored: 1, completed: 1, closed: 2, pending: 0 });
  });

  it("answers 300 while pending, 400 for unknown or bad UUIDs and bad requests", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    await server(endpoint, tempDir());
    const c = tclient(endpoint);
    const { body } = await c.request("later", "x");
    expect((await c.reply(body[0]!.toString())).status).toBe("300");
    expect((await c.reply("0".repeat(32))).status).toBe("400");
    expect((await c.reply("not-a-uuid")).status).toBe("400");
    expect((await c.request("bad\x01service", "x")).status).toBe("400");
    expect(text(await c.mdp.request("titanic.request", "only-a-service"))).toEqual(["400"]);
  });

  it("call() does the whole exchange", async () => {
    const { endpoint } = await broker();
    await server(endpoint, tempDir());
    worker(endpoint, "echo");
    const c = tclient(endpoint);
    const replies = await Promise.all(["a", "b", "c"].map((p) => c.call("echo", [p])));
    expect(replies.map(text)).toEqual([["a"], ["b"], ["c"]]);
  });

  it("keeps pending requests across a restart of the Titanic server", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const dir = tempDir();
    const first = await server(endpoint, dir);
    const c = tclient(endpoint);
    const uuid = (await c.request("later", "persisted")).body[0]!.toString();
    await first.close();
    const second = await server(endpoint, dir);
    expect(second.stats().pending).toBe(1);
    worker(endpoint, "later", { handler: (f) => ["done", ...f] });
    const answer = await waitFor(async () => {
      const a = await c.reply(uuid);
      return a.status === "200" ? a : undefined;
    });
    expect(text(answer.body)).toEqual(["done", "persisted"]);
  });
});

describe("TitanicClient arguments", () => {
  it("constructor options throw InvalidOptionError naming the option; calls reject (never throw)", async () => {
    expect(() => new TitanicClient({ endpoint: "tcp://127.0.0.1:1", pollInterval: 0 })).toThrow(/pollInterval/);
    expect(() => new TitanicClient({ endpoint: "tcp://127.0.0.1:1", timeout: 5 } as never)).toThrow("`timeout` is now called `requestTimeout`");
    expect(() => new TitanicClient({ endpoint: "nope" })).toThrow(InvalidOptionError);
    const c = track(new TitanicClient({ endpoint: "tcp://127.0.0.1:1" }));
    await expect(c.request("svc", 5 as never)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(c.reply("x", { signal: {} as AbortSignal })).rejects.toThrow(/signal/);
    await expect(c.call("svc", "x", { deadline: -1 })).rejects.toThrow(/deadline/);
    expect(c.state).toBe("new");
  });
});
