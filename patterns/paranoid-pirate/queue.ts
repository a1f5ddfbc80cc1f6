/**
 * The 6/PPP queue: a ROUTER frontend for clients, a ROUTER backend for workers. A wire
 * adapter over the core's {@link QueueBroker} and its dispatch engine, which keeps the LRU
 * of ready workers, heartbeats both ways and expiry, and redelivers the requests of workers
 * that die while busy.
 * @module
 */
import { HEARTBEAT_INTERVAL, QueueBroker, type BrokerOptions, type DispatchTransport, type DropEvent, type QueueBrokerEvents, type QueueBrokerOptions, type QueueBrokerStats } from "../../src/index.js";
import { HEARTBEAT_FRAME, checkClientRequest, parseWorkerMessage } from "./protocol.js";

/** Options of {@link ParanoidPirateQueue}: a queue's, plus heartbeats (default 1000 ms x 3, the 6/PPP constants). */
export interface ParanoidPirateQueueOptions extends QueueBrokerOptions, BrokerOptions {}
/** Counters of a {@link ParanoidPirateQueue}. */
export type ParanoidPirateQueueStats = QueueBrokerStats;
/** Events of a {@link ParanoidPirateQueue}. */
export type ParanoidPirateQueueEvents = QueueBrokerEvents;

/**
 * 6/PPP queue (the Guide's Paranoid Pirate queue, hardened). Clients connect REQ or DEALER
 * sockets to the frontend; {@link ParanoidPirateWorker}s (or any 6/PPP worker) connect to
 * the backend. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateQueue extends QueueBroker {
  constructor(options: ParanoidPirateQueueOptions) {
    // `handover` on the backend: a worker that reconnects with its identity takes it over.
    super("ParanoidPirateQueue", options, { heartbeatInterval: HEARTBEAT_INTERVAL }, { frontend: {}, backend: { handover: true } });
  }

  protected transport(): DispatchTransport<Buffer[], undefined> {
    return {
      // REQUEST: [workerId, clientId, ...addresses, EMPTY, ...content]
      deliver: (worker, frames) => {
        const out = new Array<Buffer>(frames.length + 1);
        out[0] = worker.id;
        for (let i = 0; i < frames.length; i++) out[i + 1] = frames[i]!;
        this.backend?.send(out);
      },
      heartbeat: (worker) => void this.backend?.send([worker.id, HEARTBEAT_FRAME]),
    };
  }

  protected checkRequest(frames: Buffer[]): string | undefined {
    return checkClientRequest(frames);
  }

  protected onBackend(frames: Buffer[]): void {
    const cmd = parseWorkerMessage(frames, 1);
    const id = frames[0]!;
    switch (cmd.type) {
      case "reply": {
        const worker = this.engine.worker(id);
        if (!worker) return this.engine.reject(id, "reply before READY");
        // Forwarded even when late (its request was redelivered meanwhile): the client takes the first answer.
        this.engine.reply(worker);
        frames.shift();
        this.frontend!.send(frames);
        return;
      }
      case "heartbeat": {
        const worker = this.engine.worker(id);
        if (worker) this.engine.heartbeat(worker);
        else this.engine.reject(id, "HEARTBEAT before READY");
        return;
      }
      case "ready":
        // A known worker's READY starts a new conversation (6/PPP: it lost us and reconnected,
        // or a new connection took over its identity): whatever it was serving is redelivered.
        this.engine.ready(id, "", undefined);
        return;
      default:
        return this.malformed("backend", cmd.reason, frames);
    }
  }

  protected onBackendDropped(to: Buffer, e: DropEvent): void {
    // The worker is gone, or a request never left (its pipe is full: the worker would stay
    // busy with it for ever): purge it and redeliver. A heartbeat dropped at the HWM is harmless.
    if (e.reason === "unroutable" || (Array.isArray(e.message) && e.message.length > 2)) this.engine.unreachable(to);
  }
}
