/**
 * The 6/PPP worker: a {@link HeartbeatLink} to one queue (READY on every connect, heartbeats
 * both ways, reconnect with backoff on a fresh socket) that runs a request handler, one
 * request at a time, on the core {@link RequestRunner}.
 * @module
 */
import {
  EMPTY,
  HEARTBEAT_INTERVAL,
  HeartbeatLink,
  Lifecycle,
  RequestRunner,
  forwardLinkEvents,
  heartbeatWorkerConfig,
  optionsObject,
  startInBackground,
  type HeartbeatWorkerConfig,
  type HeartbeatWorkerOptions,
  type HeartbeatWorkerStats,
  type WorkerEmit,
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

interface Request {
  client: Buffer;
  envelope: Buffer[];
  body: Buffer[];
}

/**
 * 6/PPP worker (the Guide's Paranoid Pirate worker, with async handlers). Starts connecting
 * by itself once constructed (or call {@link start} and await it). When a handler fails and
 * there is no `errorReply`, the worker says READY again: the queue takes the request as given
 * up and redelivers it. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateWorker extends Lifecycle<WorkerEvents> {
  /** The queue endpoint. */
  readonly endpoint: string;
  readonly #c: HeartbeatWorkerConfig<WorkerHandler>;
  readonly #runner: RequestRunner<Request>;
  #link: HeartbeatLink | undefined;
  #heartbeatsReceived = 0;

  constructor(options: ParanoidPirateWorkerOptions) {
    const o = optionsObject("ParanoidPirateWorker", options);
    const c = heartbeatWorkerConfig<WorkerHandler>("ParanoidPirateWorker", o, HEARTBEAT_INTERVAL);
    super("ParanoidPirateWorker", o);
    this.#c = c;
    this.endpoint = c.endpoint;
    const emit: WorkerEmit = (event, ...args) => this.emit(event, ...args);
    this.#runner = new RequestRunner<Request>(
      { maxPending: c.maxPending, handlerTimeout: c.handlerTimeout, errorReply: c.errorReply, timers: this.reactor },
      {
        run: (request, ctx) => c.handler(request.body, ctx),
        send: (request, reply) => this.#send(request, reply),
        // READY tells the queue this request is given up (it redelivers it).
        recover: () => void this.#linkSend(READY_FRAME),
        emit,
      },
    );
    startInBackground(this, (error) => this.emit("lifecycle:error", { phase: "start", error }));
  }

  /** True while a socket to the queue is open. */
  get connected(): boolean {
    return this.#link?.connected ?? false;
  }

  /** Counters. */
  stats(): ParanoidPirateWorkerStats {
    const l = this.#link?.stats();
    return { ...this.#runner.stats(), heartbeatsReceived: this.#heartbeatsReceived, heartbeatsSent: l?.heartbeatsSent ?? 0, connects: l?.connects ?? 0, reconnects: l?.reconnects ?? 0 };
  }

  protected async onStart(): Promise<void> {
    const c = this.#c;
    const link = new HeartbeatLink({
      reactor: this.reactor,
      endpoint: c.endpoint,
      greeting: () => READY_FRAME,
      heartbeat: () => HEARTBEAT_FRAME,
      onMessage: (frames) => this.#onMessage(frames),
      heartbeatInterval: c.heartbeatInterval,
      heartbeatLiveness: c.heartbeatLiveness,
      reconnectInterval: c.reconnectInterval,
      reconnectMaxInterval: c.reconnectMaxInterval,
      sendQueueLimit: c.sendQueueLimit,
      socketOptions: c.socketOptions,
    });
    this.#link = link;
    this.own(() => link.close());
    this.own(forwardLinkEvents(link, (event, ...args) => this.emit(event, ...args)));
    link.on("link:lost", () => this.#runner.reset());
    await link.start();
  }

  /** A handler still running finishes on its own; its reply is dropped (`droppedReplies`). */
  protected override onClose(): void {
    this.#runner.close();
  }

  #send(request: Request, reply: Buffer[]): boolean {
    const out = request.envelope;
    out.push(EMPTY);
    if (reply.length === 0) out.push(EMPTY);
    else for (const f of reply) out.push(f);
    return this.#linkSend(out);
  }

  /** Send on the link; false when there is none (not started, or closed with a shared reactor). */
  #linkSend(message: Buffer | Buffer[]): boolean {
    const link = this.#link;
    return link !== undefined && !link.closed && link.send(message);
  }

  #onMessage(frames: Buffer[]): void {
    const cmd = parseQueueMessage(frames);
    switch (cmd.type) {
      case "heartbeat":
        this.#heartbeatsReceived++;
        return;
      case "request":
        return this.#runner.accept({ client: cmd.envelope[0] ?? EMPTY, envelope: cmd.envelope, body: cmd.body });
      default:
        this.#runner.malformed("link", cmd.reason, frames.length);
    }
  }
}
