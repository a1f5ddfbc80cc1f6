/**
 * Freelance server (10/FLP): a ROUTER bound at its public endpoint, with that endpoint as its
 * routing id. Answers `PING` with `PONG` and each request with its CCF, unmodified, followed
 * by the handler's reply.
 * @module
 */
import * as zmq from "zeromq";
import {
  BoundedQueue,
  InvalidOptionError,
  Lifecycle,
  endpointOption,
  functionOption,
  intOption,
  objectOption,
  optionsObject,
  requiredOption,
  toFrames,
  type LifecycleOptions,
  type RequestHandler,
  type SocketHandle,
} from "../../src/index.js";
import { parseClientMessage, pongMessage, replyMessage } from "./protocol.js";

/** Options of {@link FreelanceServer}. */
export interface FreelanceServerOptions extends LifecycleOptions {
  /** The one endpoint to bind; it is also the server's routing id, so give it as clients connect to it (`tcp://192.168.1.5:5555`, not `tcp://*:5555`). Required. */
  readonly bind: string;
  /** Turns the request body into the reply body; may be async (`echoHandler`, `upperHandler`). Required. */
  readonly handler: RequestHandler;
  /** Handlers running at once. Default 100. */
  readonly maxInFlight?: number;
  /** Requests waiting for a handler slot; beyond it the newest is dropped (`request:dropped`, reason `overflow`). Default 1000. */
  readonly maxPending?: number;
  /** The socket's send queue (overflow: the newest is dropped and counted). Default 10000. */
  readonly sendQueueLimit?: number;
  /** zeromq.js options for the ROUTER (`routingId` is always the `bind` endpoint). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Router>;
}

/** Events of {@link FreelanceServer} (beside the lifecycle's). */
export interface FreelanceServerEvents {
  [event: string]: unknown[];
  /** A message broke 10/FLP: counted and dropped. */
  "message:malformed": [{ socket: "router"; reason: string; frames: number; id?: Buffer }];
  /** A handler threw, rejected or returned no message: no reply goes out (the client retries elsewhere). */
  "request:failed": [{ client: Buffer; error: unknown }];
  /** A request was dropped before its handler ran. */
  "request:dropped": [{ client: Buffer; reason: "overflow" | "closed" }];
}

/** Counters of {@link FreelanceServer}. */
export interface FreelanceServerStats {
  /** PINGs answered. */
  pings: number;
  /** Requests received. */
  requests: number;
  /** Replies sent. */
  replies: number;
  /** Requests whose handler failed. */
  failed: number;
  /** Requests dropped before their handler ran. */
  droppedRequests: number;
  /** Replies the socket did not take (send queue full). */
  droppedReplies: number;
  /** Malformed messages. */
  malformed: number;
  /** Handlers running now. */
  running: number;
  /** Requests waiting for a handler slot now. */
  pending: number;
}

interface Job {
  readonly client: Buffer;
  readonly ccf: Buffer;
  readonly body: Buffer[];
}

const OWNER = "FreelanceServer";

/**
 * See the module documentation. Starts by itself (or `await server.start()`, which resolves
 * once bound and rejects when the endpoint cannot be bound).
 *
 * ```ts
 * const server = await FreelanceServer.start({ bind: "tcp://127.0.0.1:5555", handler: echoHandler });
 * ```
 */
export class FreelanceServer extends Lifecycle<FreelanceServerEvents> {
  /** The bound endpoint, also the routing id. */
  readonly endpoint: string;
  readonly #handler: RequestHandler;
  readonly #maxInFlight: number;
  readonly #sendQueueLimit: number;
  readonly #socketOptions: zmq.SocketOptions<zmq.Router>;
  readonly #backlog: BoundedQueue<Job>;
  #handle: SocketHandle<zmq.Router> | undefined;
  readonly #stats = { pings: 0, requests: 0, replies: 0, failed: 0, droppedRequests: 0, droppedReplies: 0, malformed: 0 };
  #running = 0;

  constructor(options: FreelanceServerOptions) {
    const o = optionsObject(OWNER, options);
    const endpoint = endpointOption(OWNER, o, "bind");
    if (endpoint.includes("*")) throw new InvalidOptionError("bind", `${OWNER}: \`bind\` is the server's routing id, the endpoint clients connect to: give an address, not a wildcard (got ${JSON.stringify(endpoint)})`);
    requiredOption(OWNER, o, "handler", "a function (frames) => reply");
    const handler = functionOption<RequestHandler, undefined>(OWNER, o, "handler", undefined)!;
    const maxInFlight = intOption(OWNER, o, "maxInFlight", 100, 1);
    const maxPending = intOption(OWNER, o, "maxPending", 1000, 1);
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10000, 1);
    const socketOptions = { ...(objectOption<zmq.SocketOptions<zmq.Router>>(OWNER, o, "socketOptions") ?? {}) };
    super(OWNER, o);
    this.endpoint = endpoint;
    this.#handler = handler;
    this.#maxInFlight = maxInFlight;
    this.#sendQueueLimit = sendQueueLimit;
    this.#socketOptions = socketOptions;
    this.#backlog = new BoundedQueue<Job>(maxPending, "drop-newest", `backlog of ${OWNER}`);
    this.startSoon();
  }

  /** Counters (see {@link FreelanceServerStats}). */
  stats(): FreelanceServerStats {
    return { ...this.#stats, running: this.#running, pending: this.#backlog.size };
  }

  protected async onStart(): Promise<void> {
    const router = new zmq.Router({ linger: 0, ...this.#socketOptions, routingId: this.endpoint, mandatory: false });
    this.#handle = this.ownSocket(router, {
      name: "freelance-server",
      sendQueueLimit: this.#sendQueueLimit,
      overflow: "drop-newest",
      onMessage: (frames) => this.#onMessage(frames),
    });
    await router.bind(this.endpoint);
  }

  protected override onClose(): void {
    for (const job of this.#backlog.drain()) this.#drop(job, "closed");
  }

  #onMessage(frames: Buffer[]): void {
    const client = frames[0]!;
    const cmd = parseClientMessage(frames);
    switch (cmd.type) {
      case "ping":
        this.#stats.pings++;
        this.#send(pongMessage(client));
        return;
      case "request": {
        this.#stats.requests++;
        const job: Job = { client, ccf: cmd.ccf, body: cmd.body };
        if (this.#running < this.#maxInFlight) return void this.#run(job);
        const { accepted } = this.#backlog.push(job);
        if (!accepted) this.#drop(job, "overflow");
        return;
      }
      case "malformed":
        this.#stats.malformed++;
        if (this.listenerCount("message:malformed") > 0) this.emit("message:malformed", { socket: "router", reason: cmd.reason, frames: frames.length, id: client });
    }
  }

  #drop(job: Job, reason: "overflow" | "closed"): void {
    this.#stats.droppedRequests++;
    if (this.listenerCount("request:dropped") > 0) this.emit("request:dropped", { client: job.client, reason });
  }

  async #run(job: Job): Promise<void> {
    this.#running++;
    try {
      const reply = toFrames(await this.#handler(job.body));
      if (this.closed) this.#stats.droppedReplies++;
      else {
        this.#stats.replies++;
        this.#send(replyMessage(job.client, job.ccf, reply));
      }
    } catch (error) {
      this.#stats.failed++;
      if (this.listenerCount("request:failed") > 0) this.emit("request:failed", { client: job.client, error });
    } finally {
      this.#running--;
      const next = this.closed ? undefined : this.#backlog.shift();
      if (next) void this.#run(next);
    }
  }

  #send(message: Buffer[]): void {
    if (!this.#handle || this.#handle.closed) return;
    if (!this.#handle.send(message)) this.#stats.droppedReplies++;
  }
}
