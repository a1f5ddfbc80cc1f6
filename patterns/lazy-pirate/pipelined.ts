/**
 * Pipelined Lazy Pirate client: a DEALER with a request-id frame, for queues that forward
 * the whole address stack (Simple Pirate, Paranoid Pirate, any ROUTER-REQ/REP chain).
 * @module
 */
import * as zmq from "zeromq";
import {
  EMPTY,
  InvalidOptionError,
  RequestClient,
  SocketError,
  intOption,
  isMessageLike,
  objectOption,
  optionsObject,
  requestSettings,
  toFrames,
  type Attempt,
  type MessageLike,
  type RequestAdapter,
  type RequestCallOptions,
  type SocketHandle,
} from "../../src/index.js";
import type { ClientOptions, LazyPirateEvents, LazyPirateStats } from "./common.js";

/** Options of {@link PipelinedClient}. `maxInFlight` (the in-flight window) defaults to 100. */
export interface PipelinedOptions extends ClientOptions {
  /** zeromq.js options for the DEALER socket (`linger` is taken from `linger`). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
}

/** Size of the request-id frame: a 32-bit big-endian counter. */
export const REQUEST_ID_SIZE = 4;

const OWNER = "PipelinedClient";

/**
 * Pipelined client (Guide ch4 Lazy Pirate, with the request numbers ch4 lists for an
 * asynchronous client): many requests in flight on one DEALER. Each request goes out as
 * `[requestId, EMPTY, ...body]`; a queue that returns the address stack untouched replies
 * `[requestId, EMPTY, ...reply]`, matched by id. Timeouts, retries (resent with the same id)
 * and backoff work per request as in `LazyPirateClient`; replies with an unknown, late or
 * duplicate id are discarded and counted. With several endpoints the DEALER is connected to
 * one at a time (never round-robin) and moves to the next after a timeout.
 */
export class PipelinedClient extends RequestClient<Buffer[], LazyPirateEvents> {
  readonly #linger: number;
  readonly #socketOptions: zmq.SocketOptions<zmq.Dealer>;
  #handle: SocketHandle<zmq.Dealer> | undefined;
  /** Wire id of each request in flight, and back. */
  readonly #keyOf = new Map<number, number>();
  readonly #idOf = new Map<number, number>();
  #nextKey = 0;
  #malformed = 0;

  constructor(options: PipelinedOptions) {
    const o = optionsObject(OWNER, options);
    const settings = requestSettings(OWNER, o, { maxInFlight: 100, exactlyOnce: true });
    const linger = intOption(OWNER, o, "linger", 0, -1);
    const socketOptions = { ...(objectOption<zmq.SocketOptions<zmq.Dealer>>(OWNER, o, "socketOptions") ?? {}) };
    super(OWNER, o, settings, { linger });
    this.#linger = linger;
    this.#socketOptions = socketOptions;
  }

  protected adapter(): RequestAdapter<Buffer[]> {
    // A DEALER has no state to reset on timeout: the resend goes out with the same id,
    // and a late reply to the earlier attempt answers the request if it comes first.
    return {
      send: (a) => this.#send(a),
      release: (id) => {
        const key = this.#keyOf.get(id);
        this.#keyOf.delete(id);
        if (key !== undefined) this.#idOf.delete(key);
      },
      failover: (to, from) => {
        const socket = this.#handle?.socket;
        if (!socket) return;
        socket.disconnect(from);
        socket.connect(to);
      },
    };
  }

  /** As `LazyPirateClient.request`, with many requests in flight. */
  request(payload: MessageLike, options?: RequestCallOptions): Promise<Buffer[]> {
    if (!isMessageLike(payload)) return Promise.reject(new InvalidOptionError("payload", `${OWNER}.request: expected \`payload\` to be a frame or a non-empty array of frames`));
    return this.submit(toFrames(payload), options);
  }

  /** Counters (see {@link LazyPirateStats}). */
  stats(): LazyPirateStats {
    return { ...this.engineStats(), reopened: 0, malformed: this.#malformed };
  }

  protected onStart(): void {
    const window = this.engine.settings.maxInFlight;
    const socket = new zmq.Dealer({ ...this.#socketOptions, linger: this.#linger });
    this.#handle = this.ownSocket(socket, {
      name: "pipelined-dealer",
      linger: this.#linger,
      sendQueueLimit: window,
      overflow: "drop-oldest",
      onMessage: (reply) => this.#onReply(reply),
    });
    socket.connect(this.endpoint);
  }


  #send(a: Attempt<Buffer[]>): void {
    if (!this.#handle) throw new SocketError(`${OWNER}: no socket (the client did not start)`);
    let key = this.#keyOf.get(a.id);
    if (key === undefined) {
      key = this.#nextKey;
      this.#nextKey = (this.#nextKey + 1) >>> 0;
      this.#keyOf.set(a.id, key);
      this.#idOf.set(key, a.id);
    }
    const id = Buffer.allocUnsafe(REQUEST_ID_SIZE);
    id.writeUInt32BE(key);
    this.#handle.send([id, EMPTY, ...this.stamped(a.id, a.request)]);
  }

  #onReply(reply: Buffer[]): void {
    const id = reply[0];
    if (reply.length < 2 || id === undefined || id.length !== REQUEST_ID_SIZE || reply[1]!.length !== 0) {
      this.#malformed++;
      this.emit("message:malformed", { socket: "dealer", reason: "expected [requestId(4 bytes), EMPTY, ...reply]", frames: reply.length });
      return;
    }
    const request = this.#idOf.get(id.readUInt32BE(0));
    if (request === undefined) return void this.engine.discard("unknown");
    this.engine.resolve(request, reply.slice(2));
  }
}
