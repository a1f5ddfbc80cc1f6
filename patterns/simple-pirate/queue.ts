/**
 * Simple Pirate queue (Guide ch4): a least-recently-used load balancer between clients
 * (frontend ROUTER) and REQ workers (backend ROUTER). A wire adapter over the core's
 * {@link QueueBroker} and its dispatch engine: parse, tell the engine, send what it decides.
 * @module
 */
import { EMPTY, QueueBroker, requestFrames, type DispatchTransport, type DropEvent, type QueueBrokerEvents, type QueueBrokerOptions, type QueueBrokerStats, type QueueRequest } from "../../src/index.js";
import { checkRequest, parseBackend } from "./protocol.js";

/** Options of {@link SimplePirateQueue} (no heartbeats: Simple Pirate workers send none). */
export type SimplePirateQueueOptions = QueueBrokerOptions;
/** Counters of a {@link SimplePirateQueue}. */
export type SimplePirateQueueStats = QueueBrokerStats;
/** Events of a {@link SimplePirateQueue}. */
export type SimplePirateQueueEvents = QueueBrokerEvents;

/**
 * Simple Pirate queue (Guide ch4 "Basic Reliable Queuing"): requests from the frontend go
 * to the least recently used idle worker; a worker announces itself with READY (0x01) and
 * becomes idle again with each reply, which is forwarded to the client. Address stacks are
 * forwarded untouched, so REQ clients and the pipelined DEALER client both work. Requests
 * wait in a bounded backlog while no worker is idle. Workers do not heartbeat (that is 6/PPP).
 * A reply is forwarded only when it answers the request its worker holds (else it is
 * dropped and counted, `reply:unexpected`); neither ROUTER lets a new connection take over
 * a routing id in use (`takeover:refused`).
 *
 * ```ts
 * const queue = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
 * await queue.start();
 * console.log(queue.endpoints); // { frontend: ["tcp://127.0.0.1:40123"], backend: [...] }
 * ```
 */
export class SimplePirateQueue extends QueueBroker {
  constructor(options: SimplePirateQueueOptions) {
    // No `handover` on either ROUTER: a peer that comes back with a routing id in use is
    // accepted once its old connection has closed, and a second live connection with it is refused.
    super("SimplePirateQueue", options, { heartbeats: false }, { frontend: {}, backend: {} });
  }

  protected transport(): DispatchTransport<QueueRequest, undefined> {
    // A REQ worker reads [EMPTY, ...request]: the delimiter its REQ socket expects.
    return { deliver: (worker, request) => void this.backend?.send([worker.id, EMPTY, ...requestFrames(request)]) };
  }

  protected checkRequest(frames: Buffer[]): string | undefined {
    return checkRequest(frames);
  }

  protected onBackend(frames: Buffer[]): void {
    const message = parseBackend(frames);
    if (message.kind === "malformed") return this.malformed("backend", message.reason, frames);
    if (message.kind === "ready") {
      this.engine.ready(message.worker, "", undefined);
      return;
    }
    // Forwarded only when it answers the request this worker holds (client id); the worker
    // is then idle again (or gets the next waiting request).
    if (this.engine.answer(message.worker, message.reply[0]!) !== undefined) {
      this.frontend!.send(message.reply);
      return;
    }
    // Dropped (counted, `reply:unexpected`). A peer that never sent READY is not taken on
    // either: only a READY makes a worker (after a queue restart, see README "FAQ").
  }

  /** Everything the backend sends is a request: a drop means its worker is gone or stuck; redeliver. */
  protected onBackendDropped(to: Buffer, _e: DropEvent): void {
    this.engine.unreachable(to);
  }
}
