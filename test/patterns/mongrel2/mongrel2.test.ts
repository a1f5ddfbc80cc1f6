/**
 * Mongrel2Handler against the real mongrel2 (Debian's mongrel2-core, installed by .ci/run):
 * each case starts mongrel2 from a generated config (m2sh load into a temp sqlite db, chroot =
 * a temp dir, 127.0.0.1 on a free port) and a handler running a node:http listener, then
 * talks HTTP to mongrel2. Skipped, with the reason, only on a machine without mongrel2.
 */
import * as http from "node:http";
import { connect } from "node:net";
import { readdirSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Mongrel2Handler, type Mongrel2HandlerOptions, type RequestListener } from "../../../patterns/mongrel2/index.js";
import { launchMongrel2, mongrel2Available, type LaunchOptions, type RunningMongrel2 } from "../../../patterns/mongrel2/launch.js";
import { waitFor, within } from "../../helpers/wait.js";

const available = mongrel2Available();
if (!available) console.warn("mongrel2 tests skipped: mongrel2/m2sh not found (apt-get install mongrel2-core; .ci/run installs it)");

const servers: RunningMongrel2[] = [];
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(async () => {
  // Whatever happened, no mongrel2 survives the file.
  for (const m2 of servers) {
    m2.process.kill("SIGKILL");
    await m2.stop();
  }
});

async function mongrel2(options?: LaunchOptions): Promise<RunningMongrel2> {
  const m2 = await launchMongrel2(options);
  servers.push(m2);
  cleanup.push(() => m2.stop());
  return m2;
}

function handler(m2: RunningMongrel2, listener: RequestListener, extra: Partial<Mongrel2HandlerOptions> = {}): Mongrel2Handler {
  const h = new Mongrel2Handler({ sendSpec: m2.sendSpec, recvSpec: m2.recvSpec, uploadDir: m2.uploadDir, listener, ...extra });
  cleanup.push(() => h.close());
  return h;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  chunks: number;
}

function request(url: string, options: http.RequestOptions & { body?: string | Buffer } = {}): Promise<Reply> {
  return within(
    new Promise<Reply>((resolve, reject) => {
      const req = http.request(url, options, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString(), chunks: parts.length }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(options.body);
    }),
    15_000,
    `${options.method ?? "GET"} ${url}`,
  );
}

const echo: RequestListener = async (req, res) => {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const body = Buffer.concat(parts).toString();
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ method: req.method, url: req.url, version: req.httpVersion, headers: req.headers, body, remote: req.socket.remoteAddress, conn: (req as { mongrel2?: { id: number } }).mongrel2?.id }));
};

describe.skipIf(!available)("Mongrel2Handler behind the real mongrel2", () => {
  let m2: RunningMongrel2;
  let h: Mongrel2Handler;
  // One mongrel2 and one handler for this block; each case sets the app it runs.
  let app: RequestListener = echo;
  beforeAll(async () => {
    m2 = await launchMongrel2({ settings: { "limits.content_length": 4096 } });
    servers.push(m2);
    h = new Mongrel2Handler({ sendSpec: m2.sendSpec, recvSpec: m2.recvSpec, uploadDir: m2.uploadDir, listener: (req, res) => app(req, res) });
    await h.start();
  });
  afterEach(() => {
    app = echo;
  });
  afterAll(async () => {
    await h?.close();
    await m2?.stop();
  });

  it("answers a GET with a query string: method, url, headers, client address", async () => {
    const r = await request(`${m2.url}/shop/items?id=42&q=a%20b`, { headers: { "X-Custom": "Value", Accept: "text/plain" } });
    expect(r.status).toBe(200);
    const got = JSON.parse(r.body) as Record<string, unknown> & { headers: Record<string, string> };
    expect(got).toMatchObject({ method: "GET", url: "/shop/items?id=42&q=a%20b", version: "1.1", body: "", remote: "127.0.0.1" });
    expect(got.headers["x-custom"]).toBe("Value");
    expect(got.headers.accept).toBe("text/plain");
    // mongrel2's own (upper-case) headers are not client headers
    expect(Object.keys(got.headers).some((k) => k !== k.toLowerCase())).toBe(false);
    expect(h.stats()).toMatchObject({ malformed: 0, failed: 0 });
  });

  it("passes a POST body through, and an upload over limits.content_length read from its temp file", async () => {
    const small = await request(`${m2.url}/form`, { method: "POST", body: "name=ada&lang=en", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(JSON.parse(small.body)).toMatchObject({ method: "POST", body: "name=ada&lang=en" });
    const big = "0123456789".repeat(5000);
    const up = await request(`${m2.url}/upload`, { method: "PUT", body: big });
    expect(up.status).toBe(200);
    const upGot = JSON.parse(up.body) as { method: string; body: string };
    expect([upGot.method, upGot.body.length, upGot.body === big]).toEqual(["PUT", big.length, true]);
    expect(h.stats()).toMatchObject({ uploadsStarted: 1, uploads: 1, uploadsRefused: 0 });
    // the temp file is removed once the request is answered
    await waitFor(() => readdirSync(m2.uploadDir).length === 0, { what: "upload temp file removed" });
  });

  it("passes status codes and headers through, and 500s a listener that throws", async () => {
    app = (req, res) => {
        if (req.url === "/missing") {
          res.statusCode = 404;
          res.statusMessage = "Nowhere";
          res.end("no");
        } else if (req.url === "/created") {
          res.writeHead(201, { "X-Id": "7", "Set-Cookie": ["a=1", "b=2"], "Content-Type": "text/plain" });
          res.end("made");
        } else if (req.url === "/redirect") {
          res.writeHead(302, { Location: "/elsewhere" }).end();
        } else throw new Error("boom");
    };
    const failed: unknown[] = [];
    cleanup.push(h.on("request:failed", (e) => failed.push(e.error)));
    const missing = await request(`${m2.url}/missing`);
    expect([missing.status, missing.body]).toEqual([404, "no"]);
    const created = await request(`${m2.url}/created`);
    expect(created.status).toBe(201);
    expect(created.headers).toMatchObject({ "x-id": "7", "set-cookie": ["a=1", "b=2"], "content-type": "text/plain" });
    const redirect = await request(`${m2.url}/redirect`);
    expect([redirect.status, redirect.headers.location]).toEqual([302, "/elsewhere"]);
    const boom = await request(`${m2.url}/boom`);
    expect(boom.status).toBe(500);
    expect(failed.map(String)).toEqual(["Error: boom"]);
  });

  it("answers 100 concurrent requests", async () => {
    const before = h.stats();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 100 });
    cleanup.push(() => agent.destroy());
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => request(`${m2.url}/n/${i}`, { agent })));
    expect(replies.map((r) => (JSON.parse(r.body) as { url: string }).url)).toEqual(Array.from({ length: 100 }, (_, i) => `/n/${i}`));
    const after = h.stats();
    expect([after.requests - before.requests, after.responses - before.responses, after.droppedRequests, after.droppedResponses]).toEqual([100, 100, 0, 0]);
  });

  it("keeps HTTP/1.1 connections alive and closes HTTP/1.0 ones after the response", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    cleanup.push(() => agent.destroy());
    const a = JSON.parse((await request(`${m2.url}/ka/1`, { agent })).body) as { conn: number };
    const b = JSON.parse((await request(`${m2.url}/ka/2`, { agent })).body) as { conn: number };
    expect(b.conn).toBe(a.conn);
    // HTTP/1.0 without keep-alive: the body ends when mongrel2 closes the connection.
    const raw = await within(
      new Promise<string>((resolve, reject) => {
        const s = connect(m2.port, "127.0.0.1", () => s.write("GET /old HTTP/1.0\r\nHost: localhost\r\n\r\n"));
        let data = "";
        s.on("data", (d) => (data += d.toString()));
        s.on("end", () => resolve(data));
        s.on("error", reject);
      }),
      10_000,
      "an HTTP/1.0 response ending with the connection",
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(raw).toContain('"url":"/old","version":"1.0"');
  });

  it("streams a chunked response", async () => {
    app = (_req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" });
      let i = 0;
      const tick = () => {
        if (i === 5) return void res.end("done\n");
        res.write(`chunk ${i++}\n`);
        setTimeout(tick, 20);
      };
      tick();
    };
    const r = await request(`${m2.url}/stream`);
    expect(r.headers["transfer-encoding"]).toBe("chunked");
    expect(r.body).toBe("chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\ndone\n");
    expect(r.chunks).toBeGreaterThan(1);
  });

  it("drops and counts a response whose client disconnected mid-response", async () => {
    let res: http.ServerResponse | undefined;
    app = (_req, r) => {
      res = r;
      r.writeHead(200, { "Content-Type": "text/plain" });
      r.write("first\n");
    };
    const before = h.stats();
    const dropped: unknown[] = [];
    cleanup.push(h.on("response:dropped", (e) => dropped.push(e)));
    await within(
      new Promise<void>((resolve, reject) => {
        const s = connect(m2.port, "127.0.0.1", () => s.write("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        s.once("data", () => {
          s.destroy();
          resolve();
        });
        s.on("error", reject);
      }),
      10_000,
      "the first chunk",
    );
    await waitFor(() => dropped.length === 1, { what: "response:dropped" });
    expect(dropped[0]).toMatchObject({ reason: "disconnected" });
    // the listener may go on writing: nothing is sent, nothing throws
    expect(() => res!.write("late\n")).not.toThrow();
    res!.end();
    const after = h.stats();
    expect([after.droppedResponses - before.droppedResponses, after.inFlight, after.connections]).toEqual([1, 0, 0]);
    expect(after.disconnects).toBeGreaterThan(before.disconnects);
  });
});

describe.skipIf(!available)("Mongrel2Handler: load sharing, restarts, tnetstring headers", () => {
  it("answers a request made while no handler runs once one starts", async () => {
    const m2 = await mongrel2();
    const pending = request(`${m2.url}/early?x=1`);
    // mongrel2 has taken the request and holds it: nobody is connected to its send_spec
    let settled = false;
    void pending.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(settled).toBe(false);
    const h = handler(m2, echo);
    await h.start();
    const r = await pending;
    expect(JSON.parse(r.body)).toMatchObject({ url: "/early?x=1" });
  });

  it("shares requests between two handlers with distinct sender ids", async () => {
    const m2 = await mongrel2();
    const a = handler(m2, (_req, res) => res.end("a"), { senderId: "handler-a" });
    const b = handler(m2, (_req, res) => res.end("b"), { senderId: "handler-b" });
    await Promise.all([a.start(), b.start()]);
    // both PULLs must be connected before PUSH can round-robin over them
    await waitFor(async () => {
      const r = await Promise.all([request(`${m2.url}/w`), request(`${m2.url}/w`)]);
      return r.some((x) => x.body === "a") && r.some((x) => x.body === "b");
    }, { what: "both handlers answering" });
    const before = a.stats().requests + b.stats().requests;
    const replies = await Promise.all(Array.from({ length: 40 }, () => request(`${m2.url}/w`)));
    const counts = { a: replies.filter((r) => r.body === "a").length, b: replies.filter((r) => r.body === "b").length };
    expect(counts.a + counts.b).toBe(40);
    expect(counts.a).toBeGreaterThan(0);
    expect(counts.b).toBeGreaterThan(0);
    expect(a.stats().requests + b.stats().requests - before).toBe(40);
    expect([a.senderId, b.senderId]).toEqual(["handler-a", "handler-b"]);
  });

  it("parses tnetstring headers (protocol='tnetstring')", async () => {
    const m2 = await mongrel2({ protocol: "tnetstring" });
    const h = handler(m2, echo);
    await h.start();
    const r = await request(`${m2.url}/t?k=v`, { method: "POST", body: "tnet body", headers: { "X-Two": ["1", "2"] } });
    expect(JSON.parse(r.body)).toMatchObject({ method: "POST", url: "/t?k=v", body: "tnet body", headers: { "x-two": "1, 2" } });
  });

  it("drains requests in flight on close", async () => {
    const m2 = await mongrel2();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = handler(m2, async (_req, res) => {
      await gate;
      res.end("drained");
    });
    await first.start();
    const inFlight = request(`${m2.url}/slow`);
    await waitFor(() => first.stats().inFlight === 1, { what: "the request in flight" });
    const closing = first.close();
    release();
    expect((await inFlight).body).toBe("drained");
    await closing;
    expect(first.stats()).toMatchObject({ responses: 1, droppedResponses: 0, inFlight: 0 });
    expect(first.state).toBe("closed");
  });
});
