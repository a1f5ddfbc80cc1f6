/** 9/TSP: the three services, persistence across restarts, the store's file format. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TitanicClient, TitanicServer, TitanicStore, decodeFrames, encodeFrames, isTitanicUuid } from "../../../patterns/titanic/index.js";
import { broker, closeAll, HB, LIVENESS, text, track, worker } from "../majordomo/fixtures.js";
import { waitFor } from "../../helpers/wait.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "titanic-test-"));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await closeAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function server(endpoint: string, dir: string): Promise<TitanicServer> {
  return TitanicServer.start({ endpoint, dir, heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 }).then(track);
}

function tclient(endpoint: string): TitanicClient {
  return track(new TitanicClient({ endpoint, timeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
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

  it("the store writes whole files and reports corrupt ones", async () => {
    const dir = tempDir();
    const store = new TitanicStore(dir);
    writeFileSync(join(dir, ".tmp-leftover"), "half");
    await store.init();
    expect(readdirSync(dir)).toEqual([]);
    const uuid = "a".repeat(32);
    const frames = [Buffer.from("svc"), Buffer.alloc(0), Buffer.from([0, 1, 2])];
    await store.put(uuid, "req", frames);
    expect(await store.get(uuid, "req")).toEqual(frames);
    expect(await store.pending()).toEqual([uuid]);
    expect(decodeFrames(encodeFrames(frames))).toEqual(frames);
    expect(decodeFrames(encodeFrames(frames).subarray(0, 10))).toBeUndefined();
    writeFileSync(join(dir, `${uuid}.rep`), "garbage");
    expect(await store.get(uuid, "rep")).toBeUndefined();
    expect(store.corrupt).toBe(1);
    expect(() => new TitanicStore("")).toThrow(TypeError);
    expect(() => new TitanicServer({ endpoint: "tcp://127.0.0.1:1", dir: "" })).toThrow(/dir/);
    expect(() => new TitanicServer({ endpoint: "nope", dir })).toThrow(/endpoint/);
  });
});
