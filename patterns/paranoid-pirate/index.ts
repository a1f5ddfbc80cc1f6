/**
 * 6/PPP, the Paranoid Pirate Protocol: a queue with heartbeated workers, purge of dead
 * workers (idle or busy), redelivery of their requests, and workers that reconnect with
 * exponential backoff. Subpath export `zeromq-patterns/paranoid-pirate`.
 * @module paranoid-pirate
 */
export * from "./protocol.js";
export * from "./queue.js";
export * from "./worker.js";
