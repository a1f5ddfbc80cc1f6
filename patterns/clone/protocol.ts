/**
 * 12/CHP (Clustered Hashmap Protocol) wire format. Every command but `ICANHAZ?` is five
 * frames; parsers never throw: they return a command or `{ type: "malformed", reason }`, so
 * the caller counts and drops what the spec does not allow.
 *
 * ```
 * ICANHAZ = "ICANHAZ?" subtree                              ; client -> server snapshot (ROUTER, port P)
 * KVSYNC  = key seq <empty> <empty> value                   ; server -> client, zero or more
 * KTHXBAI = "KTHXBAI" seq <empty> <empty> subtree           ; server -> client, ends a snapshot
 * KVPUB   = key seq uuid properties value                   ; server PUB (port P+1) -> clients
 * HUGZ    = "HUGZ" 00000000 <empty> <empty> <empty>         ; server PUB, when idle
 * KVSET   = key seq uuid properties value                   ; client PUB -> server SUB collector (port P+2)
 * seq        = 8 bytes, big-endian (network order)
 * uuid       = 16 bytes, or empty
 * properties = *( name "=" value LF )
 * ```
 *
 * An empty value is a delete; the `ttl` property (seconds) makes a key expire. Sequence
 * numbers are JavaScript integers here (up to 2^53 - 1); a wire value beyond that is malformed.
 * @module
 */
import { randomUUID } from "node:crypto";
import { EMPTY } from "../../src/index.js";

/** `"ICANHAZ?"`: a snapshot request (two frames: the command and a subtree). */
export const ICANHAZ: Buffer = Buffer.from("ICANHAZ?");
/** `"KTHXBAI"`: the key of the command that ends a snapshot. */
export const KTHXBAI: Buffer = Buffer.from("KTHXBAI");
/** `"HUGZ"`: the key of the server's idle heartbeat. */
export const HUGZ: Buffer = Buffer.from("HUGZ");
/** Keys a client may not set: they name commands on the client's sockets. */
export const RESERVED_KEYS: readonly string[] = ["KTHXBAI", "HUGZ"];
/** The property that makes a key expire, in seconds. */
export const TTL_PROPERTY = "ttl";
/** The Guide's HUGZ period (ms): "once per second" when idle. */
export const HUGZ_INTERVAL = 1000;
/** The Guide's clone agent gives a server up after this long without a message (ms). */
export const SERVER_TTL = 5000;
/** Size of a UUID frame when present. */
export const UUID_SIZE = 16;
/** Largest sequence number this implementation carries (2^53 - 1). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** Properties of a key-value pair (`name=value` lines). */
export type Properties = Readonly<Record<string, string>>;

/** One key-value update as it travels (KVSET, KVPUB, KVSYNC). */
export interface KvMessage {
  readonly key: string;
  readonly seq: number;
  /** 16 bytes, or empty. */
  readonly uuid: Buffer;
  readonly props: Properties;
  /** Empty: a delete. */
  readonly value: Buffer;
}

/** A message that breaks 12/CHP, with the reason. */
export interface Malformed {
  readonly type: "malformed";
  readonly reason: string;
}

/** What a server's snapshot ROUTER can receive (after the routing id). */
export type SnapshotRequest = { readonly type: "icanhaz"; readonly subtree: string } | Malformed;

/** What a client's snapshot DEALER can receive. */
export type SnapshotReply = { readonly type: "kvsync"; readonly kv: KvMessage } | { readonly type: "kthxbai"; readonly seq: number; readonly subtree: string } | Malformed;

/** What a client's SUB can receive. */
export type Publication = { readonly type: "kvpub"; readonly kv: KvMessage } | { readonly type: "hugz" } | Malformed;

/** What a server's collector can receive. */
export type Update = { readonly type: "kvset"; readonly kv: KvMessage; readonly ttl: number } | Malformed;

const HUGZ_CMD: Publication = Object.freeze({ type: "hugz" });

/** Eight bytes, big-endian. */
export function encodeSequence(seq: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 0);
  b.writeUInt32BE(seq >>> 0, 4);
  return b;
}

/** The sequence number in an 8-byte frame, or a reason it is not one. */
export function decodeSequence(frame: Buffer): number | string {
  if (frame.length !== 8) return `sequence frame of ${frame.length} bytes (expected 8)`;
  const hi = frame.readUInt32BE(0);
  if (hi > 0x1f_ffff) return "sequence beyond 2^53";
  return hi * 0x1_0000_0000 + frame.readUInt32BE(4);
}

/** Encode properties as `name=value\n` lines. Names may not hold `=` or LF, values not LF. */
export function encodeProperties(props: Properties): Buffer {
  let text = "";
  for (const [name, value] of Object.entries(props)) text += `${name}=${value}\n`;
  return text.length === 0 ? EMPTY : Buffer.from(text);
}

/** Parse a properties frame, or say why it is not one. */
export function decodeProperties(frame: Buffer): Properties | string {
  if (frame.length === 0) return {};
  const text = frame.toString("utf8");
  if (!text.endsWith("\n")) return "properties not terminated by a newline";
  const props: Record<string, string> = {};
  for (const line of text.slice(0, -1).split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) return `property line without a name=value: ${JSON.stringify(line.slice(0, 32))}`;
    props[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return props;
}

/** True for a valid property name (non-empty, no `=`, no LF) or value (no LF). */
export function validProperty(name: string, value: string): boolean {
  return name.length > 0 && !/[=\n]/.test(name) && !value.includes("\n");
}

/** The `ttl` property in seconds (0 when absent), or a reason it is not a number of seconds. */
export function ttlOf(props: Properties): number | string {
  const raw = props[TTL_PROPERTY];
  if (raw === undefined) return 0;
  if (!/^\d+(\.\d+)?$/.test(raw)) return `ttl ${JSON.stringify(raw.slice(0, 16))} is not a number of seconds`;
  return Number(raw);
}

/** A fresh random UUID, as 16 bytes. */
export function newUuid(): Buffer {
  return Buffer.from(randomUUID().replace(/-/g, ""), "hex");
}

/** The five frames of a key-value message. */
export function kvFrames(kv: KvMessage): Buffer[] {
  return [Buffer.from(kv.key), encodeSequence(kv.seq), kv.uuid, encodeProperties(kv.props), kv.value];
}

/** Parse five frames into a key-value message, or say why they are not one. */
function parseKv(frames: readonly Buffer[], offset: number): KvMessage | string {
  if (frames.length - offset !== 5) return `expected 5 frames, got ${frames.length - offset}`;
  const [key, seqFrame, uuid, propsFrame, value] = frames.slice(offset) as [Buffer, Buffer, Buffer, Buffer, Buffer];
  const seq = decodeSequence(seqFrame);
  if (typeof seq === "string") return seq;
  if (uuid.length !== 0 && uuid.length !== UUID_SIZE) return `uuid frame of ${uuid.length} bytes (expected 0 or 16)`;
  const props = decodeProperties(propsFrame);
  if (typeof props === "string") return props;
  return { key: key.toString("utf8"), seq, uuid, props, value };
}

const malformed = (reason: string): Malformed => ({ type: "malformed", reason });

/** A subtree is empty, or `/` followed by segments and ending in `/` (the RFC's form). */
export function validSubtree(subtree: string): boolean {
  return subtree === "" || (subtree.startsWith("/") && subtree.endsWith("/"));
}

/** Classify what a server's snapshot ROUTER received; frames before `offset` (routing id) are skipped. */
export function parseSnapshotRequest(frames: readonly Buffer[], offset = 1): SnapshotRequest {
  const n = frames.length - offset;
  if (n !== 2) return malformed(`expected 2 frames (ICANHAZ? subtree), got ${n}`);
  if (!frames[offset]!.equals(ICANHAZ)) return malformed('the command is not "ICANHAZ?"');
  const subtree = frames[offset + 1]!.toString("utf8");
  if (!validSubtree(subtree)) return malformed(`subtree ${JSON.stringify(subtree.slice(0, 32))} is not "" or /.../`);
  return { type: "icanhaz", subtree };
}

/** Classify what a client's snapshot DEALER received. */
export function parseSnapshotReply(frames: readonly Buffer[]): SnapshotReply {
  const kv = parseKv(frames, 0);
  if (typeof kv === "string") return malformed(kv);
  if (kv.key === "KTHXBAI") return { type: "kthxbai", seq: kv.seq, subtree: kv.value.toString("utf8") };
  return { type: "kvsync", kv };
}

/** Classify what a client's SUB received. */
export function parsePublication(frames: readonly Buffer[]): Publication {
  const kv = parseKv(frames, 0);
  if (typeof kv === "string") return malformed(kv);
  if (kv.key === "HUGZ") return HUGZ_CMD;
  if (kv.key.length === 0) return malformed("empty key");
  return { type: "kvpub", kv };
}

/** Classify what a server's collector received. */
export function parseUpdate(frames: readonly Buffer[]): Update {
  const kv = parseKv(frames, 0);
  if (typeof kv === "string") return malformed(kv);
  if (kv.key.length === 0) return malformed("empty key");
  const ttl = ttlOf(kv.props);
  if (typeof ttl === "string") return malformed(ttl);
  return { type: "kvset", kv, ttl };
}

/** `ICANHAZ?` for `subtree` (client -> server). */
export function icanhazMessage(subtree: string): Buffer[] {
  return [ICANHAZ, Buffer.from(subtree)];
}

/** A KVSYNC to `client` (ROUTER frames): uuid and properties empty, as the RFC says. The seq is the entry's own. */
export function kvsyncMessage(client: Buffer, key: string, seq: number, value: Buffer): Buffer[] {
  return [client, Buffer.from(key), encodeSequence(seq), EMPTY, EMPTY, value];
}

/** A KTHXBAI to `client` carrying `seq` and the `subtree` that was asked for. */
export function kthxbaiMessage(client: Buffer, seq: number, subtree: string): Buffer[] {
  return [client, KTHXBAI, encodeSequence(seq), EMPTY, EMPTY, Buffer.from(subtree)];
}

const HUGZ_FRAMES: readonly Buffer[] = Object.freeze([HUGZ, encodeSequence(0), EMPTY, EMPTY, EMPTY]);

/** The HUGZ message (a fresh array of shared frames). */
export function hugzMessage(): Buffer[] {
  return [...HUGZ_FRAMES];
}
