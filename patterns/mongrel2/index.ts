/**
 * Mongrel2 handlers: web requests as ZeroMQ jobs. {@link Mongrel2Handler} connects to a
 * Mongrel2 server's `send_spec` (PULL) and `recv_spec` (PUB) and runs any node:http request
 * listener for its requests: what you would hand to `http.createServer()`. Start more handler
 * processes on the same specs to share the load; stop one and mongrel2 keeps its requests for
 * the others, or until one is back.
 * @module zeromq-patterns/mongrel2
 */
export { Mongrel2Handler, type Mongrel2HandlerEvents, type Mongrel2HandlerOptions, type Mongrel2HandlerStats, type Mongrel2RequestHandler, type RequestDropReason, type ResponseDropReason, type UploadRefusal } from "./handler.js";
export { HttpExchange, Mongrel2Socket, keepAlive, type ConnectionSink, type ExchangeEnd, type Mongrel2RequestInfo, type RequestListener } from "./http.js";
export * from "./protocol.js";
