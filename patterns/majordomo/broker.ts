/**
 * The Majordomo broker (7/MDP 0.1, 18/MDP 0.2, 8/MMI) on one ROUTER socket for clients and
 * workers. See README.md for the behaviour in full; in short:
 * - per-service FIFO queues of requests (bounded, with an overflow policy) and of idle
 *   workers (least recently used first);
 * - heartbeats to every worker, busy ones too, and a {@link PeerTable} expiry ticket per
 *   worker: a worker that dies mid-request is noticed and its request is redelivered to
 *   another worker of the service, at most `maxRedeliveries` times;
 * - DISCONNECT for valid but unexpected commands and for workers registering `mmi.*`;
 * - requests for services with no worker expire after `requestExpiry` ms with a defined
 *   answer (`"504"`, `"mmi.expired: ..."`);
 * - `mmi.service` answers 200/404, any other `mmi.*` 501;
 * - 0.1 and 0.2 peers on the same socket (the header frame tells them apart).
 * @module
 */
import * as zmq from "zeromq";
import {
  BoundedQueue,
  ClosedError,
  EMPTY,
  OVERFLOW_POLICIES,
  PeerTable,
  Reactor,
  TypedEmitter,
  enumOption,
  intOption,
  optionsObject,
  signalOption,
  type OverflowPolicy,
  type PeerEntry,
  type SocketHandle,
  type Timer,
  reactorOption,
} from "../../src/index.js";
import {
  CLIENT_COMMANDS_V2,
  MDPC01,
  MDPC02,
  MDPW01,
  MDPW02,
  MMI_PREFIX,
  MMI_SERVICE,
  STATUS,
  WORKER_COMMANDS,
  expiredBody,
  parseBrokerInbound,
  type MdpVersion,
} from "./protocol.js";

/** 7/MDP Guide broker `HEARTBEAT_INTERVAL`, ms. */
export const MDP_HEARTBEAT_INTERVAL = 2500;
/** 7/MDP Guide broker `HEARTBEAT_LIVENESS`. */
export const MDP_HEARTBEAT_LIVENESS = 3;

/** Options of {@link MajordomoBroker}. */
export interface MajordomoBrokerOptions {
  /** ms between heartbeats to each worker. Default 2500 (7/MDP Guide). */
  readonly heartbeatInterval?: number;
  /** Silent intervals before a worker is dead. Default 3. */
  readonly heartbeatLiveness?: number;
  /**
   * ms a request may wait while its service has no worker before it expires and the client
   * gets the expiry answer. 0 = never expire. Default 2000 (below the client's 2500 ms timeout,
   * so a waiting client hears the answer).
   */
  readonly requestExpiry?: number;
  /** How many times a request is redelivered after its worker died. Default 3. */
  readonly maxRedeliveries?: number;
  /**
   * Services a broker holds at once. A request for a service the broker does not know yet
   * (no worker, nothing queued) is dropped (counted in `overflowDropped`) when there are this
   * many; a worker's READY always registers. Default 10000.
   */
  readonly maxServices?: number;
  /**
   * Workers a broker knows at once. A READY from a new worker past it is refused and counted
   * (`workersRefused`, `worker:refused`); the refused worker hears no heartbeats, so it
   * reconnects after its liveness runs out and tries again. Default 10000.
   */
  readonly maxWorkers?: number;
  /** Request queue limit per service. Default 1000. */
  readonly queueLimit?: number;
  /** What happens to a request that arrives at a full service queue. Default `drop-oldest`. */
  readonly queueOverflow?: OverflowPolicy;
  /** Send queue limit of the ROUTER. Default 10000. */
  readonly sendQueueLimit?: number;
  /** ROUTER high-water marks (ZMQ_SNDHWM / ZMQ_RCVHWM). Default 10000. */
  readonly highWaterMark?: number;
  /** Share a reactor (it is not closed by {@link MajordomoBroker.close}). Default: own one. */
  readonly reactor?: Reactor;
  /** Aborting it closes the broker. */
  readonly signal?: AbortSignal;
}

/** Counters of a {@link MajordomoBroker}. */
export interface MajordomoBrokerStats {
  /** Messages received on the ROUTER. */
  received: number;
  /** Messages that were not valid MDP, counted and dropped. */
  malformed: number;
  /** Client requests accepted (MMI included). */
  requests: number;
  /** Requests sent to workers (redeliveries included). */
  dispatched: number;
  /** Final replies forwarded to clients. */
  replies: number;
  /** 0.2 PARTIAL replies forwarded. */
  partials: number;
  /** PARTIAL replies for 0.1 clients, which cannot receive them (dropped, counted). */
  partialsDropped: number;
  /** MMI requests answered. */
  mmi: number;
  /** Requests put back in the queue after their worker died. */
  redelivered: number;
  /** Requests dropped after `maxRedeliveries` failed deliveries. */
  redeliveriesExhausted: number;
  /** Requests that expired waiting for a worker (the client got the expiry answer). */
  expired: number;
  /** Requests dropped by a full service queue, or for a new service past `maxServices`. */
  overflowDropped: number;
  /** DISCONNECTs sent to workers. */
  disconnectsSent: number;
  /** HEARTBEATs sent to workers. */
  heartbeatsSent: number;
  /** READYs accepted. */
  workersRegistered: number;
  /** READYs refused because `maxWorkers` workers were already known. */
  workersRefused: number;
  /** Workers removed by heartbeat expiry. */
  workersExpired: number;
  /** Workers removed for any other reason (DISCONNECT either way, unreachable). */
  workersRemoved: number;
  /** Messages the ROUTER could not deliver (peer gone, HWM, full send queue). */
  sendDropped: number;
  /** Current workers. */
  workers: number;
  /** Current services (with workers or queued requests). */
  services: number;
  /** Current queued requests, all services. */
  queued: number;
}

/** Events of a {@link MajordomoBroker}. */
export interface MajordomoBrokerEvents {
  [event: string]: unknown[];
  "worker:ready": [{ id: Buffer; service: string; version: MdpVersion }];
  /** A READY was refused (the worker table is full); the worker is not registered. */
  "worker:refused": [{ id: Buffer; service: string; reason: "worker table full" }];
  "worker:expired": [{ id: Buffer; service: string; busy: boolean }];
  /** A worker was removed: it sent DISCONNECT, or the broker disconnected it, or it became unreachable. */
  "worker:disconnected": [{ id: Buffer; service: string | undefined; reason: "disconnect" | "unexpected" | "mmi" | "unreachable" }];
  "request:redelivered": [{ service: string; client: Buffer; attempt: number }];
  "request:expired": [{ service: string; client: Buffer; waitedMs: number }];
  "request:dropped": [{ service: string; client: Buffer; reason: "overflow" | "redeliveries" }];
  "message:malformed": [{ id: Buffer | undefined; reason: string }];
}

interface Request {
  readonly client: Buffer;
  readonly version: MdpVersion;
  readonly body: Buffer[];
  queuedAt: number;
  deliveries: number;
}

interface Service {
  readonly name: string;
  readonly nameFrame: Buffer;
  readonly queue: BoundedQueue<Request>;
  /** Idle workers; iteration order = least recently used first. */
  readonly idle: Set<Worker>;
  workers: number;
}

interface Worker {
  readonly id: Buffer;
  readonly service: Service;
  readonly version: MdpVersion;
  current: Request | undefined;
  lastSent: number;
}

const W1 = WORKER_COMMANDS[1];
const W2 = WORKER_COMMANDS[2];
const CMD = (b: number) => Buffer.from([b]);
const V1_REQUEST = CMD(W1.REQUEST);
const V2_REQUEST = CMD(W2.REQUEST);
const V1_HEARTBEAT = CMD(W1.HEARTBEAT);
const V2_HEARTBEAT = CMD(W2.HEARTBEAT);
const V1_DISCONNECT = CMD(W1.DISCONNECT);
const V2_DISCONNECT = CMD(W2.DISCONNECT);
const C2_PARTIAL = CMD(CLIENT_COMMANDS_V2.PARTIAL);
const C2_FINAL = CMD(CLIENT_COMMANDS_V2.FINAL);

function emptyStats(): MajordomoBrokerStats {
  return {
    received: 0,
    malformed: 0,
    requests: 0,
    dispatched: 0,
    replies: 0,
    partials: 0,
    partialsDropped: 0,
    mmi: 0,
    redelivered: 0,
    redeliveriesExhausted: 0,
    expired: 0,
    overflowDropped: 0,
    disconnectsSent: 0,
    heartbeatsSent: 0,
    workersRegistered: 0,
    workersRefused: 0,
    workersExpired: 0,
    workersRemoved: 0,
    sendDropped: 0,
    workers: 0,
    services: 0,
    queued: 0,
  };
}

/** 7/MDP + 18/MDP + 8/MMI broker; see the module documentation. */
export class MajordomoBroker extends TypedEmitter<MajordomoBrokerEvents> {
  readonly heartbeatInterval: number;
  readonly heartbeatLiveness: number;
  readonly requestExpiry: number;
  readonly maxRedeliveries: number;
  readonly queueLimit: number;
  readonly maxServices: number;
  /** Most workers known at once. */
  readonly maxWorkers: number;
  readonly queueOverflow: OverflowPolicy;
  /** The ROUTER socket (owned by the reactor: never send or receive on it yourself). */
  readonly socket: zmq.Router;
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  readonly #handle: SocketHandle<zmq.Router, "drop-newest">;
  readonly #workers: PeerTable<Worker>;
  readonly #services = new Map<string, Service>();
  readonly #timers: Timer[] = [];
  readonly #stats = emptyStats();
  readonly #signal: AbortSignal | undefined;
  readonly #offReactor: (() => void)[] = [];
  #closing: Promise<void> | undefined;

  constructor(options?: MajordomoBrokerOptions) {
    super();
    const o = optionsObject("MajordomoBroker", options);
    this.heartbeatInterval = intOption("MajordomoBroker", o, "heartbeatInterval", MDP_HEARTBEAT_INTERVAL, 1);
    this.heartbeatLiveness = intOption("MajordomoBroker", o, "heartbeatLiveness", MDP_HEARTBEAT_LIVENESS, 1);
    this.requestExpiry = intOption("MajordomoBroker", o, "requestExpiry", 2000, 0);
    this.maxRedeliveries = intOption("MajordomoBroker", o, "maxRedeliveries", 3, 0);
    this.queueLimit = intOption("MajordomoBroker", o, "queueLimit", 1000, 1);
    this.maxServices = intOption("MajordomoBroker", o, "maxServices", 10_000, 1);
    this.maxWorkers = intOption("MajordomoBroker", o, "maxWorkers", 10_000, 1);
    this.queueOverflow = enumOption("MajordomoBroker", o, "queueOverflow", OVERFLOW_POLICIES, "drop-oldest");
    const sendQueueLimit = intOption("MajordomoBroker", o, "sendQueueLimit", 10_000, 1);
    const hwm = intOption("MajordomoBroker", o, "highWaterMark", 10_000, 0);
    this.#signal = signalOption("MajordomoBroker", o);
    ({ reactor: this.#reactor, owned: this.#ownReactor } = reactorOption("MajordomoBroker", o));
    this.socket = new zmq.Router({ mandatory: true, sendTimeout: 0, sendHighWaterMark: hwm, receiveHighWaterMark: hwm, linger: 0 });
    this.#handle = this.#reactor.add(this.socket, {
      name: "mdp-broker",
      sendQueueLimit,
      overflow: "drop-newest",
      linger: 0,
      onMessage: (msg) => this.#onMessage(msg),
    });
    this.#workers = new PeerTable<Worker>(this.#reactor, this.heartbeatInterval * this.heartbeatLiveness, (entry) => this.#onExpire(entry));
    this.#offReactor.push(
      this.#reactor.on("message:dropped", (e) => {
        if (e.socket !== this.#handle.name) return;
        this.#stats.sendDropped++;
        if (e.reason !== "unroutable" && e.reason !== "closed") this.#onRequestDropped(e.message);
      }),
      this.#reactor.on("peer:unreachable", (e) => {
        if (e.socket === this.#handle.name) this.#onUnreachable(e.routingId);
      }),
    );
    this.#timers.push(this.#reactor.every(this.heartbeatInterval, () => this.#heartbeat()));
    if (this.requestExpiry > 0) {
      const sweep = Math.max(1, Math.min(1000, Math.floor(this.requestExpiry / 4)));
      this.#timers.push(this.#reactor.every(sweep, () => this.#expireRequests()));
    }
    if (this.#signal?.aborted) void this.close();
    else this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** Bind the ROUTER (may be called several times). Resolves with the bound endpoint (`*` resolved). */
  async bind(endpoint: string): Promise<string> {
    if (this.#closing) throw new ClosedError("MajordomoBroker is closed");
    if (typeof endpoint !== "string" || !/^[a-z][a-z0-9+.-]*:\/\/.+/i.test(endpoint)) {
      throw new TypeError(`MajordomoBroker.bind: expected \`endpoint\` to be a ZeroMQ endpoint, got ${String(endpoint)}`);
    }
    await this.socket.bind(endpoint);
    return this.socket.lastEndpoint ?? endpoint;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Names of the services that have at least one worker. */
  services(): string[] {
    return [...this.#services.values()].filter((s) => s.workers > 0).map((s) => s.name);
  }

  /** Counters (see {@link MajordomoBrokerStats}). */
  stats(): MajordomoBrokerStats {
    let queued = 0;
    for (const s of this.#services.values()) queued += s.queue.size;
    return { ...this.#stats, workers: this.#workers.size, services: this.#services.size, queued };
  }

  /** Stop: close the socket (linger 0) and all timers. Queued requests are dropped. Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const t of this.#timers) t.cancel();
    for (const off of this.#offReactor) off();
    this.#workers.clear();
    this.#closing = this.#ownReactor ? this.#reactor.close() : this.#handle.close(0);
    return this.#closing;
  }

  readonly #onAbort = () => void this.close();

  // ----- inbound ----------------------------------------------------------------------

  #onMessage(msg: Buffer[]): void {
    this.#stats.received++;
    const id = msg[0];
    if (id === undefined || msg.length < 2) return this.#malformed(id, "no frames after the routing id");
    const parsed = parseBrokerInbound(msg.slice(1));
    if (!parsed.ok) return this.#malformed(id, parsed.reason);
    switch (parsed.kind) {
      case "request":
        return this.#onRequest(id, parsed.version, parsed.service, parsed.body);
      case "reply":
        return this.#onReply(id, parsed.version, parsed.client, parsed.body, parsed.final);
      case "ready":
        return this.#onReady(id, parsed.version, parsed.service);
      case "heartbeat": {
        const entry = this.#workers.touch(id);
        if (!entry || entry.state.version !== parsed.version) this.#disconnect(id, parsed.version, "unexpected");
        return;
      }
      case "disconnect": {
        const entry = this.#workers.get(id);
        if (entry && entry.state.version === parsed.version) this.#removeWorker(entry, "disconnect");
        return;
      }
      case "unexpected":
        return this.#disconnect(id, parsed.version, "unexpected");
    }
  }

  #malformed(id: Buffer | undefined, reason: string): void {
    this.#stats.malformed++;
    this.emit("message:malformed", { id, reason });
  }

  #onRequest(client: Buffer, version: MdpVersion, name: string, body: Buffer[]): void {
    this.#stats.requests++;
    if (name.startsWith(MMI_PREFIX)) return this.#mmi(client, version, name, body);
    const request: Request = { client, version, body, queuedAt: this.#reactor.clock.now(), deliveries: 0 };
    if (!this.#services.has(name) && this.#services.size >= this.maxServices) {
      // Every request for a new name would otherwise create a service (and its queue): a
      // client could grow the broker without limit, for ever with requestExpiry 0.
      this.#stats.overflowDropped++;
      this.emit("request:dropped", { service: name, client, reason: "overflow" });
      return;
    }
    const service = this.#service(name);
    // Fast path: an idle worker and nothing queued ahead.
    if (service.queue.size === 0 && service.idle.size > 0) {
      const worker = service.idle.values().next().value as Worker;
      service.idle.delete(worker);
      this.#deliver(worker, request);
      return;
    }
    let result;
    try {
      result = service.queue.push(request);
    } catch {
      result = { accepted: false, dropped: request };
    }
    if (result.dropped) this.#dropRequest(service, result.dropped, "overflow");
    this.#dispatch(service);
  }

  #service(name: string): Service {
    let service = this.#services.get(name);
    if (service === undefined) {
      service = { name, nameFrame: Buffer.from(name, "latin1"), queue: new BoundedQueue<Request>(this.queueLimit, this.queueOverflow, `request queue of ${name}`), idle: new Set(), workers: 0 };
      this.#services.set(name, service);
    }
    return service;
  }

  #onReady(id: Buffer, version: MdpVersion, name: string): void {
    const known = this.#workers.get(id);
    if (known) {
      // "The worker MUST NOT send a further READY."
      this.#removeWorker(known, "unexpected");
      this.#sendDisconnect(id, version);
      return;
    }
    if (name.startsWith(MMI_PREFIX)) {
      this.#sendDisconnect(id, version);
      this.#stats.workersRemoved++;
      this.emit("worker:disconnected", { id, service: name, reason: "mmi" });
      return;
    }
    if (this.#workers.size >= this.maxWorkers) {
      this.#stats.workersRefused++;
      this.emit("worker:refused", { id, service: name, reason: "worker table full" });
      return;
    }
    const service = this.#service(name);
    const worker: Worker = { id, service, version, current: undefined, lastSent: this.#reactor.clock.now() };
    this.#workers.add(id, worker);
    service.workers++;
    this.#stats.workersRegistered++;
    this.emit("worker:ready", { id, service: name, version });
    this.#idle(worker);
  }

  #onReply(id: Buffer, version: MdpVersion, client: Buffer, body: Buffer[], final: boolean): void {
    const entry = this.#workers.touch(id);
    const worker = entry?.state;
    const request = worker?.current;
    if (!entry || !worker || worker.version !== version || !request || !request.client.equals(client)) {
      // A reply with no request outstanding (or for another client): valid but unexpected.
      if (entry) this.#removeWorker(entry, "unexpected");
      this.#sendDisconnect(id, version);
      return;
    }
    const service = worker.service;
    if (!final) {
      if (request.version === 2) {
        this.#stats.partials++;
        this.#handle.send([client, MDPC02, C2_PARTIAL, service.nameFrame, ...body]);
      } else this.#stats.partialsDropped++;
      return;
    }
    this.#stats.replies++;
    worker.current = undefined;
    // Feed the worker first: with one request per worker at a time, workers are the
    // scarce resource, and the reply to the client can follow a few microseconds later.
    this.#idle(worker);
    this.#replyToClient(client, request.version, service.nameFrame, body);
  }

  // ----- MMI --------------------------------------------------------------------------

  #mmi(client: Buffer, version: MdpVersion, name: string, body: Buffer[]): void {
    this.#stats.mmi++;
    let status: string = STATUS.NOT_IMPLEMENTED;
    if (name === MMI_SERVICE) {
      const wanted = body[0]?.toString("latin1") ?? "";
      status = (this.#services.get(wanted)?.workers ?? 0) > 0 ? STATUS.FOUND : STATUS.NOT_FOUND;
    }
    this.#replyToClient(client, version, Buffer.from(name, "latin1"), [Buffer.from(status)]);
  }

  #replyToClient(client: Buffer, version: MdpVersion, service: Buffer, body: Buffer[]): void {
    this.#handle.send(version === 1 ? [client, EMPTY, MDPC01, service, ...body] : [client, MDPC02, C2_FINAL, service, ...body]);
  }

  // ----- workers ----------------------------------------------------------------------

  /** The worker is free: give it the next request, or park it in the idle set. */
  #idle(worker: Worker): void {
    const next = worker.service.queue.shift();
    if (next) this.#deliver(worker, next);
    else worker.service.idle.add(worker);
  }

  #dispatch(service: Service): void {
    while (service.queue.size > 0 && service.idle.size > 0) {
      const worker = service.idle.values().next().value as Worker;
      service.idle.delete(worker);
      this.#deliver(worker, service.queue.shift()!);
    }
  }

  #deliver(worker: Worker, request: Request): void {
    worker.current = request;
    request.deliveries++;
    worker.lastSent = this.#reactor.clock.now();
    this.#stats.dispatched++;
    this.#handle.send(
      worker.version === 1
        ? [worker.id, EMPTY, MDPW01, V1_REQUEST, request.client, EMPTY, ...request.body]
        : [worker.id, MDPW02, V2_REQUEST, request.client, EMPTY, ...request.body],
    );
  }

  #heartbeat(): void {
    const now = this.#reactor.clock.now();
    const quiet = this.heartbeatInterval / 2;
    for (const entry of this.#workers.values()) {
      const w = entry.state;
      if (now - w.lastSent < quiet) continue;
      w.lastSent = now;
      this.#stats.heartbeatsSent++;
      this.#handle.send(w.version === 1 ? [w.id, EMPTY, MDPW01, V1_HEARTBEAT] : [w.id, MDPW02, V2_HEARTBEAT]);
    }
  }

  #onExpire(entry: PeerEntry<Worker>): void {
    this.#stats.workersExpired++;
    const w = entry.state;
    this.emit("worker:expired", { id: w.id, service: w.service.name, busy: w.current !== undefined });
    this.#forget(w);
  }

  /**
   * A REQUEST that never left (the worker's pipe is full, or the send queue): the worker would
   * stay busy with it for ever. Remove the worker as unreachable; its request is redelivered.
   */
  #onRequestDropped(message: unknown): void {
    if (!Array.isArray(message)) return;
    const [id, a, b, c] = message as Buffer[];
    if (!Buffer.isBuffer(id)) return;
    const entry = this.#workers.get(id);
    if (!entry?.state.current) return;
    const isRequest = (cmd: unknown, header: unknown, want: Buffer, mdp: Buffer) => Buffer.isBuffer(cmd) && cmd.equals(want) && Buffer.isBuffer(header) && header.equals(mdp);
    const request = entry.state.version === 1 ? isRequest(c, b, V1_REQUEST, MDPW01) : isRequest(b, a, V2_REQUEST, MDPW02);
    if (request) this.#removeWorker(entry, "unreachable");
  }

  #onUnreachable(id: Buffer): void {
    const entry = this.#workers.get(id);
    if (entry) this.#removeWorker(entry, "unreachable");
  }

  #removeWorker(entry: PeerEntry<Worker>, reason: "disconnect" | "unexpected" | "unreachable"): void {
    this.#workers.delete(entry.key);
    this.#stats.workersRemoved++;
    this.emit("worker:disconnected", { id: entry.id, service: entry.state.service.name, reason });
    this.#forget(entry.state);
  }

  /** Take a removed worker out of its service; redeliver its request. */
  #forget(worker: Worker): void {
    const service = worker.service;
    service.idle.delete(worker);
    service.workers--;
    const request = worker.current;
    worker.current = undefined;
    if (request) {
      if (request.deliveries > this.maxRedeliveries) this.#dropRequest(service, request, "redeliveries");
      else {
        this.#stats.redelivered++;
        request.queuedAt = this.#reactor.clock.now();
        service.queue.unshift(request);
        this.emit("request:redelivered", { service: service.name, client: request.client, attempt: request.deliveries });
        this.#dispatch(service);
      }
    }
    this.#maybeDeleteService(service);
  }

  #disconnect(id: Buffer, version: MdpVersion, reason: "unexpected"): void {
    const entry = this.#workers.get(id);
    if (entry) this.#removeWorker(entry, reason);
    this.#sendDisconnect(id, version);
  }

  #sendDisconnect(id: Buffer, version: MdpVersion): void {
    this.#stats.disconnectsSent++;
    this.#handle.send(version === 1 ? [id, EMPTY, MDPW01, V1_DISCONNECT] : [id, MDPW02, V2_DISCONNECT]);
  }

  // ----- request expiry and drops -----------------------------------------------------

  #expireRequests(): void {
    const now = this.#reactor.clock.now();
    for (const service of this.#services.values()) {
      if (service.workers > 0) continue;
      for (let head = service.queue.peek(); head && now - head.queuedAt >= this.requestExpiry; head = service.queue.peek()) {
        service.queue.shift();
        this.#stats.expired++;
        this.#replyToClient(head.client, head.version, service.nameFrame, expiredBody(service.name, this.requestExpiry));
        this.emit("request:expired", { service: service.name, client: head.client, waitedMs: now - head.queuedAt });
      }
      this.#maybeDeleteService(service);
    }
  }

  #dropRequest(service: Service, request: Request, reason: "overflow" | "redeliveries"): void {
    if (reason === "overflow") this.#stats.overflowDropped++;
    else this.#stats.redeliveriesExhausted++;
    this.emit("request:dropped", { service: service.name, client: request.client, reason });
  }

  #maybeDeleteService(service: Service): void {
    if (service.workers === 0 && service.queue.size === 0) this.#services.delete(service.name);
  }
}
