/**
 * Freelance client (Guide ch4 model 3, 10/FLP): a ROUTER connected to every server, pinging
 * them, sending each request to a live one and retrying it on another after a timeout; or,
 * with `mode: "shotgun"` (model 2), sending each attempt to every live server, the first
 * reply winning.
 * @module
 */
import * as zmq from "zeromq";
import {
  InvalidOptionError,
  RequestClient,
  SocketError,
  enumOption,
  intOption,
  isMessageLike,
  objectOption,
  optionsObject,
  requestSettings,
  toFrames,
  type Attempt,
  type LifecycleOptions,
  type MessageLike,
  type RequestAdapter,
  type RequestCallOptions,
  type RequestClientOptions,
  type RequestEvents,
  type RequestSettings,
  type RequestStats,
  type SocketHandle,
} from "../../src/index.js";
import { ccfFrame, ccfSequence, parseServerMessage, pingMessage, requestMessage } from "./protocol.js";
import { ServerTable, type ServerEntry } from "./servers.js";

/** How a request attempt is sent: to one live server (`agent`, model 3) or to all of them (`shotgun`, model 2). */
export type FreelanceMode = "agent" | "shotgun";

/** Default ms between pings to a live server (the Guide's `PING_INTERVAL`). */
export const PING_INTERVAL = 2000;
/** Default ms a server stays alive after its last message (the Guide's `SERVER_TTL`). */
export const SERVER_TTL = 6000;
/** Longest ms between pings to a server that is not alive (probes find a server coming up quickly). */
export const PROBE_INTERVAL = 250;

/** Options of {@link FreelanceClient}. `endpoint` lists the servers (each also its routing id). */
export interface FreelanceClientOptions extends RequestClientOptions, LifecycleOptions {
  /** `agent` (default): each attempt to one live server, the next attempt to another. `shotgun`: each attempt to every live server. */
  readonly mode?: FreelanceMode;
  /** ms between pings to a live server. Default 2000. */
  readonly pingInterval?: number;
  /** ms after its last message a server is taken as dead. Default 6000. */
  readonly serverTtl?: number;
  /** The socket's send queue. Default 10000. */
  readonly sendQueueLimit?: number;
  /** Linger (ms) when the socket closes. Default 0. */
  readonly linger?: number;
  /** zeromq.js options for the ROUTER (clients set no routing id: 10/FLP). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Router>;
}

/** Events of {@link FreelanceClient} (beside the request engine's and the lifecycle's). */
export interface FreelanceClientEvents extends RequestEvents<Buffer[]> {
  /** A server was heard from after being dead or unknown. */
  "server:alive": [{ endpoint: string }];
  /** A server was silent for `serverTtl` (`expired`) or its connection is gone (`unreachable`). */
  "server:dead": [{ endpoint: string; reason: "expired" | "unreachable"; silentMs: number | undefined }];
  /** An attempt went to these servers (one in `agent` mode); `servers` is empty while it waits for a live server. */
  "request:routed": [{ id: number; attempt: number; servers: string[] }];
  /** A message broke 10/FLP or came from an unknown routing id: counted and dropped. */
  "message:malformed": [{ socket: "router"; reason: string; frames: number; id?: Buffer }];
}

/** Counters of {@link FreelanceClient}: the request engine's and the client's. */
export interface FreelanceClientStats extends RequestStats {
  /** PINGs sent. */
  pings: number;
  /** PONGs received. */
  pongs: number;
  /** Messages that broke 10/FLP. */
  malformed: number;
  /** Servers alive now. */
  alive: number;
  /** Alive -> dead transitions. */
  serversLost: number;
  /** Requests waiting for a live server now. */
  waiting: number;
  /** Attempts sent again to another server because theirs could not be routed (its connection was gone): they never left. */
  rerouted: number;
}

interface Routing {
  readonly seqs: number[];
  readonly tried: Set<string>;
}

const OWNER = "FreelanceClient";
let clientCount = 0;

/**
 * See the module documentation. Many requests in flight (`maxInFlight`, default 100); each
 * attempt carries a fresh sequence number in its CCF and waits `requestTimeout` ms; a reply
 * to any attempt of a request answers it, later and duplicate replies are discarded and
 * counted (`reply:discarded`, reason `unknown`). After `retries` resends the request rejects
 * with `RequestAbandonedError`: `(retries + 1) × requestTimeout` is the global deadline. An
 * attempt made while no server is alive waits for one (its timeout runs).
 *
 * ```ts
 * const client = new FreelanceClient({ endpoint: ["tcp://10.0.0.1:5555", "tcp://10.0.0.2:5555"] });
 * const reply = await client.request("hello");
 * ```
 */
export class FreelanceClient extends RequestClient<Buffer[], FreelanceClientEvents> {
  /** The validated mode. */
  readonly mode: FreelanceMode;
  /** The validated ping interval, ms. */
  readonly pingInterval: number;
  /** The validated server TTL, ms. */
  readonly serverTtl: number;
  readonly #settings: RequestSettings;
  readonly #sendQueueLimit: number;
  readonly #linger: number;
  readonly #socketOptions: zmq.SocketOptions<zmq.Router>;
  #table: ServerTable | undefined;
  #handle: SocketHandle<zmq.Router> | undefined;
  readonly #idOfSeq = new Map<number, number>();
  readonly #routing = new Map<number, Routing>();
  readonly #waiting = new Map<number, Attempt<Buffer[]>>();
  #nextSeq = 1;
  readonly #counts = { pings: 0, pongs: 0, malformed: 0, serversLost: 0, rerouted: 0 };

  constructor(options: FreelanceClientOptions) {
    const o = optionsObject(OWNER, options);
    const settings = requestSettings(OWNER, o, { maxInFlight: 100 });
    const mode = enumOption<FreelanceMode>(OWNER, o, "mode", ["agent", "shotgun"], "agent");
    const pingInterval = intOption(OWNER, o, "pingInterval", PING_INTERVAL, 1);
    const serverTtl = intOption(OWNER, o, "serverTtl", SERVER_TTL, 1);
    if (serverTtl <= pingInterval) throw new InvalidOptionError("serverTtl", `${OWNER}: expected \`serverTtl\` (${serverTtl}) to exceed \`pingInterval\` (${pingInterval})`);
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10000, 1);
    const linger = intOption(OWNER, o, "linger", 0, -1);
    const socketOptions = { ...(objectOption<zmq.SocketOptions<zmq.Router>>(OWNER, o, "socketOptions") ?? {}) };
    if (socketOptions.routingId !== undefined) throw new InvalidOptionError("socketOptions", `${OWNER}: \`socketOptions.routingId\` is not allowed (10/FLP clients set no routing id)`);
    // The engine times attempts and decides on retries; it never picks a server (an attempt
    // goes to a live one, chosen here), so it gets one endpoint and never "fails over".
    super(OWNER, o, { ...settings, endpoints: settings.endpoints.slice(0, 1) }, { linger });
    this.#settings = settings;
    this.mode = mode;
    this.pingInterval = pingInterval;
    this.serverTtl = serverTtl;
    this.#sendQueueLimit = sendQueueLimit;
    this.#linger = linger;
    this.#socketOptions = socketOptions;
  }

  /** Every server's endpoint (= routing id), in the order given. */
  override get endpoints(): readonly string[] {
    return this.#settings.endpoints;
  }

  /** The validated request settings (`endpoints`: every server). */
  override get settings(): RequestSettings {
    return this.#settings;
  }

  /** The servers alive now (their endpoints). */
  get alive(): string[] {
    return this.#table?.live().map((s) => s.endpoint) ?? [];
  }

  /**
   * Send `payload` (one frame or several) and resolve with the reply body. Rejects with
   * `RequestAbandonedError` after the last attempt, `AbortedError`, `QueueFullError`,
   * `ClosedError`, or `InvalidOptionError` for bad arguments.
   */
  request(payload: MessageLike, options?: RequestCallOptions): Promise<Buffer[]> {
    if (!isMessageLike(payload)) return Promise.reject(new InvalidOptionError("payload", `${OWNER}.request: expected \`payload\` to be a frame or a non-empty array of frames`));
    return this.submit(toFrames(payload), options);
  }

  /** Counters (see {@link FreelanceClientStats}). */
  stats(): FreelanceClientStats {
    return { ...this.engineStats(), ...this.#counts, alive: this.#table?.live().length ?? 0, waiting: this.#waiting.size };
  }

  protected adapter(): RequestAdapter<Buffer[]> {
    // The engine times each attempt and decides on retries; where an attempt goes is ours
    // (a live server, another one than before). Its `endpoint` rotation is not used.
    return {
      send: (a) => this.#dispatch(a),
      reset: (a) => void this.#waiting.delete(a.id),
      release: (id) => {
        this.#waiting.delete(id);
        const r = this.#routing.get(id);
        this.#routing.delete(id);
        if (r) for (const seq of r.seqs) this.#idOfSeq.delete(seq);
      },
    };
  }

  protected onStart(): void {
    // immediate: a pipe exists only while its connection does, so a send to a server whose
    // connection is gone fails at once (EHOSTUNREACH, with mandatory) instead of queueing
    // for a reconnect: the server is taken as dead and the attempt re-routed.
    const router = new zmq.Router({ ...this.#socketOptions, linger: this.#linger, mandatory: true, immediate: true });
    const name = `freelance-client-${++clientCount}`;
    this.#handle = this.ownSocket(router, {
      name,
      linger: this.#linger,
      sendQueueLimit: this.#sendQueueLimit,
      overflow: "drop-newest",
      onMessage: (frames) => this.#onMessage(frames),
    });
    const endpoints = this.#settings.endpoints;
    this.#table = new ServerTable(endpoints, { pingInterval: this.pingInterval, serverTtl: this.serverTtl, probeInterval: Math.min(PROBE_INTERVAL, this.pingInterval) }, this.reactor.clock.now());
    for (const ep of new Set(endpoints)) router.connect(ep);
    this.own(
      this.reactor.on("message:dropped", (e) => {
        if (e.socket !== name || e.reason !== "unroutable" || !Array.isArray(e.message)) return;
        this.#unroutable(e.message as Buffer[]);
      }),
    );
    this.ownTimer(this.reactor.every(Math.min(PROBE_INTERVAL, this.pingInterval), () => this.#tick()));
    this.#tick();
  }

  /** A message could not be routed: its server's connection is gone. A request that never left goes to another live server. */
  #unroutable(message: Buffer[]): void {
    const table = this.#table;
    if (!table || message.length === 0) return;
    const ep = toFrames(message[0]!)[0]!.toString("latin1");
    const s = table.get(ep);
    if (s && table.lost(ep, this.reactor.clock.now())) this.#dead(s, "unreachable");
    if (message.length < 3) return;
    const seq = ccfSequence(toFrames(message[1]!)[0]!);
    const id = seq === undefined ? undefined : this.#idOfSeq.get(seq);
    const attempt = id === undefined ? undefined : this.engine.get(id);
    if (attempt === undefined || this.#routing.get(attempt.id)?.seqs.at(-1) !== seq) return;
    if (this.mode === "shotgun" && table.live().length > 0) return; // the copies to live servers are on their way
    this.#counts.rerouted++;
    this.#dispatch(attempt);
  }

  #tick(): void {
    const table = this.#table;
    const handle = this.#handle;
    if (!table || !handle || handle.closed) return;
    const { ping, expired } = table.tick(this.reactor.clock.now());
    for (const s of expired) this.#dead(s, "expired");
    for (const s of ping) {
      this.#counts.pings++;
      handle.send(pingMessage(s.id));
    }
  }

  #dead(s: ServerEntry, reason: "expired" | "unreachable"): void {
    this.#counts.serversLost++;
    if (this.listenerCount("server:dead") > 0) {
      this.emit("server:dead", { endpoint: s.endpoint, reason, silentMs: s.lastSeen === undefined ? undefined : this.reactor.clock.now() - s.lastSeen });
    }
  }

  #dispatch(a: Attempt<Buffer[]>): void {
    const handle = this.#handle;
    const table = this.#table;
    if (!handle || !table) throw new SocketError(`${OWNER}: no socket (the client did not start)`);
    let r = this.#routing.get(a.id);
    if (!r) {
      r = { seqs: [], tried: new Set() };
      this.#routing.set(a.id, r);
    }
    const targets = this.mode === "shotgun" ? table.live() : [table.pick(r.tried)].filter((s): s is ServerEntry => s !== undefined);
    if (targets.length === 0) {
      this.#waiting.set(a.id, a);
      if (this.listenerCount("request:routed") > 0) this.emit("request:routed", { id: a.id, attempt: a.attempt, servers: [] });
      return;
    }
    this.#waiting.delete(a.id);
    const seq = this.#nextSeq;
    this.#nextSeq = this.#nextSeq >= 0xffffffff ? 1 : this.#nextSeq + 1;
    r.seqs.push(seq);
    this.#idOfSeq.set(seq, a.id);
    const ccf = ccfFrame(seq);
    for (const s of targets) {
      r.tried.add(s.endpoint);
      handle.send(requestMessage(s.id, ccf, a.request));
    }
    if (this.listenerCount("request:routed") > 0) this.emit("request:routed", { id: a.id, attempt: a.attempt, servers: targets.map((s) => s.endpoint) });
  }

  #malformed(frames: Buffer[], reason: string): void {
    this.#counts.malformed++;
    if (this.listenerCount("message:malformed") > 0) this.emit("message:malformed", { socket: "router", reason, frames: frames.length, id: frames[0] });
  }

  #onMessage(frames: Buffer[]): void {
    const table = this.#table;
    if (!table) return;
    const ep = frames[0]!.toString("latin1");
    if (!table.get(ep)) return this.#malformed(frames, "message from a routing id that is none of our servers");
    const cmd = parseServerMessage(frames);
    if (cmd.type === "malformed") return this.#malformed(frames, cmd.reason);
    const heard = table.heard(ep, this.reactor.clock.now())!;
    if (heard.revived) {
      if (this.listenerCount("server:alive") > 0) this.emit("server:alive", { endpoint: ep });
      this.#flushWaiting();
    }
    if (cmd.type === "pong") {
      this.#counts.pongs++;
      return;
    }
    const seq = ccfSequence(cmd.ccf);
    const id = seq === undefined ? undefined : this.#idOfSeq.get(seq);
    if (id === undefined) return void this.engine.discard("unknown");
    this.engine.resolve(id, cmd.body);
  }

  /** A server came alive: send the attempts that waited for one. */
  #flushWaiting(): void {
    if (this.#waiting.size === 0) return;
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const a of waiting) {
      if (this.engine.get(a.id) === a) this.#dispatch(a);
    }
  }
}
