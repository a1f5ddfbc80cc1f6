/**
 * Typed errors with stable codes. Every error this package throws or reports is a
 * {@link ZmqPatternsError} (option errors are also `TypeError`s), and the original
 * zeromq.js error, where there was one, is kept as `cause`.
 *
 * `instanceof` works across copies of this package (two versions in one process) because
 * the check looks at a registered symbol, not at the prototype chain.
 * @module
 */

const BRAND = Symbol.for("zeromq-patterns.error");

/** Stable error codes. They never change meaning between releases. */
export type ErrorCode =
  | "ZMQP_TIMEOUT"
  | "ZMQP_REQUEST_ABANDONED"
  | "ZMQP_CLOSED"
  | "ZMQP_ABORTED"
  | "ZMQP_QUEUE_FULL"
  | "ZMQP_PEER_UNREACHABLE"
  | "ZMQP_PROTOCOL"
  | "ZMQP_AUTH"
  | "ZMQP_INVALID_OPTION"
  | "ZMQP_SOCKET";

interface Branded {
  [BRAND]?: true;
  code?: string;
}

/** Base class of every error raised by zeromq-patterns. */
export class ZmqPatternsError extends Error {
  /** Stable, machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    (this as Branded)[BRAND] = true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== ZmqPatternsError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as Branded)[BRAND] === true;
  }
}

/** A request or operation did not complete in time. */
export class TimeoutError extends ZmqPatternsError {
  constructor(message = "Operation timed out", options?: { cause?: unknown }) {
    super("ZMQP_TIMEOUT", message, options);
  }
}

/**
 * A client gave a request up: every attempt (the first and `retries` resends) timed out.
 * A {@link TimeoutError} with its own code, `ZMQP_REQUEST_ABANDONED`; every retrying client
 * (Lazy Pirate, pipelined, Majordomo, Titanic) rejects an abandoned request with it.
 */
export class RequestAbandonedError extends TimeoutError {
  override readonly code: ErrorCode = "ZMQP_REQUEST_ABANDONED";
  /** Attempts made (1 + the resends). */
  readonly attempts: number;
  /** Timeout of the last attempt, ms. */
  readonly requestTimeout: number;
  /** The endpoint the last attempt went to. */
  readonly endpoint: string | undefined;
  constructor(attempts: number, requestTimeout: number, endpoint?: string, what = "request") {
    super(`No reply after ${attempts} attempt(s) of ${requestTimeout} ms${endpoint ? ` (last to ${endpoint})` : ""}: ${what} abandoned`);
    this.attempts = attempts;
    this.requestTimeout = requestTimeout;
    this.endpoint = endpoint;
  }
}

/** The object (reactor, socket handle, client, ...) was closed. */
export class ClosedError extends ZmqPatternsError {
  constructor(message = "Closed", options?: { cause?: unknown }) {
    super("ZMQP_CLOSED", message, options);
  }
}

/** An `AbortSignal` stopped the operation; the signal's reason is the `cause`. */
export class AbortedError extends ZmqPatternsError {
  constructor(message = "Aborted", options?: { cause?: unknown }) {
    super("ZMQP_ABORTED", message, options);
  }
}

/** A bounded queue was full and its overflow policy is `reject`. */
export class QueueFullError extends ZmqPatternsError {
  /** The queue's limit. */
  readonly limit: number;
  constructor(limit: number, what = "queue") {
    super("ZMQP_QUEUE_FULL", `The ${what} is full (limit ${limit})`);
    this.limit = limit;
  }
}

/** A ROUTER could not route a message: the peer is gone (`EHOSTUNREACH`). */
export class PeerUnreachableError extends ZmqPatternsError {
  /** Routing id of the peer. */
  readonly routingId: Buffer;
  constructor(routingId: Buffer, options?: { cause?: unknown }) {
    super("ZMQP_PEER_UNREACHABLE", `Peer ${describeId(routingId)} is unreachable`, options);
    this.routingId = routingId;
  }
}

/** A peer sent something the protocol does not allow. */
export class ProtocolError extends ZmqPatternsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ZMQP_PROTOCOL", message, options);
  }
}

/** Authentication or authorisation failed. `status` is the protocol's status code. */
export class AuthError extends ZmqPatternsError {
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super("ZMQP_AUTH", message, options);
    this.status = status;
  }
}

/** A zeromq socket operation failed; `cause` is the zeromq.js error, `errno` its code. */
export class SocketError extends ZmqPatternsError {
  /** The zeromq error code (`EAGAIN`, `EFSM`, ...), if any. */
  readonly zmqCode: string | undefined;
  constructor(message: string, options?: { cause?: unknown }) {
    super("ZMQP_SOCKET", message, options);
    this.zmqCode = zmqErrorCode(options?.cause);
  }
}

/**
 * An option had the wrong type or range. It is a `TypeError` (as users of Node APIs expect)
 * and also a {@link ZmqPatternsError} with code `ZMQP_INVALID_OPTION`.
 */
export class InvalidOptionError extends TypeError {
  readonly code = "ZMQP_INVALID_OPTION" as const;
  /** Name of the offending option. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.name = "InvalidOptionError";
    this.option = option;
    (this as Branded)[BRAND] = true;
  }
}

/** The zeromq.js error code (`EAGAIN`, `EHOSTUNREACH`, ...) of an error, if it has one. */
export function zmqErrorCode(err: unknown): string | undefined {
  if (typeof err === "object" && err !== null && "code" in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}

/** Printable form of a routing id: text when it is printable ASCII, else hex. */
export function describeId(id: Buffer): string {
  for (const byte of id) {
    if (byte < 0x20 || byte > 0x7e) return "0x" + id.toString("hex");
  }
  return id.toString("latin1");
}
