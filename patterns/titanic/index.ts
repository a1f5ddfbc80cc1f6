/**
 * Titanic (9/TSP): disconnected, persistent request-reply on top of Majordomo.
 * Subpath export `zeromq-patterns/titanic`. See README.md.
 * @module zeromq-patterns/titanic
 */
export * from "./store.js";
export * from "./scheduler.js";
export * from "./server.js";
export * from "./client.js";
