/**
 * {@link PubSubClient}: the ZPS/1 client (PROTOCOL.md §5) on a DEALER, built on the core's
 * {@link HeartbeatLink}: it authenticates with HELLO, resends HELLO (credentials and the
 * full subscription set) as its keep-alive, re-authenticates by itself after a 404 or a
 * server restart, and reconnects on a fresh socket when the server stays silent. It starts
 * connecting by itself (in the background, right after its constructor);
 * {@link PubSubClient.ready} tells when the first session is open.
 * @module
 */
import * as zmq from "zeromq";
import {
  AuthError,
  BoundedQueue,
  endpointOption,
  HeartbeatLink,
  intOption,
  InvalidOptionError,
  Lifecycle,
  optionsObject,
  ProtocolError,
  requiredOption,
  TimeoutError,
  boolOption,
  enumOption,
  stringOption,
  toFrame,
  type FrameLike,
  type HeartbeatLinkOptions,
  type LifecycleOptions,
} from "../../src/index.js";
import { isZ85Key } from "../../src/zap/index.js";
import { byeFrames, helloFrames, isParseError, LIMITS, parseServerMessage, PROTOCOL, PROTOCOL_1_1, STATUS, subscriptionFrames, type ProtocolVersion, type StatusCode } from "./protocol.js";
import { SequenceTracker, type SequenceStats } from "./snail.js";

/** The client closed itself because a message came later than `maxLag` (`closeOnLag`, the Guide's Suicidal Snail). */
export class SlowSubscriberError extends TimeoutError {
  /** How late the message was, ms. */
  readonly lag: number;
  /** The bound, ms. */
  readonly maxLag: number;
  constructor(lag: number, maxLag: number) {
    super(`subscriber too slow: a message arrived ${lag} ms after it was sent (maxLag ${maxLag} ms)`);
    this.lag = lag;
    this.maxLag = maxLag;
  }
}

/** A message delivered to a subscriber (§3.6). */
export interface PubSubMessage {
  /** Topic bytes. */
  readonly topic: Buffer;
  /** Body frames. */
  readonly body: Buffer[];
  /** §3.7 (`ZPS/1.1`): its sequence number in our session. */
  readonly seq?: number;
  /** §3.7 (`ZPS/1.1`): when the server sent it, ms since the Unix epoch. */
  readonly sent?: number;
}

/** A STATUS the server sent (§3.5). */
export interface StatusInfo {
  code: StatusCode;
  about: string;
  reason: string;
  patterns: Buffer[];
}

/** Options of {@link PubSubClient}. */
export interface PubSubClientOptions extends LifecycleOptions {
  /** Server endpoint. Required. */
  readonly endpoint: string;
  /** User name. Required (may be empty for custom authenticators). */
  readonly user: string;
  /** Password or other secret. Required. */
  readonly password: string | Uint8Array;
  /** Patterns to subscribe to from the start. */
  readonly subscribe?: readonly FrameLike[];
  /** §5.2 keep-alive (heartbeat) interval, ms: HELLO is resent this often. Default 1000. */
  readonly heartbeatInterval?: number;
  /** §5.3 silent heartbeat intervals before the server is taken as gone. Default 3. */
  readonly heartbeatLiveness?: number;
  /** First reconnect delay after the server is taken as gone, ms. Default 1000. */
  readonly reconnectInterval?: number;
  /** Reconnect delay cap, ms. Default 32000. */
  readonly reconnectMaxInterval?: number;
  /** Messages buffered for the async iterator (oldest dropped and counted beyond). Default 10000. */
  readonly receiveQueueLimit?: number;
  /**
   * §3.7 slow-subscriber detection: a message that arrives more than this many ms after the
   * server sent it is late (`lag:exceeded`, counted); 0 = lag measured, never exceeded. Needs
   * the server's and the client's clocks in step (same host, or NTP). Default 0. The Guide's
   * Suicidal Snail uses 1000.
   */
  readonly maxLag?: number;
  /** §3.7 close the client (`SlowSubscriberError`) on the first message later than `maxLag`. Default false. */
  readonly closeOnLag?: boolean;
  /** Protocol version to speak: `ZPS/1.1` (default; falls back to `ZPS/1` on a 505) or `ZPS/1`. */
  readonly protocol?: ProtocolVersion;
  /** Fixed routing id (§4.8 duplicate identities). Default: none (the ROUTER picks one). */
  readonly routingId?: string;
  /** §7 CURVE: the server's public key (Z85). Enables CURVE. */
  readonly curveServerKey?: string;
  /** §7 CURVE: this client's public key. Default: a fresh key pair. */
  readonly curvePublicKey?: string;
  /** §7 CURVE: this client's secret key. */
  readonly curveSecretKey?: string;
}

/** Events of a {@link PubSubClient}. */
export interface PubSubClientEvents {
  [event: string]: unknown[];
  /** §5.1: the server created a session (201). `resumed`: we had one before (server restart or expiry). */
  "session:started": [{ resumed: boolean }];
  /** §5.1: credentials refused (401, or 403 on HELLO): the client stops. */
  "auth:denied": [AuthError];
  /** §4.2: patterns refused (403 outside entitlements, 429 over the limit); they are dropped from the set. */
  "subscription:denied": [{ error: AuthError; patterns: Buffer[] }];
  /** Every STATUS. */
  status: [StatusInfo];
  /** A published message. */
  message: [PubSubMessage];
  /** §3.7 (`ZPS/1.1`): the server dropped `count` messages for us before message `seq` (`total` so far). */
  "messages:missed": [{ count: number; total: number; seq: number }];
  /** §3.7 (`ZPS/1.1`): a message came `lag` ms after it was sent, more than `maxLag`; once per lagging episode. */
  "lag:exceeded": [{ lag: number; maxLag: number; seq: number; topic: Buffer }];
  /** §3.7: the server answered our `ZPS/1.1` HELLO with 505: the client speaks `ZPS/1` to it (no sequence numbers). */
  "protocol:downgraded": [{ from: ProtocolVersion; to: ProtocolVersion }];
  /** The server was silent too long; reconnecting on a fresh socket. */
  "link:lost": [{ reason: string }];
  /** §6: a server message that is not valid ZPS/1 was counted and dropped. */
  "message:malformed": [{ socket: string; reason: string; frames: number; id?: Buffer }];
}

/**
 * Counters of a {@link PubSubClient}; `missed`, `gaps`, `lagged`, `lagExceeded`, `lastLag`,
 * `worstLag` and `seq` come from the `ZPS/1.1` sequence numbers and send times (§3.7).
 */
export interface PubSubClientStats extends SequenceStats {
  /** MESSAGEs received. */
  received: number;
  /** STATUS messages received. */
  statuses: number;
  /** Sessions the server created for us (201). */
  sessions: number;
  /** HELLOs sent (first and keep-alive). */
  hellos: number;
  /** Messages dropped from the full iterator buffer. */
  dropped: number;
  malformed: number;
  /** Fresh sockets after silence. */
  reconnects: number;
}

/** Where the client's session is (its lifecycle is {@link PubSubClient.state}). */
export type PubSubSessionState = "connecting" | "ready" | "denied" | "closed";

/** §3.4: ms `close()` waits after BYE before closing the socket. */
const BYE_GRACE = 20;

const OWNER = "PubSubClient";

/** See the module documentation. */
export class PubSubClient extends Lifecycle<PubSubClientEvents> {
  readonly endpoint: string;
  readonly #user: string;
  readonly #secret: Buffer;
  readonly #patterns: Map<string, Buffer>;
  readonly #buffer: BoundedQueue<PubSubMessage>;
  readonly #keepAlive: number;
  readonly #linkOptions: Omit<HeartbeatLinkOptions, "reactor" | "greeting" | "heartbeat" | "onMessage">;
  #link: HeartbeatLink | undefined;
  /** Reactor clock time of the last HELLO (§5.2: only HELLO keeps the session alive). */
  #lastHello = -Infinity;
  #iterating = false;
  #waiters: { resolve: (r: IteratorResult<PubSubMessage>) => void; reject: (e: unknown) => void }[] = [];
  #session: PubSubSessionState = "connecting";
  #failure: Error | undefined;
  #hadSession = false;
  readonly #ready: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  readonly #stats = { received: 0, statuses: 0, sessions: 0, hellos: 0, dropped: 0, malformed: 0, reconnects: 0 };
  /** §3.7 sequence numbers and lag of the current session. */
  readonly #tracker: SequenceTracker;
  readonly #closeOnLag: boolean;
  /** The version spoken now (`ZPS/1` after a 505 to `ZPS/1.1`). */
  #version: ProtocolVersion;

  /** Validates the options (InvalidOptionError naming the option) and starts connecting. */
  constructor(options: PubSubClientOptions) {
    const o = optionsObject(OWNER, options);
    const endpoint = endpointOption(OWNER, o, "endpoint");
    requiredOption(OWNER, o, "user", "a string");
    const user = stringOption(OWNER, o, "user", undefined, true)!;
    const pw = requiredOption(OWNER, o, "password", "a string or bytes");
    if (typeof pw !== "string" && !(pw instanceof Uint8Array)) throw new InvalidOptionError("password", `${OWNER}: expected \`password\` to be a string or bytes`);
    const secret = toFrame(pw);
    if (Buffer.byteLength(user) > LIMITS.user) throw new InvalidOptionError("user", `${OWNER}: expected \`user\` to be at most ${LIMITS.user} bytes`);
    if (secret.length > LIMITS.secret) throw new InvalidOptionError("password", `${OWNER}: expected \`password\` to be at most ${LIMITS.secret} bytes`);
    const subs = o.subscribe;
    if (subs !== undefined && (!Array.isArray(subs) || !subs.every((p) => typeof p === "string" || p instanceof Uint8Array))) {
      throw new InvalidOptionError("subscribe", `${OWNER}: expected \`subscribe\` to be an array of patterns`);
    }
    const initial = new Map<string, Buffer>();
    addPatterns(initial, (subs ?? []) as FrameLike[], "subscribe");
    const keepAlive = intOption(OWNER, o, "heartbeatInterval", 1000, 1);
    const liveness = intOption(OWNER, o, "heartbeatLiveness", 3, 1);
    const reconnectInterval = intOption(OWNER, o, "reconnectInterval", 1000, 0);
    const reconnectMaxInterval = intOption(OWNER, o, "reconnectMaxInterval", Math.max(32_000, reconnectInterval), reconnectInterval);
    const receiveQueueLimit = intOption(OWNER, o, "receiveQueueLimit", 10_000, 1);
    const maxLag = intOption(OWNER, o, "maxLag", 0, 0);
    const closeOnLag = boolOption(OWNER, o, "closeOnLag", false);
    if (closeOnLag && maxLag === 0) throw new InvalidOptionError("closeOnLag", `${OWNER}: \`closeOnLag\` needs \`maxLag\` > 0`);
    const version = enumOption<ProtocolVersion>(OWNER, o, "protocol", [PROTOCOL, PROTOCOL_1_1], PROTOCOL_1_1);
    const routingId = stringOption(OWNER, o, "routingId", undefined);
    // ZMTP: 1-255 bytes; ids starting with a zero byte are reserved for those the ROUTER assigns.
    if (routingId !== undefined && (routingId === "" || Buffer.byteLength(routingId) > 255 || routingId.startsWith("\0"))) {
      throw new InvalidOptionError("routingId", `${OWNER}: expected \`routingId\` to be 1-255 bytes not starting with a zero byte`);
    }
    const serverKey = stringOption(OWNER, o, "curveServerKey", undefined);
    let publicKey = stringOption(OWNER, o, "curvePublicKey", undefined);
    let secretKey = stringOption(OWNER, o, "curveSecretKey", undefined);
    for (const [name, key] of [["curveServerKey", serverKey], ["curvePublicKey", publicKey], ["curveSecretKey", secretKey]] as const) {
      if (key !== undefined && !isZ85Key(key)) throw new InvalidOptionError(name, `${OWNER}: expected \`${name}\` to be a 40-character Z85 key`);
    }
    if ((publicKey === undefined) !== (secretKey === undefined)) throw new InvalidOptionError("curveSecretKey", `${OWNER}: give both \`curvePublicKey\` and \`curveSecretKey\`, or neither`);
    if (serverKey && !publicKey) ({ publicKey, secretKey } = zmq.curveKeyPair());
    super(OWNER, o);
    this.endpoint = endpoint;
    this.#user = user;
    this.#secret = secret;
    this.#patterns = initial;
    this.#buffer = new BoundedQueue<PubSubMessage>(receiveQueueLimit, "drop-oldest", "receive buffer");
    this.#keepAlive = keepAlive;
    this.#tracker = new SequenceTracker(maxLag);
    this.#closeOnLag = closeOnLag;
    this.#version = version;
    this.#linkOptions = {
      endpoint,
      heartbeatInterval: keepAlive,
      heartbeatLiveness: liveness,
      reconnectInterval,
      reconnectMaxInterval,
      socketOptions: {
        ...(routingId ? { routingId } : {}),
        ...(serverKey ? { curveServerKey: serverKey, curvePublicKey: publicKey, curveSecretKey: secretKey } : {}),
      },
    };
    this.#ready = deferred();
    this.#ready.promise.catch(() => undefined);
    // Starts in the background on the next turn of the event loop (unless start() is called
    // first): the caller may attach listeners, or start it and await that. A start that fails
    // there is reported (lifecycle:error, and ready() rejects with it) and closes the client.
    this.startSoon((error) => {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      void this.close();
    });
  }

  protected async onStart(): Promise<void> {
    const hello = () => this.#helloFrames();
    const link = new HeartbeatLink({ ...this.#linkOptions, reactor: this.reactor, greeting: hello, heartbeat: hello, onMessage: (frames) => this.#onMessage(frames) });
    this.own(() => link.close());
    this.own(
      link.on("link:lost", ({ reason }) => {
        this.#stats.reconnects++;
        if (this.#session === "ready") this.#session = "connecting";
        this.emit("link:lost", { reason });
      }),
    );
    this.#link = link;
    await link.start();
  }

  /** Where the session is: connecting, ready, denied (credentials refused) or closed. */
  get sessionState(): PubSubSessionState {
    return this.#session;
  }

  /** The current subscription patterns. */
  get patterns(): Buffer[] {
    return [...this.#patterns.values()];
  }

  /** Counters. */
  stats(): PubSubClientStats {
    return { ...this.#stats, ...this.#tracker.stats() };
  }

  /** The protocol version spoken now: `ZPS/1.1`, or `ZPS/1` (asked for, or after a 505). */
  get protocol(): ProtocolVersion {
    return this.#version;
  }

  /**
   * Resolves once the server has created our first session; rejects with {@link AuthError}
   * when the credentials are refused, or with ClosedError when the client closes first.
   */
  ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Add patterns (sent at once when in a session, and in every keep-alive HELLO). Throws ClosedError once closed. */
  subscribe(...patterns: FrameLike[]): void {
    this.assertOpen("subscribe");
    const added = addPatterns(this.#patterns, patterns, "subscribe");
    if (added.length > 0 && this.#session === "ready") this.#sendChange("SUBSCRIBE", added);
  }

  /** Remove patterns. Throws ClosedError once closed. */
  unsubscribe(...patterns: FrameLike[]): void {
    this.assertOpen("unsubscribe");
    const removed: Buffer[] = [];
    for (const p of patterns.map(toFrame)) if (this.#patterns.delete(p.toString("latin1"))) removed.push(p);
    if (removed.length > 0 && this.#session === "ready") this.#sendChange("UNSUBSCRIBE", removed);
  }

  /**
   * §5.2: SUBSCRIBE/UNSUBSCRIBE do not keep the session alive (§4.4.1), yet every send
   * postpones the link's keep-alive: when a HELLO is due, send the change as a HELLO (it
   * carries the full pattern set) instead.
   */
  #sendChange(command: "SUBSCRIBE" | "UNSUBSCRIBE", patterns: Buffer[]): void {
    if (this.reactor.clock.now() - this.#lastHello >= this.#keepAlive) this.#link?.send(this.#helloFrames());
    else this.#link?.send(subscriptionFrames(command, patterns, this.#version));
  }

  #helloFrames(): Buffer[] {
    this.#stats.hellos++;
    this.#lastHello = this.reactor.clock.now();
    return helloFrames(this.#user, this.#secret, this.#patterns.values(), this.#version);
  }

  /**
   * Messages as an async iterator. It ends when the client closes (a closed client is the
   * end of the stream, not a failed call) and throws the {@link AuthError} when the
   * credentials are refused. Buffered (bounded, oldest dropped and counted) from the first
   * call on.
   */
  [Symbol.asyncIterator](): AsyncIterator<PubSubMessage> {
    this.#iterating = true;
    return {
      next: () => {
        const m = this.#buffer.shift();
        if (m) return Promise.resolve({ value: m, done: false });
        if (this.#failure) return Promise.reject(this.#failure);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
      },
      return: async () => {
        this.#iterating = false;
        return { value: undefined, done: true };
      },
    };
  }

  /** Say BYE (best effort, §3.4), settle `ready()` and the iterator's waiters. */
  protected override async onClose(): Promise<void> {
    const link = this.#link;
    const bye = this.#session === "ready" && link !== undefined && !link.closed && !this.reactor.closed && link.send(byeFrames(this.#version));
    if (this.#session !== "denied") this.#session = "closed";
    this.#ready.reject(this.#failure ?? this.closedError());
    for (const w of this.#waiters.splice(0)) {
      if (this.#failure && this.#buffer.size === 0) w.reject(this.#failure);
      else w.resolve({ value: undefined, done: true });
    }
    // §3.4: give BYE a moment to leave before the socket closes with linger 0.
    if (bye && !this.reactor.closed) await new Promise<void>((resolve) => this.reactor.after(BYE_GRACE, resolve));
  }

  #onMessage(frames: Buffer[]): void {
    // Closed (or closing, during the BYE grace): the application hears nothing more.
    if (this.closed) return;
    const m = parseServerMessage(frames);
    if (isParseError(m)) {
      this.#stats.malformed++;
      this.emit("message:malformed", { socket: "dealer", reason: m.error, frames: frames.length });
      return;
    }
    if (m.command === "MESSAGE") {
      if (m.seq !== undefined && !this.#observe(m.seq, m.sent!, m.topic)) return;
      this.#stats.received++;
      const msg: PubSubMessage = m.seq === undefined ? { topic: m.topic, body: m.body } : { topic: m.topic, body: m.body, seq: m.seq, sent: m.sent! };
      if (this.#iterating) {
        const w = this.#waiters.shift();
        if (w) w.resolve({ value: msg, done: false });
        else if (this.#buffer.push(msg).dropped) this.#stats.dropped++;
      }
      this.emit("message", msg);
      return;
    }
    this.#stats.statuses++;
    const info: StatusInfo = { code: m.code, about: m.about, reason: m.reason, patterns: m.patterns };
    this.emit("status", info);
    this.#onStatus(info);
  }

  #onStatus(s: StatusInfo): void {
    if (this.#session === "denied" || this.#session === "closed") return;
    switch (s.code) {
      case STATUS.CREATED:
      case STATUS.OK:
        if (s.about !== "HELLO" || (this.#session === "ready" && s.code === STATUS.OK)) return;
        this.#session = "ready";
        if (s.code === STATUS.CREATED) {
          this.#stats.sessions++;
          this.#tracker.reset();
          this.emit("session:started", { resumed: this.#hadSession });
          this.#hadSession = true;
        }
        this.#ready.resolve();
        return;
      case STATUS.UNKNOWN_SESSION:
        // §5.4: the server forgot us (restart, expiry): authenticate and resubscribe now.
        this.#session = "connecting";
        this.#link?.send(this.#helloFrames());
        return;
      case STATUS.FORBIDDEN:
      case STATUS.TOO_MANY:
        if (s.patterns.length > 0) {
          for (const p of s.patterns) this.#patterns.delete(p.toString("latin1"));
          const error = new AuthError(s.code, `${s.code} ${s.reason}: ${s.patterns.map((p) => p.toString()).join(", ")}`);
          this.emit("subscription:denied", { error, patterns: s.patterns });
          return;
        }
        if (s.code === STATUS.TOO_MANY) return; // §5.1: retried by the next keep-alive
        return this.#deny(new AuthError(s.code, `${s.code} ${s.reason}`));
      case STATUS.UNAUTHORIZED:
        return this.#deny(new AuthError(s.code, `${s.code} ${s.reason}`));
      case STATUS.VERSION:
        if (this.#version === PROTOCOL_1_1 && s.about === "-") {
          // §3.7: a ZPS/1 server: speak ZPS/1 to it (no sequence numbers, no lag).
          this.#version = PROTOCOL;
          this.emit("protocol:downgraded", { from: PROTOCOL_1_1, to: PROTOCOL });
          this.#link?.send(this.#helloFrames());
          return;
        }
        this.#failure = new ProtocolError(`server does not speak ZPS/1: ${s.reason}`);
        void this.close();
        return;
      default:
        return; // 400, 500: retried by the next keep-alive
    }
  }

  /** §3.7: count a gap and the lag; false when the client closes itself for it (`closeOnLag`). */
  #observe(seq: number, sent: number, topic: Buffer): boolean {
    const o = this.#tracker.observe(seq, sent, Date.now());
    if (o.missed > 0) this.emit("messages:missed", { count: o.missed, total: this.#tracker.stats().missed, seq });
    if (o.exceeded) this.emit("lag:exceeded", { lag: o.lag, maxLag: this.#tracker.maxLag, seq, topic });
    if (!o.lagging || !this.#closeOnLag) return true;
    this.#failure = new SlowSubscriberError(o.lag, this.#tracker.maxLag);
    void this.close();
    return false;
  }

  #deny(error: AuthError): void {
    this.#session = "denied";
    this.#failure = error;
    this.emit("auth:denied", error);
    void this.close();
  }
}

/** §3: patterns of at most 255 bytes, at most 1000 in all (a longer HELLO would be a 400). Returns those new to `into`. */
function addPatterns(into: Map<string, Buffer>, patterns: readonly FrameLike[], what: string): Buffer[] {
  const added: Buffer[] = [];
  for (const p of patterns.map(toFrame)) {
    if (p.length > LIMITS.pattern) throw new InvalidOptionError(what, `${OWNER}: a pattern is longer than ${LIMITS.pattern} bytes`);
    const k = p.toString("latin1");
    if (!into.has(k)) {
      if (into.size >= LIMITS.patterns) throw new InvalidOptionError(what, `${OWNER}: more than ${LIMITS.patterns} patterns`);
      into.set(k, p);
      added.push(p);
    }
  }
  return added;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
