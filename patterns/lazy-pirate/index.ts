/**
 * Lazy Pirate (Guide ch4 "Client-Side Reliability"): reliable request-reply from the client
 * side. {@link LazyPirateClient} works with any REP server; {@link PipelinedClient} keeps many
 * requests in flight through queues that forward the address stack. Both ride on the core's
 * request engine (`RequestEngine`, `RequestAbandonedError` from the root export).
 * @module zeromq-patterns/lazy-pirate
 */
export { LazyPirateClient, type LazyPirateOptions } from "./client.js";
export { PipelinedClient, REQUEST_ID_SIZE, type PipelinedOptions } from "./pipelined.js";
export type { ClientOptions, LazyPirateEvents, LazyPirateStats, ReopenReason } from "./common.js";
