/**
 * zeromq-patterns: the reliability patterns of the ZeroMQ Guide for Node.js.
 *
 * The root export is the core the patterns are built on: the {@link Reactor}, frames,
 * heartbeat/liveness logic, bounded queues, clocks and typed errors. Each pattern has its
 * own subpath export (`zeromq-patterns/lazy-pirate`, ...).
 * @module zeromq-patterns
 */
export * from "./errors.js";
export * from "./clock.js";
export * from "./emitter.js";
export * from "./queue.js";
export * from "./timers.js";
export * from "./frames.js";
export * from "./heartbeat.js";
export * from "./options.js";
export * from "./reactor.js";
export * from "./lifecycle.js";
export * from "./log.js";
export * from "./request.js";
export * from "./request-client.js";
export * from "./link.js";
export * from "./exactly-once.js";
export * from "./worker.js";
export * from "./worker-base.js";
export * from "./peers.js";
export * from "./handlers.js";
export * from "./net.js";
export * from "./dispatch.js";
export * from "./queue-broker.js";
