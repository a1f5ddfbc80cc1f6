/** 10/FLP frames, on bytes: builders and parsers (which never throw on network input). */
import { describe, expect, it } from "vitest";
import { CCF_SIZE, PING, PONG, ccfFrame, ccfSequence, parseClientMessage, parseServerMessage, pingMessage, pongMessage, replyMessage, requestMessage } from "../../patterns/freelance/index.js";
import { malformedMessages } from "../helpers/malformed.js";

const b = (s: string) => Buffer.from(s);
const id = b("peer");

describe("10/FLP frames", () => {
  it("PING and PONG are the four ASCII characters", () => {
    expect([...PING]).toEqual([0x50, 0x49, 0x4e, 0x47]);
    expect([...PONG]).toEqual([0x50, 0x4f, 0x4e, 0x47]);
    expect(pingMessage(b("tcp://h:1"))).toEqual([b("tcp://h:1"), b("PING")]);
    expect(pongMessage(id)).toEqual([id, b("PONG")]);
  });

  it("a request is CCF + body; a reply echoes the CCF unmodified", () => {
    const ccf = Buffer.from([0, 0, 1, 0]);
    expect(requestMessage(b("tcp://h:1"), ccf, [b("a"), b("b")])).toEqual([b("tcp://h:1"), ccf, b("a"), b("b")]);
    expect(() => requestMessage(id, ccf, [])).toThrow(RangeError);
    expect(replyMessage(id, ccf, [b("x")])).toEqual([id, ccf, b("x")]);
    expect(replyMessage(id, ccf, [])).toEqual([id, ccf, Buffer.alloc(0)]);
  });

  it("the client's CCF is a 4-byte big-endian sequence number", () => {
    expect(CCF_SIZE).toBe(4);
    expect([...ccfFrame(258)]).toEqual([0, 0, 1, 2]);
    expect(ccfSequence(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toBe(0xffffffff);
    expect(ccfSequence(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(ccfSequence(Buffer.alloc(0))).toBeUndefined();
  });

  it("parses what a client sends", () => {
    expect(parseClientMessage([id, b("PING")])).toEqual({ type: "ping" });
    expect(parseClientMessage([id, b("ccf"), b("body"), b("more")])).toEqual({ type: "request", ccf: b("ccf"), body: [b("body"), b("more")] });
    // a request whose CCF reads "PING" is still a request (two frames)
    expect(parseClientMessage([id, b("PING"), b("x")])).toMatchObject({ type: "request" });
    // an empty CCF or body frame is allowed: FLP says nothing of their contents
    expect(parseClientMessage([id, Buffer.alloc(0), Buffer.alloc(0)])).toMatchObject({ type: "request" });
    expect(parseClientMessage([id])).toMatchObject({ type: "malformed", reason: "empty message" });
    expect(parseClientMessage([id, b("PONG")])).toMatchObject({ type: "malformed" });
    expect(parseClientMessage([id, b("ping")])).toMatchObject({ type: "malformed" });
    expect(parseClientMessage([id, Buffer.alloc(0)])).toMatchObject({ type: "malformed" });
    expect(parseClientMessage([b("PING")], 0)).toEqual({ type: "ping" });
  });

  it("parses what a server sends", () => {
    expect(parseServerMessage([id, b("PONG")])).toEqual({ type: "pong" });
    expect(parseServerMessage([id, ccfFrame(7), b("ok")])).toEqual({ type: "reply", ccf: ccfFrame(7), body: [b("ok")] });
    expect(parseServerMessage([id, b("PING")])).toMatchObject({ type: "malformed" });
    expect(parseServerMessage([id, b("PONGX")])).toMatchObject({ type: "malformed" });
    expect(parseServerMessage([])).toMatchObject({ type: "malformed" });
  });

  it("never throws on garbage", () => {
    for (const m of malformedMessages(500, 7, [[b("PING")], [ccfFrame(1), b("x")]])) {
      expect(() => parseClientMessage(m, 0)).not.toThrow();
      expect(() => parseServerMessage(m, 0)).not.toThrow();
      expect(() => parseClientMessage(m)).not.toThrow();
      expect(() => parseServerMessage(m)).not.toThrow();
    }
  });
});
