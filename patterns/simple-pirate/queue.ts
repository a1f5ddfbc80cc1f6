/**
 * Simple Pirate queue (Guide ch4): a least-recently-used load balancer between clients
 * (frontend ROUTER) and REQ workers (backend ROUTER). A wire adapter over the core's
 * {@link QueueBroker} and its dispatch engine: parse, tell the engine, send what it decides.
 * @module
 */
import { EMPTY, QueueBroker, type DispatchTransport, type DropEvent, type QueueBrokerEvents, type QueueBrokerOptions, type QueueBrokerStats } from "../../src/index.js";
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
 *
 * ```ts
 * const queue = new SimplePirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*" });
 * await queue.start();
 * console.log(queue.endpoints); // { frontend: ["tcp://127.0.0.1:40123"], backend: [...] }
 * ```
 */
export class SimplePirateQueue extends QueueBroker {
  constructor(options: SimplePirateQueueOptions) {
    // `handover`: a peer that comes back with the same routing id (a worker or client that
    // reset its socket, a restarted process) takes the id over; without it libzmq ignores
    // the newcomer for as long as the old connection lingers.
    super("SimplePirateQueue", options, { heartbeats: false }, { frontend: { handover: true }, backend: { handover: true } });
  }

  protected transport(): DispatchTransport<Buffer[], undefined> {
    // A REQ worker reads [EMPTY, ...request]: the delimiter its REQ socket expects.
    return { deliver: (worker, frames) => void this.backend?.send([worker.id, EMPTY, ...frames]) };
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
    this.frontend!.send(message.reply);
    // A reply makes its worker idle; a worker we did not know (the queue restarted) is taken on.
    const worker = this.engine.worker(message.worker);
    if (worker) this.engine.reply(worker);
    else this.engine.ready(message.worker, "", undefined);
  }

  /** Everything the backend sends is a request: a drop means its worker is gone or stuck; redeliver. */
  protected onBackendDropped(to: Buffer, _e: DropEvent): void {
    this.engine.unreachable(to);
  }
}
