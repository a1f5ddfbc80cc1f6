/**
 * Failure paths: workers killed mid-request (redelivery, bounded), busy workers that keep
 * heartbeating, broker restarts (workers reconnect by themselves, clients retry), DISCONNECT
 * handling in our worker, handler errors, full queues.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startPython } from "../../helpers/process.js";
import { freePort, uniqAddress } from "../../helpers/addresses.js";
import { waitFor } from "../../helpers/wait.js";
import { broker, client, closeAll, HB, LIVENESS, STEADY_HB, text, track, worker } from "./fixtures.js";
import { MajordomoBroker } from "../../../patterns/majordomo/index.js";

afterEach(async () => {
  await closeAll();
  await killAll();
});

const never = () => new Promise<never>(() => undefined);

describe("Majordomo failure handling", () => {
  it("redelivers the request of a worker killed mid-request to another worker", async () => {
    const { broker: b, endpoint } = await broker();
    const events: string[] = [];
    b.on("worker:expired", (e) => events.push(`expired busy=${e.busy}`));
    b.on("worker:disconnected", (e) => events.push(`removed ${e.reason}`));
    b.on("request:redelivered", (e) => events.push(`redelivered ${e.attempt}`));
    const py = startPython("mdp_worker.py", [endpoint, "work", String(HB), "hang", String(LIVENESS)]);
    await waitFor(() => b.stats().workers === 1);
    const c = client(endpoint, { requestTimeout: 10_000, retries: 0 });
    const reply = c.request("work", "job-1");
    await py.waitLine(/^REQUEST job-1/);
    // A second worker registers while the first is busy, then the first dies.
    worker(endpoint, "work", { handler: (f) => ["done", ...f] });
    await waitFor(() => b.stats().workers === 2);
    py.kill("SIGKILL");
    expect(text(await reply)).toEqual(["done", "job-1"]);
    expect(b.stats()).toMatchObject({ redelivered: 1, dispatched: 2, replies: 1 });
    expect(events.some((e) => e === "expired busy=true" || e === "removed unreachable")).toBe(true);
    expect(events).toContain("redelivered 1");
    expect(c.stats().retries).toBe(0);
  });

  it("redelivers at most maxRedeliveries times, then drops the request (counted)", async () => {
    const { broker: b, endpoint } = await broker({ maxRedeliveries: 1 });
    const dropped: string[] = [];
    b.on("request:dropped", (e) => dropped.push(e.reason));
    const c = client(endpoint, { requestTimeout: 20_000, retries: 0 });
    const w1 = worker(endpoint, "doomed", { handler: never });
    await waitFor(() => b.stats().workers === 1);
    const reply = c.request("doomed", "x").catch((e: unknown) => e);
    await waitFor(() => w1.stats().requests === 1);
    const w2 = worker(endpoint, "doomed", { handler: never });
    await waitFor(() => b.stats().workers === 2);
    await w1.close();
    await waitFor(() => w2.stats().requests === 1, { what: "redelivery to w2" });
    await w2.close();
    await waitFor(() => dropped.length === 1, { what: "drop after redeliveries" });
    expect(dropped).toEqual(["redeliveries"]);
    expect(b.stats()).toMatchObject({ redelivered: 1, droppedRedeliveries: 1, workers: 0 });
    await c.close();
    await reply;
  });

  it("keeps a busy worker alive with heartbeats while its handler runs", async () => {
    const { broker: b, endpoint } = await broker({ heartbeatInterval: STEADY_HB });
    worker(endpoint, "slow", { heartbeatInterval: STEADY_HB, handler: async (f) => (await new Promise((r) => setTimeout(r, STEADY_HB * LIVENESS * 2)), f) });
    const c = client(endpoint, { requestTimeout: 10_000, retries: 0 });
    expect(text(await c.request("slow", "patience"))).toEqual(["patience"]);
    expect(b.stats()).toMatchObject({ workersExpired: 0, redelivered: 0, dispatched: 1 });
  });

  it("workers reconnect by themselves and clients retry when the broker restarts", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const first = track(new MajordomoBroker({ bind: endpoint, heartbeatInterval: HB, heartbeatLiveness: LIVENESS }));
    await first.start();
    const w = worker(endpoint, "echo");
    const c = client(endpoint, { requestTimeout: 300, retries: 20 });
    expect(text(await c.request("echo", "one"))).toEqual(["one"]);
    await first.close();
    const reply = c.request("echo", "two");
    await waitFor(() => c.stats().retries >= 1, { what: "a client retry" });
    const second = track(new MajordomoBroker({ bind: endpoint, heartbeatInterval: HB, heartbeatLiveness: LIVENESS }));
    await second.start();
    expect(text(await reply)).toEqual(["two"]);
    expect(w.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(second.stats().workers).toBe(1);
  });

  it("workers and clients recover when a Python broker is killed and restarted", async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    let py = startPython("mdp_broker.py", [endpoint, String(HB), String(LIVENESS)]);
    await py.waitLine(/^READY/);
    const w = worker(endpoint, "echo");
    const c = client(endpoint, { requestTimeout: 300, retries: 20 });
    expect(text(await c.request("echo", "a"))).toEqual(["a"]);
    py.kill("SIGKILL");
    await py.exited;
    const reply = c.request("echo", "b");
    await waitFor(() => w.stats().reconnects >= 1, { what: "worker noticing the dead broker" });
    py = startPython("mdp_broker.py", [endpoint, String(HB), String(LIVENESS)]);
    await py.waitLine(/^READY/);
    expect(text(await reply)).toEqual(["b"]);
  });

  it("our worker reconnects on a fresh socket when the broker sends DISCONNECT", async () => {
    const router = new zmq.Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    const w = worker(router.lastEndpoint!, "svc");
    const [id1, , , cmd1, svc] = (await router.receive()) as Buffer[];
    expect([cmd1![0], svc!.toString()]).toEqual([1, "svc"]);
    await router.send([id1!, "", "MDPW01", Buffer.from([5])]);
    let again: Buffer[];
    do again = (await router.receive()) as Buffer[];
    while (again[3]![0] !== 1);
    expect(again[0]!.equals(id1!)).toBe(false);
    expect(w.stats()).toMatchObject({ disconnectsReceived: 1, reconnects: 1 });
    router.close();
  });

  it("a handler that throws makes the worker reconnect; the broker redelivers the request", async () => {
    const { broker: b, endpoint } = await broker();
    const bad = worker(endpoint, "flaky", {
      handler: () => {
        throw new Error("boom");
      },
      reconnectInterval: 5000,
      reconnectMaxInterval: 5000,
    });
    await waitFor(() => b.stats().workers === 1);
    const c = client(endpoint, { requestTimeout: 5000, retries: 0 });
    const reply = c.request("flaky", "x");
    await waitFor(() => bad.stats().failed === 1);
    await bad.close();
    worker(endpoint, "flaky");
    expect(text(await reply)).toEqual(["x"]);
    expect(b.stats().redelivered).toBe(1);
  });

  it("errorReply turns a handler error into a reply", async () => {
    const { endpoint } = await broker();
    worker(endpoint, "flaky", {
      handler: () => {
        throw new Error("boom");
      },
      errorReply: (e) => ["500", String((e as Error).message)],
    });
    const c = client(endpoint);
    expect(text(await c.request("flaky", "x"))).toEqual(["500", "boom"]);
  });

  it("counts a reply to a client that has gone (unroutable) and keeps serving", async () => {
    const { broker: b, endpoint } = await broker();
    let release: (() => void) | undefined;
    const first = new Promise<void>((r) => (release = r));
    let calls = 0;
    worker(endpoint, "slow", { handler: async (f) => (++calls === 1 && (await first), f) });
    const gone = client(endpoint, { requestTimeout: 5000, retries: 0 });
    const lost = gone.request("slow", "x").catch(() => undefined);
    await waitFor(() => b.stats().dispatched === 1);
    // Reply only once the broker's ROUTER has seen the client go (else the reply may still
    // enter the dying connection and vanish inside libzmq, which no one can count).
    const disconnected = new Promise((r) => b.socket!.events.on("disconnect", r));
    await gone.close();
    await lost;
    await disconnected;
    release!();
    await waitFor(() => b.stats().droppedReplies === 1, { what: "the unroutable reply counted" });
    const c = client(endpoint);
    expect(text(await c.request("slow", "y"))).toEqual(["y"]);
  });

  it("bounds each service queue and counts what the overflow policy drops", async () => {
    const { broker: b, endpoint } = await broker({ maxPending: 2, pendingOverflow: "drop-newest", pendingTimeout: 0 });
    const c = client(endpoint, { requestTimeout: 20_000, retries: 0 });
    const pending = Array.from({ length: 5 }, (_, i) => c.request("none", String(i)).catch(() => undefined));
    await waitFor(() => b.stats().droppedOverflow === 3);
    expect(b.stats().pending).toBe(2);
    worker(endpoint, "none");
    await waitFor(() => b.stats().replies === 2);
    await c.close();
    await Promise.all(pending);
  });

  it("bounds the worker table: a READY past maxWorkers is rejected, counted, and the worker is not served", async () => {
    const { broker: b, endpoint } = await broker({ maxWorkers: 2 });
    const rejected: string[] = [];
    b.on("worker:rejected", (e) => rejected.push(`${e.service}: ${e.reason}`));
    worker(endpoint, "a");
    worker(endpoint, "b");
    await waitFor(() => b.stats().workers === 2);
    worker(endpoint, "c");
    await waitFor(() => b.stats().rejected >= 1, { what: "the third READY rejected" });
    expect(rejected[0]).toBe("c: worker table full");
    expect(b.services().includes("c")).toBe(false);
    expect(b.stats()).toMatchObject({ workers: 2 });
    expect(() => new MajordomoBroker({ bind: "tcp://127.0.0.1:*", maxWorkers: 0 })).toThrow(/maxWorkers/);
  });

  it("bounds the number of services that requests alone create (a client cannot grow the broker without limit)", async () => {
    const { broker: b, endpoint } = await broker({ pendingTimeout: 0, maxServices: 3 });
    const c = client(endpoint, { requestTimeout: 20_000, retries: 0 });
    const pending = Array.from({ length: 10 }, (_, i) => c.request(`svc-${i}`, "x").catch(() => undefined));
    await waitFor(() => b.stats().requests === 10);
    expect(b.stats()).toMatchObject({ services: 3, pending: 3, droppedServices: 7, dropped: 7 });
    // A worker can still register a new service at the limit, and is served.
    worker(endpoint, "up", { handler: (f) => f.map((x) => x.toString().toUpperCase()) });
    await waitFor(() => b.services().includes("up"));
    expect(text(await c.request("up", "hi"))).toEqual(["HI"]);
    expect(() => new MajordomoBroker({ bind: "tcp://127.0.0.1:*", maxServices: 0 })).toThrow(/maxServices/);
    await c.close();
    await Promise.all(pending);
  });

  it("a request it cannot send to its worker (pipe full) is redelivered, and that worker removed, not left busy for ever", async () => {
    const { broker: b, endpoint } = await broker({ heartbeatInterval: 1, heartbeatLiveness: 100_000, pendingTimeout: 0, highWaterMark: 10 }, await uniqAddress("inproc"));
    // A worker that says READY and then never reads: its pipe fills with heartbeats.
    const stuck = new zmq.Dealer({ linger: 0, receiveHighWaterMark: 1 });
    stuck.connect(endpoint);
    try {
      await stuck.send(["", "MDPW01", Buffer.from([0x01]), "svc"]);
      await waitFor(() => b.stats().workers === 1 && b.reactor.stats().droppedHwm > 0, { what: "the stuck worker's pipe to fill" });
      const c = client(endpoint, { requestTimeout: 20_000, retries: 0 });
      const reply = c.request("svc", "hello");
      reply.catch(() => undefined); // awaited below
      await waitFor(() => b.stats().requests === 1 && b.stats().workers === 0 && b.stats().pending === 1, { what: "request back in the queue, stuck worker gone" });
      worker(endpoint, "svc");
      expect(text(await reply)).toEqual(["hello"]);
    } finally {
      stuck.close();
    }
  });
});
