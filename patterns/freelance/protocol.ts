/**
 * 10/FLP (Freelance Protocol) wire format, both directions, after the ROUTER's routing-id
 * frame. Parsers never throw: they return a command, or `{ type: "malformed", reason }` for
 * anything the spec does not allow, so the caller counts and drops it.
 *
 * ```
 * PING    = "PING"                 ; 1-part message, client -> server
 * PONG    = "PONG"                 ; 1-part message, server -> client
 * REQUEST = CCF 1*body             ; client -> server (2 or more frames)
 * REPLY   = CCF 1*body             ; server -> client: the request's CCF, unmodified
 * ```
 *
 * Both sides are ROUTER sockets; a server's routing id is its public endpoint (the string
 * clients connect to); clients set none. The Client Control Frame (CCF) is the client's: this
 * client puts a sequence number in it ({@link CCF_SIZE} bytes, big-endian), a server returns
 * whatever it got.
 * @module
 */

/** `"PING"`: a client's ping command (one frame). */
export const PING: Buffer = Buffer.from("PING");
/** `"PONG"`: a server's answer to a ping (one frame). */
export const PONG: Buffer = Buffer.from("PONG");
/** Size of the CCF this package's client sends: a 32-bit big-endian sequence number. */
export const CCF_SIZE = 4;

/** A message that breaks 10/FLP, with the reason. */
export interface Malformed {
  type: "malformed";
  reason: string;
}

/** What a server can receive from a client (after the routing id). */
export type ClientCommand = { type: "ping" } | { type: "request"; ccf: Buffer; body: Buffer[] } | Malformed;

/** What a client can receive from a server (after the routing id). */
export type ServerCommand = { type: "pong" } | { type: "reply"; ccf: Buffer; body: Buffer[] } | Malformed;

const PING_CMD: ClientCommand = Object.freeze({ type: "ping" });
const PONG_CMD: ServerCommand = Object.freeze({ type: "pong" });

/** True when `frame` holds exactly the bytes of `word`. */
function is(frame: Buffer, word: Buffer): boolean {
  return frame.length === word.length && frame.equals(word);
}

/** Classify what a client sent to a server; frames before `offset` (the routing id) are skipped. */
export function parseClientMessage(frames: readonly Buffer[], offset = 1): ClientCommand {
  const n = frames.length - offset;
  if (n <= 0) return { type: "malformed", reason: "empty message" };
  if (n === 1) return is(frames[offset]!, PING) ? PING_CMD : { type: "malformed", reason: 'a one-frame command must be "PING"' };
  return { type: "request", ccf: frames[offset]!, body: frames.slice(offset + 1) };
}

/** Classify what a server sent to a client; frames before `offset` (the routing id) are skipped. */
export function parseServerMessage(frames: readonly Buffer[], offset = 1): ServerCommand {
  const n = frames.length - offset;
  if (n <= 0) return { type: "malformed", reason: "empty message" };
  if (n === 1) return is(frames[offset]!, PONG) ? PONG_CMD : { type: "malformed", reason: 'a one-frame message must be "PONG"' };
  return { type: "reply", ccf: frames[offset]!, body: frames.slice(offset + 1) };
}

/** A client's ping to `server` (ROUTER frames: routing id, then `PING`). */
export function pingMessage(server: Buffer): Buffer[] {
  return [server, PING];
}

/** A server's pong to `client`. */
export function pongMessage(client: Buffer): Buffer[] {
  return [client, PONG];
}

/** A request: `[server, ccf, ...body]`. The body must have at least one frame. */
export function requestMessage(server: Buffer, ccf: Buffer, body: readonly Buffer[]): Buffer[] {
  if (body.length === 0) throw new RangeError("10/FLP: a request needs at least one body frame");
  return [server, ccf, ...body];
}

/** A reply: `[client, ccf, ...body]`; an empty body goes out as one empty frame (FLP needs one). */
export function replyMessage(client: Buffer, ccf: Buffer, body: readonly Buffer[]): Buffer[] {
  return body.length === 0 ? [client, ccf, Buffer.alloc(0)] : [client, ccf, ...body];
}

/** This client's CCF for sequence number `seq`. */
export function ccfFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(CCF_SIZE);
  b.writeUInt32BE(seq >>> 0);
  return b;
}

/** The sequence number in a CCF this client made, or undefined when it is not one. */
export function ccfSequence(ccf: Buffer): number | undefined {
  return ccf.length === CCF_SIZE ? ccf.readUInt32BE(0) : undefined;
}
