/**
 * Binary Star (Guide ch4 "High-Availability Pair"): a primary/backup server pair with a
 * client vote and no split brain. The state machine ({@link BinaryStarFsm}, socket-free), the
 * composable {@link BinaryStar} any server can use to know when to serve, and a ready-made
 * request-reply {@link BinaryStarServer}. Subpath export `zeromq-patterns/binary-star`.
 * @module binary-star
 */
export * from "./fsm.js";
export * from "./bstar.js";
export * from "./server.js";
