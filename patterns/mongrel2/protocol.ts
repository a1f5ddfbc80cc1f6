/**
 * The Mongrel2 handler wire format (mongrel2 `docs/manual/hacking.tex`, `src/handler.c`,
 * `src/handler_parser.rl`, `src/request.c`), both directions. One ZeroMQ frame each way:
 *
 * ```
 * request  = UUID SP CONN_ID SP PATH SP LEN ":" HEADERS term LEN ":" BODY ","   ; mongrel2 -> handler (PUSH)
 * reply    = UUID SP LEN ":" CONN_ID *(SP CONN_ID) "," SP BODY                ; handler -> mongrel2 (PUB)
 * ```
 *
 * HEADERS is a JSON object (term `,`, a netstring) or, for a handler declared with
 * `protocol='tnetstring'`, a tnetstring dict (term `}`); a header sent more than once is a list
 * of strings. Upper-case names are mongrel2's (`METHOD`, `VERSION`, `URI`, `PATH`, `QUERY`,
 * `PATTERN`, `URL_SCHEME`, `REMOTE_ADDR`), lower-case ones the client's. A reply names 1 to 128
 * connection ids ({@link MAX_TARGETS}); an empty BODY closes those connections.
 *
 * Mongrel2 also sends notices on the same socket: a disconnect (`METHOD` `JSON`, path `@*`,
 * body `{"type":"disconnect"}`), flow-control credits (`{"type":"credits"}`) and, for a body
 * larger than `limits.content_length`, an upload start (header `x-mongrel2-upload-start`: the
 * temp file) and an upload done (both headers, equal). The parser never throws: anything else is
 * `{ type: "malformed", reason }`, which the handler counts and drops.
 * @module
 */

/** Most connection ids one reply may name (mongrel2's `limits.handler_targets` default). */
export const MAX_TARGETS = 128;

/** How a handler's headers are encoded (mongrel2's handler `protocol` setting). */
export type Mongrel2Protocol = "json" | "tnetstring";

/** Request headers: a header sent more than once is a list. */
export type Mongrel2Headers = Record<string, string | string[]>;

/** What every message from mongrel2 carries. */
interface Envelope {
  /** The mongrel2 server's `send_ident`: every reply starts with it. */
  uuid: string;
  /** The connection (browser) id. */
  id: number;
  /** The route path that matched (`@*` for notices). */
  path: string;
  headers: Mongrel2Headers;
  /** How the headers were encoded. */
  protocol: Mongrel2Protocol;
}

/** An HTTP request (or a JSON/XML socket message: `METHOD` `JSON`/`XML`). */
export interface Mongrel2Request extends Envelope {
  type: "request";
  body: Buffer;
}

/** An upload over `limits.content_length` started: `file` is the temp file mongrel2 writes (a path inside its chroot). */
export interface Mongrel2UploadStart extends Envelope {
  type: "upload-start";
  file: string;
}

/** The upload is on disk: read the body from `file`. */
export interface Mongrel2UploadDone extends Envelope {
  type: "upload-done";
  file: string;
}

/** The connection closed (or a reply named a connection mongrel2 no longer has). */
export interface Mongrel2Disconnect extends Envelope {
  type: "disconnect";
}

/** Flow-control credits (`download.flow_control`); carried for completeness. */
export interface Mongrel2Credits extends Envelope {
  type: "credits";
}

/** A message that breaks the format, with the reason. */
export interface Malformed {
  type: "malformed";
  reason: string;
}

/** Everything mongrel2 can send a handler. */
export type Mongrel2Message = Mongrel2Request | Mongrel2UploadStart | Mongrel2UploadDone | Mongrel2Disconnect | Mongrel2Credits | Malformed;

/** A tnetstring value (tnetstrings.org): strings are decoded as latin1, like node:http header values. */
export type TnetValue = string | number | boolean | null | TnetValue[] | { [key: string]: TnetValue };

const SP = 0x20;
const COLON = 0x3a;
const COMMA = 0x2c;
const MAX_LEN_DIGITS = 9;
const MAX_DEPTH = 16;

class Bad extends Error {}

function bad(reason: string): never {
  throw new Bad(reason);
}

/** `digits ":"` at `at`: the length and where its data starts. */
function readLength(buf: Buffer, at: number, what: string): { len: number; start: number } {
  let i = at;
  let len = 0;
  while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
    if (i - at >= MAX_LEN_DIGITS) bad(`${what}: length has more than ${MAX_LEN_DIGITS} digits`);
    len = len * 10 + (buf[i]! - 0x30);
    i++;
  }
  if (i === at) bad(`${what}: expected a length`);
  if (buf[i] !== COLON) bad(`${what}: expected ":" after the length`);
  if (i - at > 1 && buf[at] === 0x30) bad(`${what}: length has a leading zero`);
  const start = i + 1;
  if (start + len >= buf.length) bad(`${what}: length ${len} runs past the end`);
  return { len, start };
}

/** Parse one tnetstring at `at`; returns the value and the offset after it. */
export function parseTnetstring(buf: Buffer, at = 0, depth = 0): { value: TnetValue; end: number } {
  if (depth > MAX_DEPTH) bad(`tnetstring: nested deeper than ${MAX_DEPTH}`);
  const { len, start } = readLength(buf, at, "tnetstring");
  const stop = start + len;
  const tag = buf[stop];
  const end = stop + 1;
  const text = (): string => buf.toString("latin1", start, stop);
  switch (tag) {
    case COMMA:
      return { value: text(), end };
    case 0x23: {
      // '#'
      const s = text();
      if (!/^-?\d{1,15}$/.test(s)) bad(`tnetstring: bad integer ${JSON.stringify(s)}`);
      return { value: Number(s), end };
    }
    case 0x5e: {
      // '^'
      const n = Number(text());
      if (len === 0 || !Number.isFinite(n)) bad("tnetstring: bad float");
      return { value: n, end };
    }
    case 0x21: {
      // '!'
      const s = text();
      if (s !== "true" && s !== "false") bad(`tnetstring: bad boolean ${JSON.stringify(s)}`);
      return { value: s === "true", end };
    }
    case 0x7e:
      // '~'
      if (len !== 0) bad("tnetstring: null with data");
      return { value: null, end };
    case 0x5d: {
      // ']'
      const list: TnetValue[] = [];
      for (let i = start; i < stop; ) {
        const item = parseTnetstring(buf.subarray(0, stop + 1), i, depth + 1);
        if (item.end > stop) bad("tnetstring: list item runs past the list");
        list.push(item.value);
        i = item.end;
      }
      return { value: list, end };
    }
    case 0x7d: {
      // '}'
      const dict: { [key: string]: TnetValue } = Object.create(null) as { [key: string]: TnetValue };
      for (let i = start; i < stop; ) {
        const key = parseTnetstring(buf.subarray(0, stop + 1), i, depth + 1);
        if (typeof key.value !== "string") bad("tnetstring: dict key is not a string");
        if (key.end >= stop) bad("tnetstring: dict key without a value");
        const value = parseTnetstring(buf.subarray(0, stop + 1), key.end, depth + 1);
        if (value.end > stop) bad("tnetstring: dict value runs past the dict");
        dict[key.value] = value.value;
        i = value.end;
      }
      return { value: dict, end };
    }
    default:
      return bad(`tnetstring: unknown type tag ${tag === undefined ? "(none)" : JSON.stringify(String.fromCharCode(tag))}`);
  }
}

/** Mongrel2 escapes only `\` and `"` in JSON strings: escape raw control characters so JSON.parse accepts them. */
function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f]/.test(text) ? text.replace(/[\x00-\x1f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : text;
}

function toHeaders(value: unknown, protocol: Mongrel2Protocol): Mongrel2Headers {
  if (typeof value !== "object" || value === null || Array.isArray(value)) bad(`headers: ${protocol} is not an object`);
  const headers: Mongrel2Headers = Object.create(null) as Mongrel2Headers;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === "string") headers[key] = v;
    else if (Array.isArray(v) && v.every((s) => typeof s === "string")) headers[key] = v as string[];
    else bad(`headers: value of ${JSON.stringify(key)} is not a string or a list of strings`);
  }
  return headers;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

const UUID_RE = /^[A-Za-z0-9-]+$/;
const ID_RE = /^\d{1,10}$/;

/**
 * Parse one message from mongrel2. Never throws: a message that breaks the format is
 * `{ type: "malformed", reason }`.
 */
export function parseMessage(frame: Buffer): Mongrel2Message {
  try {
    return parse(frame);
  } catch (error) {
    if (error instanceof Bad) return { type: "malformed", reason: error.message };
    throw error;
  }
}

function parse(buf: Buffer): Mongrel2Message {
  const s1 = buf.indexOf(SP);
  if (s1 <= 0) bad("expected UUID SP CONN_ID SP PATH SP");
  const s2 = buf.indexOf(SP, s1 + 1);
  if (s2 < 0) bad("expected UUID SP CONN_ID SP PATH SP");
  const s3 = buf.indexOf(SP, s2 + 1);
  if (s3 < 0) bad("expected UUID SP CONN_ID SP PATH SP");
  const uuid = buf.toString("latin1", 0, s1);
  if (!UUID_RE.test(uuid)) bad("UUID: expected letters, digits and '-'");
  const idText = buf.toString("latin1", s1 + 1, s2);
  if (!ID_RE.test(idText)) bad("CONN_ID: expected an unsigned integer");
  const id = Number(idText);
  if (id > 0xffffffff) bad("CONN_ID: out of range");
  if (s3 === s2 + 1) bad("PATH: empty");
  const path = buf.toString("latin1", s2 + 1, s3);

  const h = readLength(buf, s3 + 1, "headers");
  const term = buf[h.start + h.len];
  let protocol: Mongrel2Protocol;
  let raw: unknown;
  if (term === COMMA) {
    protocol = "json";
    try {
      raw = JSON.parse(escapeControls(buf.toString("latin1", h.start, h.start + h.len)));
    } catch {
      bad("headers: not JSON");
    }
  } else if (term === 0x7d) {
    protocol = "tnetstring";
    raw = parseTnetstring(buf, s3 + 1).value;
  } else {
    bad("headers: expected a JSON netstring (',') or a tnetstring dict ('}')");
  }
  const headers = toHeaders(raw, protocol);

  const b = readLength(buf, h.start + h.len + 1, "body");
  if (buf[b.start + b.len] !== COMMA) bad("body: expected ',' after the netstring");
  if (b.start + b.len + 1 !== buf.length) bad("body: data after the netstring");
  const body = buf.subarray(b.start, b.start + b.len);
  const envelope = { uuid, id, path, headers, protocol };

  if (single(headers.METHOD) === "JSON") {
    const kind = jsonType(body);
    if (kind === "disconnect") return { type: "disconnect", ...envelope };
    if (kind === "credits") return { type: "credits", ...envelope };
  }
  const start = single(headers["x-mongrel2-upload-start"]);
  const done = single(headers["x-mongrel2-upload-done"]);
  if (done !== undefined) {
    if (start !== done) bad("upload: x-mongrel2-upload-done differs from x-mongrel2-upload-start");
    return { type: "upload-done", ...envelope, file: done };
  }
  if (start !== undefined) return { type: "upload-start", ...envelope, file: start };
  return { type: "request", ...envelope, body };
}

function jsonType(body: Buffer): unknown {
  if (body.length === 0 || body.length > 64 || body[0] !== 0x7b) return undefined;
  try {
    return (JSON.parse(body.toString("latin1")) as { type?: unknown }).type;
  } catch {
    return undefined;
  }
}

/** The reply prefix `UUID SP LEN:IDS, SP` for one batch of ids. */
export function replyPrefix(uuid: string, ids: readonly number[]): Buffer {
  const list = ids.join(" ");
  return Buffer.from(`${uuid} ${list.length}:${list}, `, "latin1");
}

/**
 * Encode a reply to connections `ids` of server `uuid`: one message per {@link MAX_TARGETS}
 * ids (mongrel2 refuses longer lists). An empty `body` closes the connections. Throws a
 * `TypeError` for a bad uuid or id, or no id at all.
 */
export function encodeReply(uuid: string, ids: number | readonly number[], body: Buffer | string = Buffer.alloc(0)): Buffer[] {
  if (typeof uuid !== "string" || !UUID_RE.test(uuid)) throw new TypeError(`encodeReply: expected \`uuid\` to be letters, digits and '-', got ${JSON.stringify(uuid)}`);
  const list = typeof ids === "number" ? [ids] : ids;
  if (list.length === 0) throw new TypeError("encodeReply: expected at least one connection id");
  for (const id of list) {
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new TypeError(`encodeReply: expected connection ids to be unsigned 32-bit integers, got ${String(id)}`);
  }
  const data = typeof body === "string" ? Buffer.from(body) : body;
  const out: Buffer[] = [];
  for (let i = 0; i < list.length; i += MAX_TARGETS) {
    out.push(Buffer.concat([replyPrefix(uuid, list.slice(i, i + MAX_TARGETS)), data]));
  }
  return out;
}

/** A netstring `LEN:DATA,`. */
export function netstring(data: Buffer | string): Buffer {
  const b = typeof data === "string" ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from(`${b.length}:`), b, Buffer.from(",")]);
}

/** A tnetstring of `value` (strings encoded as latin1; integers as `#`, other numbers as `^`). */
export function tnetstring(value: TnetValue): Buffer {
  const wrap = (data: Buffer, tag: string) => Buffer.concat([Buffer.from(`${data.length}:`), data, Buffer.from(tag)]);
  if (value === null) return Buffer.from("0:~");
  if (typeof value === "string") return wrap(Buffer.from(value, "latin1"), ",");
  if (typeof value === "boolean") return wrap(Buffer.from(String(value)), "!");
  if (typeof value === "number") return wrap(Buffer.from(String(value)), Number.isInteger(value) ? "#" : "^");
  if (Array.isArray(value)) return wrap(Buffer.concat(value.map(tnetstring)), "]");
  return wrap(Buffer.concat(Object.entries(value).flatMap(([k, v]) => [tnetstring(k), tnetstring(v)])), "}");
}
