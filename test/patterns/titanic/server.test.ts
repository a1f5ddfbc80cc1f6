/** TitanicServer: persistence edges, the bounded backlog, start/close, the shared reactor. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { removeTempDirs, tempDir as makeTempDir } from "./fixtures.js";
import { Reactor } from "../../../src/index.js";
import { TitanicClient, TitanicServer, TitanicStore } from "../../../patterns/titanic/index.js";
import { broker, closeAll, HB, LIVENESS, text, track, worker } from "../majordomo/fixtures.js";
import { waitFor, within } from "../../helpers/wait.js";

const tempDir = () => makeTempDir("titanic-server-");

afterEach(async () => {
  await closeAll();
  removeTempDirs();
});

const timings = { heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, dispatchInterval: 50, dispatchTimeout: 500 };

describe("TitanicServer", () => {
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
    const server = await TitanicServer.start({ endpoint, dir, ...timings }).then(track);
    worker(endpoint, "upper", { handler: (f) => f.map((x) => x.toString().toUpperCase()) });
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
    expect((await c.reply(badReq)).status).toBe("400");
    const answer = await waitFor(async () => {
      const a = await c.reply(badRep);
      return a.status === "200" ? a : undefined;
    });
    expect(text(answer.body)).toEqual(["AGAIN"]);
    expect(server.stats().corrupt).toBeGreaterThanOrEqual(2);
  });

  it("a reply stored while titanic.reply is looking its request up is kept and served, not taken for a corrupt file", async () => {
    const { endpoint } = await broker();
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), ...timings }).then(track);
    let executed = 0;
    worker(endpoint, "upper", {
      handler: (f) => {
        executed++;
        return f.map((x) => x.toString().toUpperCase());
      },
    });
    // Hold the dispatcher's write of the reply until a titanic.reply lookup has found no reply
    // and goes on to read the request; the reply then lands inside that lookup (the window the
    // crash test hit now and then, under load).
    const store = server.store;
    const put = store.put.bind(store);
    const get = store.get.bind(store);
    let dispatcherWriting!: () => void;
    const writing = new Promise<void>((r) => (dispatcherWriting = r));
    let lookupReadRequest!: () => void;
    const lookingUp = new Promise<void>((r) => (lookupReadRequest = r));
    let written: Promise<number> | undefined;
    store.put = async (uuid, kind, frames) => {
      if (kind !== "rep") return put(uuid, kind, frames);
      dispatcherWriting();
      await lookingUp;
      written = put(uuid, kind, frames);
      return written;
    };
    let armed = false;
    store.get = async (uuid, kind) => {
      if (armed && kind === "req") {
        armed = false;
        lookupReadRequest();
        await waitFor(() => written !== undefined);
        await written;
      }
      return get(uuid, kind);
    };
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
    const accepted = await c.request("upper", "once");
    expect(accepted.status).toBe("200");
    const uuid = accepted.body[0]!.toString();
    await writing;
    // The dispatch is held in its write (and in flight, so not dispatched again): the next
    // read of a request is the lookup's.
    armed = true;
    expect((await c.reply(uuid)).status).toBe("300");
    // The reply is on disk: the next poll serves it, and the request ran once.
    const answer = await c.reply(uuid);
    expect(answer.status).toBe("200");
    expect(text(answer.body)).toEqual(["ONCE"]);
    expect(executed).toBe(1);
    expect(server.stats()).toMatchObject({ dispatched: 1, completed: 1, pending: 0 });
  });

  it("start() twice registers the three services once", async () => {
    const { broker: b, endpoint } = await broker();
    const options = { endpoint, dir: tempDir(), ...timings };
    const twice = track(new TitanicServer(options));
    await Promise.all([twice.start(), twice.start()]);
    await twice.start();
    worker(endpoint, "echo");
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
    expect(text(await c.call("echo", "x"))).toEqual(["x"]);
    // titanic.request/reply/close once each, plus echo: four workers, not seven.
    expect(b.stats().readies).toBe(4);
  });

  it("bounds the requests waiting for a reply (maxPending): beyond it titanic.request answers 500, counted", async () => {
    const { endpoint } = await broker({ pendingTimeout: 100 });
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), ...timings, maxPending: 2 }).then(track);
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5 }));
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
    const server = await TitanicServer.start({ endpoint, dir: tempDir(), ...timings }).then(track);
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
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5 }));
    expect((await c.request("echo", "x")).status).toBe("200");
    await storing;
    const closing = server.close().then(() => order.push("closed"));
    gate!();
    await closing;
    expect(order).toEqual(["completed", "closed"]);
  });

  it("runs on a shared reactor: its closing closes the server (cause reactor) without closing the broker's", async () => {
    const { endpoint } = await broker();
    const reactor = new Reactor();
    const server = track(new TitanicServer({ endpoint, dir: tempDir(), reactor, ...timings }));
    await server.start();
    worker(endpoint, "echo");
    const c = track(new TitanicClient({ endpoint, requestTimeout: 1000, retries: 5, pollInterval: 20, retryDelay: 50 }));
    expect(text(await c.call("echo", "x"))).toEqual(["x"]);
    const closed = server.next("lifecycle:closed");
    await reactor.close();
    expect(await within(closed, 5000, "lifecycle:closed")).toEqual([{ cause: "reactor" }]);
    expect(server.closed).toBe(true);
  });

  it("options are validated (InvalidOptionError naming the option)", () => {
    const invalid = (option: string) => expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option });
    expect(() => new TitanicServer({ endpoint: "tcp://127.0.0.1:1", dir: "" })).toThrow(invalid("dir"));
    expect(() => new TitanicServer({ endpoint: "tcp://127.0.0.1:1" } as never)).toThrow(invalid("dir"));
    expect(() => new TitanicServer({ dir: "/tmp/x" } as never)).toThrow(invalid("endpoint"));
    expect(() => new TitanicServer({ endpoint: "nope", dir: "/tmp/x" })).toThrow(invalid("endpoint"));
    expect(() => new TitanicServer({ endpoint: "tcp://127.0.0.1:1", dir: "/tmp/x", heartbeatInterval: 0 })).toThrow(invalid("heartbeatInterval"));
    expect(() => new TitanicServer({ endpoint: "tcp://127.0.0.1:1", dir: "/tmp/x", reactor: {} as never })).toThrow(invalid("reactor"));
    expect(() => new TitanicStore("")).toThrow(invalid("dir"));
  });
});
