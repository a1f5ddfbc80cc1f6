/**
 * Pipelined Lazy Pirate client: a DEALER with a request-id frame, for queues that forward
 * the whole address stack (Simple Pirate, Paranoid Pirate, any ROUTER-REQ/REP chain).
 * @module
 */
import * as zmq from "zeromq";
import { EMPTY, intOption, optionsObject, type SocketHandle } from "../../src/index.js";
import { RetryingClient, parseClientOptions, type ClientOptions, type Job } from "./common.js";

/** Options of {@link PipelinedClient}. */
export interface PipelinedOptions extends ClientOptions {
  /** Requests attempted at once (the in-flight window). Default 100. */
  readonly maxInFlight?: number;
  /** zeromq.js options for the DEALER socket (`linger` is taken from `linger`). */
  readonly socketOptions?: zmq.SocketOptions<zmq.Dealer>;
}

/** Size of the request-id frame: a 32-bit big-endian counter. */
export const REQUEST_ID_SIZE = 4;

/**
 * Pipelined client (Guide ch4 Lazy Pirate, with the request numbers ch4 lists for an
 * asynchronous client): many requests in flight on one DEALER. Each request goes out as
 * `[requestId, EMPTY, ...body]`; a queue that returns the address stack untouched replies
 * `[requestId, EMPTY, ...reply]`, matched by id. Timeouts, retries (resent with the same id)
 * and backoff work per request as in {@link LazyPirateClient}; replies with an unknown,
 * late or duplicate id are discarded and counted. Needs a peer that keeps the envelope: a
 * plain REP server does (it echoes the address stack), so do ROUTER queues.
 */
export class PipelinedClient extends RetryingClient {
  readonly #handle: SocketHandle<zmq.Dealer>;
  readonly #inFlight = new Map<number, Job>();
  #nextId = 0;

  constructor(options: PipelinedOptions) {
    const settings = parseClientOptions("PipelinedClient", options);
    const maxInFlight = intOption("PipelinedClient", optionsObject("PipelinedClient", options), "maxInFlight", 100, 1);
    super("PipelinedClient", settings, maxInFlight);
    const socket = new zmq.Dealer({ ...settings.socketOptions, linger: settings.linger });
    this.#handle = this.reactor.add(socket, {
      name: "pipelined-dealer",
      linger: settings.linger,
      sendQueueLimit: Math.max(maxInFlight, 1),
      overflow: "drop-oldest",
      onMessage: (reply) => this.#onReply(reply),
    });
    socket.connect(this.endpoint);
  }

  protected sendAttempt(job: Job): void {
    if (job.id === undefined) {
      job.key = this.#nextId;
      this.#nextId = (this.#nextId + 1) >>> 0;
      job.id = Buffer.allocUnsafe(REQUEST_ID_SIZE);
      job.id.writeUInt32BE(job.key);
      this.#inFlight.set(job.key, job);
    }
    this.#handle.send([job.id, EMPTY, ...job.frames]);
  }

  protected attemptFailed(): void {
    // A DEALER has no state to reset: the resend goes out with the same id, and a late
    // reply to the earlier attempt answers the request if it comes first.
  }

  protected released(job: Job): void {
    if (job.id !== undefined && this.#inFlight.get(job.key) === job) this.#inFlight.delete(job.key);
  }

  protected closeSockets(): Promise<void> {
    return this.#handle.close(this.settings.linger);
  }

  #onReply(reply: Buffer[]): void {
    const id = reply[0];
    if (reply.length < 2 || id === undefined || id.length !== REQUEST_ID_SIZE || reply[1]!.length !== 0) {
      this.discard("malformed", reply);
      return;
    }
    const job = this.#inFlight.get(id.readUInt32BE(0));
    if (job === undefined || !this.answer(job, reply.slice(2))) this.discard("unknown", reply);
  }
}
