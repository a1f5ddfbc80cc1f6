/**
 * Tools grown from the Perl systems this project came from: a log pipe and logger transport
 * (after Message::Passing::ZeroMQ) and a preforking job server (after Net::Server::ZMQ).
 * @module zeromq-patterns/tools
 */
export * from "./sender.js";
export * from "./pipe.js";
export { endpointLists, type EndpointLists } from "./endpoints.js";
export { zeromqTransport, STATS_EVENT, type PinoTransportOptions } from "./pino-transport.js";
export * from "./server.js";
export { ControlServer, requestStatus, STATUS_COMMAND } from "./control.js";
export type { ServeWorkerConfig } from "./serve-worker.js";
