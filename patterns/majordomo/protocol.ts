/**
 * 7/MDP (0.1), 18/MDP (0.2) and 8/MMI: frame constants, parsers and serialisers.
 *
 * Parsers never throw: they return a discriminated union, `{ ok: true, ... }` for a valid
 * command and `{ ok: false, reason }` for anything else, so a broker or peer can count and
 * drop malformed input. Frames are shown as the DEALER side sees them; a ROUTER adds (and
 * takes away) the routing id frame in front.
 *
 * | version | client header | worker header | leading empty frame |
 * |---|---|---|---|
 * | 0.1 (RFC 7)  | `MDPC01` | `MDPW01` | yes |
 * | 0.2 (RFC 18) | `MDPC02` | `MDPW02` | no  |
 * @module
 */
import { EMPTY, toFrame, type FrameLike, type MessageLike } from "../../src/index.js";

/** Protocol version: 1 = MDP/0.1 (RFC 7), 2 = MDP/0.2 (RFC 18). */
export type MdpVersion = 1 | 2;

/** The versions a constructor accepts. */
export const MDP_VERSIONS: readonly MdpVersion[] = [1, 2];

/** 7/MDP client header, "MDPC01". */
export const MDPC01: Buffer = Buffer.from("MDPC01");
/** 7/MDP worker header, "MDPW01". */
export const MDPW01: Buffer = Buffer.from("MDPW01");
/** 18/MDP client header, "MDPC02". */
export const MDPC02: Buffer = Buffer.from("MDPC02");
/** 18/MDP worker header, "MDPW02". */
export const MDPW02: Buffer = Buffer.from("MDPW02");

/** Worker commands by name and version (7/MDP 0x01-0x05, 18/MDP 0x01-0x06). */
export const WORKER_COMMANDS = {
  1: { READY: 0x01, REQUEST: 0x02, REPLY: 0x03, HEARTBEAT: 0x04, DISCONNECT: 0x05 },
  2: { READY: 0x01, REQUEST: 0x02, PARTIAL: 0x03, FINAL: 0x04, HEARTBEAT: 0x05, DISCONNECT: 0x06 },
} as const;

/** 18/MDP client commands: REQUEST 0x01, PARTIAL 0x02, FINAL 0x03. */
export const CLIENT_COMMANDS_V2 = { REQUEST: 0x01, PARTIAL: 0x02, FINAL: 0x03 } as const;

/** 8/MMI: the reserved service namespace. */
export const MMI_PREFIX = "mmi.";
/** 8/MMI: the service lookup. */
export const MMI_SERVICE = "mmi.service";

/** 8/MMI and our expiry answer: status codes (3 ASCII digits in the first body frame). */
export const STATUS = { FOUND: "200", NOT_FOUND: "404", NOT_IMPLEMENTED: "501", EXPIRED: "504" } as const;

/** Prefix of the second frame of the broker's expiry answer (see README "Expired requests"). */
export const EXPIRED_TEXT_PREFIX = "mmi.expired: ";

/** Why a message was not a valid MDP command. */
export interface ParseError {
  readonly ok: false;
  readonly reason: string;
}

/** Worker command names, shared by both versions (REPLY exists in 0.1 only, PARTIAL/FINAL in 0.2). */
export type WorkerCommandName = "READY" | "REQUEST" | "REPLY" | "PARTIAL" | "FINAL" | "HEARTBEAT" | "DISCONNECT";

/** What a broker receives (after the routing id). */
export type BrokerInbound =
  /** `serviceFrame`: the service name as it came (the broker's replies name the service with it). */
  | { readonly ok: true; readonly kind: "request"; readonly version: MdpVersion; readonly service: string; readonly serviceFrame: Buffer; readonly body: Buffer[] }
  | { readonly ok: true; readonly kind: "ready"; readonly version: MdpVersion; readonly service: string }
  | { readonly ok: true; readonly kind: "reply"; readonly version: MdpVersion; readonly client: Buffer; readonly body: Buffer[]; readonly final: boolean }
  | { readonly ok: true; readonly kind: "heartbeat"; readonly version: MdpVersion }
  | { readonly ok: true; readonly kind: "disconnect"; readonly version: MdpVersion }
  /** A valid worker command a worker must never send (REQUEST): answered with DISCONNECT. */
  | { readonly ok: true; readonly kind: "unexpected"; readonly version: MdpVersion; readonly command: WorkerCommandName }
  | ParseError;

/** What a worker receives from the broker. */
export type WorkerInbound =
  | { readonly ok: true; readonly kind: "request"; readonly client: Buffer; readonly body: Buffer[] }
  | { readonly ok: true; readonly kind: "heartbeat" }
  | { readonly ok: true; readonly kind: "disconnect" }
  | ParseError;

/** What a client receives from the broker: a reply (0.1 REPLY and 0.2 FINAL are `final`). */
export type ClientInbound = { readonly ok: true; readonly kind: "reply"; readonly service: string; readonly body: Buffer[]; readonly final: boolean } | ParseError;

function fail(reason: string): ParseError {
  return { ok: false, reason };
}

function same(a: Buffer | undefined, b: Buffer): boolean {
  return a !== undefined && a.length === b.length && a.equals(b);
}

/** The one-byte command in `frame`, or -1. */
function commandByte(frame: Buffer | undefined): number {
  return frame !== undefined && frame.length === 1 ? frame[0]! : -1;
}

const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]*$/;

/** A service name is a non-empty printable string (7/MDP "printable string"). */
export function isServiceName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && PRINTABLE.test(name);
}

function serviceOf(frame: Buffer | undefined): string | undefined {
  if (frame === undefined || frame.length === 0 || frame.length > 255) return undefined;
  const name = frame.toString("latin1");
  return PRINTABLE.test(name) ? name : undefined;
}

/** Split `frames[at..]` as `client, "", body...` (precisely one address, >= 1 body frame). */
function addressed(frames: Buffer[], at: number): { client: Buffer; body: Buffer[] } | undefined {
  const client = frames[at];
  if (client === undefined || client.length === 0) return undefined;
  if (frames[at + 1]?.length !== 0) return undefined;
  if (frames.length < at + 3) return undefined;
  return { client, body: frames.slice(at + 2) };
}

const W1 = WORKER_COMMANDS[1];
const W2 = WORKER_COMMANDS[2];

/**
 * 7/MDP + 18/MDP: parse a message a broker received on its ROUTER (routing id removed).
 * The header frame tells clients from workers and 0.1 from 0.2.
 */
export function parseBrokerInbound(frames: Buffer[]): BrokerInbound {
  const first = frames[0];
  if (first === undefined) return fail("empty message");
  if (first.length === 0) {
    // MDP/0.1: "", header, ...
    const header = frames[1];
    if (same(header, MDPC01)) return parseClientRequest(frames, 1);
    if (same(header, MDPW01)) return parseWorkerCommand(frames, 2, 1);
    return fail("unknown header");
  }
  if (same(first, MDPC02)) {
    if (commandByte(frames[1]) !== CLIENT_COMMANDS_V2.REQUEST) return fail("MDPC02: only REQUEST goes to a broker");
    return parseClientRequest(frames, 2);
  }
  if (same(first, MDPW02)) return parseWorkerCommand(frames, 1, 2);
  return fail("unknown header");
}

/** Both versions: service name in frame 2, body from frame 3. */
function parseClientRequest(frames: Buffer[], version: MdpVersion): BrokerInbound {
  const service = serviceOf(frames[2]);
  if (service === undefined) return fail("client REQUEST: bad or missing service name");
  if (frames.length < 4) return fail("client REQUEST: no body");
  return { ok: true, kind: "request", version, service, serviceFrame: frames[2]!, body: frames.slice(3) };
}

function parseWorkerCommand(frames: Buffer[], at: number, version: MdpVersion): BrokerInbound {
  const cmd = commandByte(frames[at]);
  const rest = frames.length - at - 1;
  const C = version === 1 ? W1 : W2;
  switch (cmd) {
    case C.READY: {
      const service = rest === 1 ? serviceOf(frames[at + 1]) : undefined;
      if (service === undefined) return fail("READY: expected exactly one printable service name");
      return { ok: true, kind: "ready", version, service };
    }
    case C.HEARTBEAT:
      return rest === 0 ? { ok: true, kind: "heartbeat", version } : fail("HEARTBEAT: unexpected frames");
    case C.DISCONNECT:
      return rest === 0 ? { ok: true, kind: "disconnect", version } : fail("DISCONNECT: unexpected frames");
    case C.REQUEST:
      return addressed(frames, at + 1) ? { ok: true, kind: "unexpected", version, command: "REQUEST" } : fail("REQUEST: bad envelope");
  }
  const final = version === 1 ? cmd === W1.REPLY : cmd === W2.FINAL;
  if (final || (version === 2 && cmd === W2.PARTIAL)) {
    const a = addressed(frames, at + 1);
    if (!a) return fail("REPLY: expected client address, empty frame and a body");
    return { ok: true, kind: "reply", version, client: a.client, body: a.body, final };
  }
  return fail(`unknown worker command ${cmd}`);
}

/** 7/MDP + 18/MDP: parse what a worker of `version` received from its broker. */
export function parseWorkerInbound(frames: Buffer[], version: MdpVersion): WorkerInbound {
  let at: number;
  if (version === 1) {
    if (frames[0]?.length !== 0 || !same(frames[1], MDPW01)) return fail("expected \"\", MDPW01");
    at = 2;
  } else {
    if (!same(frames[0], MDPW02)) return fail("expected MDPW02");
    at = 1;
  }
  const C = version === 1 ? W1 : W2;
  const cmd = commandByte(frames[at]);
  const rest = frames.length - at - 1;
  if (cmd === C.REQUEST) {
    const a = addressed(frames, at + 1);
    return a ? { ok: true, kind: "request", client: a.client, body: a.body } : fail("REQUEST: bad envelope");
  }
  if (cmd === C.HEARTBEAT) return rest === 0 ? { ok: true, kind: "heartbeat" } : fail("HEARTBEAT: unexpected frames");
  if (cmd === C.DISCONNECT) return rest === 0 ? { ok: true, kind: "disconnect" } : fail("DISCONNECT: unexpected frames");
  return fail(`unexpected command ${cmd} for a worker`);
}

/** 7/MDP + 18/MDP: parse what a client of `version` received from its broker (over a DEALER). */
export function parseClientInbound(frames: Buffer[], version: MdpVersion): ClientInbound {
  if (version === 1) {
    if (frames[0]?.length !== 0 || !same(frames[1], MDPC01)) return fail("expected \"\", MDPC01");
    const service = serviceOf(frames[2]);
    if (service === undefined || frames.length < 4) return fail("REPLY: expected service and body");
    return { ok: true, kind: "reply", service, body: frames.slice(3), final: true };
  }
  if (!same(frames[0], MDPC02)) return fail("expected MDPC02");
  const cmd = commandByte(frames[1]);
  if (cmd !== CLIENT_COMMANDS_V2.PARTIAL && cmd !== CLIENT_COMMANDS_V2.FINAL) return fail(`unexpected client command ${cmd}`);
  const service = serviceOf(frames[2]);
  if (service === undefined || frames.length < 4) return fail("PARTIAL/FINAL: expected service and body");
  return { ok: true, kind: "reply", service, body: frames.slice(3), final: cmd === CLIENT_COMMANDS_V2.FINAL };
}

// ---------------------------------------------------------------------------------------
// Serialisers. Each returns the frames a DEALER sends; the broker's (ROUTER side) take the
// routing id `to` and put it first, so the frames are built once.

const CMD_CACHE = new Map<number, Buffer>();
/** A shared one-byte command frame (never mutated). */
function cmdFrame(byte: number): Buffer {
  let f = CMD_CACHE.get(byte);
  if (!f) CMD_CACHE.set(byte, (f = Buffer.from([byte])));
  return f;
}

/** A body with at least one frame (MDP bodies are "1 or more" frames). */
export function bodyFrames(body: MessageLike): Buffer[] {
  if (typeof body === "string" || body instanceof Uint8Array) return [toFrame(body)];
  if (body.length === 0) return [EMPTY];
  const out = new Array<Buffer>(body.length);
  for (let i = 0; i < body.length; i++) out[i] = toFrame(body[i]!);
  return out;
}

function workerHead(version: MdpVersion, name: Exclude<WorkerCommandName, "PARTIAL" | "FINAL" | "REPLY">, to?: Buffer): Buffer[] {
  const cmd = cmdFrame(version === 1 ? W1[name] : W2[name]);
  const out: Buffer[] = to === undefined ? [] : [to];
  if (version === 1) out.push(EMPTY, MDPW01, cmd);
  else out.push(MDPW02, cmd);
  return out;
}

/** MDP client REQUEST: 0.1 `"", MDPC01, service, body...`; 0.2 `MDPC02, 0x01, service, body...`. */
export function clientRequest(version: MdpVersion, service: string, body: MessageLike): Buffer[] {
  const head = version === 1 ? [EMPTY, MDPC01] : [MDPC02, cmdFrame(CLIENT_COMMANDS_V2.REQUEST)];
  head.push(Buffer.from(service, "latin1"));
  return head.concat(bodyFrames(body));
}

/** MDP client REPLY (0.1) or PARTIAL/FINAL (0.2), as the broker sends it (to the client `to`, when given). 0.1 has no partials. */
export function clientReply(version: MdpVersion, service: FrameLike, body: readonly Buffer[], final = true, to?: Buffer): Buffer[] {
  const out: Buffer[] = to === undefined ? [] : [to];
  if (version === 1) out.push(EMPTY, MDPC01);
  else out.push(MDPC02, cmdFrame(final ? CLIENT_COMMANDS_V2.FINAL : CLIENT_COMMANDS_V2.PARTIAL));
  out.push(toFrame(service));
  if (body.length === 0) out.push(EMPTY);
  else for (const frame of body) out.push(frame);
  return out;
}

/** MDP worker READY. */
export function workerReady(version: MdpVersion, service: string): Buffer[] {
  const head = workerHead(version, "READY");
  head.push(Buffer.from(service, "latin1"));
  return head;
}

/** MDP worker HEARTBEAT (both ways; from the broker, to the worker `to`). */
export function workerHeartbeat(version: MdpVersion, to?: Buffer): Buffer[] {
  return workerHead(version, "HEARTBEAT", to);
}

/** MDP worker DISCONNECT (both ways; from the broker, to the worker `to`). */
export function workerDisconnect(version: MdpVersion, to?: Buffer): Buffer[] {
  return workerHead(version, "DISCONNECT", to);
}

/** MDP worker REQUEST (broker to the worker `to`): header, 0x02, client, "", body... */
export function workerRequest(version: MdpVersion, client: Buffer, body: readonly Buffer[], to?: Buffer): Buffer[] {
  const out = workerHead(version, "REQUEST", to);
  out.push(client, EMPTY);
  for (const frame of body) out.push(frame);
  return out;
}

/** MDP worker REPLY (0.1) or PARTIAL/FINAL (0.2) (worker to broker). 0.1 has no partials. */
export function workerReply(version: MdpVersion, client: Buffer, body: MessageLike, final = true): Buffer[] {
  let head: Buffer[];
  if (version === 1) {
    if (!final) throw new TypeError("MDP/0.1 has no PARTIAL replies");
    head = [EMPTY, MDPW01, cmdFrame(W1.REPLY)];
  } else head = [MDPW02, cmdFrame(final ? W2.FINAL : W2.PARTIAL)];
  head.push(client, EMPTY);
  return head.concat(bodyFrames(body));
}

/** The broker's answer to a request that expired with no worker for its service. */
export function expiredBody(service: string, afterMs: number): Buffer[] {
  return [Buffer.from(STATUS.EXPIRED), Buffer.from(`${EXPIRED_TEXT_PREFIX}no worker for service ${service} within ${afterMs} ms`)];
}

/** True when `body` is the broker's expiry answer (`"504"`, `"mmi.expired: ..."`). */
export function isExpiredBody(body: readonly Buffer[]): boolean {
  return body.length === 2 && body[0]!.toString("latin1") === STATUS.EXPIRED && body[1]!.toString("latin1").startsWith(EXPIRED_TEXT_PREFIX);
}
