/**
 * Majordomo (7/MDP 0.1, 18/MDP 0.2, 8/MMI): a service-oriented broker, worker and client.
 * Subpath export `zeromq-patterns/majordomo`. See README.md.
 * @module zeromq-patterns/majordomo
 */
export * from "./protocol.js";
export * from "./broker.js";
export * from "./worker.js";
export * from "./client.js";
export * from "./options.js";
