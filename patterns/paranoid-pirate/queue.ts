/**
 * The 6/PPP queue: a ROUTER frontend for clients, a ROUTER backend for workers. The wire
 * adapter over the dispatch engine ({@link Dispatcher}), which keeps the LRU of ready
 * workers, heartbeats both ways and expiry, and redelivers the requests of workers that die
 * while busy.
 * @module
 */
import * as zmq from "zeromq";
import {
  DISPATCH_EVENTS,
  Dispatcher,
  HEARTBEAT_INTERVAL,
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
import { HEARTBEAT_FRAME, checkClientRequest, parseWorkerMessage } from "./protocol.js";

const OWNER = "ParanoidPirateQueue";

/** Options of {@link ParanoidPirateQueue}. */
export interface ParanoidPirateQueueOptions extends LifecycleOptions {
  /** Endpoint(s) the client-facing ROUTER binds (e.g. `tcp://*:5555`; port `*` picks one). */
  readonly frontend: string | readonly string[];
  /** Endpoint(s) the worker-facing ROUTER binds. */
  readonly backend: string | readonly string[];
  /** 6/PPP heartbeat interval, ms. Default 1000. */
  readonly heartbeatInterval?: number;
  /** Intervals of silence after which a worker is purged. Default 3. */
  readonly heartbeatLiveness?: number;
  /** Requests held while no worker is ready. Default 1000. */
  readonly maxPending?: number;
  /** What a full backlog does with a new request. Default `drop-oldest` (`reject` and `drop-newest` refuse the new one). */
  readonly pendingOverflow?: OverflowPolicy;
  /** How long a request may wait for a worker, ms (0 = for ever). Default 2000. */
  readonly pendingTimeout?: number;
  /** How often one request may be redelivered after its worker died. Default 3. */
  readonly maxRedeliveries?: number;
  /**
   * Most workers known at once. A READY from a new worker past it is rejected and counted
   * (`worker:rejected`, reason "worker table full"); the worker hears no heartbeats, so it
   * reconnects later and tries again. Default 10000.
   */
  readonly maxWorkers?: number;
  /** Send queue limit of each socket. Default 10000. */
  readonly sendQueueLimit?: number;
}

/** Events of a {@link ParanoidPirateQueue}: the broker events, and malformed input. */
export interface ParanoidPirateQueueEvents extends DispatchEvents {
  /** A message broke 6/PPP: counted and dropped. */
  "message:malformed": [{ socket: "frontend" | "backend"; reason: string; frames: number; id?: Buffer }];
}

/** Counters of a {@link ParanoidPirateQueue}: the engine's, and the wire's. */
export interface ParanoidPirateQueueStats extends DispatchStats {
  /** Malformed messages, both sockets. */
  malformed: number;
  malformedFrontend: number;
  malformedBackend: number;
  /** Socket counters (once started). */
  frontend: SocketStats | undefined;
  backend: SocketStats | undefined;
}

let instances = 0;

/**
 * 6/PPP queue (the Guide's Paranoid Pirate queue, hardened). Clients connect REQ or DEALER
 * sockets to the frontend; {@link ParanoidPirateWorker}s (or any 6/PPP worker) connect to
 * the backend. See patterns/paranoid-pirate/README.md.
 */
export class ParanoidPirateQueue extends Lifecycle<ParanoidPirateQueueEvents> {
  /** Heartbeat interval, ms. */
  readonly heartbeatInterval: number;
  /** Heartbeat liveness. */
  readonly heartbeatLiveness: number;
  /** Redelivery limit per request. */
  readonly maxRedeliveries: number;
  /** Most workers known at once. */
  readonly maxWorkers: number;
  /** Pending deadline, ms (0 = none). */
  readonly pendingTimeout: number;
  /** Bound endpoints (resolved, e.g. the port picked for `*`), filled by {@link start}. */
  readonly endpoints: { frontend: string[]; backend: string[] } = { frontend: [], backend: [] };
  readonly #bind: { frontend: string[]; backend: string[] };
  readonly #sendQueueLimit: number;
  readonly #engine: Dispatcher<Buffer[]>;
  readonly #name = `ppp-queue-${++instances}`;
  #frontend: SocketHandle<zmq.Router> | undefined;
  #backend: SocketHandle<zmq.Router> | undefined;
  readonly #m = { malformedFrontend: 0, malformedBackend: 0 };

  constructor(options: ParanoidPirateQueueOptions) {
    const o = optionsObject(OWNER, options);
    const bind = { frontend: endpointsOption(OWNER, o, "frontend"), backend: endpointsOption(OWNER, o, "backend") };
    const config = dispatchConfig(OWNER, o, { heartbeatInterval: HEARTBEAT_INTERVAL });
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10_000, 1);
    super(OWNER, o);
    this.#bind = bind;
    this.#sendQueueLimit = sendQueueLimit;
    ({ heartbeatInterval: this.heartbeatInterval, heartbeatLiveness: this.heartbeatLiveness, maxRedeliveries: this.maxRedeliveries, maxWorkers: this.maxWorkers, pendingTimeout: this.pendingTimeout } = config);
    this.#engine = new Dispatcher<Buffer[]>(
      {
        ...config,
        reactor: this.reactor,
        transport: {
          // REQUEST: [workerId, clientId, ...addresses, EMPTY, ...content]
          deliver: (worker, frames) => {
            const out = new Array<Buffer>(frames.length + 1);
            out[0] = worker.id;
            for (let i = 0; i < frames.length; i++) out[i + 1] = frames[i]!;
            this.#backend?.send(out);
          },
          heartbeat: (worker) => void this.#backend?.send([worker.id, HEARTBEAT_FRAME]),
        },
      },
      OWNER,
    );
    for (const event of DISPATCH_EVENTS) this.#engine.on(event, (e) => this.emit(event, e as never));
  }

  /** Counters (see {@link ParanoidPirateQueueStats}). */
  stats(): ParanoidPirateQueueStats {
    const m = this.#m;
    return { ...this.#engine.stats(), malformed: m.malformedFrontend + m.malformedBackend, ...m, frontend: this.#frontend?.stats(), backend: this.#backend?.stats() };
  }

  protected async onStart(): Promise<void> {
    this.endpoints.frontend = [];
    this.endpoints.backend = [];
    const limit = this.#sendQueueLimit;
    // sendTimeout 0 + mandatory: a gone worker or client is EHOSTUNREACH, a full pipe EAGAIN; both come back as drops.
    this.#frontend = this.ownSocket(new zmq.Router({ mandatory: true, sendTimeout: 0, linger: 0 }), { name: `${this.#name}:frontend`, onMessage: this.#onFrontend, sendQueueLimit: limit, overflow: "drop-newest" });
    this.#backend = this.ownSocket(new zmq.Router({ mandatory: true, sendTimeout: 0, linger: 0, handover: true }), { name: `${this.#name}:backend`, onMessage: this.#onBackend, sendQueueLimit: limit, overflow: "drop-newest" });
    this.own(this.reactor.on("message:dropped", this.#onDropped));
    for (const side of ["frontend", "backend"] as const) {
      const socket = (side === "frontend" ? this.#frontend : this.#backend).socket;
      for (const endpoint of this.#bind[side]) {
        await socket.bind(endpoint);
        this.endpoints[side].push(socket.lastEndpoint ?? endpoint);
      }
    }
  }

  /** Drop held and in-flight requests (counted as `droppedClosed`) and forget the workers; the base class closes the sockets. */
  protected override onClose(): void {
    this.#engine.shutdown();
  }

  readonly #onFrontend = (frames: Buffer[]): void => {
    const bad = checkClientRequest(frames);
    if (bad !== undefined) return this.#malformed("frontend", bad, frames);
    this.#engine.request("", frames[0]!, frames);
  };

  readonly #onBackend = (frames: Buffer[]): void => {
    const cmd = parseWorkerMessage(frames, 1);
    const id = frames[0]!;
    switch (cmd.type) {
      case "reply": {
        const worker = this.#engine.worker(id);
        if (!worker) return this.#engine.reject(id, "reply before READY");
        // Forwarded even when late (its request was redelivered meanwhile): the client takes the first answer.
        this.#engine.reply(worker);
        frames.shift();
        this.#frontend!.send(frames);
        return;
      }
      case "heartbeat": {
        const worker = this.#engine.worker(id);
        if (worker) this.#engine.heartbeat(worker);
        else this.#engine.reject(id, "HEARTBEAT before READY");
        return;
      }
      case "ready":
        // A known worker's READY starts a new conversation (6/PPP: it lost us and reconnected,
        // or a new connection took over its identity): whatever it was serving is redelivered.
        this.#engine.ready(id, "", undefined);
        return;
      default:
        return this.#malformed("backend", cmd.reason, frames);
    }
  };

  readonly #onDropped = (e: DropEvent): void => {
    if (e.reason === "closed" || !Array.isArray(e.message)) return;
    const to = e.message[0];
    if (!Buffer.isBuffer(to)) return;
    if (e.socket === this.#frontend?.name) this.#engine.replyDropped(to, e.reason);
    else if (e.socket === this.#backend?.name && (e.reason === "unroutable" || e.message.length > 2)) {
      // The worker is gone, or a request never left (its pipe is full: the worker would stay
      // busy with it for ever): purge it and redeliver. A heartbeat dropped at the HWM is harmless.
      this.#engine.unreachable(to);
    }
  };

  #malformed(socket: "frontend" | "backend", reason: string, frames: Buffer[]): void {
    this.#m[socket === "frontend" ? "malformedFrontend" : "malformedBackend"]++;
    this.emit("message:malformed", { socket, reason, frames: frames.length, id: frames[0] });
  }
}
