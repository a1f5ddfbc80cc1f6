/**
 * 12/CHP wire format (patterns/clone/protocol.ts): encoders and parsers, parse errors as values.
 */
import { describe, expect, it } from "vitest";
import {
  EMPTY,
} from "../../src/index.js";
import {
  ICANHAZ,
  decodeProperties,
  decodeSequence,
  encodeProperties,
  encodeSequence,
  hugzMessage,
  icanhazMessage,
  kthxbaiMessage,
  kvFrames,
  kvsyncMessage,
  newUuid,
  parsePublication,
  parseSnapshotReply,
  parseSnapshotRequest,
  parseUpdate,
  ttlOf,
} from "../../patterns/clone/index.js";
import { cloneEndpoints } from "../../patterns/clone/index.js";

const id = Buffer.from("client");

describe("clone protocol", () => {
  it("encodes sequence numbers as 8 bytes big-endian, up to 2^53 - 1", () => {
    expect(encodeSequence(1).toString("hex")).toBe("0000000000000001");
    expect(encodeSequence(2 ** 32 + 5).toString("hex")).toBe("0000000100000005");
    expect(decodeSequence(encodeSequence(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeSequence(Buffer.from("0020000000000000", "hex"))).toMatch(/2\^53/);
    expect(decodeSequence(Buffer.alloc(7))).toMatch(/7 bytes/);
  });

  it("encodes and parses properties as name=value lines", () => {
    expect(encodeProperties({ ttl: "5", a: "b=c" }).toString()).toBe("ttl=5\na=b=c\n");
    expect(encodeProperties({})).toBe(EMPTY);
    expect(decodeProperties(Buffer.from("ttl=5\na=b=c\n"))).toEqual({ ttl: "5", a: "b=c" });
    expect(decodeProperties(EMPTY)).toEqual({});
    expect(decodeProperties(Buffer.from("ttl=5"))).toMatch(/newline/);
    expect(decodeProperties(Buffer.from("=5\n"))).toMatch(/name=value/);
    expect(ttlOf({ ttl: "1.5" })).toBe(1.5);
    expect(ttlOf({})).toBe(0);
    expect(ttlOf({ ttl: "-1" })).toMatch(/not a number/);
  });

  it("parses ICANHAZ?, and refuses anything else at the snapshot port", () => {
    expect(parseSnapshotRequest([id, ...icanhazMessage("/a/b/")])).toEqual({ type: "icanhaz", subtree: "/a/b/" });
    expect(parseSnapshotRequest([id, ICANHAZ, EMPTY])).toEqual({ type: "icanhaz", subtree: "" });
    expect(parseSnapshotRequest([id, ICANHAZ])).toMatchObject({ type: "malformed" });
    expect(parseSnapshotRequest([id, Buffer.from("ICANHAZ"), EMPTY])).toMatchObject({ type: "malformed" });
    expect(parseSnapshotRequest([id, ICANHAZ, Buffer.from("a/")])).toMatchObject({ type: "malformed", reason: expect.stringMatching(/subtree/) });
  });

  it("builds KVSYNC/KTHXBAI and parses them on the client side", () => {
    const sync = kvsyncMessage(id, "/a", 7, Buffer.from("v"));
    expect(sync.slice(1).map((f) => f.toString("hex"))).toEqual([Buffer.from("/a").toString("hex"), "0000000000000007", "", "", Buffer.from("v").toString("hex")]);
    expect(parseSnapshotReply(sync.slice(1))).toMatchObject({ type: "kvsync", kv: { key: "/a", seq: 7, value: Buffer.from("v") } });
    expect(parseSnapshotReply(kthxbaiMessage(id, 9, "/a/").slice(1))).toEqual({ type: "kthxbai", seq: 9, subtree: "/a/" });
    expect(parseSnapshotReply([Buffer.from("/a")])).toMatchObject({ type: "malformed", reason: "expected 5 frames, got 1" });
  });

  it("parses KVPUB and HUGZ, and KVSET with its ttl", () => {
    const uuid = newUuid();
    expect(uuid.length).toBe(16);
    const frames = kvFrames({ key: "/k", seq: 3, uuid, props: { ttl: "2" }, value: Buffer.from("x") });
    expect(parsePublication(frames)).toMatchObject({ type: "kvpub", kv: { key: "/k", seq: 3, uuid, props: { ttl: "2" } } });
    expect(parsePublication(hugzMessage())).toEqual({ type: "hugz" });
    expect(hugzMessage()[1]!.toString("hex")).toBe("0000000000000000");
    expect(parseUpdate(frames)).toMatchObject({ type: "kvset", ttl: 2, kv: { key: "/k" } });
    expect(parseUpdate([Buffer.from("/k"), encodeSequence(0), Buffer.alloc(3), EMPTY, EMPTY])).toMatchObject({ reason: expect.stringMatching(/uuid/) });
    expect(parseUpdate([EMPTY, encodeSequence(0), EMPTY, EMPTY, EMPTY])).toMatchObject({ reason: "empty key" });
    expect(parseUpdate([Buffer.from("/k"), encodeSequence(0), EMPTY, Buffer.from("ttl=x\n"), EMPTY])).toMatchObject({ type: "malformed" });
  });

  it("derives P, P+1, P+2 from tcp://HOST:P", () => {
    expect(cloneEndpoints("T", "bind", "tcp://*:5556")).toEqual({ base: "tcp://*:5556", snapshot: "tcp://*:5556", publisher: "tcp://*:5557", collector: "tcp://*:5558" });
    expect(() => cloneEndpoints("T", "bind", "tcp://*:65534")).toThrow(/bind/);
    expect(() => cloneEndpoints("T", "endpoint", "inproc://x")).toThrow(/endpoint/);
  });
});
