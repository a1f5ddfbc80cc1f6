/**
 * ZPS/1, the authenticated pub-sub protocol (see PROTOCOL.md next to this file): frame
 * constants, serialisers, and a parser that returns errors as values. The ROUTER identity
 * frame is not part of these messages: the server strips it on receipt and adds it on send.
 * @module
 */
import { toFrame, type FrameLike } from "../../src/index.js";

/** PROTOCOL.md §3: frame 0 of every message, protocol name and version. */
export const PROTOCOL = "ZPS/1";
/** {@link PROTOCOL} as a frame. */
export const PROTOCOL_FRAME: Buffer = Buffer.from(PROTOCOL);
/** PROTOCOL.md §3: prefix shared by every version of the protocol name. */
export const PROTOCOL_FAMILY = "ZPS/";
/** PROTOCOL.md §3.7: minor version 1, whose MESSAGEs carry a sequence number and a send time. */
export const PROTOCOL_1_1 = "ZPS/1.1";
/** {@link PROTOCOL_1_1} as a frame. */
export const PROTOCOL_1_1_FRAME: Buffer = Buffer.from(PROTOCOL_1_1);
/** The protocol versions spoken: `ZPS/1` and `ZPS/1.1`. */
export type ProtocolVersion = typeof PROTOCOL | typeof PROTOCOL_1_1;

/** PROTOCOL.md §3: client commands. */
export const CLIENT_COMMANDS = ["HELLO", "SUBSCRIBE", "UNSUBSCRIBE", "BYE"] as const;
/** A client command name. */
export type ClientCommandName = (typeof CLIENT_COMMANDS)[number];

/** PROTOCOL.md §3: limits. */
export const LIMITS = {
  /** Maximum bytes of a user name. */
  user: 255,
  /** Maximum bytes of a secret. */
  secret: 1024,
  /** Maximum bytes of a subscription pattern or a topic. */
  pattern: 255,
  /** Maximum patterns in one command. */
  patterns: 1000,
} as const;

/** PROTOCOL.md §5: status codes. */
export const STATUS = {
  OK: 200,
  CREATED: 201,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  UNKNOWN_SESSION: 404,
  TOO_MANY: 429,
  SERVER_ERROR: 500,
  VERSION: 505,
} as const;
/** A status code. */
export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

/** PROTOCOL.md §5: default reason text of each status. */
export const REASONS: Record<StatusCode, string> = {
  200: "OK",
  201: "Session created",
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Unknown session, send HELLO",
  429: "Too many requests",
  500: "Server error",
  505: "Protocol version not supported",
};

const CODES = new Set<number>(Object.values(STATUS));

/** A parsed client command (PROTOCOL.md §3.1-3.4). */
export type ClientCommand = (
  | { command: "HELLO"; user: string; secret: Buffer; patterns: Buffer[] }
  | { command: "SUBSCRIBE"; patterns: Buffer[] }
  | { command: "UNSUBSCRIBE"; patterns: Buffer[] }
  | { command: "BYE" }
) & {
  /** The version frame 0 named (§3.7: a HELLO in `ZPS/1.1` asks for stamped MESSAGEs). */
  version: ProtocolVersion;
};

/** A parsed server message (PROTOCOL.md §3.5-3.6). */
export type ServerMessage =
  | { command: "STATUS"; code: StatusCode; about: string; reason: string; patterns: Buffer[] }
  /** `seq` and `sent` (ms since the Unix epoch, the server's clock): `ZPS/1.1` only (§3.7). */
  | { command: "MESSAGE"; topic: Buffer; body: Buffer[]; seq?: number; sent?: number };

/**
 * Why a message could not be parsed. `reply` tells the server whether the sender spoke ZPS
 * (frame 0 is ours, so it gets a 400 or 505) or not (dropped without a reply, §6).
 */
export interface ParseError {
  error: string;
  reply: 400 | 505 | undefined;
  about: string;
}

/** True when `value` is a {@link ParseError}. */
export function isParseError(value: object): value is ParseError {
  return "error" in value;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function text(frame: Buffer): string | undefined {
  try {
    return strictUtf8.decode(frame);
  } catch {
    return undefined;
  }
}

function checkVersion(frames: readonly Buffer[]): ParseError | ProtocolVersion {
  const head = frames[0];
  if (head === undefined) return { error: "empty message", reply: undefined, about: "-" };
  if (head.equals(PROTOCOL_FRAME)) return PROTOCOL;
  if (head.equals(PROTOCOL_1_1_FRAME)) return PROTOCOL_1_1;
  if (head.length < 16 && head.toString("latin1").startsWith(PROTOCOL_FAMILY)) {
    return { error: `unsupported version ${head.toString("latin1")}`, reply: 505, about: "-" };
  }
  return { error: "not a ZPS message", reply: undefined, about: "-" };
}

function patternsOf(frames: readonly Buffer[], about: string): Buffer[] | ParseError {
  if (frames.length > LIMITS.patterns) return { error: `more than ${LIMITS.patterns} patterns`, reply: 400, about };
  for (const p of frames) {
    if (p.length > LIMITS.pattern) return { error: `pattern longer than ${LIMITS.pattern} bytes`, reply: 400, about };
  }
  return frames.slice();
}

/** Parse a client command (frames after the ROUTER identity). Never throws. */
export function parseClientCommand(frames: readonly Buffer[]): ClientCommand | ParseError {
  const version = checkVersion(frames);
  if (typeof version !== "string") return version;
  const name = frames[1] === undefined ? undefined : frames[1].toString("latin1");
  const about = name !== undefined && (CLIENT_COMMANDS as readonly string[]).includes(name) ? name : "-";
  switch (name) {
    case "HELLO": {
      if (frames.length < 4) return { error: "HELLO needs user and secret frames", reply: 400, about };
      const user = text(frames[2]!);
      if (user === undefined || frames[2]!.length > LIMITS.user) return { error: "user is not UTF-8 of at most 255 bytes", reply: 400, about };
      if (frames[3]!.length > LIMITS.secret) return { error: `secret longer than ${LIMITS.secret} bytes`, reply: 400, about };
      const patterns = patternsOf(frames.slice(4), about);
      if (!Array.isArray(patterns)) return patterns;
      return { command: "HELLO", user, secret: frames[3]!, patterns, version };
    }
    case "SUBSCRIBE":
    case "UNSUBSCRIBE": {
      if (frames.length < 3) return { error: `${name} needs at least one pattern`, reply: 400, about };
      const patterns = patternsOf(frames.slice(2), about);
      if (!Array.isArray(patterns)) return patterns;
      return { command: name, patterns, version };
    }
    case "BYE":
      if (frames.length !== 2) return { error: "BYE takes no arguments", reply: 400, about };
      return { command: "BYE", version };
    default:
      return { error: `unknown command ${name === undefined ? "(none)" : JSON.stringify(name.slice(0, 32))}`, reply: 400, about };
  }
}

/** Parse a server message (what a DEALER receives). Never throws. */
export function parseServerMessage(frames: readonly Buffer[]): ServerMessage | ParseError {
  const version = checkVersion(frames);
  if (typeof version !== "string") return version;
  const name = frames[1]?.toString("latin1");
  if (name === "MESSAGE" && version === PROTOCOL_1_1) {
    if (frames.length < 5) return { error: "ZPS/1.1 MESSAGE needs seq, sent and topic", reply: undefined, about: "-" };
    const seq = uint64(frames[2]!);
    const sent = uint64(frames[3]!);
    if (seq === undefined || sent === undefined) return { error: "ZPS/1.1 MESSAGE: seq and sent must be 8-byte integers below 2^53", reply: undefined, about: "-" };
    return { command: "MESSAGE", seq, sent, topic: frames[4]!, body: frames.slice(5) };
  }
  if (name === "MESSAGE") {
    if (frames.length < 3) return { error: "MESSAGE needs a topic", reply: undefined, about: "-" };
    return { command: "MESSAGE", topic: frames[2]!, body: frames.slice(3) };
  }
  if (name === "STATUS") {
    if (frames.length < 5) return { error: "STATUS needs code, command and reason", reply: undefined, about: "-" };
    const raw = frames[2]!.toString("latin1");
    const code = /^\d{3}$/.test(raw) ? Number(raw) : NaN;
    if (!CODES.has(code)) return { error: `unknown status ${JSON.stringify(raw)}`, reply: undefined, about: "-" };
    return { command: "STATUS", code: code as StatusCode, about: frames[3]!.toString("latin1"), reason: text(frames[4]!) ?? "", patterns: frames.slice(5) };
  }
  return { error: "unknown server command", reply: undefined, about: "-" };
}

/** Frame 0 of `version`. */
function versionFrame(version: ProtocolVersion): Buffer {
  return version === PROTOCOL_1_1 ? PROTOCOL_1_1_FRAME : PROTOCOL_FRAME;
}

/** §3.1 HELLO: credentials and the full subscription set (also the keep-alive). */
export function helloFrames(user: string, secret: FrameLike, patterns: Iterable<FrameLike>, version: ProtocolVersion = PROTOCOL): Buffer[] {
  return [versionFrame(version), Buffer.from("HELLO"), toFrame(user), toFrame(secret), ...[...patterns].map(toFrame)];
}

/** §3.2/3.3 SUBSCRIBE or UNSUBSCRIBE. */
export function subscriptionFrames(command: "SUBSCRIBE" | "UNSUBSCRIBE", patterns: Iterable<FrameLike>, version: ProtocolVersion = PROTOCOL): Buffer[] {
  return [versionFrame(version), Buffer.from(command), ...[...patterns].map(toFrame)];
}

/** §3.4 BYE. */
export function byeFrames(version: ProtocolVersion = PROTOCOL): Buffer[] {
  return [versionFrame(version), Buffer.from("BYE")];
}

/** §3.7: an unsigned 64-bit big-endian frame (a sequence number or a time). */
export function uint64Frame(value: number): Buffer {
  const f = Buffer.allocUnsafe(8);
  f.writeUInt32BE(Math.floor(value / 2 ** 32), 0);
  f.writeUInt32BE(value >>> 0, 4);
  return f;
}

/** An 8-byte big-endian frame as a number; undefined when it is not 8 bytes or not below 2^53. */
export function uint64(frame: Buffer): number | undefined {
  if (frame.length !== 8) return undefined;
  const hi = frame.readUInt32BE(0);
  if (hi >= 2 ** 21) return undefined;
  return hi * 2 ** 32 + frame.readUInt32BE(4);
}

const STATUS_FRAME = Buffer.from("STATUS");
const MESSAGE_FRAME = Buffer.from("MESSAGE");
const CODE_FRAMES = new Map<number, Buffer>([...CODES].map((c) => [c, Buffer.from(String(c))]));

/** §3.5 STATUS: `code` answering command `about`, a reason, and the patterns it concerns. */
export function statusFrames(code: StatusCode, about: string, reason: string = REASONS[code], patterns: readonly Buffer[] = []): Buffer[] {
  return [PROTOCOL_FRAME, STATUS_FRAME, CODE_FRAMES.get(code)!, Buffer.from(about), Buffer.from(reason), ...patterns];
}

/** §3.6 MESSAGE header frames (protocol, command); the sender appends topic and body. */
export const MESSAGE_HEADER: readonly Buffer[] = [PROTOCOL_FRAME, MESSAGE_FRAME];
/** §3.7 `ZPS/1.1` MESSAGE header frames; the sender appends seq, sent, topic and body. */
export const MESSAGE_HEADER_1_1: readonly Buffer[] = [PROTOCOL_1_1_FRAME, MESSAGE_FRAME];
