/**
 * 6/PPP wire format: the command frames and parsers for both directions.
 *
 * Parsers never throw: they return a command object, or `{ type: "malformed", reason }`
 * for anything the spec does not allow, so the caller counts and drops it.
 *
 * ```
 * READY     = %x01                 ; 1-part message, worker -> queue
 * HEARTBEAT = %x02                 ; 1-part message, both ways
 * REQUEST   = *address EMPTY 1*content   ; queue -> worker
 * REPLY     = *address EMPTY 1*content   ; worker -> queue (the request's address stack)
 * ```
 * @module
 */
import { byteFrame } from "../../src/index.js";

/** 6/PPP READY command byte (`0x01`). */
export const PPP_READY = 0x01;
/** 6/PPP HEARTBEAT command byte (`0x02`). */
export const PPP_HEARTBEAT = 0x02;

/** 6/PPP READY as a frame: a 1-part message holding the single byte `0x01`. */
export const READY_FRAME: Buffer = byteFrame(PPP_READY);
/** 6/PPP HEARTBEAT as a frame: a 1-part message holding the single byte `0x02`. */
export const HEARTBEAT_FRAME: Buffer = byteFrame(PPP_HEARTBEAT);

/** A message that breaks 6/PPP, with the reason. */
export interface Malformed {
  type: "malformed";
  reason: string;
}

/** What a queue can receive from a worker (after the ROUTER's routing id). */
export type WorkerCommand =
  | { type: "ready" }
  | { type: "heartbeat" }
  /** REPLY: `delimiter` is the index of the empty frame; addresses before it, content after. */
  | { type: "reply"; delimiter: number }
  | Malformed;

/** What a worker can receive from a queue. */
export type QueueCommand =
  | { type: "heartbeat" }
  /** REQUEST: address stack (may be empty) and content (at least one frame). */
  | { type: "request"; envelope: Buffer[]; body: Buffer[] }
  | Malformed;

const READY_CMD: WorkerCommand = Object.freeze({ type: "ready" });
const HEARTBEAT_CMD: WorkerCommand & QueueCommand = Object.freeze({ type: "heartbeat" });

/** Index of the first empty frame at or after `from`, or -1. */
export function delimiterIndex(frames: readonly Buffer[], from = 0): number {
  for (let i = from; i < frames.length; i++) if (frames[i]!.length === 0) return i;
  return -1;
}

/**
 * 6/PPP: classify a message a worker sent to the queue; frames before `offset` (the
 * ROUTER's routing id) are skipped. A REPLY must carry at least one address (the client's)
 * before its delimiter, and at least one content frame after it.
 */
export function parseWorkerMessage(frames: readonly Buffer[], offset = 0): WorkerCommand {
  const n = frames.length - offset;
  if (n <= 0) return { type: "malformed", reason: "empty message" };
  if (n === 1) {
    const f = frames[offset]!;
    if (f.length === 1 && f[0] === PPP_READY) return READY_CMD;
    if (f.length === 1 && f[0] === PPP_HEARTBEAT) return HEARTBEAT_CMD;
    return { type: "malformed", reason: "unknown command" };
  }
  const at = delimiterIndex(frames, offset);
  if (at < 0) return { type: "malformed", reason: "reply without a delimiter" };
  if (at === offset) return { type: "malformed", reason: "reply without an address" };
  if (at === frames.length - 1) return { type: "malformed", reason: "reply without content" };
  return { type: "reply", delimiter: at };
}

/** 6/PPP: parse a message the queue sent to a worker. The address stack may be empty. */
export function parseQueueMessage(frames: readonly Buffer[]): QueueCommand {
  if (frames.length === 0) return { type: "malformed", reason: "empty message" };
  if (frames.length === 1) {
    const f = frames[0]!;
    if (f.length === 1 && f[0] === PPP_HEARTBEAT) return HEARTBEAT_CMD;
    return { type: "malformed", reason: f.length === 1 && f[0] === PPP_READY ? "READY from the queue" : "unknown command" };
  }
  const at = delimiterIndex(frames);
  if (at < 0) return { type: "malformed", reason: "request without a delimiter" };
  if (at === frames.length - 1) return { type: "malformed", reason: "request without content" };
  return { type: "request", envelope: frames.slice(0, at), body: frames.slice(at + 1) };
}

/**
 * 6/PPP: check a client request as the queue's ROUTER frontend receives it:
 * `[clientId, ...addresses, EMPTY, ...content]`. Returns undefined when it is well formed,
 * else the reason.
 */
export function checkClientRequest(frames: readonly Buffer[]): string | undefined {
  if (frames.length < 3) return "too few frames";
  const at = delimiterIndex(frames, 1);
  if (at < 0) return "no delimiter";
  if (at === frames.length - 1) return "no content";
  return undefined;
}
