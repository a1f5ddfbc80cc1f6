/**
 * The Mongrel2 wire format (patterns/mongrel2/protocol.ts) against byte strings written from
 * the manual (docs/manual/hacking.tex: `UUID ID PATH SIZE:HEADERS,SIZE:BODY,` and
 * `UUID SIZE:ID ID ID, BODY`) and from what src/handler.c and src/upload.c send: JSON and
 * tnetstring headers, the disconnect notice, upload start/done, many ids; then fuzzed input.
 */
import { describe, expect, it } from "vitest";
import { MAX_TARGETS, encodeReply, parseMessage, parseTnetstring, tnetstring, type Mongrel2Message } from "../../patterns/mongrel2/protocol.js";
import { malformedMessages, prng } from "../helpers/malformed.js";

const UUID = "54c6755b-9628-40a4-9a2d-cc82a816345e";
const b = (s: string) => Buffer.from(s, "latin1");
/** A netstring, with its length counted here (the test strings stay readable). */
const ns = (s: string) => `${Buffer.byteLength(s, "latin1")}:${s},`;

function ok<T extends Mongrel2Message["type"]>(msg: Mongrel2Message, type: T): Extract<Mongrel2Message, { type: T }> {
  if (msg.type !== type) throw new Error(`expected ${type}, got ${JSON.stringify(msg)}`);
  return msg as Extract<Mongrel2Message, { type: T }>;
}

describe("mongrel2 protocol: requests", () => {
  it("parses a GET with JSON headers", () => {
    const headers = '{"PATH":"/handlertest","x-forwarded-for":"127.0.0.1","accept":"*/*","user-agent":"curl/7.88","host":"localhost:6767","METHOD":"GET","VERSION":"HTTP/1.1","URI":"/handlertest?a=1","QUERY":"a=1","PATTERN":"/handlertest","URL_SCHEME":"http","REMOTE_ADDR":"127.0.0.1"}';
    const msg = ok(parseMessage(b(`${UUID} 42 /handlertest ${ns(headers)}0:,`)), "request");
    expect(msg).toMatchObject({ uuid: UUID, id: 42, path: "/handlertest", protocol: "json" });
    expect(msg.headers).toMatchObject({ METHOD: "GET", URI: "/handlertest?a=1", QUERY: "a=1", host: "localhost:6767" });
    expect(msg.body.length).toBe(0);
  });

  it("parses a POST body, repeated headers as lists, and raw control characters mongrel2 leaves unescaped", () => {
    const headers = '{"PATH":"/f","METHOD":"POST","x-two":["1","2"],"x-q":"say \\"hi\\"","x-tab":"a\tb"}';
    const msg = ok(parseMessage(b(`${UUID} 7 /f ${ns(headers)}${ns("name=ada")}`)), "request");
    expect(msg.body.toString()).toBe("name=ada");
    expect(msg.headers).toMatchObject({ "x-two": ["1", "2"], "x-q": 'say "hi"', "x-tab": "a\tb" });
  });

  it("keeps header bytes as latin1, like node:http", () => {
    const raw = Buffer.concat([b(`${UUID} 1 / `), b("26:"), b('{"x":"caf'), Buffer.from([0xc3, 0xa9]), b('","METHOD":"G"},0:,')]);
    const msg = ok(parseMessage(raw), "request");
    expect(Buffer.from(msg.headers.x as string, "latin1")).toEqual(Buffer.from("café"));
  });

  it("parses tnetstring headers (protocol='tnetstring'), lists included", () => {
    // tnetstrings.org: 6:METHOD, is a string, ...} a dict, ...] a list
    const dict = "6:METHOD,3:GET,4:PATH,2:/t,5:x-two,8:1:1,1:2,]";
    const raw = b(`${UUID} 9 /t ${dict.length}:${dict}}${ns("body")}`);
    const msg = ok(parseMessage(raw), "request");
    expect(msg).toMatchObject({ protocol: "tnetstring", headers: { METHOD: "GET", PATH: "/t", "x-two": ["1", "2"] } });
    expect(msg.body.toString()).toBe("body");
  });

  it("recognises the disconnect notice in both encodings (handler.c Handler_notify_leave)", () => {
    const json = ok(parseMessage(b(`${UUID} 12 @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},`)), "disconnect");
    expect(json).toMatchObject({ uuid: UUID, id: 12, path: "@*" });
    const tnet = ok(parseMessage(b(`${UUID} 13 @* 16:6:METHOD,4:JSON,}21:{"type":"disconnect"},`)), "disconnect");
    expect(tnet).toMatchObject({ id: 13, protocol: "tnetstring" });
    ok(parseMessage(b(`${UUID} 14 @* 17:{"METHOD":"JSON"},18:{"type":"credits"},`)), "credits");
    // a JSON socket message that is not a notice is a request
    ok(parseMessage(b(`${UUID} 15 /chat 17:{"METHOD":"JSON"},${ns('{"type":"msg","msg":"hi"}')}`)), "request");
  });

  it("recognises upload start and done (upload.c Upload_notify), and a forged mismatch", () => {
    const start = '{"PATH":"/up","content-length":"50000","x-mongrel2-upload-start":"tmp/upload.AbC123","METHOD":"PUT"}';
    expect(ok(parseMessage(b(`${UUID} 3 /up ${ns(start)}0:,`)), "upload-start")).toMatchObject({ file: "tmp/upload.AbC123", id: 3 });
    const done = '{"PATH":"/up","x-mongrel2-upload-start":"tmp/upload.AbC123","x-mongrel2-upload-done":"tmp/upload.AbC123","METHOD":"PUT"}';
    expect(ok(parseMessage(b(`${UUID} 3 /up ${ns(done)}0:,`)), "upload-done")).toMatchObject({ file: "tmp/upload.AbC123" });
    const forged = '{"x-mongrel2-upload-start":"tmp/upload.A","x-mongrel2-upload-done":"/etc/passwd"}';
    expect(parseMessage(b(`${UUID} 3 /up ${ns(forged)}0:,`))).toMatchObject({ type: "malformed", reason: expect.stringMatching(/differs/) });
  });

  it.each([
    ["no spaces", "garbage"],
    ["bad uuid", `bad_uuid! 1 / 2:{},0:,`],
    ["id not a number", `${UUID} x / 2:{},0:,`],
    ["empty path", `${UUID} 1  2:{},0:,`],
    ["length past the end", `${UUID} 1 / 99:{},0:,`],
    ["headers not JSON", `${UUID} 1 / 2:{x,0:,`],
    ["headers not an object", `${UUID} 1 / 2:[],0:,`],
    ["header value a number", `${UUID} 1 / 7:{"a":1},0:,`],
    ["bad terminator", `${UUID} 1 / 2:{}x0:,`],
    ["body without comma", `${UUID} 1 / 2:{},0:x`],
    ["trailing data", `${UUID} 1 / 2:{},0:,extra`],
    ["leading zero length", `${UUID} 1 / 02:{},0:,`],
    ["huge length", `${UUID} 1 / 9999999999:{},0:,`],
    ["tnetstring key not a string", `${UUID} 1 / 8:1:1#1:a,}0:,`],
    ["tnetstring unknown tag", `${UUID} 1 / 8:1:a,1:b?}0:,`],
  ])("reports %s as malformed", (_what, text) => {
    expect(parseMessage(b(text))).toMatchObject({ type: "malformed", reason: expect.any(String) });
  });
});

describe("mongrel2 protocol: replies", () => {
  it("encodes UUID SP LEN:IDS, SP BODY (the manual's example shape)", () => {
    expect(encodeReply(UUID, [1, 2, 3], "HTTP/1.1 200 OK\r\n\r\n").map(String)).toEqual([`${UUID} 5:1 2 3, HTTP/1.1 200 OK\r\n\r\n`]);
    expect(encodeReply(UUID, 42, "x").map(String)).toEqual([`${UUID} 2:42, x`]);
  });

  it("closes with an empty body", () => {
    expect(encodeReply(UUID, 9).map(String)).toEqual([`${UUID} 1:9, `]);
  });

  it("puts at most 128 ids in one message and batches beyond", () => {
    const ids = Array.from({ length: 300 }, (_, i) => i + 1);
    const out = encodeReply(UUID, ids, "hi");
    expect(out).toHaveLength(3);
    const lists = out.map((m) => {
      const text = m.toString();
      const colon = text.indexOf(":", UUID.length);
      const len = Number(text.slice(UUID.length + 1, colon));
      const list = text.slice(colon + 1, colon + 1 + len);
      expect(text.slice(colon + 1 + len)).toBe(", hi");
      return list.split(" ").map(Number);
    });
    expect(lists.map((l) => l.length)).toEqual([MAX_TARGETS, MAX_TARGETS, 300 - 2 * MAX_TARGETS]);
    expect(lists.flat()).toEqual(ids);
  });

  it("refuses a bad uuid, a bad id, no id", () => {
    expect(() => encodeReply("a b", 1)).toThrow(TypeError);
    expect(() => encodeReply(UUID, -1)).toThrow(TypeError);
    expect(() => encodeReply(UUID, 1.5)).toThrow(TypeError);
    expect(() => encodeReply(UUID, [])).toThrow(TypeError);
  });
});

describe("mongrel2 protocol: tnetstrings", () => {
  it("round-trips every type", () => {
    const value = { s: "str", n: 42, neg: -3, f: 1.5, t: true, no: false, nil: null, list: ["a", 1, ["nested"]], dict: { k: "v" } };
    const encoded = tnetstring(value);
    const parsed = parseTnetstring(encoded);
    expect(parsed.end).toBe(encoded.length);
    expect(JSON.parse(JSON.stringify(parsed.value))).toEqual(value);
  });

  it("bounds nesting", () => {
    let v = "0:]";
    for (let i = 0; i < 40; i++) v = `${v.length}:${v}]`;
    expect(() => parseTnetstring(b(v))).toThrow(/nested deeper/);
  });
});

describe("mongrel2 protocol: fuzzed input", () => {
  const valid = [
    b(`${UUID} 42 /handlertest ${ns('{"PATH":"/h","METHOD":"GET","x-a":["1","2"]}')}${ns("body")}`),
    b(`${UUID} 9 /t ${"6:METHOD,3:GET,5:x-two,8:1:1,1:2,]".length}:6:METHOD,3:GET,5:x-two,8:1:1,1:2,]}${ns("b")}`),
    b(`${UUID} 12 @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},`),
  ];

  it("never throws on noise and mutations of valid messages", () => {
    const messages = malformedMessages(2000, 7, valid.map((m) => [m])).flat();
    let malformed = 0;
    for (const m of messages) {
      const msg = parseMessage(m);
      if (msg.type === "malformed") malformed++;
      else expect(msg.uuid).toMatch(/^[A-Za-z0-9-]+$/);
    }
    expect(malformed).toBeGreaterThan(messages.length / 2);
  });

  it("never throws on single-byte flips, truncations and insertions", () => {
    const rand = prng(11);
    for (let i = 0; i < 5000; i++) {
      const base = Buffer.from(valid[i % valid.length]!);
      const at = Math.floor(rand() * base.length);
      const mode = i % 3;
      const m = mode === 0 ? (base.writeUInt8(Math.floor(rand() * 256), at), base) : mode === 1 ? base.subarray(0, at) : Buffer.concat([base.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), base.subarray(at)]);
      const msg = parseMessage(m);
      expect(typeof msg.type).toBe("string");
    }
  });
});
