/**
 * Mongrel2Handler against a stand-in for mongrel2's two sockets (a PUSH and a SUB bound over
 * tcp, real zeromq): malformed input counted and dropped, the bounds (request size, in flight
 * and pending, per-connection queue, response buffer), uploads refused or forged, raw replies
 * batched by 128 ids, options, drain on close.
 */
import * as http from "node:http";
import * as zmq from "zeromq";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../../src/index.js";
import { MAX_TARGETS, Mongrel2Handler, netstring, type Mongrel2HandlerOptions, type RequestListener } from "../../../patterns/mongrel2/index.js";
import { freePort } from "../../helpers/addresses.js";
import { malformedMessages } from "../../helpers/malformed.js";
import { waitFor } from "../../helpers/wait.js";

const UUID = "f400bf85-4538-4f7a-8908-67e313d515c2";
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** mongrel2's side: a PUSH bound at send_spec, a SUB bound at recv_spec. */
async function fakeMongrel2() {
  const push = new zmq.Push({ linger: 0 });
  const sub = new zmq.Subscriber({ linger: 0 });
  const sendSpec = `tcp://127.0.0.1:${await freePort()}`;
  const recvSpec = `tcp://127.0.0.1:${await freePort()}`;
  await push.bind(sendSpec);
  await sub.bind(recvSpec);
  sub.subscribe("");
  const replies: string[] = [];
  const pump = (async () => {
    try {
      for await (const [m] of sub) replies.push(m!.toString("latin1"));
    } catch {
      // closed
    }
  })();
  cleanup.push(async () => {
    push.close();
    sub.close();
    await pump;
  });
  const request = (id: number, headers: Record<string, unknown>, body = "", path = "/") => push.send(Buffer.concat([Buffer.from(`${UUID} ${id} ${path} `), netstring(JSON.stringify({ PATH: path, METHOD: "GET", VERSION: "HTTP/1.1", URI: path, ...headers })), netstring(body)]));
  const disconnect = (id: number) => push.send(`${UUID} ${id} @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},`);
  const repliesTo = (id: number) => replies.filter((r) => r.startsWith(`${UUID} ${String(id).length}:${id}, `)).map((r) => r.slice(`${UUID} ${String(id).length}:${id}, `.length));
  return { push, sendSpec, recvSpec, replies, request, disconnect, repliesTo };
}

async function started(m2: { sendSpec: string; recvSpec: string; request: (id: number, h: Record<string, unknown>) => Promise<void>; repliesTo: (id: number) => string[] }, options: Partial<Mongrel2HandlerOptions>): Promise<Mongrel2Handler> {
  const h = new Mongrel2Handler({ sendSpec: m2.sendSpec, recvSpec: m2.recvSpec, ...options } as Mongrel2HandlerOptions);
  cleanup.push(() => h.close());
  await h.start();
  // PUB/SUB joins late: probe until a reply comes back.
  let probe = 1_000_000;
  await waitFor(
    async () => {
      await m2.request(++probe, { URI: "/probe" });
      await new Promise((r) => setTimeout(r, 20));
      return m2.repliesTo(probe).length > 0;
    },
    { what: "the handler's PUB to join" },
  );
  return h;
}

const hello: RequestListener = (_req, res) => res.end("hello");

describe("Mongrel2Handler", () => {
  it("validates its options", () => {
    const base = { sendSpec: "tcp://127.0.0.1:1", recvSpec: "tcp://127.0.0.1:2", listener: hello };
    expect(() => new Mongrel2Handler({ ...base, sendSpec: "nowhere" })).toThrow(InvalidOptionError);
    expect(() => new Mongrel2Handler({ ...base, listener: undefined })).toThrow(/listener/);
    expect(() => new Mongrel2Handler({ ...base, onRequest: () => undefined })).toThrow(/exactly one/);
    expect(() => new Mongrel2Handler({ ...base, maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => new Mongrel2Handler({ ...base, senderId: "" })).toThrow(/senderId/);
    expect(() => new Mongrel2Handler({ ...base, responseBufferLimit: -1 })).toThrow(/responseBufferLimit/);
  });

  it("counts and drops malformed messages, multipart ones included, and goes on answering", async () => {
    const m2 = await fakeMongrel2();
    const h = await started(m2, { listener: hello });
    const reasons: string[] = [];
    cleanup.push(h.on("message:malformed", (e) => reasons.push(e.reason)));
    await m2.push.send([Buffer.from("a"), Buffer.from("b")]);
    await m2.push.send("not a mongrel2 message");
    await m2.push.send(`${UUID} 1 / 99:{},0:,`);
    await waitFor(() => h.stats().malformed === 3, { what: "3 malformed" });
    expect(reasons[0]).toMatch(/expected 1 frame/);
    await m2.request(5, { URI: "/after" });
    await waitFor(() => m2.repliesTo(5).length === 1, { what: "a reply after the garbage" });
    expect(m2.repliesTo(5)[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nhello$/);
  });

  it("survives fuzzed messages from the PUSH side", async () => {
    const m2 = await fakeMongrel2();
    const h = await started(m2, { listener: hello });
    const before = h.stats();
    const valid = Buffer.concat([Buffer.from(`${UUID} 8 / `), netstring('{"METHOD":"GET","URI":"/"}'), netstring("")]);
    const messages = malformedMessages(300, 3, [[valid]]);
    for (const m of messages) await m2.push.send(m);
    await waitFor(() => h.stats().malformed + h.stats().requests - before.malformed - before.requests >= messages.length, { what: "every fuzzed message classified" });
    expect(h.stats().malformed - before.malformed).toBeGreaterThan(100);
    expect(h.closed).toBe(false);
  });

  it("answers 413 to a request over maxRequestSize", async () => {
    const m2 = await fakeMongrel2();
    const h = await started(m2, { listener: hello, maxRequestSize: 1024 });
    await m2.request(3, { URI: "/big" }, "x".repeat(2000));
    await waitFor(() => m2.repliesTo(3).length === 2, { what: "413 and close" });
    expect(m2.repliesTo(3)[0]).toMatch(/^HTTP\/1\.1 413 /);
    expect(m2.repliesTo(3)[1]).toBe("");
    expect(h.stats()).toMatchObject({ droppedRequests: 1 });
  });

  it("bounds requests in flight and pending: beyond both, 503", async () => {
    const m2 = await fakeMongrel2();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await started(m2, {
      maxInFlight: 2,
      maxPending: 1,
      listener: async (req, res) => {
        if (req.url !== "/probe") await gate;
        res.end("ok");
      },
    });
    const drops: string[] = [];
    cleanup.push(h.on("request:dropped", (e) => drops.push(e.reason)));
    for (let id = 1; id <= 4; id++) await m2.request(id, { URI: `/r${id}` });
    await waitFor(() => drops.length === 1, { what: "one overflow" });
    expect(drops).toEqual(["overflow"]);
    expect(h.stats()).toMatchObject({ inFlight: 2, pending: 1 });
    expect(m2.repliesTo(4)[0]).toMatch(/^HTTP\/1\.1 503 /);
    // the waiting one's client leaves: it is dropped when its turn comes, never run
    await m2.request(5, { URI: "/r5" });
    await m2.disconnect(3);
    await waitFor(() => h.stats().disconnects === 1, { what: "the disconnect" });
    release();
    await waitFor(() => [1, 2].every((id) => m2.repliesTo(id).length > 0) && drops.length === 3, { what: "the two running answered" });
    expect(drops).toEqual(["overflow", "overflow", "disconnected"]);
    expect(m2.repliesTo(3)).toEqual([]);
    expect(h.stats()).toMatchObject({ inFlight: 0, pending: 0, connections: 0, droppedRequests: 3 });
  });

  it("queues a connection's next request behind its response, up to connectionQueueLimit", async () => {
    const m2 = await fakeMongrel2();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await started(m2, {
      connectionQueueLimit: 1,
      listener: async (req, res) => {
        if (req.url !== "/probe") order.push(req.url!);
        if (req.url === "/a") await gate;
        res.end(req.url);
      },
    });
    await m2.request(7, { URI: "/a" });
    await m2.request(7, { URI: "/b" });
    await m2.request(7, { URI: "/c" });
    await waitFor(() => h.stats().droppedRequests === 1, { what: "/c dropped" });
    expect(order).toEqual(["/a"]);
    release();
    await waitFor(() => order.length === 2, { what: "/b after /a" });
    expect(order).toEqual(["/a", "/b"]);
  });

  it("aborts a response over responseBufferLimit and closes its connection", async () => {
    const m2 = await fakeMongrel2();
    const h = await started(m2, {
      responseBufferLimit: 64 * 1024,
      listener: (req, res) => {
        if (req.url === "/probe") return void res.end("ok");
        res.writeHead(200);
        // ignores write()'s false: 1 MiB at once
        for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, 97));
      },
    });
    const dropped: string[] = [];
    cleanup.push(h.on("response:dropped", (e) => dropped.push(e.reason)));
    await m2.request(11, { URI: "/flood" });
    await waitFor(() => dropped.length === 1, { what: "the response aborted" });
    expect(dropped).toEqual(["overflow"]);
    await waitFor(() => m2.repliesTo(11).includes(""), { what: "the connection closed" });
    expect(h.stats()).toMatchObject({ inFlight: 0 });
  });

  it("refuses uploads without uploadDir, forged upload-done, and reads a real one", async () => {
    const m2 = await fakeMongrel2();
    const dir = await mkdtemp(join(tmpdir(), "zp-m2-up-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const bodies: string[] = [];
    const h = await started(m2, {
      uploadDir: dir,
      maxUploadSize: 100,
      listener: async (req, res) => {
        let body = "";
        for await (const c of req) body += String(c);
        bodies.push(body);
        res.end("got");
      },
    });
    const refused: string[] = [];
    cleanup.push(h.on("upload:refused", (e) => refused.push(e.reason)));
    // too large by content-length
    await m2.request(20, { "content-length": "5000", "x-mongrel2-upload-start": "tmp/upload.big" });
    // forged: a done without a start on this connection
    await writeFile(join(dir, "upload.x"), "secret");
    await m2.request(21, { "x-mongrel2-upload-start": "tmp/upload.x", "x-mongrel2-upload-done": "tmp/upload.x" });
    // a real one
    await writeFile(join(dir, "upload.ok"), "uploaded body");
    await m2.request(22, { "content-length": "13", "x-mongrel2-upload-start": "tmp/upload.ok" });
    await m2.request(22, { "content-length": "13", "x-mongrel2-upload-start": "tmp/upload.ok", "x-mongrel2-upload-done": "tmp/upload.ok" });
    await waitFor(() => bodies.includes("uploaded body") && refused.length === 2, { what: "the upload read, two refused" });
    expect(refused).toEqual(["too-large", "unknown"]);
    expect(m2.repliesTo(20)[0]).toMatch(/^HTTP\/1\.1 413 /);
    expect(h.stats()).toMatchObject({ uploadsStarted: 2, uploads: 1, uploadsRefused: 2 });
  });

  it("raw onRequest: replies to many connections, batched by 128 ids", async () => {
    const m2 = await fakeMongrel2();
    const ids = Array.from({ length: 300 }, (_, i) => i + 1);
    const h = await started(m2, {
      onRequest: async (req, handler) => {
        if (req.headers.URI === "/probe") return handler.reply(req.uuid, req.id, "ok");
        await handler.reply(req.uuid, ids, "broadcast");
      },
    });
    const before = m2.replies.length;
    await m2.request(1, { URI: "/go" });
    await waitFor(() => m2.replies.length - before === 3, { what: "three batches" });
    const lists = m2.replies.slice(before).map((r) => {
      const [, len] = /^\S+ (\d+):/.exec(r)!;
      const start = r.indexOf(":") + 1;
      expect(r.slice(start + Number(len))).toBe(", broadcast");
      return r.slice(start, start + Number(len)).split(" ").map(Number);
    });
    expect(lists.map((l) => l.length)).toEqual([MAX_TARGETS, MAX_TARGETS, 44]);
    expect(lists.flat()).toEqual(ids);
    expect(h.stats()).toMatchObject({ responses: 2 });
  });

  it("raw onRequest: a request in flight is still answered while close() drains", async () => {
    const m2 = await fakeMongrel2();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await started(m2, {
      onRequest: async (req, handler) => {
        if (req.headers.URI !== "/probe") await gate;
        await handler.reply(req.uuid, req.id, "late but answered");
      },
    });
    await m2.request(60, { URI: "/slow" });
    await waitFor(() => h.stats().inFlight === 1, { what: "in flight" });
    const closing = h.close();
    release();
    await closing;
    // close() resolves once the reply is handed to the PUB (it lingers to send it)
    await waitFor(() => m2.repliesTo(60).length > 0, { what: "the reply" });
    expect(m2.repliesTo(60)).toEqual(["late but answered"]);
    expect(h.stats()).toMatchObject({ responses: 2, failed: 0 });
    await expect(h.reply(UUID, 60, "after")).rejects.toThrow(/closed/);
  });

  it("on close, waits for requests in flight, then aborts what is left after drainTimeout", async () => {
    const m2 = await fakeMongrel2();
    const h = await started(m2, {
      drainTimeout: 200,
      listener: (req, res) => {
        if (req.url === "/probe") return void res.end("ok");
        if (req.url === "/quick") return void setTimeout(() => res.end("quick"), 20);
        // /never: no answer
      },
    });
    const dropped: string[] = [];
    cleanup.push(h.on("response:dropped", (e) => dropped.push(e.reason)));
    await m2.request(30, { URI: "/quick" });
    await m2.request(31, { URI: "/never" });
    await waitFor(() => h.stats().inFlight === 2, { what: "both in flight" });
    await h.close();
    await waitFor(() => m2.repliesTo(30).some((r) => r.endsWith("quick")), { what: "the quick reply" });
    expect(dropped).toEqual(["closed"]);
    expect(h.stats()).toMatchObject({ inFlight: 0, droppedResponses: 1 });
  });

  it("works with a framework that swaps the prototypes of req and res, as Express does", async () => {
    const m2 = await fakeMongrel2();
    // Express's app.handle: Object.setPrototypeOf(req, app.request) where app.request inherits
    // http.IncomingMessage.prototype, and the same for res over http.ServerResponse.prototype.
    const request = Object.create(http.IncomingMessage.prototype, { path: { get(this: http.IncomingMessage) { return new URL(this.url!, "http://x").pathname; } } }) as object;
    const response = Object.create(http.ServerResponse.prototype, {
      send: {
        value(this: http.ServerResponse, body: string) {
          this.setHeader("Content-Type", "text/html; charset=utf-8");
          this.end(body);
        },
      },
    }) as object;
    await started(m2, {
      listener: (req, res) => {
        Object.setPrototypeOf(req, request);
        Object.setPrototypeOf(res, response);
        (res as unknown as { send(b: string): void }).send(`<p>${(req as unknown as { path: string }).path} ${req.headers["x-a"]}</p>`);
      },
    });
    await m2.request(50, { URI: "/users/7?x=1", "x-a": "b" });
    await waitFor(() => m2.repliesTo(50).length > 0, { what: "the reply" });
    expect(m2.repliesTo(50)[0]).toMatch(/^HTTP\/1\.1 200 OK\r\nContent-Type: text\/html; charset=utf-8\r\n[\s\S]*\r\n\r\n<p>\/users\/7 b<\/p>$/);
  });

  it("a disconnect notice drops the connection's queued requests and aborts its response", async () => {
    const m2 = await fakeMongrel2();
    const h = await started(m2, {
      listener: (req, res) => {
        if (req.url === "/probe") return void res.end("ok");
        res.write("partial");
      },
    });
    const events: unknown[] = [];
    cleanup.push(h.on("connection:closed", (e) => events.push(e)));
    await m2.request(40, { URI: "/one" });
    await m2.request(40, { URI: "/two" });
    await waitFor(() => h.stats().connections >= 1 && m2.repliesTo(40).length > 0, { what: "partial response" });
    await m2.disconnect(40);
    await m2.disconnect(41);
    await waitFor(() => events.length === 2, { what: "two disconnects" });
    expect(events).toEqual([
      { uuid: UUID, id: 40, active: true },
      { uuid: UUID, id: 41, active: false },
    ]);
    expect(h.stats()).toMatchObject({ droppedResponses: 1, droppedRequests: 1, inFlight: 0, connections: 0 });
  });
});
