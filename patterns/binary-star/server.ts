/**
 * {@link BinaryStarServer}: a ready-made request-reply server, one member of a Binary Star
 * pair. A ROUTER `frontend` takes requests from REQ clients (or DEALERs that send the empty
 * delimiter, like REQ); each request is a client vote ({@link BinaryStar.accept}); the
 * server runs its `handler` and replies only while it is active. A request that arrives
 * while it is not is dropped and counted (`request:refused`): the client times out and
 * fails over to the other server.
 * @module
 */
import * as zmq from "zeromq";
import {
  Lifecycle,
  echoHandler,
  endpointsOption,
  functionOption,
  isMessageLike,
  joinEnvelope,
  optionsObject,
  splitEnvelope,
  toFrames,
  type LifecycleOptions,
  type RequestHandler,
  type SocketHandle,
} from "../../src/index.js";
import { BINARY_STAR_STATE_EVENTS, BinaryStar, binaryStarSettings, type BinaryStarEvents, type BinaryStarOptions, type BinaryStarStats } from "./bstar.js";
import type { BinaryStarFatal, BinaryStarRole, BinaryStarState } from "./fsm.js";

/** Options of {@link BinaryStarServer}. */
export interface BinaryStarServerOptions extends Omit<BinaryStarOptions, keyof LifecycleOptions>, LifecycleOptions {
  /** Where clients connect (bound; several allowed), e.g. `tcp://*:5001`. Required. */
  readonly frontend: string | readonly string[];
  /** Turns a request's frames into the reply. Default: echo. */
  readonly handler?: RequestHandler;
}

/** Counters of a {@link BinaryStarServer}: the {@link BinaryStar}'s, plus requests. */
export interface BinaryStarServerStats extends BinaryStarStats {
  /** Requests received (served or not). */
  requests: number;
  /** Replies sent. */
  replies: number;
  /** Requests dropped because this server was not active. */
  refusedRequests: number;
  /** Requests whose handler threw, rejected or returned no message (no reply: the client retries). */
  failed: number;
  /** Malformed requests at the frontend. */
  malformedFrontend: number;
}

/** Events of a {@link BinaryStarServer}: the {@link BinaryStar}'s, plus requests. */
export interface BinaryStarServerEvents {
  [event: string]: unknown[];
  /** The state changed. */
  "bstar:state": BinaryStarEvents["bstar:state"];
  /** This server became active: it answers clients. */
  "bstar:active": BinaryStarEvents["bstar:active"];
  /** This server became passive: it drops client requests. */
  "bstar:passive": BinaryStarEvents["bstar:passive"];
  /** Both servers active or passive (or two of one role): it stops answering; recovery is manual. */
  "bstar:fatal": BinaryStarEvents["bstar:fatal"];
  /** A request was dropped: this server is not active. */
  "request:refused": [{ client: Buffer; state: BinaryStarState }];
  /** A handler failed: no reply. */
  "request:failed": [{ client: Buffer; error: unknown }];
  /** Malformed input: a peer state message, or a frontend message without envelope or body. */
  "message:malformed": [{ socket: "remote" | "frontend"; reason: string; frames: number; id?: Buffer }];
}

const OWNER = "BinaryStarServer";
const FORWARDED = [...BINARY_STAR_STATE_EVENTS, "message:malformed"] as const;

/**
 * See the module documentation.
 *
 * ```ts
 * const primary = await BinaryStarServer.start({
 *   role: "primary", frontend: "tcp://*:5001", local: "tcp://*:5003", remote: "tcp://127.0.0.1:5004",
 *   handler: (frames) => frames,
 * });
 * ```
 */
export class BinaryStarServer extends Lifecycle<BinaryStarServerEvents> {
  /** The Binary Star part (state machine and state exchange). */
  readonly star: BinaryStar;
  readonly #frontend: readonly string[];
  readonly #handler: RequestHandler;
  #router: SocketHandle<zmq.Router> | undefined;
  #endpoints: string[] = [];
  readonly #c = { requests: 0, replies: 0, refusedRequests: 0, failed: 0, malformedFrontend: 0 };

  constructor(options: BinaryStarServerOptions) {
    const o = optionsObject(OWNER, options);
    const frontend = endpointsOption(OWNER, o, "frontend");
    const handler = functionOption<RequestHandler, RequestHandler>(OWNER, o, "handler", echoHandler);
    // The star's options, validated under our name before anything is made.
    const starSettings = binaryStarSettings(OWNER, o);
    super(OWNER, o);
    this.#frontend = frontend;
    this.#handler = handler;
    this.star = new BinaryStar({ ...starSettings, reactor: this.reactor });
    this.star.forward(this.emit.bind(this) as (event: string, payload: unknown) => void, FORWARDED);
  }

  /** The configured role. */
  get role(): BinaryStarRole {
    return this.star.role;
  }

  /** This server's Binary Star state. */
  get haState(): BinaryStarState {
    return this.star.haState;
  }

  /** True while it answers clients. */
  get serving(): boolean {
    return this.star.serving;
  }

  /** The fatal transition, once one happened. */
  get fatal(): BinaryStarFatal | undefined {
    return this.star.fatal;
  }

  /** The frontend endpoints as bound (ports chosen for `tcp://host:*`), once started. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /** Counters (see {@link BinaryStarServerStats}). */
  stats(): BinaryStarServerStats {
    return { ...this.star.stats(), ...this.#c };
  }

  protected async onStart(): Promise<void> {
    const router = this.ownSocket(new zmq.Router(), { name: "frontend", onMessage: (m) => this.#onRequest(m) });
    for (const ep of this.#frontend) {
      await router.socket.bind(ep);
      this.#endpoints.push(router.socket.lastEndpoint ?? ep);
    }
    this.#router = router;
    this.own(() => {
      this.#endpoints = [];
    });
    await this.star.start();
    this.own(() => this.star.close());
  }

  protected override async onClose(): Promise<void> {
    await this.star.close();
  }

  #onRequest(frames: Buffer[]): void {
    const split = splitEnvelope(frames);
    if (!split || split.body.length === 0) {
      this.#c.malformedFrontend++;
      this.emit("message:malformed", { socket: "frontend", reason: split ? "no body" : "no envelope", frames: frames.length, id: frames[0] });
      return;
    }
    this.#c.requests++;
    const client = split.envelope[0]!;
    if (!this.star.accept()) {
      this.#c.refusedRequests++;
      if (this.listenerCount("request:refused") > 0) this.emit("request:refused", { client, state: this.star.haState });
      return;
    }
    let result;
    try {
      result = this.#handler(split.body);
    } catch (error) {
      return this.#failed(client, error);
    }
    if (result instanceof Promise) {
      result.then(
        (reply) => this.#reply(split.envelope, client, reply),
        (error: unknown) => this.#failed(client, error),
      );
    } else this.#reply(split.envelope, client, result);
  }

  #reply(envelope: Buffer[], client: Buffer, reply: unknown): void {
    if (!isMessageLike(reply)) return this.#failed(client, new TypeError(`${OWNER}: the handler returned no message`));
    const router = this.#router;
    if (!router || router.closed) return;
    router.send(joinEnvelope(envelope, toFrames(reply)));
    this.#c.replies++;
  }

  #failed(client: Buffer, error: unknown): void {
    this.#c.failed++;
    this.emit("request:failed", { client, error });
  }
}
