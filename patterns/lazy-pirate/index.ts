/**
 * Lazy Pirate (Guide ch4 "Client-Side Reliability"): reliable request-reply from the client
 * side. {@link LazyPirateClient} works with any REP server; {@link PipelinedClient} keeps many
 * requests in flight through queues that forward the address stack.
 * @module zeromq-patterns/lazy-pirate
 */
export { LazyPirateClient, type LazyPirateOptions } from "./client.js";
export { PipelinedClient, REQUEST_ID_SIZE, type PipelinedOptions } from "./pipelined.js";
export {
  REQUEST_RETRIES,
  REQUEST_TIMEOUT,
  RequestAbandonedError,
  type BackoffOptions,
  type ClientOptions,
  type DiscardReason,
  type LazyPirateEvents,
  type LazyPirateStats,
  type ReopenReason,
  type RequestOptions,
} from "./common.js";
