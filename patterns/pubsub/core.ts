/**
 * The socket-free heart of the ZPS/1 server (PROTOCOL.md §4): the connection table
 * (identity -> principal, subscriptions, O(1) expiry ticket), the routing table (a
 * {@link TopicTrie} from patterns to sessions), the command state machine and fan-out.
 * {@link PubSubServer} puts it on a ROUTER; tests and load tools drive it directly through
 * {@link PubSubCore.handle} with a `transmit` function of their own.
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { describeId, functionOption, idKey, intOption, InvalidOptionError, optionsObject, PeerTable, Reactor, requiredOption, toFrame, TypedEmitter, type FrameLike, type PeerEntry, type Timer } from "../../src/index.js";
import { isDenial, type Authenticator, type Principal } from "./auth.js";
import { isParseError, LIMITS, MESSAGE_HEADER, MESSAGE_HEADER_1_1, parseClientCommand, PROTOCOL_1_1, statusFrames, STATUS, uint64Frame, type ProtocolVersion, type StatusCode } from "./protocol.js";
import { TopicTrie } from "./trie.js";

/** One row of the connection table (§4.2). */
export interface Session {
  readonly identity: Buffer;
  /** `idKey(identity)`. */
  readonly key: string;
  principal: Principal;
  /** Entitlements as bytes. */
  entitlements: Buffer[];
  /** sha256(user NUL secret) of the credentials that authenticated this session. */
  digest: Buffer;
  /** Patterns, keyed by their latin1 text. */
  readonly patterns: Map<string, Buffer>;
  /** Copies queued for this subscriber. */
  delivered: number;
  /** Copies dropped for this subscriber (HWM, full send queue). */
  dropped: number;
  /** §3.7 the version of its last HELLO: `ZPS/1.1` sessions get stamped MESSAGEs. */
  version: ProtocolVersion;
  /** §3.7 the sequence number of its last copy (delivered or dropped); 0 before the first. */
  seq: number;
  /** @internal publish epoch of the last delivery (one copy per publish). */
  stamp: number;
  /** @internal clock time until which copies are dropped without trying (§4.6.4). */
  congestedUntil: number;
}

/** Public view of a client. */
export interface ClientInfo {
  identity: Buffer;
  /** Printable identity. */
  id: string;
  principal: Principal;
  patterns: Buffer[];
  delivered: number;
  dropped: number;
  /** §3.7 the protocol version of the session. */
  version: ProtocolVersion;
  /** §3.7 the sequence number of its last copy (delivered or dropped). */
  seq: number;
}

/** Events of {@link PubSubCore} and {@link PubSubServer}. */
export interface PubSubServerEvents {
  [event: string]: unknown[];
  /** §4.1: a new session was created. */
  "client:authenticated": [{ identity: Buffer; principal: Principal; patterns: Buffer[] }];
  /** §4.5: a session presented new credentials and they were accepted. */
  "client:reauthenticated": [{ identity: Buffer; principal: Principal; previous: Principal }];
  /** §4.1: credentials refused (`hadSession`: the identity lost its session, §4.5). */
  "client:denied": [{ identity: Buffer; user: string; status: StatusCode; reason: string; hadSession: boolean }];
  /** §4.4: no command for `expiry` ms: the session was purged. */
  "client:expired": [{ identity: Buffer; principal: Principal }];
  /** §4.6: the ROUTER could not route to the identity: the session was purged. */
  "client:evicted": [{ identity: Buffer; principal: Principal; reason: string }];
  /** §3.4: the client said BYE. */
  "client:left": [{ identity: Buffer; principal: Principal }];
  /** §4.2: patterns refused (403 outside entitlements, 429 over the limit). */
  "subscription:denied": [{ identity: Buffer; principal: Principal; status: 403 | 429; patterns: Buffer[] }];
  /**
   * §6: a message that is not valid ZPS/1 was counted and dropped. `socket`: `"router"` or
   * `"ingest"`; `frames`: its frame count (with the identity for the ROUTER); `id`: the
   * sender's identity (ROUTER).
   */
  "message:malformed": [{ socket: string; reason: string; frames: number; id?: Buffer }];
}

/** Counters of {@link PubSubCore}. */
export interface PubSubCoreStats {
  /** Sessions in the connection table. */
  clients: number;
  /** (pattern, session) pairs in the routing table. */
  subscriptions: number;
  /** Nodes of the routing trie. */
  trieNodes: number;
  /** Commands received. */
  received: number;
  /** `publish` calls. */
  published: number;
  /** Copies handed to the transport. */
  delivered: number;
  /** Copies dropped (all reasons, all subscribers). */
  dropped: number;
  /** Copies dropped without trying because the subscriber was congested (§4.6.4); part of `dropped`. */
  droppedCongested: number;
  /** Malformed messages counted and dropped. */
  malformed: number;
  authenticated: number;
  authFailures: number;
  /** Commands answered 429. */
  throttled: number;
  /** Authenticator errors (answered 500). */
  authErrors: number;
  expired: number;
  evicted: number;
  left: number;
  /** Trie nodes walked by the last publish. */
  lastPublishVisited: number;
  /** Subscribers visited by the last publish (before de-duplication). */
  lastPublishMatched: number;
  /** Drops per identity (printable), for sessions that have had drops. */
  drops: Record<string, number>;
}

/** Options of {@link PubSubCore}. */
export interface PubSubCoreOptions {
  /** Timers and expiry tickets run here. */
  readonly reactor: Reactor;
  readonly authenticator: Authenticator;
  /** Sends one message (identity frame first). Returns false when dropped at once. */
  readonly transmit: (frames: Buffer[]) => boolean;
  /** §4.4 session expiry, ms. Default 5000. */
  readonly expiry?: number;
  /** §4.7 maximum sessions. Default 100000. */
  readonly maxClients?: number;
  /** §4.2 maximum patterns per session. Default 1000. */
  readonly maxSubscriptionsPerClient?: number;
  /** §4.1 authentications in progress at once. Default 64. */
  readonly maxPendingAuth?: number;
  /** §4.1 after a refusal, HELLOs from that identity are answered 429 for this long, ms. Default 1000. */
  readonly authRetryDelay?: number;
  /** §4.6.4 after a drop at a subscriber's HWM, drop its copies without trying for this long, ms (0: always try). Default 10. */
  readonly congestionBackoff?: number;
  /** §3.7 the send time stamped on `ZPS/1.1` MESSAGEs, ms since the Unix epoch. Default `Date.now`. */
  readonly wallClock?: () => number;
}

/** §4.4 default session expiry, ms. */
export const DEFAULT_EXPIRY = 5000;

/** Digest of credentials, compared in constant time on every keep-alive. */
function digestOf(user: string, secret: Buffer): Buffer {
  return createHash("sha256").update(user).update("\0").update(secret).digest();
}

function allowed(pattern: Buffer, entitlements: readonly Buffer[]): boolean {
  for (const e of entitlements) {
    if (pattern.length >= e.length && pattern.compare(e, 0, e.length, 0, e.length) === 0) return true;
  }
  return false;
}

/** Why an authenticator's result is neither a {@link Principal} nor a {@link Denial} (undefined when it is one). */
function invalidResult(r: unknown): string | undefined {
  if (typeof r !== "object" || r === null) return `expected a principal or a denial, got ${String(r)}`;
  const o = r as Record<string, unknown>;
  if (typeof o.denied === "string") {
    return o.status === undefined || o.status === 401 || o.status === 403 || o.status === 429 ? undefined : `denial status must be 401, 403 or 429, got ${String(o.status)}`;
  }
  if (typeof o.name !== "string") return "expected the principal's name to be a string";
  if (!Array.isArray(o.entitlements) || !o.entitlements.every((e) => typeof e === "string" || e instanceof Uint8Array)) return "expected the principal's entitlements to be an array of strings or bytes";
  return undefined;
}

/** See the module documentation. */
export class PubSubCore<E extends PubSubServerEvents = PubSubServerEvents> extends TypedEmitter<E> {
  readonly expiry: number;
  readonly #reactor: Reactor;
  readonly #authenticator: Authenticator;
  readonly #transmit: (frames: Buffer[]) => boolean;
  readonly #maxClients: number;
  readonly #maxSubs: number;
  readonly #maxPending: number;
  readonly #congestion: number;
  readonly #wallClock: () => number;
  readonly #table: PeerTable<Session>;
  readonly #failures: PeerTable<true>;
  /**
   * §4.1.6 authentications in progress: identity key -> the timer that gives up on it, and
   * whether a BYE ended it (its slot is held until it settles or times out, its result ignored).
   */
  readonly #pending = new Map<string, { timer: Timer; ended: boolean }>();
  readonly #trie = new TopicTrie<Session>();
  #epoch = 0;
  #closed = false;
  readonly #s = {
    received: 0,
    published: 0,
    delivered: 0,
    dropped: 0,
    droppedCongested: 0,
    malformed: 0,
    authenticated: 0,
    authFailures: 0,
    throttled: 0,
    authErrors: 0,
    evicted: 0,
    left: 0,
    lastPublishVisited: 0,
    lastPublishMatched: 0,
  };

  constructor(options: PubSubCoreOptions, owner = "PubSubCore") {
    super();
    const o = optionsObject(owner, options);
    const reactor = o.reactor as Reactor | undefined;
    if (!(reactor instanceof Reactor)) throw new InvalidOptionError("reactor", `${owner}: expected \`reactor\` to be a Reactor`);
    this.#reactor = reactor;
    requiredOption(owner, o, "authenticator", "a function");
    requiredOption(owner, o, "transmit", "a function");
    this.#authenticator = functionOption<Authenticator, undefined>(owner, o, "authenticator", undefined)!;
    this.#transmit = functionOption<(f: Buffer[]) => boolean, undefined>(owner, o, "transmit", undefined)!;
    this.expiry = intOption(owner, o, "expiry", DEFAULT_EXPIRY, 1);
    this.#maxClients = intOption(owner, o, "maxClients", 100_000, 1);
    this.#maxSubs = intOption(owner, o, "maxSubscriptionsPerClient", 1000, 1);
    this.#maxPending = intOption(owner, o, "maxPendingAuth", 64, 1);
    const authRetryDelay = intOption(owner, o, "authRetryDelay", 1000, 1);
    this.#congestion = intOption(owner, o, "congestionBackoff", 10, 0);
    this.#wallClock = functionOption<() => number, () => number>(owner, o, "wallClock", Date.now);
    this.#table = new PeerTable<Session>(this.#reactor, this.expiry, (entry) => {
      this.#drop(entry.state);
      this.emit("client:expired", { identity: entry.id, principal: entry.state.principal });
    });
    this.#failures = new PeerTable<true>(this.#reactor, authRetryDelay, () => undefined);
  }

  /** §4.3: routing-table lookups so far and nodes walked (see {@link TopicTrie.stats}). */
  trieStats(): ReturnType<TopicTrie<Session>["stats"]> {
    return this.#trie.stats();
  }

  /** Counters. */
  stats(): PubSubCoreStats {
    const drops: Record<string, number> = {};
    for (const e of this.#table.values()) if (e.state.dropped > 0) drops[describeId(e.id)] = e.state.dropped;
    const t = this.#trie.stats();
    return { ...this.#s, clients: this.#table.size, subscriptions: t.subscriptions, trieNodes: t.nodes, expired: this.#table.expired, drops };
  }

  /** Every session. */
  clients(): ClientInfo[] {
    return [...this.#table.values()].map((e) => this.#info(e.state));
  }

  /** The session of `identity`, if any. */
  client(identity: Buffer | string): ClientInfo | undefined {
    const e = this.#table.get(identity);
    return e && this.#info(e.state);
  }

  /** Who is listening: the sessions a publish of `topic` would reach (one entry each). */
  listeners(topic: FrameLike): ClientInfo[] {
    const out: ClientInfo[] = [];
    const epoch = ++this.#epoch;
    this.#trie.match(toFrame(topic), (s) => {
      if (s.stamp === epoch) return;
      s.stamp = epoch;
      out.push(this.#info(s));
    });
    return out;
  }

  #info(s: Session): ClientInfo {
    return { identity: s.identity, id: describeId(s.identity), principal: s.principal, patterns: [...s.patterns.values()], delivered: s.delivered, dropped: s.dropped, version: s.version, seq: s.seq };
  }

  /**
   * §4.3: send `topic` + `body` once to every session with a matching pattern (once per
   * session, however many of its patterns match). Never blocks. Returns the number of
   * copies handed to the transport. Throws a TypeError for a topic over 255 bytes (§2).
   */
  publish(topic: FrameLike, ...body: FrameLike[]): number {
    if (this.#closed) return 0;
    const t = toFrame(topic);
    if (t.length > LIMITS.pattern) throw new InvalidOptionError("topic", `PubSubServer.publish: expected \`topic\` to be at most ${LIMITS.pattern} bytes, got ${t.length}`);
    const frames = body.map(toFrame);
    const epoch = ++this.#epoch;
    const now = this.#congestion > 0 ? this.#reactor.clock.now() : 0;
    // §3.7: every copy a session is due gets its next sequence number, dropped or not, so the
    // subscriber counts exactly what it missed; one send time for the whole publish.
    let sent: Buffer | undefined;
    let copies = 0;
    let matched = 0;
    this.#s.published++;
    this.#s.lastPublishVisited = this.#trie.match(t, (s) => {
      matched++;
      if (s.stamp === epoch) return;
      s.stamp = epoch;
      s.seq++;
      if (s.congestedUntil > now) {
        s.dropped++;
        this.#s.dropped++;
        this.#s.droppedCongested++;
        return;
      }
      copies++;
      s.delivered++;
      if (s.version === PROTOCOL_1_1) {
        sent ??= uint64Frame(this.#wallClock());
        this.#transmit([s.identity, MESSAGE_HEADER_1_1[0]!, MESSAGE_HEADER_1_1[1]!, uint64Frame(s.seq), sent, t, ...frames]);
      } else this.#transmit([s.identity, MESSAGE_HEADER[0]!, MESSAGE_HEADER[1]!, t, ...frames]);
    });
    this.#s.lastPublishMatched = matched;
    this.#s.delivered += copies;
    return copies;
  }

  /**
   * The transport dropped a message to `identity` (HWM, full queue): count it for that
   * identity and, for `congested` drops, skip it for `congestionBackoff` ms (§4.6.4).
   */
  noteDrop(identity: Buffer, congested = true): void {
    this.#s.dropped++;
    const e = this.#table.get(identity);
    if (!e) return;
    e.state.dropped++;
    if (congested && this.#congestion > 0) e.state.congestedUntil = this.#reactor.clock.now() + this.#congestion;
  }

  /** §4.6: purge `identity` (e.g. unroutable). Returns false when it had no session. */
  evict(identity: Buffer, reason: string): boolean {
    const e = this.#table.delete(identity);
    if (!e) return false;
    this.#drop(e.state);
    this.#s.evicted++;
    this.emit("client:evicted", { identity: e.id, principal: e.state.principal, reason });
    return true;
  }

  /** Count and report a malformed message (see the `message:malformed` event). */
  noteMalformed(socket: string, reason: string, frames: number, id?: Buffer): void {
    this.#s.malformed++;
    this.emit("message:malformed", { socket, reason, frames, ...(id ? { id } : {}) });
  }

  /** Stop: forget every session (their tickets are cancelled). */
  closeCore(): void {
    this.#closed = true;
    for (const e of this.#table.values()) this.#drop(e.state);
    this.#table.clear();
    this.#failures.clear();
    for (const p of this.#pending.values()) p.timer.cancel();
    this.#pending.clear();
  }

  /** §4: one command from `identity` (the frames after the ROUTER identity). */
  handle(identity: Buffer, frames: Buffer[]): void {
    if (this.#closed) return;
    this.#s.received++;
    const cmd = parseClientCommand(frames);
    if (isParseError(cmd)) {
      this.noteMalformed("router", cmd.error, frames.length + 1, identity);
      if (cmd.reply) this.#reply(identity, cmd.reply, cmd.about, cmd.error);
      return;
    }
    const key = idKey(identity);
    const entry = this.#table.get(key);
    switch (cmd.command) {
      case "HELLO":
        return this.#hello(identity, key, entry, cmd.user, cmd.secret, cmd.patterns, cmd.version);
      case "SUBSCRIBE":
      case "UNSUBSCRIBE":
        if (this.#pending.has(key)) return this.#throttle(identity, cmd.command, "authentication in progress");
        if (!entry) return this.#reply(identity, STATUS.UNKNOWN_SESSION, cmd.command);
        // §4.4.1: no touch. These carry no credentials, so they must not keep a session alive
        // for whoever holds the routing id after its owner left (§4.8).
        this.#reply(identity, STATUS.OK, cmd.command);
        if (cmd.command === "SUBSCRIBE") this.#add(entry.state, cmd.patterns, cmd.command);
        else for (const p of cmd.patterns) this.#remove(entry.state, p);
        return;
      case "BYE": {
        // §3.4: BYE also ends a HELLO being authenticated (its result is then ignored).
        const pending = this.#pending.get(key);
        if (pending) pending.ended = true;
        if (entry) {
          this.#table.delete(key);
          this.#drop(entry.state);
          this.#s.left++;
          this.emit("client:left", { identity, principal: entry.state.principal });
        }
        return;
      }
    }
  }

  #reply(identity: Buffer, code: StatusCode, about: string, reason?: string, patterns?: Buffer[]): void {
    this.#transmit([identity, ...statusFrames(code, about, reason, patterns)]);
  }

  #throttle(identity: Buffer, about: string, reason: string): void {
    this.#s.throttled++;
    this.#reply(identity, STATUS.TOO_MANY, about, reason);
  }

  #hello(identity: Buffer, key: string, entry: PeerEntry<Session> | undefined, user: string, secret: Buffer, patterns: Buffer[], version: ProtocolVersion): void {
    if (this.#pending.has(key)) return this.#throttle(identity, "HELLO", "authentication in progress");
    const digest = digestOf(user, secret);
    if (entry && timingSafeEqual(digest, entry.state.digest)) {
      // §4.4 keep-alive: same credentials; the pattern list is the full subscription set.
      this.#table.touch(key);
      entry.state.version = version;
      this.#reply(identity, STATUS.OK, "HELLO");
      this.#reconcile(entry.state, patterns);
      return;
    }
    if (this.#failures.has(key)) return this.#throttle(identity, "HELLO", "retry later");
    if (!entry && this.#table.size + this.#pending.size >= this.#maxClients) return this.#throttle(identity, "HELLO", "server full");
    if (this.#pending.size >= this.#maxPending) return this.#throttle(identity, "HELLO", "busy, retry later");
    // §4.1.6: an authentication still running after `expiry` ms is answered 500 and its slot
    // freed; whatever it returns later is ignored.
    const attempt = {
      ended: false,
      timer: this.#reactor.after(this.expiry, () => {
        if (this.#pending.get(key) !== attempt) return;
        this.#pending.delete(key);
        if (!attempt.ended) this.#authFailed(identity, new Error(`no answer within ${this.expiry} ms`));
      }),
    };
    this.#pending.set(key, attempt);
    const settle = (): boolean => {
      if (this.#pending.get(key) !== attempt) return false;
      this.#pending.delete(key);
      attempt.timer.cancel();
      return !this.#closed && !attempt.ended;
    };
    let result;
    try {
      result = Promise.resolve(this.#authenticator({ user, secret }, { identity }));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (r) => {
        if (!settle()) return;
        const invalid = invalidResult(r);
        if (invalid !== undefined) return this.#authFailed(identity, new TypeError(invalid));
        const current = this.#table.get(key);
        if (isDenial(r)) {
          const status = (r.status ?? STATUS.UNAUTHORIZED) as StatusCode;
          this.#s.authFailures++;
          if (status === STATUS.TOO_MANY) this.#s.throttled++;
          this.#failures.add(identity, true);
          // §4.5: changed credentials that fail end the session (fail closed).
          if (current) {
            this.#table.delete(key);
            this.#drop(current.state);
          }
          this.emit("client:denied", { identity, user, status, reason: r.denied, hadSession: current !== undefined });
          this.#reply(identity, status, "HELLO", r.denied);
          return;
        }
        const entitlements = r.entitlements.map((e) => toFrame(e));
        this.#s.authenticated++;
        if (current) {
          const previous = current.state.principal;
          current.state.principal = r;
          current.state.entitlements = entitlements;
          current.state.digest = digest;
          current.state.version = version;
          this.#table.touch(key);
          this.#reply(identity, STATUS.OK, "HELLO");
          // New entitlements apply to old patterns too.
          for (const p of [...current.state.patterns.values()]) if (!allowed(p, entitlements)) this.#remove(current.state, p);
          this.#reconcile(current.state, patterns);
          this.emit("client:reauthenticated", { identity, principal: r, previous });
          return;
        }
        const session: Session = { identity, key, principal: r, entitlements, digest, patterns: new Map(), delivered: 0, dropped: 0, version, seq: 0, stamp: 0, congestedUntil: 0 };
        this.#table.add(identity, session);
        this.#reply(identity, STATUS.CREATED, "HELLO");
        this.#add(session, patterns, "HELLO");
        this.emit("client:authenticated", { identity, principal: r, patterns: [...session.patterns.values()] });
      },
      (error: unknown) => {
        if (!settle()) return;
        this.#authFailed(identity, error);
      },
    );
  }

  /** §4.1.4: the authenticator failed (threw, rejected, or returned neither a principal nor a denial): 500. */
  #authFailed(identity: Buffer, error: unknown): void {
    this.#s.authErrors++;
    this.#reply(identity, STATUS.SERVER_ERROR, "HELLO", `authenticator failed: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200));
  }

  /** §4.4: make the session's patterns exactly `patterns`. */
  #reconcile(s: Session, patterns: Buffer[]): void {
    const wanted = new Set<string>();
    for (const p of patterns) wanted.add(p.toString("latin1"));
    if (wanted.size === s.patterns.size) {
      let same = true;
      for (const k of wanted) if (!s.patterns.has(k)) same = false;
      if (same) return;
    }
    for (const [k, p] of [...s.patterns]) if (!wanted.has(k)) this.#remove(s, p);
    this.#add(s, patterns.filter((p) => !s.patterns.has(p.toString("latin1"))), "HELLO");
  }

  /** §4.2: add patterns inside the entitlements and the limit; answer 403/429 for the rest. */
  #add(s: Session, patterns: Buffer[], about: string): void {
    const forbidden: Buffer[] = [];
    const over: Buffer[] = [];
    for (const p of patterns) {
      const k = p.toString("latin1");
      if (s.patterns.has(k)) continue;
      if (!allowed(p, s.entitlements)) forbidden.push(p);
      else if (s.patterns.size >= this.#maxSubs) over.push(p);
      else {
        s.patterns.set(k, p);
        this.#trie.add(p, s);
      }
    }
    if (forbidden.length > 0) {
      this.#reply(s.identity, STATUS.FORBIDDEN, about, "outside entitlements", forbidden.slice(0, LIMITS.patterns));
      this.emit("subscription:denied", { identity: s.identity, principal: s.principal, status: 403, patterns: forbidden });
    }
    if (over.length > 0) {
      this.#s.throttled++;
      this.#reply(s.identity, STATUS.TOO_MANY, about, `subscription limit ${this.#maxSubs}`, over.slice(0, LIMITS.patterns));
      this.emit("subscription:denied", { identity: s.identity, principal: s.principal, status: 429, patterns: over });
    }
  }

  #remove(s: Session, pattern: Buffer): void {
    const k = pattern.toString("latin1");
    const p = s.patterns.get(k);
    if (!p) return;
    s.patterns.delete(k);
    this.#trie.remove(p, s);
  }

  /** Remove every pattern of a session leaving the table. */
  #drop(s: Session): void {
    for (const p of s.patterns.values()) this.#trie.remove(p, s);
    s.patterns.clear();
  }
}
