/**
 * What every two-socket queue shares (Simple Pirate, 6/PPP): a client-facing ROUTER
 * (frontend), a worker-facing ROUTER (backend), both bound in `start()` through the
 * lifecycle (a failed bind closes what was bound), the {@link Dispatcher} that decides, the
 * malformed-input and drop accounting, and the counters. A queue supplies its wire: how a
 * client request is checked, how a backend message is parsed, how a request and a heartbeat
 * are framed, and which backend drops mean the worker is gone.
 *
 * Neither ROUTER hands a live routing id to a new connection (`handover` is forced off):
 * libzmq refuses a takeover (the newcomer is never read from nor routed to) and accepts the
 * id again once the old connection has closed.
 * A waiting request is held packed in one buffer ({@link packFrames}).
 * @module
 */
import * as zmq from "zeromq";
import { Dispatcher, DISPATCH_EVENTS, dispatchConfig, type BacklogOptions, type DispatchConfig, type DispatchConfigDefaults, type DispatchEvents, type DispatchStats, type DispatchTransport, type Held } from "./dispatch.js";
import { packedFrame, packFrames, unpackFrames, type PackedFrames } from "./frames.js";
import { Lifecycle } from "./lifecycle.js";
import { endpointsOption, intOption, optionsObject } from "./options.js";
import type { DropEvent, SocketHandle, SocketStats } from "./reactor.js";

/** Options of every two-socket queue (plus its own, e.g. heartbeats). */
export interface QueueBrokerOptions extends BacklogOptions {
  /** Endpoint(s) the client-facing ROUTER binds (`tcp://127.0.0.1:*` picks a port). Required. */
  readonly frontend: string | readonly string[];
  /** Endpoint(s) the worker-facing ROUTER binds. Required. */
  readonly backend: string | readonly string[];
  /** Linger (ms) when the sockets close. Default 0. */
  readonly linger?: number;
}

/** Events of a two-socket queue: the broker events, and malformed input. */
export interface QueueBrokerEvents extends DispatchEvents {
  /** A message broke the protocol: counted and dropped. */
  "message:malformed": [{ socket: "frontend" | "backend"; reason: string; frames: number; id?: Buffer }];
  /** A well-formed client request that the queue's `admit()` hook refused: dropped (the client retries elsewhere). */
  "request:refused": [{ client: Buffer }];
}

/** Counters of a two-socket queue: the engine's, and the wire's. */
export interface QueueBrokerStats extends DispatchStats {
  /** Malformed messages dropped, both sockets. */
  malformed: number;
  /** Of those, from clients. */
  malformedFrontend: number;
  /** Of those, from workers. */
  malformedBackend: number;
  /** Client requests the queue's `admit()` hook refused (dropped, not in `requests`). */
  refused: number;
  /** Socket counters (once started). */
  frontend: SocketStats | undefined;
  backend: SocketStats | undefined;
}

/** A request as a queue's engine holds it: its frames (`[clientId, ...addresses, EMPTY, ...body]`), packed while it waits. */
export type QueueRequest = Buffer[] | PackedFrames;

/** The frames of a {@link QueueRequest}. */
export function requestFrames(request: QueueRequest): Buffer[] {
  return Array.isArray(request) ? request : unpackFrames(request);
}

/** {@link DispatchTransport.hold} for a queue: the frames packed, the client id a view into them. */
function holdFrames(request: QueueRequest): Held<QueueRequest> {
  const packed = Array.isArray(request) ? packFrames(request) : request;
  return { request: packed, client: packedFrame(packed, 0) };
}

/** How a queue's two ROUTERs are made. */
export interface QueueBrokerSockets {
  readonly frontend: zmq.SocketOptions<zmq.Router>;
  readonly backend: zmq.SocketOptions<zmq.Router>;
}

let instances = 0;

/** See the module documentation. */
export abstract class QueueBroker<E extends QueueBrokerEvents = QueueBrokerEvents> extends Lifecycle<E> {
  /** The bound endpoints (filled by `start()`; wildcards resolved). */
  readonly endpoints: { frontend: string[]; backend: string[] } = { frontend: [], backend: [] };
  /** The engine: ready workers, backlog, deadlines, expiry, redelivery. */
  protected readonly engine: Dispatcher<QueueRequest>;
  /** The client-facing ROUTER, once started. */
  protected frontend: SocketHandle<zmq.Router> | undefined;
  /** The worker-facing ROUTER, once started. */
  protected backend: SocketHandle<zmq.Router> | undefined;
  readonly #bind: { frontend: string[]; backend: string[] };
  readonly #sockets: QueueBrokerSockets;
  readonly #sendQueueLimit: number;
  readonly #linger: number;
  readonly #name: string;
  readonly #m = { malformedFrontend: 0, malformedBackend: 0 };
  #refused = 0;

  /**
   * @param owner the class name, for messages
   * @param options the user's options (validated here)
   * @param defaults the engine defaults of this queue (heartbeats or not, their interval)
   * @param sockets the ROUTER options of each side
   */
  protected constructor(owner: string, options: QueueBrokerOptions, defaults: DispatchConfigDefaults, sockets: QueueBrokerSockets) {
    const o = optionsObject(owner, options);
    const bind = { frontend: endpointsOption(owner, o, "frontend"), backend: endpointsOption(owner, o, "backend") };
    const config = dispatchConfig(owner, o, defaults);
    const sendQueueLimit = intOption(owner, o, "sendQueueLimit", 10_000, 1);
    const linger = intOption(owner, o, "linger", 0, -1);
    super(owner, o, { linger });
    this.#bind = bind;
    this.#sockets = sockets;
    this.#sendQueueLimit = sendQueueLimit;
    this.#linger = linger;
    this.#name = `${owner}-${++instances}`;
    this.engine = new Dispatcher<QueueRequest>({ ...config, reactor: this.reactor, transport: { ...this.transport(), hold: (request) => this.#hold(request) } }, owner);
    for (const event of DISPATCH_EVENTS) this.engine.on(event, (e) => this.emit(event, e as never));
  }

  /** The validated engine settings (heartbeats, backlog, deadline, redeliveries, limits). */
  get settings(): DispatchConfig {
    return this.engine.settings;
  }

  /** Counters. */
  stats(): QueueBrokerStats {
    const m = this.#m;
    return { ...this.engine.stats(), malformed: m.malformedFrontend + m.malformedBackend, ...m, refused: this.#refused, frontend: this.frontend?.stats(), backend: this.backend?.stats() };
  }

  /** How the engine's decisions go on the wire (called once, from the constructor: use the sockets lazily). */
  protected abstract transport(): DispatchTransport<QueueRequest, undefined>;
  /** Why a client message is not a request, or undefined when it is one. */
  protected abstract checkRequest(frames: Buffer[]): string | undefined;
  /** A message from a worker: parse it and tell the engine. */
  protected abstract onBackend(frames: Buffer[]): void;
  /** A message to worker `to` was dropped (`e.reason`): purge the worker when that means it is gone. */
  protected abstract onBackendDropped(to: Buffer, e: DropEvent): void;

  /**
   * Whether to serve a well-formed client request (`frames[0]` is the client's id). Default
   * true; a queue that runs as one of a high-availability pair answers only while active.
   * A refused request is counted (`refused`), reported (`request:refused`) and dropped.
   */
  /**
   * A request went from its wire form to the packed form it waits in (once per request: a
   * packed one stays as it is): a subclass that keys state on the request object moves it.
   */
  protected repacked(_from: QueueRequest, _to: QueueRequest): void {}

  #hold(request: QueueRequest): Held<QueueRequest> {
    const held = holdFrames(request);
    if (held.request !== request) this.repacked(request, held.request);
    return held;
  }

  protected admit(_frames: Buffer[]): boolean {
    return true;
  }

  protected async onStart(): Promise<void> {
    this.endpoints.frontend = [];
    this.endpoints.backend = [];
    // mandatory (+ the reactor's sendTimeout 0): a gone peer is EHOSTUNREACH, a full pipe
    // EAGAIN; both come back as drops instead of silent loss or a stalled queue.
    // `handover` off: a new connection with a routing id in use is refused, never given it.
    const add = (side: "frontend" | "backend", onMessage: (frames: Buffer[]) => void) =>
      this.ownSocket(new zmq.Router({ mandatory: true, linger: this.#linger, ...this.#sockets[side], handover: false }), { name: `${this.#name}:${side}`, onMessage, sendQueueLimit: this.#sendQueueLimit, overflow: "drop-newest", linger: this.#linger });
    this.frontend = add("frontend", this.#onFrontend);
    this.backend = add("backend", (frames) => this.onBackend(frames));
    this.own(this.reactor.on("message:dropped", this.#onDropped));
    for (const side of ["frontend", "backend"] as const) {
      const socket = (side === "frontend" ? this.frontend : this.backend).socket;
      for (const endpoint of this.#bind[side]) {
        await socket.bind(endpoint);
        this.endpoints[side].push(socket.lastEndpoint ?? endpoint);
      }
    }
  }

  /** Drop held and in-flight requests (counted as closed) and forget the workers; the sockets close after. */
  protected override onClose(): void {
    this.engine.shutdown();
  }

  /** Count and report a malformed message. */
  protected malformed(socket: "frontend" | "backend", reason: string, frames: Buffer[]): void {
    this.#m[socket === "frontend" ? "malformedFrontend" : "malformedBackend"]++;
    (this.emit as unknown as (event: string, payload: unknown) => void)("message:malformed", { socket, reason, frames: frames.length, id: frames[0] });
  }

  readonly #onFrontend = (frames: Buffer[]): void => {
    const bad = this.checkRequest(frames);
    if (bad !== undefined) return this.malformed("frontend", bad, frames);
    if (!this.admit(frames)) {
      this.#refused++;
      if (this.listenerCount("request:refused") > 0) (this.emit as unknown as (event: string, payload: unknown) => void)("request:refused", { client: frames[0]! });
      return;
    }
    this.engine.request("", frames[0]!, frames);
  };

  readonly #onDropped = (e: DropEvent): void => {
    if (e.reason === "closed" || !Array.isArray(e.message)) return;
    const to = e.message[0];
    if (!Buffer.isBuffer(to)) return;
    if (e.socket === this.frontend?.name) this.engine.replyDropped(to, e.reason);
    else if (e.socket === this.backend?.name) this.onBackendDropped(to, e);
  };
}
