/**
 * The job server's control endpoint: a ROUTER that answers `STATUS` with one JSON frame.
 *
 * Wire format (ours; any REQ or DEALER works):
 * - request: `"STATUS"` (a REQ adds the empty delimiter; a DEALER may send it too);
 * - reply: the same envelope, then one frame holding the status as JSON;
 * - an unknown command gets `{"error": "unknown command ..."}`; a message with no command frame
 *   is counted as malformed and dropped.
 * @module
 */
import * as zmq from "zeromq";
import { EMPTY, Reactor, TimeoutError, type SocketHandle } from "../../src/index.js";

/** The one command of the control protocol. */
export const STATUS_COMMAND = "STATUS";

/** A control endpoint bound on a reactor; `status()` is called for every STATUS request. */
export class ControlServer {
  readonly #handle: SocketHandle<zmq.Router>;
  #malformed = 0;
  #requests = 0;

  private constructor(handle: SocketHandle<zmq.Router>) {
    this.#handle = handle;
  }

  /** Bind a ROUTER at `endpoint` on `reactor`; the reactor closes it. */
  static async bind(reactor: Reactor, endpoint: string, status: () => unknown): Promise<ControlServer> {
    const router = new zmq.Router({ mandatory: true, sendTimeout: 0, linger: 0 });
    try {
      await router.bind(endpoint);
    } catch (error) {
      router.close();
      throw error;
    }
    let server: ControlServer | undefined;
    const handle = reactor.add(router, {
      name: "control",
      overflow: "drop-newest",
      onMessage: (frames) => server!.#onMessage(frames, status),
    });
    server = new ControlServer(handle);
    return server;
  }

  /** The bound endpoint (real port). */
  get endpoint(): string {
    return this.#handle.socket.lastEndpoint ?? "";
  }

  /** Counters: requests answered, malformed messages dropped. */
  stats(): { requests: number; malformed: number } {
    return { requests: this.#requests, malformed: this.#malformed };
  }

  #onMessage(frames: Buffer[], status: () => unknown): void {
    // [id, "", cmd] from REQ (or a DEALER that adds the delimiter), [id, cmd] from a DEALER.
    const delimited = frames.length === 3 && frames[1]!.length === 0;
    if (!(delimited || frames.length === 2) || frames[frames.length - 1]!.length === 0) {
      this.#malformed++;
      return;
    }
    const command = frames[frames.length - 1]!.toString("latin1");
    const envelope = frames.slice(0, frames.length - 1);
    this.#requests++;
    const body = command === STATUS_COMMAND ? status() : { error: `unknown command ${JSON.stringify(command.slice(0, 40))}` };
    this.#handle.send([...envelope, JSON.stringify(body)]);
  }
}

/** Ask a control endpoint for its status; rejects with {@link TimeoutError} after `timeout` ms. */
export async function requestStatus(endpoint: string, timeout = 2000): Promise<unknown> {
  const reactor = new Reactor({ linger: 0 });
  try {
    const reply = new Promise<Buffer[]>((resolve) => {
      const dealer = new zmq.Dealer({ linger: 0 });
      dealer.connect(endpoint);
      const handle = reactor.add(dealer, { name: "status-client", onMessage: (frames) => resolve(frames) });
      handle.send([EMPTY, STATUS_COMMAND]);
    });
    const frames = await Promise.race([
      reply,
      new Promise<never>((_, reject) => reactor.after(timeout, () => reject(new TimeoutError(`no status from ${endpoint} within ${timeout} ms`)))),
    ]);
    return JSON.parse(frames[frames.length - 1]!.toString("utf8")) as unknown;
  } finally {
    await reactor.close();
  }
}
