/**
 * Shared plumbing for the core's integration tests: every socket and reactor a test makes is
 * closed after it, and unhandled rejections are caught and fail the test that caused them.
 */
import { afterEach, beforeEach, expect } from "vitest";
import type * as zmq from "zeromq";
import type { Reactor } from "../../src/index.js";

const sockets = new Set<zmq.Socket>();
const reactors = new Set<Reactor>();
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

/** Track a socket so it is closed after the test. */
export function track<S extends zmq.Socket>(socket: S): S {
  sockets.add(socket);
  return socket;
}

/** Track a reactor so it is closed after the test. */
export function own<R extends Reactor>(reactor: R): R {
  reactors.add(reactor);
  return reactor;
}

/** Unhandled rejections seen during the current test. */
export function unhandled(): readonly unknown[] {
  return rejections;
}

/** Install the per-test hooks (call once at the top of a test file). */
export function useCleanup(): void {
  beforeEach(() => {
    rejections.length = 0;
    process.on("unhandledRejection", onRejection);
  });
  afterEach(async () => {
    await Promise.all([...reactors].map((r) => r.close()));
    reactors.clear();
    for (const s of sockets) if (!s.closed) s.close();
    sockets.clear();
    // let pending rejections surface before checking
    await new Promise((r) => setImmediate(r));
    process.off("unhandledRejection", onRejection);
    expect(rejections, "unhandled rejections").toEqual([]);
  });
}

/** Resolve on the next macrotask turn. */
export function tick(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}
