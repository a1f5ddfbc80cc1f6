/**
 * The 6/PPP queue: a ROUTER frontend for clients, a ROUTER backend for workers. A wire
 * adapter over the core's {@link QueueBroker} and its dispatch engine, which keeps the LRU
 * of ready workers, heartbeats both ways and expiry, and redelivers the requests of workers
 * that die while busy.
 * @module
 */
import { HEARTBEAT_INTERVAL, QueueBroker, optionsObject, requestFrames, type BrokerOptions, type DispatchTransport, type DropEvent, type QueueBrokerEvents, type QueueBrokerOptions, type QueueBrokerStats, type QueueRequest } from "../../src/index.js";
import { BinaryStar, binaryStarHaOption, type BinaryStarEvents, type BinaryStarHaOptions, type BinaryStarSettings, type BinaryStarState, type BinaryStarStats } from "../binary-star/index.js";
import { HEARTBEAT_FRAME, checkClientRequest, parseWorkerMessage } from "./protocol.js";

/** Options of {@link ParanoidPirateQueue}: a queue's, plus heartbeats (default 1000 ms x 3, the 6/PPP constants). */
export interface ParanoidPirateQueueOptions extends QueueBrokerOptions, BrokerOptions {
  /**
   * Run as one queue of a Binary Star pair: clients are served only while this queue is
   * active (see README.md, "HA pair"). Workers are not gated: run each against both queues.
   */
  readonly ha?: BinaryStarHaOptions;
}
/** Counters of a {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueStats extends QueueBrokerStats {
  /** The Binary Star counters, with the `ha` option once started. */
  ha: BinaryStarStats | undefined;
}
/** Events of a {@link ParanoidPirateQueue}: a queue's, plus the Binary Star ones with the `ha` option. */
export interface ParanoidPirateQueueEvents extends QueueBrokerEvents {
  "bstar:state": BinaryStarEvents["bstar:state"];
  "bstar:active": BinaryStarEvents["bstar:active"];
  "bstar:passive": BinaryStarEvents["bstar:passive"];
  "bstar:fatal": BinaryStarEvents["bstar:fatal"];
}

const OWNER = "ParanoidPirateQueue";

/**
 * 6/PPP queue (the Guide's Paranoid Pirate queue, hardened). Clients connect REQ or DEALER
 * sockets to the frontend; {@link ParanoidPirateWorker}s (or any 6/PPP worker) connect to
 * the backend. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateQueue extends QueueBroker<ParanoidPirateQueueEvents> {
  readonly #ha: BinaryStarSettings | undefined;
  #star: BinaryStar | undefined;

  constructor(options: ParanoidPirateQueueOptions) {
    const ha = binaryStarHaOption(OWNER, optionsObject(OWNER, options));
    // No `handover`: a worker that reconnects with its identity is accepted once its old
    // connection has closed; a second live connection with that identity is refused.
    super(OWNER, options, { heartbeatInterval: HEARTBEAT_INTERVAL }, { frontend: {}, backend: {} });
    this.#ha = ha;
  }

  /** The Binary Star part, with the `ha` option once started. */
  get star(): BinaryStar | undefined {
    return this.#star;
  }

  /** This queue's Binary Star state, with the `ha` option once started. */
  get haState(): BinaryStarState | undefined {
    return this.#star?.haState;
  }

  override stats(): ParanoidPirateQueueStats {
    return { ...super.stats(), ha: this.#star?.stats() };
  }

  protected override async onStart(): Promise<void> {
    await super.onStart();
    if (!this.#ha) return;
    const star = new BinaryStar({ ...this.#ha, reactor: this.reactor });
    star.forward(this.emit.bind(this) as (event: string, payload: unknown) => void);
    // Owned before it starts: a star whose start fails still lets go of the shared reactor.
    this.own(() => star.close());
    await star.start();
    this.#star = star;
  }

  /** With the `ha` option: every client request is a client vote; served only while active. */
  protected override admit(): boolean {
    if (!this.#ha) return true;
    return this.#star?.accept() ?? false;
  }

  protected transport(): DispatchTransport<QueueRequest, undefined> {
    return {
      // REQUEST: [workerId, clientId, ...addresses, EMPTY, ...content]
      deliver: (worker, request) => {
        const frames = requestFrames(request);
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
        // Forwarded only when it answers the request this worker holds (client id); a forged
        // or late reply (its request was redelivered) is dropped and counted (`reply:unexpected`).
        if (this.engine.answer(id, frames[1]!) === undefined) {
          if (!this.engine.worker(id)) this.engine.reject(id, "reply before READY");
          return;
        }
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
