/**
 * Freelance (Guide ch4, 10/FLP): brokerless reliable request-reply over N interchangeable
 * servers. {@link FreelanceServer} answers PING and echoes the Client Control Frame;
 * {@link FreelanceClient} pings its servers, sends each request to a live one and retries it
 * on another (model 3), or to all of them at once (`mode: "shotgun"`, model 2). The client
 * rides on the core's request engine (`RequestAbandonedError` from the root export).
 * @module zeromq-patterns/freelance
 */
export { FreelanceServer, type FreelanceServerEvents, type FreelanceServerOptions, type FreelanceServerStats } from "./server.js";
export { FreelanceClient, PING_INTERVAL, PROBE_INTERVAL, SERVER_TTL, type FreelanceClientEvents, type FreelanceClientOptions, type FreelanceClientStats, type FreelanceMode } from "./client.js";
export { ServerTable, type ServerEntry, type ServerTableOptions, type TickResult } from "./servers.js";
export * from "./protocol.js";
