/**
 * Lazy Pirate client (Guide ch4): reliable request-reply on a REQ socket, so it talks to any
 * REP server (or anything that answers like one: ROUTER brokers, Simple Pirate queues).
 * @module
 */
import * as zmq from "zeromq";
import { functionOption, optionsObject, type SocketHandle } from "../../src/index.js";
import { RetryingClient, parseClientOptions, type ClientOptions, type Job, type ReopenReason } from "./common.js";

/** Options of {@link LazyPirateClient}. */
export interface LazyPirateOptions extends ClientOptions {
  /** zeromq.js options for each REQ socket it opens (`linger` is taken from `linger`). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Request>;
  /**
   * Decide whether `reply` answers `request` (the Guide checks that the reply carries the
   * request's sequence number). A refused reply is discarded (`reply:discarded`, reason
   * `rejected`) and the attempt keeps waiting until its timeout. Default: accept every reply.
   */
  readonly accept?: (reply: Buffer[], request: Buffer[]) => boolean;
}

/**
 * Lazy Pirate client (Guide ch4 "Client-Side Reliability"): sends each request on a REQ
 * socket and waits `requestTimeout` ms for the reply; on timeout it closes the socket with
 * linger 0, opens a new one and resends the same request, up to `retries` times (with the
 * optional backoff, through `p-retry`), then rejects with {@link RequestAbandonedError}.
 *
 * Requests on one client are serialized (a REQ socket has one request outstanding): they
 * wait in a bounded backlog. Each may carry its own `signal` and `timeout`.
 *
 * ```ts
 * const client = new LazyPirateClient({ endpoint: "tcp://127.0.0.1:5555" });
 * const reply = await client.request(["hello"]);
 * await client.close();
 * ```
 */
export class LazyPirateClient extends RetryingClient {
  readonly #accept: ((reply: Buffer[], request: Buffer[]) => boolean) | undefined;
  #handle!: SocketHandle<zmq.Request>;
  #generation = 0;
  #current: Job | undefined;
  readonly #retiring = new Set<Promise<void>>();

  constructor(options: LazyPirateOptions) {
    const settings = parseClientOptions("LazyPirateClient", options);
    super("LazyPirateClient", settings, 1);
    this.#accept = functionOption<(reply: Buffer[], request: Buffer[]) => boolean, undefined>("LazyPirateClient", optionsObject("LazyPirateClient", options), "accept", undefined);
    this.#open();
  }

  protected sendAttempt(job: Job): void {
    this.#current = job;
    this.#handle.send(job.frames);
  }

  protected attemptFailed(_job: Job, reason: ReopenReason): void {
    // The REQ socket now waits for a reply that may never come (strict FSM): replace it.
    this.#current = undefined;
    this.#retire();
    this.#open();
    this.counters.reopened++;
    this.emit("socket:reopened", { reason, endpoint: this.endpoint, count: this.counters.reopened });
  }

  protected released(job: Job): void {
    if (this.#current === job) this.#current = undefined;
  }

  protected async closeSockets(): Promise<void> {
    this.#retire();
    await Promise.all(this.#retiring);
  }

  #open(): void {
    const socket = new zmq.Request({ ...this.settings.socketOptions, linger: this.settings.linger });
    const generation = ++this.#generation;
    this.#handle = this.reactor.add(socket, {
      name: `lazy-pirate-req-${generation}`,
      linger: this.settings.linger,
      sendQueueLimit: 1,
      overflow: "drop-oldest",
      onMessage: (reply) => this.#onReply(reply),
    });
    socket.connect(this.endpoint);
  }

  #retire(): void {
    const closing = this.#handle.close(this.settings.linger);
    this.#retiring.add(closing);
    void closing.then(() => this.#retiring.delete(closing));
  }

  // A retired socket never calls back (the reactor dispatches nothing after a handle's
  // close()), so a reply here is for the current socket; it is stale only when no attempt
  // is waiting for it.
  #onReply(reply: Buffer[]): void {
    const job = this.#current;
    if (job === undefined || job.attempt === undefined) {
      this.discard("stale", reply);
      return;
    }
    if (this.#accept && !this.#accept(reply, job.frames)) {
      this.discard("rejected", reply);
      return;
    }
    this.#current = undefined;
    this.answer(job, reply);
  }
}
