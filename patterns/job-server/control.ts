/**
 * The job server's control endpoint: a ROUTER that answers `STATUS` with one JSON frame.
 *
 * Wire format (ours; any REQ or DEALER works):
 * - request: `"STATUS"` (a REQ adds the empty delimiter; a DEALER may send it too);
 * - reply: the same envelope, then one frame holding the status as JSON;
 * - an unknown command gets `{"error": "unknown command ..."}`; a message with no command frame
 *   is counted as malformed and dropped.
 *
 * It answers anyone who can connect, with pids and counters: so it binds only to loopback
 * (`tcp://127.0.0.1:...`, `tcp://[::1]:...`, `tcp://localhost:...`), `ipc://` or `inproc://`
 * unless `allowRemote` is set.
 * @module
 */
import * as zmq from "zeromq";
import {
  EMPTY,
  InvalidOptionError,
  Lifecycle,
  Reactor,
  TimeoutError,
  boolOption,
  endpointOption,
  functionOption,
  intOption,
  optionsObject,
  requiredOption,
  type LifecycleOptions,
  type SocketHandle,
} from "../../src/index.js";

/** The one command of the control protocol. */
export const STATUS_COMMAND = "STATUS";

/** Options of {@link ControlServer}. */
export interface ControlServerOptions extends LifecycleOptions {
  /** Where the ROUTER binds. */
  readonly bind: string;
  /** Called for every STATUS request; its result is sent back as JSON. */
  readonly status: () => unknown;
  /**
   * Allow a `tcp://` bind beyond loopback (`tcp://*:5557`, a LAN address). Default false: the
   * endpoint answers anyone who reaches it, so it stays on this host unless you say otherwise.
   */
  readonly allowRemote?: boolean;
}

/** True for `ipc://`, `inproc://` and a `tcp://` bind on a loopback address. */
export function isLocalEndpoint(endpoint: string): boolean {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(endpoint);
  if (!m) return false;
  const transport = m[1]!.toLowerCase();
  if (transport === "ipc" || transport === "inproc") return true;
  if (transport !== "tcp") return false;
  // tcp://host:port, tcp://[v6]:port; a "source;" prefix names the local side of a connect only.
  const hostPort = m[2]!;
  const host = hostPort.startsWith("[") ? hostPort.slice(1, hostPort.indexOf("]")) : hostPort.slice(0, hostPort.lastIndexOf(":"));
  return /^127(\.\d{1,3}){3}$/.test(host) || host === "::1" || host.toLowerCase() === "localhost" || host === "lo";
}

/**
 * The `bind` of a control endpoint: an endpoint, and (unless `allowRemote`) a local one;
 * otherwise an {@link InvalidOptionError} naming `name`.
 */
export function controlBindOption(owner: string, bag: Record<string, unknown>, name: string, allowRemote: boolean): string {
  const bind = endpointOption(owner, bag, name);
  if (!allowRemote && !isLocalEndpoint(bind)) {
    throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be a loopback tcp://, ipc:// or inproc:// endpoint (the control endpoint answers anyone who reaches it; set allowRemote / --control-remote to bind ${bind}), got ${JSON.stringify(bind)}`);
  }
  return bind;
}

/** Counters of a {@link ControlServer}. */
export interface ControlServerStats {
  /** Requests answered. */
  requests: number;
  /** Messages dropped for having no command frame. */
  malformed: number;
}

/** Events of a {@link ControlServer}. */
export interface ControlServerEvents {
  [event: string]: unknown[];
  /** A message with no command frame: counted and dropped. */
  "message:malformed": [{ socket: string; reason: string; frames: number; id?: Buffer }];
}

/** A control endpoint: `start()` binds a ROUTER at `bind`; `status()` is called for every STATUS request. */
export class ControlServer extends Lifecycle<ControlServerEvents> {
  readonly #bind: string;
  readonly #status: () => unknown;
  #handle: SocketHandle<zmq.Router> | undefined;
  #endpoint = "";
  #malformed = 0;
  #requests = 0;

  constructor(options: ControlServerOptions) {
    const owner = "ControlServer";
    const o = optionsObject(owner, options);
    requiredOption(owner, o, "bind", "an endpoint");
    const bind = controlBindOption(owner, o, "bind", boolOption(owner, o, "allowRemote", false));
    requiredOption(owner, o, "status", "a function");
    const status = functionOption<() => unknown, undefined>(owner, o, "status", undefined)!;
    super(owner, o, { linger: 0 });
    this.#bind = bind;
    this.#status = status;
  }

  /** The bound endpoint (real port), once started. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** Counters: requests answered, malformed messages dropped. */
  stats(): ControlServerStats {
    return { requests: this.#requests, malformed: this.#malformed };
  }

  protected async onStart(): Promise<void> {
    const router = new zmq.Router({ mandatory: true, sendTimeout: 0, linger: 0 });
    const handle = this.ownSocket(router, { name: "control", overflow: "drop-newest", onMessage: (frames) => this.#onMessage(frames) });
    await router.bind(this.#bind);
    this.#endpoint = router.lastEndpoint ?? this.#bind;
    this.#handle = handle;
  }

  #onMessage(frames: Buffer[]): void {
    // [id, "", cmd] from REQ (or a DEALER that adds the delimiter), [id, cmd] from a DEALER.
    const delimited = frames.length === 3 && frames[1]!.length === 0;
    if (!(delimited || frames.length === 2) || frames[frames.length - 1]!.length === 0) {
      this.#malformed++;
      this.emit("message:malformed", { socket: "control", reason: "expected [id, (\"\"), command]", frames: frames.length, id: frames[0] });
      return;
    }
    const command = frames[frames.length - 1]!.toString("latin1");
    const envelope = frames.slice(0, frames.length - 1);
    this.#requests++;
    const body = command === STATUS_COMMAND ? this.#status() : { error: `unknown command ${JSON.stringify(command.slice(0, 40))}` };
    this.#handle?.send([...envelope, JSON.stringify(body)]);
  }
}

/**
 * Ask a control endpoint for its status; rejects with {@link TimeoutError} after `timeout` ms
 * (default 2000), with an {@link InvalidOptionError} for a bad endpoint or timeout.
 */
export async function requestStatus(endpoint: string, timeout = 2000): Promise<unknown> {
  const owner = "requestStatus";
  const ep = endpointOption(owner, { endpoint }, "endpoint");
  const ms = intOption(owner, { timeout }, "timeout", 2000, 1);
  const reactor = new Reactor({ linger: 0 });
  try {
    const reply = new Promise<Buffer[]>((resolve) => {
      const dealer = new zmq.Dealer({ linger: 0 });
      const handle = reactor.add(dealer, { name: "status-client", onMessage: (frames) => resolve(frames) });
      try {
        dealer.connect(ep);
      } catch (error) {
        throw new InvalidOptionError("endpoint", `${owner}: cannot connect to ${ep}: ${error instanceof Error ? error.message : String(error)}`);
      }
      handle.send([EMPTY, STATUS_COMMAND]);
    });
    const frames = await Promise.race([
      reply,
      new Promise<never>((_, reject) => reactor.after(ms, () => reject(new TimeoutError(`no status from ${ep} within ${ms} ms`)))),
    ]);
    return JSON.parse(frames[frames.length - 1]!.toString("utf8")) as unknown;
  } finally {
    await reactor.close();
  }
}
