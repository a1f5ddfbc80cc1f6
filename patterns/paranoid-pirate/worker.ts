/**
 * The 6/PPP worker: a {@link HeartbeatLink} to one queue (READY on every connect, heartbeats
 * both ways, reconnect with backoff on a fresh socket) that runs a request handler, one
 * request at a time, on the core {@link HeartbeatWorker}.
 * @module
 */
import {
  EMPTY,
  HEARTBEAT_INTERVAL,
  HeartbeatWorker,
  heartbeatWorkerConfig,
  optionsObject,
  type EnvelopeJob,
  type HeartbeatWorkerConfig,
  type HeartbeatWorkerOptions,
  type HeartbeatWorkerStats,
  type MessageLike,
  type WorkerEvents,
  type WorkerHandler,
} from "../../src/index.js";
import { HEARTBEAT_FRAME, READY_FRAME, parseQueueMessage } from "./protocol.js";

/**
 * Options of {@link ParanoidPirateWorker}: the worker vocabulary (src/README.md, "Workers");
 * `heartbeatInterval` defaults to 1000 (6/PPP).
 */
export type ParanoidPirateWorkerOptions = HeartbeatWorkerOptions<WorkerHandler>;

/** Events of a {@link ParanoidPirateWorker}: the worker events (src/README.md, "Workers"). */
export type ParanoidPirateWorkerEvents = WorkerEvents;

/** Counters of a {@link ParanoidPirateWorker}. */
export type ParanoidPirateWorkerStats = HeartbeatWorkerStats;

/**
 * 6/PPP worker (the Guide's Paranoid Pirate worker, with async handlers). Starts connecting
 * by itself once constructed (or call {@link start} and await it). When a handler fails and
 * there is no `errorReply`, the worker says READY again: the queue takes the request as given
 * up and redelivers it. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateWorker extends HeartbeatWorker<EnvelopeJob, HeartbeatWorkerConfig<WorkerHandler>> {
  constructor(options: ParanoidPirateWorkerOptions) {
    const o = optionsObject("ParanoidPirateWorker", options);
    super("ParanoidPirateWorker", o, heartbeatWorkerConfig<WorkerHandler>("ParanoidPirateWorker", o, HEARTBEAT_INTERVAL));
  }

  protected greeting(): MessageLike {
    return READY_FRAME;
  }

  protected heartbeat(): MessageLike {
    return HEARTBEAT_FRAME;
  }

  protected onBrokerMessage(frames: Buffer[]): void {
    const cmd = parseQueueMessage(frames);
    if (cmd.type === "heartbeat") this.heartbeatReceived();
    else if (cmd.type === "request") this.runner.accept({ client: cmd.envelope[0] ?? EMPTY, envelope: cmd.envelope, body: cmd.body });
    else this.runner.malformed("link", cmd.reason, frames.length);
  }

  protected sendReply(request: EnvelopeJob, reply: Buffer[]): boolean {
    const out = request.envelope;
    out.push(EMPTY);
    if (reply.length === 0) out.push(EMPTY);
    else for (const f of reply) out.push(f);
    return this.linkSend(out);
  }

  /** READY tells the queue this request is given up (it redelivers it). */
  protected recover(): void {
    this.linkSend(READY_FRAME);
  }
}
