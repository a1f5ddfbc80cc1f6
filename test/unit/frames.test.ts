import { describe, it, expect } from "vitest";
import { EMPTY, byteFrame, frameToText, framesEqual, framesToText, idKey, isByte, isMessageLike, joinEnvelope, packFrames, packedFrame, splitEnvelope, unpackFrames, toFrame, toFrames } from "../../src/index.js";

const b = (s: string) => Buffer.from(s);

describe("frames", () => {
  it("toFrame/toFrames normalise strings, Uint8Arrays and Buffers", () => {
    const buf = b("x");
    expect(toFrame(buf)).toBe(buf);
    expect(toFrame("é")).toEqual(Buffer.from([0xc3, 0xa9]));
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    const f = toFrame(view);
    expect(Buffer.isBuffer(f)).toBe(true);
    expect([...f]).toEqual([1, 2, 3]);
    expect(toFrames("a")).toEqual([b("a")]);
    expect(toFrames(buf)).toEqual([buf]);
    expect(toFrames(["a", new Uint8Array([1]), b("c")])).toEqual([b("a"), Buffer.from([1]), b("c")]);
    expect(toFrames([])).toEqual([]);
  });

  it("isMessageLike accepts frames and non-empty frame arrays only", () => {
    expect(isMessageLike("a")).toBe(true);
    expect(isMessageLike(b(""))).toBe(true);
    expect(isMessageLike(["a", b("b")])).toBe(true);
    expect(isMessageLike([])).toBe(false);
    expect(isMessageLike([1])).toBe(false);
    expect(isMessageLike(undefined)).toBe(false);
  });

  it("splitEnvelope splits at the first empty frame, and rejects missing delimiter or address", () => {
    expect(splitEnvelope([b("id1"), b("id2"), EMPTY, b("body"), EMPTY, b("x")])).toEqual({ envelope: [b("id1"), b("id2")], body: [b("body"), EMPTY, b("x")] });
    expect(splitEnvelope([b("id"), EMPTY])).toEqual({ envelope: [b("id")], body: [] });
    expect(splitEnvelope([b("id"), b("body")])).toBeUndefined();
    expect(splitEnvelope([EMPTY, b("body")])).toBeUndefined();
    expect(splitEnvelope([EMPTY, b("body")], 0)).toEqual({ envelope: [], body: [b("body")] });
    expect(splitEnvelope([b("a"), EMPTY, b("x")], 2)).toBeUndefined();
    expect(splitEnvelope([])).toBeUndefined();
  });

  it("joinEnvelope is the inverse of splitEnvelope and does not alias its input", () => {
    const env = [b("id1"), b("id2")];
    const joined = joinEnvelope(env, ["body", b("more")]);
    expect(joined).toEqual([b("id1"), b("id2"), EMPTY, b("body"), b("more")]);
    expect(env).toHaveLength(2);
    const split = splitEnvelope(joined)!;
    expect(joinEnvelope(split.envelope, split.body)).toEqual(joined);
    expect(joinEnvelope([], [])).toEqual([EMPTY]);
  });

  it("isByte, byteFrame, framesEqual, idKey", () => {
    expect(isByte(byteFrame(1), 1)).toBe(true);
    expect(isByte(byteFrame(1), 2)).toBe(false);
    expect(isByte(Buffer.from([1, 1]), 1)).toBe(false);
    expect(isByte(undefined, 1)).toBe(false);
    expect(isByte(EMPTY, 0)).toBe(false);
    expect(framesEqual(b("ab"), b("ab"))).toBe(true);
    expect(framesEqual(b("ab"), b("abc"))).toBe(false);
    // idKey is a lossless key: distinct binary ids give distinct keys
    const ids = [Buffer.from([0, 0x80, 0xff]), Buffer.from([0, 0x80, 0xfe]), Buffer.from([0xc3, 0xa9]), b("é")];
    expect(new Set(ids.map(idKey)).size).toBe(3); // the last two are the same bytes
    expect(Buffer.from(idKey(ids[0]!), "latin1")).toEqual(ids[0]);
  });

  it("framesToText shows valid printable UTF-8 as text and anything else as hex", () => {
    expect(framesToText([b("hello"), b("tab\there\nline"), b("héllo ✓"), EMPTY])).toEqual(["hello", "tab\there\nline", "héllo ✓", ""]);
    expect(frameToText(Buffer.from([0xff, 0xfe]))).toBe("0xfffe"); // invalid UTF-8
    expect(frameToText(Buffer.from([0xc3]))).toBe("0xc3"); // truncated sequence
    expect(frameToText(Buffer.from([0xed, 0xa0, 0x80]))).toBe("0xeda080"); // UTF-16 surrogate
    expect(frameToText(Buffer.from([1]))).toBe("0x01"); // control character
    expect(frameToText(b("a\u007f"))).toBe("0x617f");
  });
});

describe("packFrames / unpackFrames", () => {
  it("round-trips any frames, empty ones included, as views into one buffer", () => {
    const frames = [Buffer.from("client"), Buffer.alloc(0), Buffer.alloc(300, 7), Buffer.from([0])];
    const packed = packFrames(frames);
    expect(packed.length).toBe(4 + 4 * frames.length + 307);
    const back = unpackFrames(packed);
    expect(back).toEqual(frames);
    expect(back.every((f) => f.buffer === packed.buffer)).toBe(true);
    expect(packedFrame(packed, 0)).toEqual(Buffer.from("client"));
    expect(packedFrame(packed, 2)).toEqual(Buffer.alloc(300, 7));
    expect(unpackFrames(packFrames([]))).toEqual([]);
  });

  it("copies: changing a source frame later does not change the packed one", () => {
    const f = Buffer.from("abc");
    const packed = packFrames([f]);
    f[0] = 0x7a;
    expect(unpackFrames(packed)[0]!.toString()).toBe("abc");
  });
});
