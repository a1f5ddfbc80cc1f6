/**
 * A preforking job server after Net::Server::ZMQ: the parent runs a 6/PPP queue, a pool of
 * forked Node children each runs a 6/PPP worker with the user's handler; clients are plain REQ
 * sockets. A control endpoint answers `STATUS` (`zpatterns status`).
 * @module zeromq-patterns/job-server
 */
export {
  JOB_HANDLER_TIMEOUT,
  JOB_MAX_REDELIVERIES,
  JobServer,
  type JobServerOptions,
  type JobServerPendingOverflow,
  type JobServerEvents,
  type JobServerStatus,
  type JobServerCounters,
  type WorkerChildInfo,
  type WorkerChildState,
} from "./server.js";
export { ControlServer, controlBindOption, isLocalEndpoint, requestStatus, STATUS_COMMAND, type ControlServerOptions, type ControlServerStats, type ControlServerEvents } from "./control.js";
export type { ServeWorkerConfig } from "./serve-worker.js";
