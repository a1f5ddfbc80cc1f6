/**
 * Simple Pirate wire format (Guide ch4 "Basic Reliable Queuing", after the ch3
 * load-balancing broker). Parsers return `undefined` for malformed input; callers count it.
 *
 * - client -> frontend ROUTER: `[clientId, ...addresses, EMPTY, ...body]` (a REQ client has
 *   no extra addresses; a pipelined DEALER puts its request id there)
 * - queue -> worker (backend ROUTER): `[workerId, EMPTY, clientId, ...addresses, EMPTY, ...body]`
 * - worker -> backend ROUTER: `[workerId, EMPTY, READY]` or `[workerId, EMPTY, clientId, ...addresses, EMPTY, ...reply]`
 * - queue -> client: `[clientId, ...addresses, EMPTY, ...reply]`
 * @module
 */
import { byteFrame, isByte } from "../../src/index.js";

/** Simple Pirate `WORKER_READY` / Python `LRU_READY`: the single byte 0x01. */
export const READY = 0x01;
/** The READY frame. */
export const READY_FRAME: Buffer = byteFrame(READY);

/** Index of the first empty frame at or after `from`, or -1. */
function delimiterAt(frames: readonly Buffer[], from: number): number {
  for (let i = from; i < frames.length; i++) if (frames[i]!.length === 0) return i;
  return -1;
}

/**
 * Check a request as the frontend ROUTER sees it: a sender id, then an address stack ending
 * in the empty delimiter, then at least one body frame. Returns undefined when it is well
 * formed, else the reason.
 */
export function checkRequest(frames: readonly Buffer[]): string | undefined {
  if (frames.length < 3) return "too few frames";
  if (frames[0]!.length === 0) return "empty sender id";
  const d = delimiterAt(frames, 1);
  if (d < 0) return "no delimiter";
  if (d === frames.length - 1) return "no body";
  return undefined;
}

/** What a worker sent, as the backend ROUTER sees it. */
export type BackendMessage =
  | { kind: "ready"; worker: Buffer }
  /** `reply` is what goes to the frontend: `[clientId, ...addresses, EMPTY, ...reply]`. */
  | { kind: "reply"; worker: Buffer; reply: Buffer[] }
  | { kind: "malformed"; reason: string };

/** Parse a backend message; `kind: "malformed"` (with the reason) when it is not READY or a reply. */
export function parseBackend(frames: readonly Buffer[]): BackendMessage {
  if (frames.length < 3) return { kind: "malformed", reason: "too few frames" };
  if (frames[0]!.length === 0 || frames[1]!.length !== 0) return { kind: "malformed", reason: "no REQ envelope" };
  const worker = frames[0]!;
  if (frames.length === 3 && isByte(frames[2], READY)) return { kind: "ready", worker };
  const reply = frames.slice(2);
  if (reply[0]!.length === 0 || delimiterAt(reply, 1) < 0) return { kind: "malformed", reason: "neither READY nor a reply" };
  return { kind: "reply", worker, reply };
}
