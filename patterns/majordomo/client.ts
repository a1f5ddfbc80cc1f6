/**
 * The Majordomo client (7/MDP 0.1 or 18/MDP 0.2 MDP/Client) with Lazy Pirate retries, on the
 * core's request engine.
 *
 * Each request in flight has its own DEALER socket (a "lane"), so replies are matched to
 * requests without changing the wire format, and a request that times out can be resent on
 * a fresh socket (the old one is closed with linger 0, so a late reply cannot be taken for
 * the answer to a later request). Lanes are reused; up to `maxInFlight` requests run at once
 * (the asynchronous mode); further requests wait in a bounded queue.
 * @module
 */
import * as zmq from "zeromq";
import {
  BoundedQueue,
  InvalidOptionError,
  RequestClient,
  TimeoutError,
  functionOption,
  intOption,
  isMessageLike,
  objectOption,
  optionsObject,
  requestSettings,
  signalOption,
  type Attempt,
  type LifecycleOptions,
  type MessageLike,
  type RequestAdapter,
  type RequestCallOptions,
  type RequestClientOptions,
  type RequestEvents,
  type RequestStats,
  type SocketHandle,
} from "../../src/index.js";
import { versionOption } from "./options.js";
import { bodyFrames as bodyFramesOf, clientRequest, isExpiredBody, isServiceName, parseClientInbound, type MdpVersion } from "./protocol.js";

/** The broker answered that no worker for the service turned up in time (see README "Expired requests"). */
export class ServiceExpiredError extends TimeoutError {
  /** The service asked for. */
  readonly service: string;
  /** The broker's answer frames (`"504"`, `"mmi.expired: ..."`). */
  readonly reply: Buffer[];
  constructor(service: string, reply: Buffer[]) {
    super(`Majordomo broker expired the request: ${reply[1]?.toString() ?? "no worker"}`);
    this.service = service;
    this.reply = reply;
  }
}

/** Options of {@link MajordomoClient}: the request engine's (`maxInFlight` default 100), the lifecycle's, and these. */
export interface MajordomoClientOptions extends RequestClientOptions, LifecycleOptions {
  /** 1 = MDP/0.1 (default), 2 = MDP/0.2 (streaming replies). `requestTimeout` then runs per PARTIAL/FINAL. */
  readonly version?: MdpVersion;
  /** Chunks a {@link MajordomoClient.stream} buffers for a slow consumer. Default 10000. */
  readonly streamBufferLimit?: number;
  /** Options for each DEALER. */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
}

/** Options of one request. */
export interface MajordomoRequestOptions extends RequestCallOptions {
  /** 18/MDP: called with each PARTIAL body. */
  readonly onPartial?: (body: Buffer[]) => void;
}

/** A request as the engine carries it (the `request` of every `request:*` event). */
export interface MajordomoRequest {
  readonly service: string;
  /** The MDP/Client REQUEST frames. */
  readonly frames: Buffer[];
  /** The request body (with `exactlyOnce`, the frames are made per request, behind its stamp). */
  readonly body: Buffer[];
  readonly onPartial: ((body: Buffer[]) => void) | undefined;
  /** PARTIAL replies received (a half-streamed reply is never resent). */
  partials: number;
}

/** Counters of a {@link MajordomoClient}: the request engine's, plus these. */
export interface MajordomoClientStats extends RequestStats {
  /** PARTIAL replies (18/MDP). */
  partials: number;
  /** Requests the broker answered with the expiry answer. */
  expired: number;
  /** Replies that were not valid MDP for this client (dropped). */
  malformed: number;
  /** Sockets opened. */
  sockets: number;
}

/** Events of a {@link MajordomoClient} (beside the lifecycle's). */
export interface MajordomoClientEvents extends RequestEvents<MajordomoRequest> {
  "message:malformed": [{ socket: string; reason: string; frames: number }];
}

interface Lane {
  handle: SocketHandle<zmq.Dealer, "drop-newest"> | undefined;
  /** Endpoint the socket is connected to. */
  endpoint: string;
  /** The request on this lane, and its attempt. */
  id: number | undefined;
  attempt: number;
}

const OWNER = "MajordomoClient";

/** 7/MDP / 18/MDP client; see the module documentation. Starts on its first request (or `start()`). */
export class MajordomoClient extends RequestClient<MajordomoRequest, MajordomoClientEvents> {
  readonly version: MdpVersion;
  readonly #streamLimit: number;
  readonly #socketOptions: zmq.SocketOptions<zmq.Dealer> | undefined;
  readonly #lanes: Lane[] = [];
  readonly #idle: Lane[] = [];
  readonly #laneOf = new Map<number, Lane>();
  readonly #counts = { partials: 0, expired: 0, malformed: 0, sockets: 0 };

  constructor(options: MajordomoClientOptions) {
    const o = optionsObject(OWNER, options);
    const settings = requestSettings(OWNER, o, { maxInFlight: 100, exactlyOnce: true });
    const version = versionOption(OWNER, o);
    const streamLimit = intOption(OWNER, o, "streamBufferLimit", 10_000, 1);
    const socketOptions = objectOption<zmq.SocketOptions<zmq.Dealer>>(OWNER, o, "socketOptions");
    super(OWNER, o, settings);
    this.version = version;
    this.#streamLimit = streamLimit;
    this.#socketOptions = socketOptions;
  }

  protected adapter(): RequestAdapter<MajordomoRequest> {
    return {
      send: (a) => this.#send(a),
      // Close the lane's socket: a late reply to this attempt must not answer the next.
      reset: (a) => {
        const lane = this.#laneOf.get(a.id);
        if (lane) this.#closeSocket(lane);
      },
      release: (id) => {
        const lane = this.#laneOf.get(id);
        if (!lane) return;
        this.#laneOf.delete(id);
        lane.id = undefined;
        if (!this.closed) this.#idle.push(lane);
      },
      // A half-streamed reply cannot be resent without repeating what was already delivered.
      retryable: (a) => a.request.partials === 0,
    };
  }

  /** Counters. */
  stats(): MajordomoClientStats {
    return { ...this.engineStats(), ...this.#counts };
  }

  /**
   * MDP/Client REQUEST: send `body` to `service` and resolve with the reply body (for 0.2,
   * the FINAL body; PARTIAL bodies go to `onPartial`). Resends on a fresh socket after
   * `requestTimeout` ms, `retries` times, then rejects with `RequestAbandonedError` (a
   * `TimeoutError`). Rejects with {@link ServiceExpiredError} when the broker expired the
   * request (no worker), `AbortedError` when `signal` aborts, `QueueFullError` when the
   * pending queue overflows, `ClosedError` when the client closes, `InvalidOptionError`
   * for bad arguments.
   */
  request(service: string, body: MessageLike, options?: MajordomoRequestOptions): Promise<Buffer[]> {
    let frames: Buffer[];
    let bodyFrames: Buffer[];
    let onPartial: ((body: Buffer[]) => void) | undefined;
    try {
      if (typeof service !== "string" || !isServiceName(service)) throw new InvalidOptionError("service", `${OWNER}.request: expected \`service\` to be a printable service name, got ${JSON.stringify(service)}`);
      if (!isMessageLike(body)) throw new InvalidOptionError("body", `${OWNER}.request: expected \`body\` to be a frame or an array of frames`);
      onPartial = functionOption<(body: Buffer[]) => void, undefined>(`${OWNER}.request`, optionsObject(`${OWNER}.request`, options), "onPartial", undefined);
      bodyFrames = bodyFramesOf(body);
      frames = clientRequest(this.version, service, bodyFrames);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.submit({ service, frames, body: bodyFrames, onPartial, partials: 0 }, options);
  }

  /**
   * 18/MDP: send a request and iterate over the reply: every PARTIAL body, then the FINAL
   * body. Breaking out of the loop abandons the request. Under 0.1 it yields the one reply.
   */
  async *stream(service: string, body: MessageLike, options: Omit<MajordomoRequestOptions, "onPartial"> = {}): AsyncGenerator<Buffer[], void, undefined> {
    const given = signalOption(`${OWNER}.stream`, optionsObject(`${OWNER}.stream`, options));
    const stop = new AbortController();
    const signal = given ? AbortSignal.any([given, stop.signal]) : stop.signal;
    const chunks = new BoundedQueue<Buffer[]>(this.#streamLimit, "reject", "stream buffer");
    let wake: (() => void) | undefined;
    let done = false;
    let failure: unknown;
    const push = (chunk: Buffer[]) => {
      try {
        chunks.push(chunk);
      } catch (error) {
        failure = error;
        stop.abort(error);
      }
      wake?.();
    };
    this.request(service, body, { ...options, signal, onPartial: push }).then(
      (final) => {
        push(final);
        done = true;
        wake?.();
      },
      (error: unknown) => {
        failure ??= error;
        done = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        const chunk = chunks.shift();
        if (chunk) {
          yield chunk;
          continue;
        }
        if (done) {
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      if (!done) stop.abort(new Error("stream closed by its consumer"));
    }
  }

  protected onStart(): void {
    this.own(() => Promise.all(this.#lanes.map((lane) => this.#closeSocket(lane))));
  }

  #send(a: Attempt<MajordomoRequest>): void {
    let lane = this.#laneOf.get(a.id);
    if (!lane) {
      lane = this.#idle.pop() ?? this.#newLane();
      lane.id = a.id;
      this.#laneOf.set(a.id, lane);
    }
    if (lane.handle && lane.endpoint !== a.endpoint) void this.#closeSocket(lane);
    lane.attempt = a.attempt;
    const frames = this.clientId === undefined ? a.request.frames : clientRequest(this.version, a.request.service, this.stamped(a.id, a.request.body));
    (lane.handle ?? this.#open(lane, a.endpoint)).send(frames);
  }

  #newLane(): Lane {
    const lane: Lane = { handle: undefined, endpoint: "", id: undefined, attempt: 0 };
    this.#lanes.push(lane);
    return lane;
  }

  #open(lane: Lane, endpoint: string): SocketHandle<zmq.Dealer, "drop-newest"> {
    const socket = new zmq.Dealer({ linger: 0, ...this.#socketOptions });
    this.#counts.sockets++;
    const handle: SocketHandle<zmq.Dealer, "drop-newest"> = this.reactor.add(socket, {
      name: `mdp-client:${this.#counts.sockets}`,
      overflow: "drop-newest",
      sendQueueLimit: 16,
      linger: 0,
      onMessage: (frames): void => this.#onMessage(lane, handle, frames),
    });
    socket.connect(endpoint);
    lane.handle = handle;
    lane.endpoint = endpoint;
    return handle;
  }

  #closeSocket(lane: Lane): Promise<void> | undefined {
    const handle = lane.handle;
    lane.handle = undefined;
    return handle?.close(0);
  }

  #onMessage(lane: Lane, handle: SocketHandle<zmq.Dealer, "drop-newest">, frames: Buffer[]): void {
    const id = lane.id;
    if (id === undefined || lane.handle !== handle) return void this.engine.discard("unknown");
    const request = this.engine.get(id)?.request;
    if (!request) return void this.engine.discard("unknown", id);
    const msg = parseClientInbound(frames, this.version);
    if (!msg.ok || msg.service !== request.service) {
      this.#counts.malformed++;
      this.emit("message:malformed", { socket: handle.name, reason: msg.ok ? `reply for service ${msg.service}, expected ${request.service}` : msg.reason, frames: frames.length });
      return;
    }
    if (!msg.final) {
      this.#counts.partials++;
      request.partials++;
      this.engine.extend(id);
      try {
        request.onPartial?.(msg.body);
      } catch (error) {
        this.engine.reject(id, error);
      }
      return;
    }
    if (isExpiredBody(msg.body)) {
      this.#counts.expired++;
      this.engine.reject(id, new ServiceExpiredError(request.service, msg.body));
    } else this.engine.resolve(id, msg.body, lane.attempt);
  }
}
