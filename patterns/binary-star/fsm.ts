/**
 * The Binary Star state machine (Guide ch4 "High-Availability Pair"), socket-free, on an
 * injectable clock. A pair of servers, one `primary` and one `backup`, exchange their states;
 * the machine decides which of the two serves clients.
 *
 * States: `primary` and `backup` (just started, the peer not heard yet), `active` (serving),
 * `passive` (standing by). Events: the peer's state (`peer-primary`, `peer-backup`,
 * `peer-active`, `peer-passive`) and `client-request`.
 *
 * | state \ event | peer-primary | peer-backup | peer-active | peer-passive | client-request |
 * |---|---|---|---|---|---|
 * | primary | fatal `both-primary` | → active | → passive | stays | → active if the peer expired, else refused |
 * | backup | stays | fatal `both-backup` | → passive | stays | refused |
 * | active | stays | stays | fatal `both-active` | stays | served |
 * | passive | → active | → active | stays | fatal `both-passive` | → active if the peer expired (the client vote), else refused |
 *
 * Every peer event sets the peer's expiry to `now + 2 * heartbeatInterval`; the machine
 * starts with the same expiry from its construction, so a primary that comes up alone
 * serves only once that long has passed without hearing an active peer. A backup that never
 * saw its primary never becomes active (only a passive server takes the client vote, and a
 * backup becomes passive only by seeing an active primary). A primary that comes up while
 * the backup is active sees `peer-active` and becomes passive.
 *
 * A fatal transition (both active, both passive, two primaries, two backups) is reported as
 * a `fatal` event and leaves the machine failed: it refuses every client request and ignores
 * every later event (the Guide's servers exit; recovery is manual).
 * @module
 */
import { TypedEmitter, clockOption, enumOption, intOption, optionsObject, requiredOption, type Clock } from "../../src/index.js";

/** A server's Binary Star state. */
export type BinaryStarState = "primary" | "backup" | "active" | "passive";
/** What the machine reacts to. */
export type BinaryStarEvent = "peer-primary" | "peer-backup" | "peer-active" | "peer-passive" | "client-request";
/** A server's configured role. */
export type BinaryStarRole = "primary" | "backup";
/** Why the pair cannot go on. */
export type BinaryStarFatalReason = "both-active" | "both-passive" | "both-primary" | "both-backup";

/** The states, in the wire order of the Guide (`1` = primary ... `4` = passive). */
export const BINARY_STAR_STATES: readonly BinaryStarState[] = ["primary", "backup", "active", "passive"];
/** The roles. */
export const BINARY_STAR_ROLES: readonly BinaryStarRole[] = ["primary", "backup"];
/** Default interval between state messages, ms (the Guide's `HEARTBEAT`). */
export const BSTAR_HEARTBEAT_INTERVAL = 1000;

/** Options of {@link BinaryStarFsm}. */
export interface BinaryStarFsmOptions {
  /** `primary` or `backup`. Required. */
  readonly role: BinaryStarRole;
  /** ms between state messages; the peer expires 2 x this after its last one. Default 1000. */
  readonly heartbeatInterval?: number;
  /** Clock (tests: a `ManualClock`). Default the system clock. */
  readonly clock?: Clock;
}

/** A state change. */
export interface BinaryStarTransition {
  readonly from: BinaryStarState;
  readonly to: BinaryStarState;
  readonly event: BinaryStarEvent;
}

/** A fatal transition. */
export interface BinaryStarFatal {
  readonly reason: BinaryStarFatalReason;
  /** The state we were in. */
  readonly state: BinaryStarState;
  readonly event: BinaryStarEvent;
}

/** What one event did. */
export interface BinaryStarOutcome {
  /** The state after the event. */
  readonly state: BinaryStarState;
  /** The state changed. */
  readonly changed: boolean;
  /** `client-request`: serve it (false: refuse it). Peer events: false. */
  readonly accept: boolean;
  /** Set when this event was fatal (or the machine had failed already). */
  readonly fatal?: BinaryStarFatal;
}

/** Events of {@link BinaryStarFsm}. */
export interface BinaryStarFsmEvents {
  [event: string]: unknown[];
  /** The state changed. */
  "state:changed": [BinaryStarTransition];
  /** A fatal transition: the machine failed. */
  fatal: [BinaryStarFatal];
}

const OWNER = "BinaryStarFsm";

/** See the module documentation. */
export class BinaryStarFsm extends TypedEmitter<BinaryStarFsmEvents> {
  /** The configured role. */
  readonly role: BinaryStarRole;
  /** ms between state messages. */
  readonly heartbeatInterval: number;
  readonly #clock: Clock;
  #state: BinaryStarState;
  #peerExpiry: number;
  #peerSeen = false;
  #fatal: BinaryStarFatal | undefined;

  constructor(options: BinaryStarFsmOptions) {
    super();
    const o = optionsObject(OWNER, options);
    requiredOption(OWNER, o, "role", '"primary" or "backup"');
    this.role = enumOption(OWNER, o, "role", BINARY_STAR_ROLES, "primary");
    this.heartbeatInterval = intOption(OWNER, o, "heartbeatInterval", BSTAR_HEARTBEAT_INTERVAL, 1);
    this.#clock = clockOption(OWNER, o);
    this.#state = this.role;
    this.#peerExpiry = this.#clock.now() + 2 * this.heartbeatInterval;
  }

  /** The current state. */
  get state(): BinaryStarState {
    return this.#state;
  }

  /** True while this server should serve clients (active and not failed). */
  get serving(): boolean {
    return this.#state === "active" && !this.#fatal;
  }

  /** The fatal transition, once one happened. */
  get fatal(): BinaryStarFatal | undefined {
    return this.#fatal;
  }

  /** When the peer counts as gone (clock ms): 2 x `heartbeatInterval` after its last state. */
  get peerExpiry(): number {
    return this.#peerExpiry;
  }

  /** True once any peer state was seen. */
  get peerSeen(): boolean {
    return this.#peerSeen;
  }

  /** True when the peer has not been heard for 2 x `heartbeatInterval`. */
  get peerExpired(): boolean {
    return this.#clock.now() >= this.#peerExpiry;
  }

  /** The peer published `state`. */
  peer(state: BinaryStarState): BinaryStarOutcome {
    return this.handle(`peer-${state}`);
  }

  /** A client request arrived: true to serve it, false to refuse it (it is the client's vote). */
  clientRequest(): boolean {
    return this.handle("client-request").accept;
  }

  /** Feed one event. */
  handle(event: BinaryStarEvent): BinaryStarOutcome {
    if (this.#fatal) return { state: this.#state, changed: false, accept: false, fatal: this.#fatal };
    if (event !== "client-request") {
      this.#peerSeen = true;
      this.#peerExpiry = this.#clock.now() + 2 * this.heartbeatInterval;
    }
    const from = this.#state;
    const next = this.#next(from, event);
    if (typeof next === "object") {
      this.#fatal = { reason: next.fatal, state: from, event };
      this.emit("fatal", this.#fatal);
      return { state: from, changed: false, accept: false, fatal: this.#fatal };
    }
    const to = next ?? from;
    if (to !== from) {
      this.#state = to;
      this.emit("state:changed", { from, to, event });
    }
    return { state: to, changed: to !== from, accept: event === "client-request" && to === "active" };
  }

  #next(state: BinaryStarState, event: BinaryStarEvent): BinaryStarState | { fatal: BinaryStarFatalReason } | undefined {
    const expired = () => this.#clock.now() >= this.#peerExpiry;
    switch (state) {
      case "primary":
        if (event === "peer-primary") return { fatal: "both-primary" };
        if (event === "peer-backup") return "active";
        if (event === "peer-active") return "passive";
        if (event === "client-request" && expired()) return "active";
        return undefined;
      case "backup":
        if (event === "peer-backup") return { fatal: "both-backup" };
        if (event === "peer-active") return "passive";
        return undefined;
      case "active":
        if (event === "peer-active") return { fatal: "both-active" };
        return undefined;
      case "passive":
        if (event === "peer-primary" || event === "peer-backup") return "active";
        if (event === "peer-passive") return { fatal: "both-passive" };
        if (event === "client-request" && expired()) return "active";
        return undefined;
    }
  }
}
