/**
 * {@link BinaryStar}: the Binary Star part any server composes. It publishes this server's
 * state on a PUB socket, listens to the peer's on a SUB socket, runs the
 * {@link BinaryStarFsm} and tells the host when to serve: `accept()` for each client
 * request (true: serve it; false: refuse it), `bstar:active`/`bstar:passive`/`bstar:fatal`.
 *
 * Wire: one frame, the state as a decimal string, `1` primary, `2` backup, `3` active,
 * `4` passive (the Guide's numbering), published every `heartbeatInterval` and at once on
 * every change. Anything else is malformed: counted, reported and dropped.
 * @module
 */
import * as zmq from "zeromq";
import { InvalidOptionError, Lifecycle, endpointOption, enumOption, intOption, objectOption, optionsObject, requiredOption, type LifecycleOptions, type SocketHandle } from "../../src/index.js";
import { BINARY_STAR_ROLES, BINARY_STAR_STATES, BSTAR_HEARTBEAT_INTERVAL, BinaryStarFsm, type BinaryStarEvent, type BinaryStarFatal, type BinaryStarRole, type BinaryStarState, type BinaryStarTransition } from "./fsm.js";

/** Options of {@link BinaryStar}. */
export interface BinaryStarOptions extends LifecycleOptions {
  /** `primary` or `backup`. Required. */
  readonly role: BinaryStarRole;
  /** Where this server's state PUB binds, e.g. `tcp://*:5003`. Required. */
  readonly local: string;
  /** The peer's state PUB, which our SUB connects to, e.g. `tcp://127.0.0.1:5004`. Required. */
  readonly remote: string;
  /** ms between state messages; the peer expires after 2 x this. Default 1000. Use the same on both. */
  readonly heartbeatInterval?: number;
}

/** Counters of a {@link BinaryStar}. */
export interface BinaryStarStats {
  /** The state now. */
  state: BinaryStarState;
  /** Client requests served (`accept()` returned true). */
  accepted: number;
  /** Client requests refused. */
  refused: number;
  /** State messages published. */
  stateSent: number;
  /** Peer state messages received (well-formed). */
  stateReceived: number;
  /** Malformed state messages (dropped). */
  malformed: number;
  /** State changes. */
  transitions: number;
}

/** Events of a {@link BinaryStar}. */
export interface BinaryStarEvents {
  [event: string]: unknown[];
  /** The state changed. */
  "bstar:state": [BinaryStarTransition];
  /** This server became active: serve clients. */
  "bstar:active": [BinaryStarTransition];
  /** This server became passive: refuse clients. */
  "bstar:passive": [BinaryStarTransition];
  /** Both servers active or passive (or two of one role): stop; recovery is manual. */
  "bstar:fatal": [BinaryStarFatal];
  /** A client request was refused (this server is not active). */
  "bstar:refused": [{ state: BinaryStarState; peerExpired: boolean }];
  /** A peer state message that is not one: dropped. */
  "message:malformed": [{ socket: "remote"; reason: string; frames: number }];
}

const OWNER = "BinaryStar";

/** Validated {@link BinaryStarOptions} (without `reactor`/`signal`). */
export interface BinaryStarSettings {
  readonly role: BinaryStarRole;
  readonly local: string;
  readonly remote: string;
  readonly heartbeatInterval: number;
}

/** Validate the Binary Star options in `bag` (throws `InvalidOptionError` naming the option). */
export function binaryStarSettings(owner: string, bag: Readonly<Record<string, unknown>>): BinaryStarSettings {
  requiredOption(owner, bag, "role", '"primary" or "backup"');
  return {
    role: enumOption(owner, bag, "role", BINARY_STAR_ROLES, "primary"),
    local: endpointOption(owner, bag, "local"),
    remote: endpointOption(owner, bag, "remote"),
    heartbeatInterval: intOption(owner, bag, "heartbeatInterval", BSTAR_HEARTBEAT_INTERVAL, 1),
  };
}

/** The `ha` option of a broker that runs as one of a Binary Star pair. */
export type BinaryStarHaOptions = Omit<BinaryStarOptions, keyof LifecycleOptions>;

/**
 * Validate a host's nested `ha` option (`undefined` when absent); errors name `ha.role`,
 * `ha.local`, ... .
 */
export function binaryStarHaOption(owner: string, bag: Readonly<Record<string, unknown>>, name = "ha"): BinaryStarSettings | undefined {
  const ha = objectOption<Record<string, unknown>>(owner, bag, name);
  if (ha === undefined) return undefined;
  if (Array.isArray(ha)) throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be an object, got an array`);
  try {
    return binaryStarSettings(owner, ha);
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    const nested = `${name}.${error.option}`;
    throw new InvalidOptionError(nested, error.message.replace(`\`${error.option}\``, `\`${nested}\``));
  }
}

/** The state events a host (a server or broker composing a {@link BinaryStar}) passes on. */
export const BINARY_STAR_STATE_EVENTS = ["bstar:state", "bstar:active", "bstar:passive", "bstar:fatal"] as const;

/** Encode a state for the wire (`"1"` .. `"4"`). */
export function encodeState(state: BinaryStarState): Buffer {
  return Buffer.from(String(BINARY_STAR_STATES.indexOf(state) + 1));
}

/** Decode a peer state message: the state, or a reason it is malformed. */
export function decodeState(frames: readonly Buffer[]): { state: BinaryStarState } | { reason: string } {
  if (frames.length !== 1) return { reason: `expected 1 frame, got ${frames.length}` };
  const text = frames[0]!.toString("latin1");
  const n = /^[1-4]$/.test(text) ? Number(text) : 0;
  if (n === 0) return { reason: `unknown state ${JSON.stringify(text.slice(0, 16))}` };
  return { state: BINARY_STAR_STATES[n - 1]! };
}

/**
 * See the module documentation.
 *
 * ```ts
 * const star = await BinaryStar.start({ role: "primary", local: "tcp://*:5003", remote: "tcp://127.0.0.1:5004" });
 * router.on(request => { if (star.accept()) serve(request); });
 * ```
 */
export class BinaryStar extends Lifecycle<BinaryStarEvents> {
  /** The configured role. */
  readonly role: BinaryStarRole;
  /** The state PUB endpoint. */
  readonly local: string;
  /** The peer's state PUB endpoint. */
  readonly remote: string;
  /** ms between state messages. */
  readonly heartbeatInterval: number;
  /** The state machine (on the reactor's clock). */
  readonly fsm: BinaryStarFsm;
  #pub: SocketHandle<zmq.Publisher> | undefined;
  readonly #c = { accepted: 0, refused: 0, stateSent: 0, stateReceived: 0, malformed: 0, transitions: 0 };

  constructor(options: BinaryStarOptions) {
    const o = optionsObject(OWNER, options);
    const { role, local, remote, heartbeatInterval } = binaryStarSettings(OWNER, o);
    super(OWNER, o);
    this.role = role;
    this.local = local;
    this.remote = remote;
    this.heartbeatInterval = heartbeatInterval;
    this.fsm = new BinaryStarFsm({ role, heartbeatInterval, clock: this.reactor.clock });
    this.fsm.on("state:changed", (t) => this.#changed(t));
    this.fsm.on("fatal", (f) => this.emit("bstar:fatal", f));
  }

  /** This server's Binary Star state (`state` is the lifecycle's). */
  get haState(): BinaryStarState {
    return this.fsm.state;
  }

  /** True while this server serves clients. */
  get serving(): boolean {
    return this.fsm.serving;
  }

  /** The fatal transition, once one happened. */
  get fatal(): BinaryStarFatal | undefined {
    return this.fsm.fatal;
  }

  /** The state PUB's bound endpoint (the port chosen for `tcp://host:*`), once started. */
  get localEndpoint(): string | undefined {
    return this.#pub?.socket.lastEndpoint ?? undefined;
  }

  /**
   * A client request arrived: true to serve it, false to refuse it. Every call is a client
   * vote: a passive server whose peer has expired becomes active here.
   */
  /** Pass `events` (default: the state events) on to a host's `emit`; returns a function that stops it. */
  forward(emit: (event: string, payload: unknown) => void, events: readonly string[] = BINARY_STAR_STATE_EVENTS): () => void {
    const on = this.on.bind(this) as (event: string, listener: (payload: unknown) => void) => () => void;
    const offs = events.map((event) => on(event, (payload) => emit(event, payload)));
    return () => {
      for (const off of offs) off();
    };
  }

  accept(): boolean {
    if (this.closed) return false;
    const ok = this.fsm.clientRequest();
    if (ok) this.#c.accepted++;
    else {
      this.#c.refused++;
      if (this.listenerCount("bstar:refused") > 0) this.emit("bstar:refused", { state: this.fsm.state, peerExpired: this.fsm.peerExpired });
    }
    return ok;
  }

  /** Counters (see {@link BinaryStarStats}). */
  stats(): BinaryStarStats {
    return { state: this.fsm.state, ...this.#c };
  }

  protected async onStart(): Promise<void> {
    const pub = this.ownSocket(new zmq.Publisher(), { name: "bstar-local", overflow: "drop-oldest", sendQueueLimit: 10 });
    await pub.socket.bind(this.local);
    this.#pub = pub;
    const sub = this.ownSocket(new zmq.Subscriber(), { name: "bstar-remote", onMessage: (m) => this.#onPeer(m) });
    sub.socket.subscribe();
    sub.socket.connect(this.remote);
    this.ownTimer(this.reactor.every(this.heartbeatInterval, () => this.#publish()));
    this.#publish();
  }

  #publish(): void {
    if (!this.#pub || this.#pub.closed) return;
    this.#pub.send([encodeState(this.fsm.state)]);
    this.#c.stateSent++;
  }

  #onPeer(frames: Buffer[]): void {
    const decoded = decodeState(frames);
    if ("reason" in decoded) {
      this.#c.malformed++;
      this.emit("message:malformed", { socket: "remote", reason: decoded.reason, frames: frames.length });
      return;
    }
    this.#c.stateReceived++;
    this.fsm.handle(`peer-${decoded.state}` as BinaryStarEvent);
  }

  #changed(t: BinaryStarTransition): void {
    this.#c.transitions++;
    this.emit("bstar:state", t);
    if (t.to === "active") this.emit("bstar:active", t);
    else if (t.to === "passive") this.emit("bstar:passive", t);
    // Tell the peer at once (it would learn within heartbeatInterval anyway).
    this.#publish();
  }
}
