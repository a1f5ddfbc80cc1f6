/**
 * The 6/PPP worker: a {@link HeartbeatLink} to one queue (READY on every connect, heartbeats
 * both ways, reconnect with backoff on a fresh socket) that runs a request handler, one
 * request at a time.
 * @module
 */
import type * as zmq from "zeromq";
import {
  BoundedQueue,
  EMPTY,
  HEARTBEAT_INTERVAL,
  HEARTBEAT_LIVENESS,
  HeartbeatLink,
  RECONNECT_INTERVAL,
  RECONNECT_MAX_INTERVAL,
  Reactor,
  TypedEmitter,
  endpointOption,
  functionOption,
  intOption,
  objectOption,
  optionsObject,
  signalOption,
  toFrames,
  type MessageLike,
  type RequestHandler,
  type Timer,
  reactorOption,
} from "../../src/index.js";
import { HEARTBEAT_FRAME, READY_FRAME, parseQueueMessage } from "./protocol.js";

/** Options of {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerOptions {
  /** The queue's backend endpoint to connect to. */
  readonly endpoint: string;
  /** Runs each request's content frames and returns the reply's (may be async). */
  readonly handler: RequestHandler;
  /** 6/PPP heartbeat interval, ms. Default 1000. */
  readonly heartbeatInterval?: number;
  /** Silent intervals before the queue is taken as dead. Default 3. */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay, ms. Default 1000 (doubles on each failure). */
  readonly reconnectInterval?: number;
  /** Reconnect delay cap, ms. Default 32000. */
  readonly reconnectMaxInterval?: number;
  /**
   * A handler still running after this many ms is abandoned: its request is given up
   * (the worker sends READY so the queue redelivers it) and its result, if it ever comes,
   * is dropped. 0 = wait forever. Default 0.
   */
  readonly handlerTimeout?: number;
  /** Requests held while the handler is busy (a queue may send more than one). Default 100. */
  readonly maxQueued?: number;
  /** Options for each new DEALER socket (HWMs, CURVE keys, `routingId`, ...). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
  /** Reactor to run on (not closed by {@link ParanoidPirateWorker.close}). Default: an own one. */
  readonly reactor?: Reactor;
  /** Aborting it closes the worker. */
  readonly signal?: AbortSignal;
}

/** Events of a {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerEvents {
  [event: string]: unknown[];
  /** A new socket connected and READY was sent. `attempt` counts from 1. */
  "worker:connected": [{ attempt: number; endpoint: string }];
  /** The first message from the queue on a new connection arrived: the queue knows this worker. */
  "worker:linked": [{ attempt: number }];
  /** The queue was silent for `heartbeatLiveness × heartbeatInterval`; the socket was dropped. */
  "worker:disconnected": [{ reason: string; silentMs: number }];
  /** A reconnect on a fresh socket is scheduled after `delay` ms. */
  "worker:reconnecting": [{ delay: number }];
  /** A reply was dropped because its request came on an earlier connection. */
  "reply:stale": [{ reason: "reconnected" | "closed" | "abandoned" }];
  /** The handler threw or rejected; the worker sent READY so the queue redelivers. */
  "handler:error": [{ error: unknown }];
  /** The handler ran past `handlerTimeout` and was abandoned. */
  "handler:timeout": [{ ms: number }];
  /** A message from the queue broke 6/PPP: counted and dropped. */
  "message:malformed": [{ reason: string; frames: number }];
  /** A request was dropped because the worker's backlog was full or the link was lost. */
  "request:dropped": [{ reason: "overflow" | "reconnected" | "closed" }];
}

/** Counters of a {@link ParanoidPirateWorker}. */
export interface ParanoidPirateWorkerStats {
  requests: number;
  replies: number;
  /** Replies dropped because their request came before a reconnect (or the handler was abandoned). */
  staleReplies: number;
  /** Replies the link could not send (no socket, or its queue full). */
  unsentReplies: number;
  handlerErrors: number;
  handlerTimeouts: number;
  /** Requests dropped unprocessed (backlog full, or lost with their connection). */
  droppedRequests: number;
  malformed: number;
  heartbeatsReceived: number;
  heartbeatsSent: number;
  connects: number;
  reconnects: number;
  /** True while a handler runs. */
  busy: boolean;
  /** Requests waiting for the handler. */
  queued: number;
}

interface Request {
  envelope: Buffer[];
  body: Buffer[];
}

/**
 * 6/PPP worker (the Guide's Paranoid Pirate worker, with async handlers). Starts connecting
 * at construction. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateWorker extends TypedEmitter<ParanoidPirateWorkerEvents> {
  /** The queue endpoint. */
  readonly endpoint: string;
  readonly #handler: RequestHandler;
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  readonly #link: HeartbeatLink;
  readonly #inbox: BoundedQueue<Request>;
  readonly #handlerTimeout: number;
  readonly #signal: AbortSignal | undefined;
  /** Bumped on every connection loss (and close): results of older requests are stale. */
  #generation = 0;
  #busy = false;
  #heard = false;
  /** The running handler's `handlerTimeout` timer, if any. */
  #timer: Timer | undefined;
  #closing: Promise<void> | undefined;
  #s = {
    requests: 0,
    replies: 0,
    staleReplies: 0,
    unsentReplies: 0,
    handlerErrors: 0,
    handlerTimeouts: 0,
    droppedRequests: 0,
    malformed: 0,
    heartbeatsReceived: 0,
  };

  constructor(options: ParanoidPirateWorkerOptions) {
    super();
    const owner = "ParanoidPirateWorker";
    const o = optionsObject(owner, options);
    this.endpoint = endpointOption(owner, o, "endpoint");
    const handler = functionOption<RequestHandler, undefined>(owner, o, "handler", undefined);
    if (!handler) throw new TypeError(`${owner}: expected \`handler\` to be a function, got undefined`);
    this.#handler = handler;
    const heartbeatInterval = intOption(owner, o, "heartbeatInterval", HEARTBEAT_INTERVAL, 1);
    const heartbeatLiveness = intOption(owner, o, "heartbeatLiveness", HEARTBEAT_LIVENESS, 1);
    const reconnectInterval = intOption(owner, o, "reconnectInterval", RECONNECT_INTERVAL, 0);
    const reconnectMaxInterval = intOption(owner, o, "reconnectMaxInterval", Math.max(RECONNECT_MAX_INTERVAL, reconnectInterval), reconnectInterval);
    this.#handlerTimeout = intOption(owner, o, "handlerTimeout", 0, 0);
    this.#inbox = new BoundedQueue<Request>(intOption(owner, o, "maxQueued", 100, 1), "drop-newest", "worker backlog");
    const socketOptions = objectOption<zmq.SocketOptions<zmq.Dealer>>(owner, o, "socketOptions");
    ({ reactor: this.#reactor, owned: this.#ownReactor } = reactorOption(owner, o));
    this.#signal = signalOption(owner, o);
    this.#link = new HeartbeatLink({
      reactor: this.#reactor,
      endpoint: this.endpoint,
      greeting: () => READY_FRAME,
      heartbeat: () => HEARTBEAT_FRAME,
      onMessage: (frames) => this.#onMessage(frames),
      heartbeatInterval,
      heartbeatLiveness,
      reconnectInterval,
      reconnectMaxInterval,
      socketOptions,
    });
    this.#link.on("link:connected", (e) => {
      this.#heard = false;
      this.emit("worker:connected", e);
    });
    this.#link.on("link:lost", (e) => {
      this.#generation++;
      for (const _ of this.#inbox.drain()) this.#dropRequest("reconnected");
      this.emit("worker:disconnected", e);
    });
    this.#link.on("link:reconnecting", (e) => this.emit("worker:reconnecting", e));
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** The reactor the worker runs on. */
  get reactor(): Reactor {
    return this.#reactor;
  }

  /** True while a socket to the queue is open. */
  get connected(): boolean {
    return this.#link.connected;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Counters. */
  stats(): ParanoidPirateWorkerStats {
    const l = this.#link.stats();
    return { ...this.#s, heartbeatsSent: l.heartbeatsSent, connects: l.connects, reconnects: l.reconnects, busy: this.#busy, queued: this.#inbox.size };
  }

  /**
   * Close the socket (linger 0) and stop heartbeating. A handler still running finishes
   * on its own; its reply is dropped (`staleReplies`). Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#generation++;
    this.#timer?.cancel();
    for (const _ of this.#inbox.drain()) this.#dropRequest("closed");
    this.#closing = (async () => {
      await this.#link.close();
      if (this.#ownReactor) await this.#reactor.close();
    })();
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

  #onMessage(frames: Buffer[]): void {
    if (!this.#heard) {
      this.#heard = true;
      this.emit("worker:linked", { attempt: this.#link.stats().connects });
    }
    const cmd = parseQueueMessage(frames);
    switch (cmd.type) {
      case "heartbeat":
        this.#s.heartbeatsReceived++;
        return;
      case "request":
        this.#s.requests++;
        if (this.#busy) {
          const { accepted } = this.#inbox.push(cmd);
          if (!accepted) this.#dropRequest("overflow");
          return;
        }
        this.#run(cmd);
        return;
      default:
        this.#s.malformed++;
        this.emit("message:malformed", { reason: cmd.reason, frames: frames.length });
    }
  }

  #dropRequest(reason: "overflow" | "reconnected" | "closed"): void {
    this.#s.droppedRequests++;
    this.emit("request:dropped", { reason });
  }

  /** Run one request; the next one queued starts when it settles. */
  #run(request: Request): void {
    this.#busy = true;
    const generation = this.#generation;
    let result: MessageLike | Promise<MessageLike>;
    try {
      result = this.#handler(request.body);
    } catch (error) {
      this.#failed(generation, error);
      return;
    }
    if (result !== null && typeof result === "object" && typeof (result as Promise<MessageLike>).then === "function") {
      this.#await(result as Promise<MessageLike>, request, generation);
      return;
    }
    this.#reply(result as MessageLike, request, generation);
  }

  #await(pending: Promise<MessageLike>, request: Request, generation: number): void {
    let timer: Timer | undefined;
    let settled = false;
    if (this.#handlerTimeout > 0 && !this.closed) {
      timer = this.#timer = this.#reactor.after(this.#handlerTimeout, () => {
        if (settled) return;
        settled = true;
        this.#s.handlerTimeouts++;
        this.emit("handler:timeout", { ms: this.#handlerTimeout });
        // Free the worker: READY tells the queue this request is given up (it redelivers).
        this.#giveUp(generation);
      });
    }
    pending.then(
      (reply) => {
        timer?.cancel();
        if (settled) return this.#stale("abandoned");
        settled = true;
        this.#reply(reply, request, generation);
      },
      (error: unknown) => {
        timer?.cancel();
        if (settled) return this.#stale("abandoned");
        settled = true;
        this.#failed(generation, error);
      },
    );
  }

  #reply(reply: MessageLike, request: Request, generation: number): void {
    if (generation !== this.#generation || this.closed) {
      this.#stale(this.closed ? "closed" : "reconnected");
    } else {
      let body: Buffer[];
      try {
        body = toFrames(reply);
      } catch (error) {
        // Not a message (undefined, a number, ...): a handler error, not a wedged worker.
        this.#failed(generation, new TypeError(`ParanoidPirateWorker: the handler returned a ${reply === null ? "null" : typeof reply} that is not a message`, { cause: error }));
        return;
      }
      const out = request.envelope;
      out.push(EMPTY);
      if (body.length === 0) out.push(EMPTY);
      else for (const f of body) out.push(f);
      if (this.#link.send(out)) this.#s.replies++;
      else this.#s.unsentReplies++;
    }
    this.#next();
  }

  #failed(generation: number, error: unknown): void {
    this.#s.handlerErrors++;
    this.emit("handler:error", { error });
    this.#giveUp(generation);
  }

  /** Abandon the current request: say READY again (the queue redelivers it) and move on. */
  #giveUp(generation: number): void {
    if (generation === this.#generation && !this.closed) this.#link.send(READY_FRAME);
    this.#next();
  }

  #stale(reason: "reconnected" | "closed" | "abandoned"): void {
    this.#s.staleReplies++;
    this.emit("reply:stale", { reason });
  }

  #next(): void {
    this.#busy = false;
    if (this.closed) return;
    const request = this.#inbox.shift();
    if (request) this.#run(request);
  }
}
