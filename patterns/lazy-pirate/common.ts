/**
 * What both Lazy Pirate clients share: their events and counters. The request machinery
 * itself (timeouts, retries, backoff, queue, aborts, failover) is the core's request engine
 * (src/request.ts); each client is a thin socket adapter over it.
 * @module
 */
import type { LifecycleOptions, RequestClientOptions, RequestEvents, RequestStats } from "../../src/index.js";

/** Options both Lazy Pirate clients take: the request engine's, the lifecycle's, and `linger`. */
export interface ClientOptions extends RequestClientOptions, LifecycleOptions {
  /** Linger (ms) when a socket closes (on timeout, abort and close). Default 0. */
  readonly linger?: number;
}

/** Why the REQ socket was closed and opened again. */
export type ReopenReason = "timeout" | "abort";

/** Events of the Lazy Pirate clients (beside the lifecycle's). */
export interface LazyPirateEvents extends RequestEvents<Buffer[]> {
  /** The REQ socket was closed (linger 0) and a fresh one connected. */
  "socket:reopened": [{ reason: ReopenReason; endpoint: string; count: number }];
  /** A reply without the `[requestId(4), EMPTY, ...]` shape was dropped (pipelined client). */
  "message:malformed": [{ socket: string; reason: string; frames: number }];
}

/** Counters of a Lazy Pirate client: the request engine's, plus the client's own. */
export interface LazyPirateStats extends RequestStats {
  /** REQ socket close/reopen cycles. */
  reopened: number;
  /** Replies that had no valid shape (pipelined client). */
  malformed: number;
}
