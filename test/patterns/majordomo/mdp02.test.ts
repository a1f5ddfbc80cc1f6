/** 18/MDP (0.2): streaming replies, DEALER clients, and 0.1/0.2 peers on one broker socket. */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { broker, client, closeAll, text, worker } from "./fixtures.js";
import { waitFor } from "../../helpers/wait.js";
import { parseBrokerInbound, parseClientInbound, parseWorkerInbound, workerReply, clientRequest } from "../../../patterns/majordomo/index.js";

afterEach(closeAll);

async function* countTo(n: number, frames: Buffer[]): AsyncGenerator<string[]> {
  for (let i = 1; i <= n; i++) {
    await new Promise((r) => setTimeout(r, 5));
    yield [`${frames[0]!.toString()}-${i}`];
  }
}

describe("MDP/0.2", () => {
  it("streams PARTIAL replies from an async iterable handler to a stream() consumer", async () => {
    const { broker: b, endpoint } = await broker();
    worker(endpoint, "count", { version: 2, handler: (f) => countTo(4, f) });
    const c = client(endpoint, { version: 2 });
    const got: string[] = [];
    for await (const chunk of c.stream("count", "n")) got.push(...text(chunk));
    expect(got).toEqual(["n-1", "n-2", "n-3", "n-4"]);
    expect(b.stats()).toMatchObject({ partials: 3, replies: 1 });
    expect(c.stats()).toMatchObject({ partials: 3, replies: 1 });
  });

  it("supports partial() from a plain handler and onPartial on request()", async () => {
    const { endpoint } = await broker();
    worker(endpoint, "progress", {
      version: 2,
      handler: async (f, ctx) => {
        ctx.partial(["10%"]);
        ctx.partial(["90%"]);
        return ["done", ...f];
      },
    });
    const c = client(endpoint, { version: 2 });
    const partials: string[] = [];
    const final = await c.request("progress", "job", { onPartial: (b) => partials.push(...text(b)) });
    expect(partials).toEqual(["10%", "90%"]);
    expect(text(final)).toEqual(["done", "job"]);
  });

  it("serves 0.1 and 0.2 clients and workers on the same socket", async () => {
    const { broker: b, endpoint } = await broker();
    worker(endpoint, "v1", { handler: (f) => ["v1", ...f] });
    worker(endpoint, "v2", { version: 2, handler: (f, ctx) => (ctx.partial(["p"]), ["v2", ...f]) });
    const c1 = client(endpoint);
    const c2 = client(endpoint, { version: 2 });
    expect(text(await c1.request("v1", "a"))).toEqual(["v1", "a"]);
    expect(text(await c2.request("v1", "b"))).toEqual(["v1", "b"]);
    expect(text(await c2.request("v2", "c"))).toEqual(["v2", "c"]);
    // A 0.1 client cannot receive PARTIALs: they are dropped (counted), the FINAL arrives as REPLY.
    expect(text(await c1.request("v2", "d"))).toEqual(["v2", "d"]);
    expect(b.stats()).toMatchObject({ partialsDropped: 1, partials: 1, malformed: 0 });
    expect(text(await c2.request("mmi.service", "v2"))).toEqual(["200"]);
  });

  it("a 0.1 worker joins streamed items into one REPLY and refuses partial()", async () => {
    const { endpoint } = await broker();
    const errors: unknown[] = [];
    worker(endpoint, "joined", { handler: (f) => countTo(3, f) });
    const w = worker(endpoint, "refuse", { handler: (_f, ctx) => (ctx.partial("x"), ["never"]), errorReply: (e) => [String(e instanceof TypeError)] });
    w.on("request:failed", (e) => errors.push(e.error));
    const c = client(endpoint);
    expect(text(await c.request("joined", "j"))).toEqual(["j-1", "j-2", "j-3"]);
    expect(text(await c.request("refuse", "r"))).toEqual(["true"]);
    expect(errors).toHaveLength(1);
  });

  it("0.2 DISCONNECT for unexpected commands uses the 0.2 header", async () => {
    const { endpoint } = await broker();
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(endpoint);
    await dealer.send(["MDPW02", Buffer.from([5])]);
    const reply = (await dealer.receive()) as Buffer[];
    expect(text(reply)).toEqual(["MDPW02", "\x06"]);
    dealer.close();
  });

  it("breaking out of a stream abandons the request", async () => {
    const { endpoint } = await broker();
    worker(endpoint, "endless", {
      version: 2,
      handler: async function* () {
        for (;;) {
          await new Promise((r) => setTimeout(r, 5));
          yield ["tick"];
        }
      },
    });
    const c = client(endpoint, { version: 2 });
    let n = 0;
    for await (const _ of c.stream("endless", "x")) if (++n === 3) break;
    await waitFor(() => c.stats().aborted === 1);
    expect(c.stats().inFlight).toBe(0);
  });
});

describe("protocol parsers return errors as values", () => {
  it("parses every command and rejects bad frames without throwing", () => {
    const b = (...f: (string | number[])[]) => f.map((x) => (typeof x === "string" ? Buffer.from(x) : Buffer.from(x)));
    expect(parseBrokerInbound(clientRequest(1, "echo", "x"))).toMatchObject({ ok: true, kind: "request", version: 1, service: "echo" });
    expect(parseBrokerInbound(clientRequest(2, "echo", "x"))).toMatchObject({ ok: true, kind: "request", version: 2 });
    expect(parseBrokerInbound(workerReply(2, Buffer.from("c"), "x", false))).toMatchObject({ ok: true, kind: "reply", final: false });
    expect(parseBrokerInbound(b("", "MDPW01", [1], "svc", "extra"))).toMatchObject({ ok: false });
    expect(parseBrokerInbound(b("", "MDPC01", "echo"))).toMatchObject({ ok: false });
    expect(parseBrokerInbound(b("", "MDPC01", "bad\x01name", "x"))).toMatchObject({ ok: false });
    expect(parseBrokerInbound(b("MDPC02", [2], "echo", "x"))).toMatchObject({ ok: false });
    expect(parseBrokerInbound(b("", "MDPW01", [9]))).toMatchObject({ ok: false });
    expect(parseBrokerInbound(b("", "MDPW01", [3], "", "", "x"))).toMatchObject({ ok: false });
    expect(parseBrokerInbound([])).toMatchObject({ ok: false });
    expect(parseWorkerInbound(b("", "MDPW01", [2], "c", "", "x"), 1)).toMatchObject({ ok: true, kind: "request" });
    expect(parseWorkerInbound(b("MDPW02", [6]), 2)).toMatchObject({ ok: true, kind: "disconnect" });
    expect(parseWorkerInbound(b("MDPW02", [6]), 1)).toMatchObject({ ok: false });
    expect(parseClientInbound(b("MDPC02", [2], "s", "x"), 2)).toMatchObject({ ok: true, final: false });
    expect(parseClientInbound(b("MDPC02", [1], "s", "x"), 2)).toMatchObject({ ok: false });
    expect(parseClientInbound(b("", "MDPC01", "s"), 1)).toMatchObject({ ok: false });
  });
});
