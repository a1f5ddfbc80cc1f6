/**
 * The Majordomo worker (7/MDP 0.1 or 18/MDP 0.2) on the core {@link HeartbeatLink}: READY on
 * every (re)connect, heartbeats whenever nothing else went out (so also while a handler
 * runs), liveness, and reconnect on a fresh socket with backoff when the broker goes silent
 * or sends DISCONNECT. Requests are handled one at a time, as 7/MDP says.
 * @module
 */
import {
  BoundedQueue,
  HeartbeatLink,
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
  reactorOption,
} from "../../src/index.js";
import type * as zmq from "zeromq";
import { MDP_HEARTBEAT_INTERVAL, MDP_HEARTBEAT_LIVENESS } from "./broker.js";
import { versionOption } from "./options.js";
import { MMI_PREFIX, isServiceName, parseWorkerInbound, workerDisconnect, workerHeartbeat, workerReady, workerReply, type MdpVersion } from "./protocol.js";

/** What a handler gets besides the request frames. */
export interface RequestContext {
  /** Routing id of the client (opaque). */
  readonly client: Buffer;
  /** Aborted when the connection the request came on is lost (its reply would be discarded). */
  readonly signal: AbortSignal;
  /**
   * 18/MDP PARTIAL: send part of the reply now. Returns false if the reply is no longer
   * wanted (connection lost). Under MDP/0.1 there are no partial replies: throws TypeError.
   */
  partial(frames: MessageLike): boolean;
}

/**
 * A request handler: returns the reply frames (or a promise of them). Under MDP/0.2 it may
 * also return an async iterable: every item but the last goes out as PARTIAL, the last as
 * FINAL (under 0.1 the items are joined into one REPLY).
 */
export type MajordomoHandler = (frames: Buffer[], ctx: RequestContext) => MessageLike | Promise<MessageLike> | AsyncIterable<MessageLike>;

/** Options of {@link MajordomoWorker}. */
export interface MajordomoWorkerOptions {
  /** Broker endpoint. */
  readonly endpoint: string;
  /** The service this worker offers (printable, not `mmi.*`). */
  readonly service: string;
  /** Request handler. */
  readonly handler: MajordomoHandler;
  /** 1 = MDP/0.1 (default), 2 = MDP/0.2. */
  readonly version?: MdpVersion;
  /** ms between heartbeats. Default 2500 (7/MDP Guide); use the broker's value. */
  readonly heartbeatInterval?: number;
  /** Silent intervals before the broker is dead. Default 3. */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay, ms. Default 2500 (Guide `mdwrk` reconnect). */
  readonly reconnectInterval?: number;
  /** Reconnect delay cap, ms. Default 32000. */
  readonly reconnectMaxInterval?: number;
  /**
   * Reply to send when the handler throws. Default: none; the worker reconnects instead, so
   * the broker notices and redelivers the request to another worker.
   */
  readonly errorReply?: (error: unknown, request: Buffer[]) => MessageLike;
  /** Requests held while one is being handled (a broker sends one at a time). Default 16. */
  readonly backlogLimit?: number;
  /** Options for each new DEALER. */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
  /** Share a reactor (not closed by {@link MajordomoWorker.close}). */
  readonly reactor?: Reactor;
  /** Aborting it closes the worker. */
  readonly signal?: AbortSignal;
}

/** Counters of a {@link MajordomoWorker}. */
export interface MajordomoWorkerStats {
  requests: number;
  replies: number;
  partials: number;
  /** Replies not sent because the connection their request came on was lost, or the worker closed. */
  discarded: number;
  /** Requests dropped because the backlog was full. */
  backlogDropped: number;
  handlerErrors: number;
  malformed: number;
  disconnectsReceived: number;
  connects: number;
  reconnects: number;
  heartbeatsSent: number;
}

/** Events of a {@link MajordomoWorker}. */
export interface MajordomoWorkerEvents {
  [event: string]: unknown[];
  /** A new socket connected and READY went out. */
  "worker:connected": [{ attempt: number }];
  /** The connection was dropped: broker silent, or it sent DISCONNECT. */
  "worker:disconnected": [{ reason: string }];
  "request:received": [{ client: Buffer; body: Buffer[] }];
  "reply:sent": [{ client: Buffer }];
  "reply:discarded": [{ client: Buffer; reason: string }];
  "handler:error": [{ error: unknown }];
  "message:malformed": [{ reason: string }];
}

interface Job {
  client: Buffer;
  body: Buffer[];
  generation: number;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<MessageLike> {
  return typeof value === "object" && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

/** 7/MDP / 18/MDP worker; see the module documentation. */
export class MajordomoWorker extends TypedEmitter<MajordomoWorkerEvents> {
  readonly endpoint: string;
  readonly service: string;
  readonly version: MdpVersion;
  readonly #handler: MajordomoHandler;
  readonly #errorReply: MajordomoWorkerOptions["errorReply"];
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  readonly #link: HeartbeatLink;
  readonly #backlog: BoundedQueue<Job>;
  readonly #signal: AbortSignal | undefined;
  readonly #stats = { requests: 0, replies: 0, partials: 0, discarded: 0, backlogDropped: 0, handlerErrors: 0, malformed: 0, disconnectsReceived: 0 };
  #generation = 0;
  #connection = new AbortController();
  #busy = false;
  #closing: Promise<void> | undefined;

  constructor(options: MajordomoWorkerOptions) {
    super();
    const o = optionsObject("MajordomoWorker", options);
    this.endpoint = endpointOption("MajordomoWorker", o, "endpoint");
    const service = o.service;
    if (typeof service !== "string" || !isServiceName(service) || service.startsWith(MMI_PREFIX)) {
      throw new TypeError(`MajordomoWorker: expected \`service\` to be a printable service name outside "mmi.", got ${JSON.stringify(service)}`);
    }
    this.service = service;
    const handler = functionOption<MajordomoHandler, undefined>("MajordomoWorker", o, "handler", undefined);
    if (!handler) throw new TypeError("MajordomoWorker: expected `handler` to be a function, got undefined");
    this.#handler = handler;
    this.version = versionOption("MajordomoWorker", o);
    this.#errorReply = functionOption<NonNullable<MajordomoWorkerOptions["errorReply"]>, undefined>("MajordomoWorker", o, "errorReply", undefined);
    const backlogLimit = intOption("MajordomoWorker", o, "backlogLimit", 16, 1);
    const heartbeatInterval = intOption("MajordomoWorker", o, "heartbeatInterval", MDP_HEARTBEAT_INTERVAL, 1);
    const heartbeatLiveness = intOption("MajordomoWorker", o, "heartbeatLiveness", MDP_HEARTBEAT_LIVENESS, 1);
    const reconnectInterval = intOption("MajordomoWorker", o, "reconnectInterval", 2500, 0);
    const reconnectMaxInterval = intOption("MajordomoWorker", o, "reconnectMaxInterval", Math.max(32_000, reconnectInterval), reconnectInterval);
    const socketOptions = objectOption<zmq.SocketOptions<zmq.Dealer>>("MajordomoWorker", o, "socketOptions");
    this.#signal = signalOption("MajordomoWorker", o);
    ({ reactor: this.#reactor, owned: this.#ownReactor } = reactorOption("MajordomoWorker", o));
    this.#backlog = new BoundedQueue<Job>(backlogLimit, "drop-newest", "worker backlog");
    const v = this.version;
    this.#link = new HeartbeatLink({
      reactor: this.#reactor,
      endpoint: this.endpoint,
      greeting: () => workerReady(v, this.service),
      heartbeat: () => workerHeartbeat(v),
      onMessage: (frames) => this.#onMessage(frames),
      heartbeatInterval,
      heartbeatLiveness,
      reconnectInterval,
      reconnectMaxInterval,
      socketOptions,
    });
    this.#link.on("link:connected", ({ attempt }) => this.emit("worker:connected", { attempt }));
    this.#link.on("link:lost", ({ reason }) => this.#onLost(reason));
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True while connected to the broker (READY sent, not lost). */
  get connected(): boolean {
    return this.#link.connected;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Counters. */
  stats(): MajordomoWorkerStats {
    const l = this.#link.stats();
    return { ...this.#stats, connects: l.connects, reconnects: l.reconnects, heartbeatsSent: l.heartbeatsSent };
  }

  /** Close the socket (linger 0) and stop. A request in progress is abandoned (the broker redelivers it). Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#connection.abort(new Error("worker closed"));
    for (const job of this.#backlog.drain()) this.#discard(job.client, "closed");
    this.#closing = this.#link.close().then(() => (this.#ownReactor ? this.#reactor.close() : undefined));
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

  #onMessage(frames: Buffer[]): void {
    const msg = parseWorkerInbound(frames, this.version);
    if (!msg.ok) {
      this.#stats.malformed++;
      this.emit("message:malformed", { reason: msg.reason });
      return;
    }
    if (msg.kind === "heartbeat") return;
    if (msg.kind === "disconnect") {
      this.#stats.disconnectsReceived++;
      this.#link.reconnect("DISCONNECT from broker");
      return;
    }
    this.#stats.requests++;
    this.emit("request:received", { client: msg.client, body: msg.body });
    const { accepted } = this.#backlog.push({ client: msg.client, body: msg.body, generation: this.#generation });
    if (!accepted) this.#stats.backlogDropped++;
    this.#pump();
  }

  #onLost(reason: string): void {
    this.#generation++;
    this.#connection.abort(new Error(`connection lost: ${reason}`));
    this.#connection = new AbortController();
    for (const job of this.#backlog.drain()) this.#discard(job.client, "reconnected");
    this.emit("worker:disconnected", { reason });
  }

  #pump(): void {
    if (this.#busy || this.closed) return;
    const job = this.#backlog.shift();
    if (!job) return;
    this.#busy = true;
    void this.#run(job).finally(() => {
      this.#busy = false;
      this.#pump();
    });
  }

  /** True when a reply for `job` may still go out (same connection, not closed). */
  #live(job: Job): boolean {
    return job.generation === this.#generation && !this.closed && this.#link.connected;
  }

  #send(job: Job, body: MessageLike, final: boolean): boolean {
    if (!this.#live(job)) {
      if (final) this.#discard(job.client, this.closed ? "closed" : "reconnected");
      return false;
    }
    this.#link.send(workerReply(this.version, job.client, body, final));
    if (final) {
      this.#stats.replies++;
      this.emit("reply:sent", { client: job.client });
    } else this.#stats.partials++;
    return true;
  }

  #discard(client: Buffer, reason: string): void {
    this.#stats.discarded++;
    this.emit("reply:discarded", { client, reason });
  }

  async #run(job: Job): Promise<void> {
    const ctx: RequestContext = {
      client: job.client,
      signal: this.#connection.signal,
      partial: (frames) => {
        if (this.version === 1) throw new TypeError("MDP/0.1 has no partial replies (use version: 2)");
        return this.#send(job, frames, false);
      },
    };
    try {
      const result = this.#handler(job.body, ctx);
      if (isAsyncIterable(result)) {
        let last: MessageLike | undefined;
        const joined: Buffer[] = [];
        for await (const item of result) {
          // Nobody will receive the rest: stop the iterator (break calls its return()).
          if (!this.#live(job)) break;
          if (this.version === 1) joined.push(...toFrames(item));
          else {
            if (last !== undefined) this.#send(job, last, false);
            last = item;
          }
        }
        this.#send(job, this.version === 1 ? joined : (last ?? []), true);
      } else {
        this.#send(job, await result, true);
      }
    } catch (error) {
      this.#stats.handlerErrors++;
      this.emit("handler:error", { error });
      if (this.#errorReply) {
        let reply: MessageLike | undefined;
        try {
          reply = this.#errorReply(error, job.body);
        } catch (inner) {
          this.emit("handler:error", { error: inner });
        }
        if (reply !== undefined) return void this.#send(job, reply, true);
      }
      // No reply: tell the broker and reconnect, so it redelivers the request elsewhere.
      if (this.#live(job)) {
        this.#link.send(workerDisconnect(this.version));
        this.#link.reconnect("handler error");
      }
    }
  }
}
