/**
 * The Majordomo broker (7/MDP 0.1, 18/MDP 0.2, 8/MMI) on one ROUTER socket for clients and
 * workers: the wire adapter over the dispatch engine ({@link Dispatcher}), which keeps the
 * per-service backlogs and LRU of ready workers, heartbeats and expiry, and redelivery of a
 * dead worker's request. See README.md; in short:
 * - DISCONNECT for valid but unexpected commands and for workers registering `mmi.*`;
 * - requests that wait `pendingTimeout` ms get a defined answer (`"504"`, `"mmi.expired: ..."`);
 * - `mmi.service` answers 200/404, any other `mmi.*` 501;
 * - 0.1 and 0.2 peers on the same socket (the header frame tells them apart);
 * - a reply (PARTIAL or FINAL) is forwarded only from the worker that holds a request of the
 *   client it names; anything else is dropped and counted (`reply:unexpected`), and the worker
 *   disconnected;
 * - no routing-id takeover (no `handover`): a new connection with an id in use is refused;
 * - a waiting request is held packed in one buffer.
 * @module
 */
import * as zmq from "zeromq";
import {
  DISPATCH_EVENTS,
  Dispatcher,
  Lifecycle,
  dispatchConfig,
  endpointsOption,
  intOption,
  optionsObject,
  type DispatchEvents,
  type DispatchStats,
  type DropEvent,
  type BrokerOptions,
  type DispatchConfig,
  type Held,
  type PackedFrames,
  type SocketHandle,
  packFrames,
  packedFrame,
  unpackFrames,
} from "../../src/index.js";
import { BinaryStar, binaryStarHaOption, type BinaryStarEvents, type BinaryStarHaOptions, type BinaryStarSettings, type BinaryStarState, type BinaryStarStats } from "../binary-star/index.js";
import { MDPW01, MDPW02, MMI_PREFIX, MMI_SERVICE, STATUS, WORKER_COMMANDS, clientReply, expiredBody, parseBrokerInbound, workerDisconnect, workerHeartbeat, workerRequest, type MdpVersion } from "./protocol.js";

/** 7/MDP Guide broker `HEARTBEAT_INTERVAL`, ms. */
export const MDP_HEARTBEAT_INTERVAL = 2500;
/** 7/MDP Guide broker `HEARTBEAT_LIVENESS`. */
export const MDP_HEARTBEAT_LIVENESS = 3;

const OWNER = "MajordomoBroker";

/** Options of {@link MajordomoBroker}. */
export interface MajordomoBrokerOptions extends BrokerOptions {
  /** Endpoint(s) the ROUTER binds (`tcp://127.0.0.1:*` picks a port). Required. */
  readonly bind: string | readonly string[];
  /**
   * Services a broker holds at once. A request for a service the broker does not know yet
   * (no worker, nothing waiting) is dropped past it; a worker's READY always registers. Default 10000.
   */
  readonly maxServices?: number;
  /** ROUTER high-water marks (ZMQ_SNDHWM / ZMQ_RCVHWM). Default 10000. */
  readonly highWaterMark?: number;
  /**
   * Run as one broker of a Binary Star pair: clients (requests and MMI) are answered only
   * while this broker is active (see README.md, "HA pair"). Workers are not gated: run one
   * {@link MajordomoWorker} per broker of the pair.
   */
  readonly ha?: BinaryStarHaOptions;
}

/** Counters of a {@link MajordomoBroker}: the engine's, and the wire's. */
export interface MajordomoBrokerStats extends DispatchStats {
  /** Messages received on the ROUTER. */
  received: number;
  /** Messages that were not valid MDP, counted and dropped. */
  malformed: number;
  /** 0.2 PARTIAL replies forwarded. */
  partials: number;
  /** PARTIAL replies for 0.1 clients, which cannot receive them (dropped, counted). */
  partialsDropped: number;
  /** MMI requests answered (not in `requests`). */
  mmi: number;
  /** DISCONNECTs sent to workers. */
  disconnectsSent: number;
  /** Client requests (MMI included) refused because this broker is not active (`ha`): dropped. */
  refused: number;
  /** The Binary Star counters, with the `ha` option once started. */
  ha: BinaryStarStats | undefined;
}

/** Events of a {@link MajordomoBroker}: the broker events, and malformed input. */
export interface MajordomoBrokerEvents extends DispatchEvents {
  "message:malformed": [{ socket: "router"; reason: string; frames: number; id?: Buffer }];
  /** A client request (or MMI query) dropped: this broker is not active (`ha`). */
  "request:refused": [{ client: Buffer; service: string }];
  "bstar:state": BinaryStarEvents["bstar:state"];
  "bstar:active": BinaryStarEvents["bstar:active"];
  "bstar:passive": BinaryStarEvents["bstar:passive"];
  "bstar:fatal": BinaryStarEvents["bstar:fatal"];
}

/** A request as the engine holds it. */
interface MdpRequest {
  readonly version: MdpVersion;
  /** The service name as the client sent it (the reply names the service with it). */
  readonly serviceFrame: Buffer;
  readonly body: Buffer[];
}

/** A request as the engine holds it: parsed, or packed while it waits (`[version, client, serviceFrame, ...body]`). */
type HeldRequest = MdpRequest | PackedFrames;
const VERSION_FRAME: Record<MdpVersion, Buffer> = { 1: Buffer.from([1]), 2: Buffer.from([2]) };

function mdpRequest(held: HeldRequest): MdpRequest {
  if (!Buffer.isBuffer(held)) return held;
  const f = unpackFrames(held);
  return { version: f[0]![0] as MdpVersion, serviceFrame: f[2]!, body: f.slice(3) };
}

function holdRequest(held: HeldRequest, client: Buffer): Held<HeldRequest> {
  const packed = Buffer.isBuffer(held) ? held : packFrames([VERSION_FRAME[held.version], client, held.serviceFrame, ...held.body]);
  return { request: packed, client: packedFrame(packed, 1) };
}

const REQUEST = WORKER_COMMANDS[1].REQUEST; // 0x02 in both versions
let instances = 0;

/** 7/MDP + 18/MDP + 8/MMI broker; see the module documentation. */
export class MajordomoBroker extends Lifecycle<MajordomoBrokerEvents> {
  /** The bound endpoints (filled by {@link start}; wildcards resolved). */
  endpoints: string[] = [];
  readonly #bind: string[];
  readonly #sendQueueLimit: number;
  readonly #hwm: number;
  readonly #engine: Dispatcher<HeldRequest, MdpVersion>;
  readonly #name = `mdp-broker-${++instances}`;
  #router: SocketHandle<zmq.Router, "drop-newest"> | undefined;
  readonly #m = { received: 0, malformed: 0, partials: 0, partialsDropped: 0, mmi: 0, disconnectsSent: 0, refused: 0 };
  readonly #ha: BinaryStarSettings | undefined;
  #star: BinaryStar | undefined;

  constructor(options: MajordomoBrokerOptions) {
    const o = optionsObject(OWNER, options);
    const bind = endpointsOption(OWNER, o, "bind");
    const config = dispatchConfig(OWNER, o, { heartbeatInterval: MDP_HEARTBEAT_INTERVAL });
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10_000, 1);
    const hwm = intOption(OWNER, o, "highWaterMark", 10_000, 0);
    const ha = binaryStarHaOption(OWNER, o);
    super(OWNER, o);
    this.#ha = ha;
    this.#bind = bind;
    this.#sendQueueLimit = sendQueueLimit;
    this.#hwm = hwm;
    this.#engine = new Dispatcher<HeldRequest, MdpVersion>(
      {
        ...config,
        reactor: this.reactor,
        transport: {
          deliver: (worker, held, client) => this.#send(workerRequest(worker.data, client, mdpRequest(held).body, worker.id)),
          heartbeat: (worker) => this.#send(workerHeartbeat(worker.data, worker.id)),
          expired: (held, client, service) => {
            const request = mdpRequest(held);
            this.#send(clientReply(request.version, request.serviceFrame, expiredBody(service, this.#engine.settings.pendingTimeout), true, client));
          },
          hold: holdRequest,
        },
      },
      OWNER,
    );
    for (const event of DISPATCH_EVENTS) this.#engine.on(event, (e) => this.emit(event, e as never));
  }

  /** The ROUTER socket once started (owned by the reactor: never send or receive on it yourself). */
  get socket(): zmq.Router | undefined {
    return this.#router?.socket;
  }

  /** Names of the services that have at least one worker. */
  services(): string[] {
    return this.#engine.services();
  }

  /** The validated engine settings (heartbeats, backlog, deadline, redeliveries, limits). */
  get settings(): DispatchConfig {
    return this.#engine.settings;
  }

  /** Counters (see {@link MajordomoBrokerStats}). */
  stats(): MajordomoBrokerStats {
    return { ...this.#engine.stats(), ...this.#m, ha: this.#star?.stats() };
  }

  /** The Binary Star part, with the `ha` option once started. */
  get star(): BinaryStar | undefined {
    return this.#star;
  }

  /** This broker's Binary Star state, with the `ha` option once started. */
  get haState(): BinaryStarState | undefined {
    return this.#star?.haState;
  }

  protected async onStart(): Promise<void> {
    this.endpoints = [];
    const socket = new zmq.Router({ mandatory: true, sendTimeout: 0, sendHighWaterMark: this.#hwm, receiveHighWaterMark: this.#hwm, linger: 0 });
    // No `handover` (libzmq's default): a new connection with a routing id in use is refused.
    this.#router = this.ownSocket(socket, { name: this.#name, sendQueueLimit: this.#sendQueueLimit, overflow: "drop-newest", linger: 0, onMessage: this.#onMessage });
    this.own(this.reactor.on("message:dropped", this.#onDropped));
    for (const endpoint of this.#bind) {
      await socket.bind(endpoint);
      this.endpoints.push(socket.lastEndpoint ?? endpoint);
    }
    if (!this.#ha) return;
    const star = new BinaryStar({ ...this.#ha, reactor: this.reactor });
    star.forward(this.emit.bind(this) as (event: string, payload: unknown) => void);
    // Owned before it starts: a star whose start fails still lets go of the shared reactor.
    this.own(() => star.close());
    await star.start();
    this.#star = star;
  }

  /** With `ha`: a client request is a client vote; false (refused, counted, dropped) unless active. */
  #admit(client: Buffer, service: string): boolean {
    if (!this.#ha) return true;
    if (this.#star?.accept()) return true;
    this.#m.refused++;
    if (this.listenerCount("request:refused") > 0) this.emit("request:refused", { client, service });
    return false;
  }

  /** Drop waiting and in-flight requests (counted) and forget the workers; the base class closes the socket. */
  protected override onClose(): void {
    this.#engine.shutdown();
  }

  #send(frames: Buffer[]): void {
    this.#router?.send(frames);
  }

  #disconnect(id: Buffer, version: MdpVersion): void {
    this.#m.disconnectsSent++;
    this.#send(workerDisconnect(version, id));
  }

  readonly #onMessage = (msg: Buffer[]): void => {
    this.#m.received++;
    const id = msg[0];
    if (id === undefined || msg.length < 2) return this.#malformed(msg, "no frames after the routing id");
    const parsed = parseBrokerInbound(msg.slice(1));
    if (!parsed.ok) return this.#malformed(msg, parsed.reason);
    const engine = this.#engine;
    switch (parsed.kind) {
      case "request": {
        const { version, service, serviceFrame, body } = parsed;
        // A passive broker answers clients nothing, MMI included: they fail over.
        if (!this.#admit(id, service)) return;
        if (service.startsWith(MMI_PREFIX)) return this.#mmi(id, version, service, serviceFrame, body);
        engine.request(service, id, { version, serviceFrame, body });
        return;
      }
      case "reply": {
        const { version, client, body, final } = parsed;
        const worker = engine.worker(id);
        if (worker && worker.data !== version) {
          engine.remove(worker, "unexpected");
          return this.#disconnect(id, version);
        }
        // 7/MDP has no request id: a reply answers the request its worker holds, which names
        // the client; a PARTIAL (18/MDP) keeps it held, the FINAL completes it. The engine
        // feeds the worker its next request first: workers are the scarce resource.
        const held = engine.answer(id, client, final);
        if (held === undefined) {
          // Not a worker, no request outstanding, or another client's: dropped, counted
          // (`reply:unexpected`); valid but unexpected, so the peer is told to go.
          if (worker) engine.remove(worker, "unexpected");
          else engine.reject(id, "reply before READY");
          return this.#disconnect(id, version);
        }
        const request = mdpRequest(held);
        if (!final) {
          if (request.version !== 2) this.#m.partialsDropped++;
          else {
            this.#m.partials++;
            this.#send(clientReply(2, request.serviceFrame, body, false, client));
          }
          return;
        }
        this.#send(clientReply(request.version, request.serviceFrame, body, true, client));
        return;
      }
      case "ready": {
        const known = engine.worker(id);
        if (known) {
          // "The worker MUST NOT send a further READY."
          engine.remove(known, "unexpected");
          return this.#disconnect(id, parsed.version);
        }
        if (parsed.service.startsWith(MMI_PREFIX)) {
          engine.reject(id, "reserved service", parsed.service);
          return this.#disconnect(id, parsed.version);
        }
        // Past maxWorkers the worker is rejected and hears nothing: it reconnects later.
        engine.ready(id, parsed.service, parsed.version);
        return;
      }
      case "heartbeat": {
        const worker = engine.worker(id);
        if (worker && worker.data === parsed.version) return engine.heartbeat(worker);
        if (worker) engine.remove(worker, "unexpected");
        else engine.reject(id, "HEARTBEAT before READY");
        return this.#disconnect(id, parsed.version);
      }
      case "disconnect": {
        const worker = engine.worker(id);
        if (worker && worker.data === parsed.version) engine.remove(worker, "disconnect");
        return;
      }
      case "unexpected": {
        const worker = engine.worker(id);
        if (worker) engine.remove(worker, "unexpected");
        else engine.reject(id, `${parsed.command} from a worker`);
        return this.#disconnect(id, parsed.version);
      }
    }
  };

  #mmi(client: Buffer, version: MdpVersion, name: string, serviceFrame: Buffer, body: Buffer[]): void {
    this.#m.mmi++;
    let status: string = STATUS.NOT_IMPLEMENTED;
    if (name === MMI_SERVICE) status = this.#engine.hasWorkers(body[0]?.toString("latin1") ?? "") ? STATUS.FOUND : STATUS.NOT_FOUND;
    this.#send(clientReply(version, serviceFrame, [Buffer.from(status)], true, client));
  }

  /**
   * A message the ROUTER could not send. To a worker: gone (unroutable), or a REQUEST stuck
   * behind its full pipe (it would stay busy with it for ever): the worker is removed and its
   * request redelivered; a heartbeat dropped at the HWM is harmless. To a client: counted.
   */
  readonly #onDropped = (e: DropEvent): void => {
    if (e.socket !== this.#name || e.reason === "closed" || !Array.isArray(e.message)) return;
    const m = e.message as Buffer[];
    const to = m[0];
    if (!Buffer.isBuffer(to)) return;
    const v1Worker = m[2] !== undefined && MDPW01.equals(m[2]);
    const v2Worker = m[1] !== undefined && MDPW02.equals(m[1]);
    if (!v1Worker && !v2Worker) return this.#engine.replyDropped(to, e.reason);
    const command = v1Worker ? m[3] : m[2];
    if (e.reason === "unroutable" || (command?.length === 1 && command[0] === REQUEST)) this.#engine.unreachable(to);
  };

  #malformed(msg: Buffer[], reason: string): void {
    this.#m.malformed++;
    this.emit("message:malformed", { socket: "router", reason, frames: msg.length, id: msg[0] });
  }
}
