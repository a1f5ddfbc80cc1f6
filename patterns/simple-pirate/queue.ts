/**
 * Simple Pirate queue (Guide ch4): a least-recently-used load balancer between clients
 * (frontend ROUTER) and REQ workers (backend ROUTER). The wire adapter over the dispatch
 * engine ({@link Dispatcher}): parse, tell the engine, send what it decides.
 * @module
 */
import * as zmq from "zeromq";
import {
  DISPATCH_EVENTS,
  Dispatcher,
  EMPTY,
  Lifecycle,
  dispatchConfig,
  endpointsOption,
  intOption,
  optionsObject,
  type DispatchEvents,
  type DispatchStats,
  type DropEvent,
  type LifecycleOptions,
  type OverflowPolicy,
  type SocketHandle,
  type SocketStats,
} from "../../src/index.js";
import { checkRequest, parseBackend } from "./protocol.js";

const OWNER = "SimplePirateQueue";

/** Options of {@link SimplePirateQueue}. */
export interface SimplePirateQueueOptions extends LifecycleOptions {
  /** Endpoint(s) the client-facing ROUTER binds. `tcp://127.0.0.1:*` picks a port. Required. */
  readonly frontend: string | readonly string[];
  /** Endpoint(s) the worker-facing ROUTER binds. Required. */
  readonly backend: string | readonly string[];
  /** Requests held while no worker is free. Default 1000. */
  readonly maxPending?: number;
  /** What a full backlog does with a new request. Default `drop-oldest` (`reject` and `drop-newest` refuse the new one). */
  readonly pendingOverflow?: OverflowPolicy;
  /** How long a request may wait for a worker, ms (0 = for ever). Default 2000. */
  readonly pendingTimeout?: number;
  /** Redeliveries of a request whose worker became unreachable or said READY again. Default 3. */
  readonly maxRedeliveries?: number;
  /** Workers known at most; a READY from a new worker past it is rejected (counted). Default 10000. */
  readonly maxWorkers?: number;
  /** Send queue limit of each ROUTER. Default 10000. */
  readonly sendQueueLimit?: number;
  /** Linger (ms) when the sockets close. Default 0. */
  readonly linger?: number;
}

/** Counters of a {@link SimplePirateQueue}: the engine's, and the wire's. */
export interface SimplePirateQueueStats extends DispatchStats {
  /** Malformed messages dropped (both sockets). */
  malformed: number;
  /** Of those, from clients. */
  malformedFrontend: number;
  /** Of those, from workers. */
  malformedBackend: number;
  /** Socket counters (once started). */
  frontend: SocketStats | undefined;
  backend: SocketStats | undefined;
}

/** Events of a {@link SimplePirateQueue}: the broker events, and malformed input. */
export interface SimplePirateQueueEvents extends DispatchEvents {
  "message:malformed": [{ socket: "frontend" | "backend"; reason: string; frames: number; id?: Buffer }];
}

let instances = 0;

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
export class SimplePirateQueue extends Lifecycle<SimplePirateQueueEvents> {
  /** The bound endpoints (filled by {@link start}; wildcards resolved). */
  readonly endpoints: { frontend: string[]; backend: string[] } = { frontend: [], backend: [] };
  readonly #bind: { frontend: string[]; backend: string[] };
  readonly #sendQueueLimit: number;
  readonly #linger: number;
  readonly #engine: Dispatcher<Buffer[]>;
  readonly #name = `simple-pirate-${++instances}`;
  #frontend: SocketHandle<zmq.Router> | undefined;
  #backend: SocketHandle<zmq.Router> | undefined;
  readonly #m = { malformedFrontend: 0, malformedBackend: 0 };

  constructor(options: SimplePirateQueueOptions) {
    const o = optionsObject(OWNER, options);
    const bind = { frontend: endpointsOption(OWNER, o, "frontend"), backend: endpointsOption(OWNER, o, "backend") };
    const config = dispatchConfig(OWNER, o, { heartbeats: false });
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10_000, 1);
    const linger = intOption(OWNER, o, "linger", 0, -1);
    super(OWNER, o, { linger });
    this.#bind = bind;
    this.#sendQueueLimit = sendQueueLimit;
    this.#linger = linger;
    this.#engine = new Dispatcher<Buffer[]>(
      {
        ...config,
        reactor: this.reactor,
        transport: { deliver: (worker, frames) => void this.#backend?.send([worker.id, EMPTY, ...frames]) },
      },
      OWNER,
    );
    for (const event of DISPATCH_EVENTS) this.#engine.on(event, (e) => this.emit(event, e as never));
  }

  /** Counters (see {@link SimplePirateQueueStats}). */
  stats(): SimplePirateQueueStats {
    const m = this.#m;
    return { ...this.#engine.stats(), malformed: m.malformedFrontend + m.malformedBackend, ...m, frontend: this.#frontend?.stats(), backend: this.#backend?.stats() };
  }

  protected async onStart(): Promise<void> {
    this.endpoints.frontend = [];
    this.endpoints.backend = [];
    // `handover`: a peer that comes back with the same routing id (a worker or client that
    // reset its socket, a restarted process) takes the id over; without it libzmq ignores
    // the newcomer for as long as the old connection lingers.
    const add = (side: "frontend" | "backend", onMessage: (frames: Buffer[]) => void) =>
      this.ownSocket(new zmq.Router({ mandatory: true, handover: true, linger: this.#linger }), { name: `${this.#name}:${side}`, onMessage, sendQueueLimit: this.#sendQueueLimit, overflow: "drop-newest", linger: this.#linger });
    this.#frontend = add("frontend", this.#onFrontend);
    this.#backend = add("backend", this.#onBackend);
    this.own(this.reactor.on("message:dropped", this.#onDropped));
    for (const side of ["frontend", "backend"] as const) {
      const socket = (side === "frontend" ? this.#frontend : this.#backend).socket;
      for (const endpoint of this.#bind[side]) {
        await socket.bind(endpoint);
        this.endpoints[side].push(socket.lastEndpoint ?? endpoint);
      }
    }
  }

  /** Drop the waiting requests (counted), forget the workers; the base class closes the sockets. */
  protected override onClose(): void {
    this.#engine.shutdown();
  }

  readonly #onFrontend = (frames: Buffer[]): void => {
    const bad = checkRequest(frames);
    if (bad !== undefined) return this.#malformed("frontend", bad, frames);
    this.#engine.request("", frames[0]!, frames);
  };

  readonly #onBackend = (frames: Buffer[]): void => {
    const message = parseBackend(frames);
    if (message.kind === "malformed") return this.#malformed("backend", message.reason, frames);
    if (message.kind === "ready") {
      this.#engine.ready(message.worker, "", undefined);
      return;
    }
    this.#frontend!.send(message.reply);
    // A reply makes its worker idle; a worker we did not know (the queue restarted) is taken on.
    const worker = this.#engine.worker(message.worker);
    if (worker) this.#engine.reply(worker);
    else this.#engine.ready(message.worker, "", undefined);
  };

  readonly #onDropped = (e: DropEvent): void => {
    if (e.reason === "closed" || !Array.isArray(e.message)) return;
    const to = e.message[0];
    if (!Buffer.isBuffer(to)) return;
    if (e.socket === this.#frontend?.name) this.#engine.replyDropped(to, e.reason);
    // Everything the backend sends is a request: its worker is gone or stuck; redeliver.
    else if (e.socket === this.#backend?.name) this.#engine.unreachable(to);
  };

  #malformed(socket: "frontend" | "backend", reason: string, frames: Buffer[]): void {
    this.#m[socket === "frontend" ? "malformedFrontend" : "malformedBackend"]++;
    this.emit("message:malformed", { socket, reason, frames: frames.length, id: frames[0] });
  }
}
