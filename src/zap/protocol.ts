/**
 * 27/ZAP wire format: request parsing (parse errors are values, never exceptions) and reply
 * and metadata encoding. No sockets here.
 * @module
 */
import { EMPTY, InvalidOptionError, splitEnvelope } from "../index.js";
import { keyToZ85 } from "./z85.js";

/** 27/ZAP: the endpoint a handler binds, in the servers' context. */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";
/** 27/ZAP: the protocol version frame. */
export const ZAP_VERSION = "1.0";

/** 27/ZAP status codes: 200 OK, 300 temporary error, 400 authentication failure, 500 internal error. */
export type ZapStatus = 200 | 300 | 400 | 500;

/** The status codes a reply may carry. */
export const ZAP_STATUSES: readonly ZapStatus[] = [200, 300, 400, 500];

/** 27/ZAP mechanisms known to libzmq (others are passed through to a callback). */
export type ZapMechanism = "NULL" | "PLAIN" | "CURVE" | "GSSAPI";

/** 27/ZAP request, as a handler policy or callback sees it. */
export interface ZapRequest {
  /** Request id, opaque, echoed in the reply. */
  readonly requestId: Buffer;
  /** ZAP domain of the server socket (`zapDomain`); empty when the server set none. */
  readonly domain: string;
  /** Client IP address (for ipc:// libzmq sends a non-IP string). */
  readonly address: string;
  /** Identity property of the connection (at most 255 bytes), often empty. */
  readonly identity: Buffer;
  /** Mechanism name: `NULL`, `PLAIN`, `CURVE`, or another one. */
  readonly mechanism: string;
  /** Raw credential frames. */
  readonly credentials: readonly Buffer[];
  /** PLAIN: the username. */
  readonly username?: string;
  /** PLAIN: the password (never logged or put in events). */
  readonly password?: string;
  /** CURVE: the client's long-term public key, Z85. */
  readonly publicKey?: string;
}

/** Result of {@link parseZapRequest}. */
export type ParsedZapRequest =
  | { readonly ok: true; readonly envelope: Buffer[]; readonly request: ZapRequest }
  | {
      readonly ok: false;
      /** Why it is malformed. */
      readonly reason: string;
      /** Present when a reply can still be addressed (envelope, version and request id were readable). */
      readonly answer?: { readonly envelope: Buffer[]; readonly requestId: Buffer };
    };

const ASCII_255 = /^[\x20-\x7e]{0,255}$/;

function asciiField(frame: Buffer): string | undefined {
  if (frame.length > 255) return undefined;
  const text = frame.toString("latin1");
  return ASCII_255.test(text) ? text : undefined;
}

/**
 * 27/ZAP: parse a request as a ROUTER receives it (routing id(s), empty delimiter, body).
 * Without a delimiter, or with a version other than "1.0", the request cannot be answered;
 * other faults leave an `answer` address so the caller can refuse it.
 */
export function parseZapRequest(frames: readonly Buffer[]): ParsedZapRequest {
  const split = splitEnvelope(frames, 1);
  if (!split) return { ok: false, reason: "no routing envelope" };
  const { envelope, body } = split;
  if (body.length < 2) return { ok: false, reason: "no request id" };
  if (!body[0]!.equals(VERSION_FRAME)) return { ok: false, reason: "unsupported version" };
  const requestId = body[1]!;
  const bad = (reason: string): ParsedZapRequest => ({ ok: false, reason, answer: { envelope, requestId } });
  if (body.length < 6) return bad("missing frames");
  const domain = asciiField(body[2]!);
  if (domain === undefined) return bad("domain is not ASCII text");
  const address = asciiField(body[3]!);
  if (address === undefined) return bad("address is not ASCII text");
  const identity = body[4]!;
  if (identity.length > 255) return bad("identity longer than 255 bytes");
  const mechanism = asciiField(body[5]!);
  if (mechanism === undefined || mechanism === "") return bad("mechanism missing or not ASCII text");
  const credentials = body.slice(6);
  const base = { requestId, domain, address, identity, mechanism, credentials };
  switch (mechanism) {
    case "NULL":
      if (credentials.length !== 0) return bad("NULL carries credentials");
      return { ok: true, envelope, request: base };
    case "PLAIN": {
      if (credentials.length !== 2) return bad("PLAIN needs username and password");
      const [user, pass] = credentials as [Buffer, Buffer];
      if (user.length > 255 || pass.length > 255) return bad("PLAIN credential longer than 255 bytes");
      return { ok: true, envelope, request: { ...base, username: user.toString("utf8"), password: pass.toString("utf8") } };
    }
    case "CURVE":
      if (credentials.length !== 1 || credentials[0]!.length !== 32) return bad("CURVE needs one 32-byte public key");
      return { ok: true, envelope, request: { ...base, publicKey: keyToZ85(credentials[0]!) } };
    default:
      return { ok: true, envelope, request: base };
  }
}

const VERSION_FRAME = Buffer.from(ZAP_VERSION, "latin1");

/** Metadata of a 200 reply: ZMTP 3.0 properties (name to value). */
export type ZapMetadata = Readonly<Record<string, string | Buffer>>;

const PROPERTY_NAME = /^[A-Za-z0-9\-_.+]{1,255}$/;

/**
 * 27/ZAP metadata: encode properties in the ZMTP 3.0 format (name length, name, 4-byte
 * big-endian value length, value). Throws `TypeError` on an invalid name.
 */
export function encodeMetadata(metadata: ZapMetadata | undefined): Buffer {
  if (metadata === undefined) return EMPTY;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(metadata)) {
    if (!PROPERTY_NAME.test(name)) throw new TypeError(`metadata: invalid property name ${JSON.stringify(name)} (1-255 of A-Z a-z 0-9 - _ . +)`);
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    if (!Buffer.isBuffer(bytes)) throw new TypeError(`metadata: the value of ${JSON.stringify(name)} must be a string or Buffer`);
    const head = Buffer.alloc(1 + name.length + 4);
    head.writeUInt8(name.length, 0);
    head.write(name, 1, "latin1");
    head.writeUInt32BE(bytes.length, 1 + name.length);
    parts.push(head, bytes);
  }
  return Buffer.concat(parts);
}

/** Decode ZMTP 3.0 metadata; undefined when malformed. */
export function decodeMetadata(data: Buffer): Record<string, Buffer> | undefined {
  const out: Record<string, Buffer> = {};
  let at = 0;
  while (at < data.length) {
    const nameLength = data[at]!;
    if (nameLength === 0 || at + 1 + nameLength + 4 > data.length) return undefined;
    const name = data.toString("latin1", at + 1, at + 1 + nameLength);
    const size = data.readUInt32BE(at + 1 + nameLength);
    const start = at + 1 + nameLength + 4;
    if (start + size > data.length) return undefined;
    out[name] = data.subarray(start, start + size);
    at = start + size;
  }
  return out;
}

/** A reply, before encoding. */
export interface ZapReply {
  readonly status: ZapStatus;
  readonly text: string;
  readonly userId: string;
  readonly metadata?: ZapMetadata;
}

/** 27/ZAP: the reply frames for a ROUTER: envelope, delimiter, version, request id, status, text, user id, metadata. */
export function encodeZapReply(envelope: readonly Buffer[], requestId: Buffer, reply: ZapReply): Buffer[] {
  return [
    ...envelope,
    EMPTY,
    VERSION_FRAME,
    requestId,
    Buffer.from(String(reply.status), "latin1"),
    Buffer.from(reply.text, "utf8"),
    Buffer.from(reply.status === 200 ? reply.userId : "", "utf8"),
    reply.status === 200 ? encodeMetadata(reply.metadata) : EMPTY,
  ];
}

/**
 * Socket options that make a server socket fail closed under 27/ZAP: a ZAP domain and
 * `zapEnforceDomain`. Without both, libzmq 4.3 lets every CURVE/PLAIN client in when no
 * handler is bound (the "Stonehouse" behaviour). Spread them into the server's options:
 * `new zmq.Router({ curveServer: true, curveSecretKey, ...zapServerOptions("app") })`.
 */
export function zapServerOptions(domain = "global"): { zapDomain: string; zapEnforceDomain: true } {
  if (typeof domain !== "string" || !/^[\x20-\x7e]{1,255}$/.test(domain)) throw new InvalidOptionError("domain", `zapServerOptions: expected \`domain\` to be 1-255 ASCII characters, got ${String(domain)}`);
  return { zapDomain: domain, zapEnforceDomain: true };
}
