/**
 * Clone (12/CHP, the Guide's chapter 5): a key-value hashmap shared reliably by many clients
 * through a server (snapshot ROUTER on P, PUB on P + 1, collector SUB on P + 2), with
 * subtrees, ttl expiry, HUGZ heartbeats, resynchronisation after a server loss and a Binary
 * Star HA pair of servers. Subpath export `zeromq-patterns/clone`.
 * @module clone
 */
export * from "./protocol.js";
export * from "./endpoints.js";
export * from "./store.js";
export * from "./server.js";
export * from "./client.js";
