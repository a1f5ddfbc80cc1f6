/**
 * Freelance over real tcp sockets, in one process: server + client, shotgun mode, servers
 * closed mid-stream, malformed frames at both ROUTERs.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, RequestAbandonedError, echoHandler, upperHandler } from "../../../src/index.js";
import { FreelanceClient, FreelanceServer, PING, ccfFrame, type FreelanceClientOptions } from "../../../patterns/freelance/index.js";
import { freePort } from "../../helpers/addresses.js";
import { malformedMessages, sendMalformed } from "../../helpers/malformed.js";
import { waitFor } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const endpoint = async () => `tcp://127.0.0.1:${await freePort()}`;

async function server(bind?: string, handler = echoHandler): Promise<FreelanceServer> {
  const s = new FreelanceServer({ bind: bind ?? (await endpoint()), handler });
  cleanup.push(() => s.close());
  await s.start();
  return s;
}

function client(endpoints: string[], extra: Partial<FreelanceClientOptions> = {}): FreelanceClient {
  const c = new FreelanceClient({ endpoint: endpoints, pingInterval: 100, serverTtl: 400, requestTimeout: 500, retries: 10, ...extra });
  cleanup.push(() => c.close());
  void c.start();
  return c;
}

describe("FreelanceServer + FreelanceClient over tcp", () => {
  it("answers requests, pings and keeps the server alive", async () => {
    const s = await server(undefined, upperHandler);
    const c = client([s.endpoint]);
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => c.request([`hello-${i}`, "x"])));
    expect(replies.map((r) => r.map(String))).toEqual(Array.from({ length: 50 }, (_, i) => [`HELLO-${i}`, "X"]));
    await waitFor(() => c.stats().pongs >= 2, { what: "pongs" });
    expect(c.alive).toEqual([s.endpoint]);
    expect(s.stats()).toMatchObject({ requests: 50, replies: 50, malformed: 0, failed: 0 });
    expect(s.stats().pings).toBeGreaterThanOrEqual(2);
    expect(c.stats()).toMatchObject({ requests: 50, replies: 50, abandoned: 0, malformed: 0 });
  });

  it("validates its options", () => {
    expect(() => new FreelanceServer({ bind: "nowhere", handler: echoHandler })).toThrow(InvalidOptionError);
    expect(() => new FreelanceServer({ bind: "tcp://127.0.0.1:1" } as never)).toThrow(/handler/);
    expect(() => new FreelanceClient({ endpoint: [] })).toThrow(InvalidOptionError);
    expect(() => new FreelanceClient({ endpoint: "tcp://127.0.0.1:1", mode: "x" as never })).toThrow(/mode/);
    expect(() => new FreelanceClient({ endpoint: "tcp://127.0.0.1:1", pingInterval: 1000, serverTtl: 1000 })).toThrow(/serverTtl/);
    expect(() => new FreelanceClient({ endpoint: "tcp://127.0.0.1:1", socketOptions: { routingId: "me" } })).toThrow(/socketOptions/);
  });

  it("spreads requests over live servers and echoes CCFs per server", async () => {
    const servers = await Promise.all([server(), server(), server()]);
    const c = client(servers.map((s) => s.endpoint));
    await waitFor(() => c.alive.length === 3, { what: "three live servers" });
    await Promise.all(Array.from({ length: 60 }, (_, i) => c.request(`r${i}`)));
    for (const s of servers) expect(s.stats().requests).toBeGreaterThan(0);
  });

  it("a request waits for a server that comes up later", async () => {
    const ep = await endpoint();
    const c = client([ep]);
    const reply = c.request("late");
    await waitFor(() => c.stats().waiting === 1 || c.stats().pings > 0, { what: "client running" });
    await server(ep);
    expect((await reply).map(String)).toEqual(["late"]);
  });

  it("rejects with RequestAbandonedError when no server answers", async () => {
    const c = client([await endpoint()], { requestTimeout: 50, retries: 2 });
    const error = await c.request("void").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestAbandonedError);
    expect((error as RequestAbandonedError).attempts).toBe(3);
  });

  it("three servers, two closed mid-stream: every request answered", async () => {
    const servers = await Promise.all([server(), server(), server()]);
    const c = client(servers.map((s) => s.endpoint), { requestTimeout: 300 });
    await waitFor(() => c.alive.length === 3, { what: "three live servers" });
    let answered = 0;
    const all: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      all.push(c.request(`m${i}`).then((r) => void (String(r[0]) === `m${i}` && answered++)));
      if (i === 100) await servers[0]!.close();
      if (i === 200) await servers[1]!.close();
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(all);
    expect(answered).toBe(300);
    expect(c.stats().abandoned).toBe(0);
    // the engine never "fails over": where an attempt goes is the client's choice
    expect(c.stats().failovers).toBe(0);
    expect(c.endpoints).toEqual(servers.map((s) => s.endpoint));
    expect(c.settings.endpoints).toHaveLength(3);
    await waitFor(() => c.alive.length === 1, { what: "two servers dead" });
    expect(c.alive).toEqual([servers[2]!.endpoint]);
  });

  it("a server restarted at the same endpoint is found again and takes requests", async () => {
    const ep = await endpoint();
    const first = await server(ep);
    const c = client([ep]);
    await waitFor(() => c.alive.length === 1, { what: "server alive" });
    await first.close();
    await waitFor(() => c.alive.length === 0, { what: "server dead" });
    const pending = c.request("again", { requestTimeout: 2000 });
    const second = await server(ep, upperHandler);
    expect((await pending).map(String)).toEqual(["AGAIN"]);
    expect(c.alive).toEqual([ep]);
    expect(second.stats().requests).toBe(1);
  });

  it("shotgun: each attempt goes to every live server, the first reply wins, the others are discarded", async () => {
    const servers = await Promise.all([server(), server(), server()]);
    const c = client(servers.map((s) => s.endpoint), { mode: "shotgun" });
    await waitFor(() => c.alive.length === 3, { what: "three live servers" });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => c.request(`s${i}`)));
    expect(replies.map(String)).toEqual(Array.from({ length: 20 }, (_, i) => `s${i}`));
    for (const s of servers) await waitFor(() => s.stats().replies === 20, { what: "every server answered each" });
    await waitFor(() => c.stats().discarded === 40, { what: "40 duplicates discarded" });
    expect(c.stats().replies).toBe(20);
  });

  it("bounds handler concurrency", async () => {
    let running = 0;
    let most = 0;
    const slow = async (frames: Buffer[]) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return frames;
    };
    const s = new FreelanceServer({ bind: await endpoint(), handler: slow, maxInFlight: 3 });
    cleanup.push(() => s.close());
    await s.start();
    const c = client([s.endpoint]);
    await Promise.all(Array.from({ length: 30 }, (_, i) => c.request(`c${i}`)));
    expect(most).toBe(3);
  });
});

describe("malformed frames", () => {
  it("at the server's ROUTER: counted, dropped, the server still answers", async () => {
    const s = await server();
    const malformed: string[] = [];
    s.on("message:malformed", (e) => malformed.push(e.reason));
    const sent = await sendMalformed(s.endpoint, { count: 200, seed: 3, templates: [[PING], [ccfFrame(1), Buffer.from("x")]] });
    expect(sent).toBeGreaterThan(0);
    await waitFor(() => s.stats().malformed > 0 && s.stats().malformed + s.stats().pings + s.stats().requests >= sent, { what: "garbage processed" });
    expect(malformed.length).toBe(s.stats().malformed);
    const c = client([s.endpoint]);
    expect((await c.request("still")).map(String)).toEqual(["still"]);
  });

  it("at the client's ROUTER: counted, dropped, the client still works", async () => {
    const real = await server();
    const fakeEp = await endpoint();
    const fake = new zmq.Router({ routingId: fakeEp, linger: 0 });
    cleanup.push(() => fake.close());
    await fake.bind(fakeEp);
    const c = client([fakeEp, real.endpoint]);
    void c.start();
    const [clientId] = await fake.receive(); // its first PING
    const garbage = malformedMessages(200, 5, [[Buffer.from("PONG")], [ccfFrame(1), Buffer.from("x")]]);
    for (const m of garbage) await fake.send([clientId!, ...m]);
    await waitFor(() => c.stats().malformed > 0, { what: "malformed counted" });
    // a well-formed reply to no request is discarded, not malformed
    await fake.send([clientId!, ccfFrame(999_999), Buffer.from("stray")]);
    await waitFor(() => c.stats().discarded > 0, { what: "stray reply discarded" });
    await waitFor(() => c.alive.includes(real.endpoint), { what: "real server alive" });
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => c.request(`ok${i}`, { requestTimeout: 200 })));
    expect(replies.map(String)).toEqual(Array.from({ length: 10 }, (_, i) => `ok${i}`));
  });
});
