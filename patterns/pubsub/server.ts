/**
 * {@link PubSubServer}: the ZPS/1 server (PROTOCOL.md §4) on a ROUTER socket, with an
 * optional PULL ingest socket for messages to publish. The protocol lives in the socket-free
 * {@link PubSubCore}; this class puts it on sockets and gives it the common lifecycle.
 * @module
 */
import * as zmq from "zeromq";
import {
  boolOption,
  endpointsOption,
  functionOption,
  intOption,
  InvalidOptionError,
  Lifecycle,
  optionsObject,
  stringOption,
  type Bag,
  type FrameLike,
  type LifecycleOptions,
  type SocketHandle,
} from "../../src/index.js";
import { isZ85Key, ZapHandler, zapServerOptions } from "../../src/zap/index.js";
import { AuthLimiter, allowAnyAuthenticator, usersFileAuthenticator, type AuthLimitOptions, type AuthLimiterStats, type Authenticator } from "./auth.js";
import { PubSubCore, type ClientInfo, type PubSubCoreOptions, type PubSubCoreStats, type PubSubServerEvents } from "./core.js";
import { LIMITS } from "./protocol.js";

/**
 * Options of {@link PubSubServer}. Exactly one of `authenticator`, `users`, `allowAny`.
 * The {@link AuthLimitOptions} (§4.1.1) bound the credential checks of any of them.
 */
export interface PubSubServerOptions extends LifecycleOptions, AuthLimitOptions {
  /** Endpoint(s) the ROUTER binds (`tcp://127.0.0.1:*` picks a port). Required. */
  readonly bind: string | readonly string[];
  /** Endpoint(s) a PULL socket binds to take `[topic, body...]` messages to publish. */
  readonly ingest?: string | readonly string[];
  /** §4.1 pluggable authenticator `(credentials, peer) => principal | denial` (async allowed). */
  readonly authenticator?: Authenticator;
  /** Path of a users file (see `addUser`): scrypt hashes and per-user entitlements. */
  readonly users?: string;
  /** Development only: accept any credentials, entitled to every topic. */
  readonly allowAny?: boolean;
  /** §4.4 session expiry, ms. Default 5000. */
  readonly expiry?: number;
  /** §4.7 maximum sessions. Default 100000. */
  readonly maxClients?: number;
  /** §4.2 maximum patterns per session. Default 1000. */
  readonly maxSubscriptionsPerClient?: number;
  /** §4.1 authentications in progress at once. Default 64. */
  readonly maxPendingAuth?: number;
  /** §4.1 429 window after a refused HELLO, ms. Default 1000. */
  readonly authRetryDelay?: number;
  /** §4.6 per-subscriber high-water mark (ROUTER `sendHighWaterMark`). Default 1000. */
  readonly subscriberHwm?: number;
  /** Reactor send-queue limit of the ROUTER (overflow `drop-newest`, counted). Default 10000. */
  readonly sendQueueLimit?: number;
  /** §7 CURVE: the server's secret key (Z85). Clients must then use CURVE with its public key. */
  readonly curveSecretKey?: string;
  /**
   * §7 CURVE: client public keys (Z85) allowed to connect. The server then starts (and owns)
   * a ZAP handler admitting only these keys in its domain. Without it, run your own
   * `ZapHandler` from `zeromq-patterns/zap`; with no handler bound every CURVE client would
   * be let in, so the ROUTER enforces its ZAP domain (fails closed).
   */
  readonly curveAllow?: readonly string[];
  /** ZAP domain set on the ROUTER (with CURVE). Default `"zps"`. */
  readonly zapDomain?: string;
  /** §4.6.4 after a drop at a subscriber's HWM, skip its copies for this long, ms (0: always try). Default 10. */
  readonly congestionBackoff?: number;
}

/** Counters of a {@link PubSubServer}. */
export interface PubSubServerStats extends PubSubCoreStats, AuthLimiterStats {
  /** Copies zeromq refused at a subscriber's HWM. */
  droppedHwm: number;
  /** Copies dropped because the ROUTER's send queue was full. */
  droppedQueueFull: number;
  /** Copies to identities that were gone. */
  droppedUnroutable: number;
  /** Messages taken from the ingest socket and published. */
  ingested: number;
  /** STATUS answers the ROUTER could not send (not copies: not in `dropped`). */
  droppedStatus: number;
}

let serverCount = 0;
const OWNER = "PubSubServer";

/** The core with its events routed to the server that carries it. */
class CarriedCore extends PubSubCore {
  constructor(
    options: PubSubCoreOptions,
    private readonly sink: (event: string, args: unknown[]) => void,
  ) {
    super(options, OWNER);
  }

  protected override emit(event: string, ...args: unknown[]): void {
    this.sink(event, args);
  }
}

/**
 * ZPS/1 server: authenticates clients, keeps the connection and routing tables, publishes
 * one copy per matching subscriber, purges expired and unroutable identities.
 *
 * ```ts
 * const server = await PubSubServer.start({ bind: "tcp://127.0.0.1:5555", users: "users.json" });
 * server.on("client:authenticated", ({ principal }) => console.log(principal.name));
 * server.publish("news.uk", "hello");
 * ```
 */
export class PubSubServer extends Lifecycle<PubSubServerEvents> {
  readonly #core: PubSubCore;
  readonly #limiter: AuthLimiter;
  readonly #bind: string[];
  readonly #ingestEps: string[];
  readonly #name = `pubsub-${++serverCount}`;
  readonly #sendQueueLimit: number;
  readonly #routerOptions: zmq.SocketOptions<zmq.Router>;
  readonly #zapOptions: { domain: string; keys: string[] } | undefined;
  #router: SocketHandle<zmq.Router, "drop-newest"> | undefined;
  #endpoint: string | undefined;
  #ingestEndpoint: string | undefined;
  #ingested = 0;
  #droppedStatus = 0;
  #zap: ZapHandler | undefined;

  /** Validates the options (InvalidOptionError naming the option); {@link start} binds. */
  constructor(options: PubSubServerOptions) {
    const o = optionsObject(OWNER, options);
    const authenticator = authenticatorOf(o);
    const bind = endpointsOption(OWNER, o, "bind");
    const ingest = o.ingest === undefined ? [] : endpointsOption(OWNER, o, "ingest");
    const hwm = intOption(OWNER, o, "subscriberHwm", 1000, 0);
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10_000, 1);
    const curveSecretKey = stringOption(OWNER, o, "curveSecretKey", undefined);
    if (curveSecretKey !== undefined && !isZ85Key(curveSecretKey)) throw new InvalidOptionError("curveSecretKey", `${OWNER}: expected \`curveSecretKey\` to be a 40-character Z85 key`);
    const zapDomain = stringOption(OWNER, o, "zapDomain", "zps");
    const curveAllow = o.curveAllow;
    if (curveAllow !== undefined && (!Array.isArray(curveAllow) || !curveAllow.every((k) => isZ85Key(k)))) {
      throw new InvalidOptionError("curveAllow", `${OWNER}: expected \`curveAllow\` to be an array of 40-character Z85 public keys`);
    }
    if (curveAllow !== undefined && curveSecretKey === undefined) throw new InvalidOptionError("curveAllow", `${OWNER}: \`curveAllow\` needs \`curveSecretKey\``);
    // §4.1.1: checks bounded in number, and per user name after repeated failures (the
    // options checked here, before anything is made; the limiter runs on our reactor's clock).
    const { maxAuthChecks, maxQueuedAuthChecks, authFailureLimit, authBackoff, authBackoffMax, maxAuthNames } = options;
    const limits = { maxAuthChecks, maxQueuedAuthChecks, authFailureLimit, authBackoff, authBackoffMax, maxAuthNames };
    new AuthLimiter(limits, OWNER);
    super(OWNER, o);
    this.#limiter = new AuthLimiter({ ...limits, clock: this.reactor.clock }, OWNER);
    this.#bind = bind;
    this.#ingestEps = ingest;
    this.#sendQueueLimit = sendQueueLimit;
    this.#zapOptions = curveAllow ? { domain: zapDomain, keys: curveAllow as string[] } : undefined;
    // §4.6: a slow or gone subscriber never blocks: EAGAIN/EHOSTUNREACH at once, counted.
    this.#routerOptions = {
      mandatory: true,
      sendTimeout: 0,
      sendHighWaterMark: hwm,
      linger: 0,
      ...(curveSecretKey ? { curveServer: true, curveSecretKey, ...zapServerOptions(zapDomain) } : {}),
    };
    const coreOptions: PubSubCoreOptions = {
      reactor: this.reactor,
      authenticator: this.#limiter.wrap(authenticator),
      transmit: (frames) => this.#router?.send(frames) ?? false,
      expiry: o.expiry as number,
      maxClients: o.maxClients as number,
      maxSubscriptionsPerClient: o.maxSubscriptionsPerClient as number,
      maxPendingAuth: o.maxPendingAuth as number,
      authRetryDelay: o.authRetryDelay as number,
      congestionBackoff: o.congestionBackoff as number,
    };
    this.#core = new CarriedCore(coreOptions, (event, args) => (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args));
  }

  /** Start the ZAP handler (with `curveAllow`), bind the ROUTER, then the ingest sockets. */
  protected async onStart(signal: AbortSignal): Promise<void> {
    if (this.#zapOptions) {
      const { domain, keys } = this.#zapOptions;
      const zap = new ZapHandler({ reactor: this.reactor, allowNull: false, domains: { [domain]: { curve: { keys } } } });
      this.own(() => zap.close());
      this.#zap = zap;
      await zap.start();
    }
    this.own(
      this.reactor.on("message:dropped", (e) => {
        if (e.socket !== this.#name || e.reason === "closed") return;
        // Only MESSAGE copies count against a subscriber (§4.6, and its §3.7 sequence gaps); a dropped STATUS is counted apart.
        if (isCopy(e.message)) this.#core.noteDrop(firstFrame(e.message), e.reason === "hwm" || e.reason === "queue-full");
        else this.#droppedStatus++;
      }),
    );
    this.own(
      this.reactor.on("peer:unreachable", (e) => {
        if (e.socket === this.#name) this.#core.evict(e.routingId, "unroutable");
      }),
    );
    const router = this.ownSocket(new zmq.Router(this.#routerOptions), {
      name: this.#name,
      sendQueueLimit: this.#sendQueueLimit,
      overflow: "drop-newest",
      onMessage: (msg) => {
        if (msg.length < 2) return this.#core.noteMalformed("router", "no frames after the identity", msg.length, msg[0]);
        this.#core.handle(msg[0]!, msg.slice(1));
      },
    });
    this.#router = router;
    for (const ep of this.#bind) {
      signal.throwIfAborted();
      await router.socket.bind(ep);
    }
    this.#endpoint = router.socket.lastEndpoint ?? this.#bind.at(-1);
    for (const ep of this.#ingestEps) {
      signal.throwIfAborted();
      const pull = this.ownSocket(new zmq.Pull(), {
        name: `${this.#name}:ingest`,
        onMessage: (msg) => {
          if (msg.length < 2) return this.#core.noteMalformed("ingest", "ingest needs [topic, body...]", msg.length);
          if (msg[0]!.length > LIMITS.pattern) return this.#core.noteMalformed("ingest", `topic longer than ${LIMITS.pattern} bytes`, msg.length);
          this.#ingested++;
          this.publish(msg[0]!, ...msg.slice(1));
        },
      });
      await pull.socket.bind(ep);
      this.#ingestEndpoint ??= pull.socket.lastEndpoint ?? ep;
    }
  }

  /** Forget every session (their tickets are cancelled); the sockets close after. */
  protected override onClose(): void {
    this.#core.closeCore();
  }

  /** The ROUTER's last bound endpoint (the real port after `:*`). */
  get endpoint(): string {
    return this.#endpoint ?? this.#bind.at(-1)!;
  }

  /** The first ingest socket's bound endpoint, if any. */
  get ingestEndpoint(): string | undefined {
    return this.#ingestEndpoint ?? this.#ingestEps[0];
  }

  /** The ZAP handler the server started for `curveAllow`, if any. */
  get zap(): ZapHandler | undefined {
    return this.#zap;
  }

  /** §4.4 session expiry, ms. */
  get expiry(): number {
    return this.#core.expiry;
  }

  /**
   * §4.3: send `topic` + `body` once to every session with a matching pattern. Never blocks.
   * Returns the number of copies handed to the ROUTER (0 once closed). Throws an
   * InvalidOptionError for a topic over 255 bytes (§2).
   */
  publish(topic: FrameLike, ...body: FrameLike[]): number {
    if (this.closed) return 0;
    return this.#core.publish(topic, ...body);
  }

  /** Every session. */
  clients(): ClientInfo[] {
    return this.#core.clients();
  }

  /** The session of `identity`, if any. */
  client(identity: Buffer | string): ClientInfo | undefined {
    return this.#core.client(identity);
  }

  /** §4.6: purge the session of `identity` (`client:evicted` with `reason`). Returns false when it had none. */
  evict(identity: Buffer, reason: string): boolean {
    return this.#core.evict(identity, reason);
  }

  /** Who is listening: the sessions a publish of `topic` would reach (one entry each). */
  listeners(topic: FrameLike): ClientInfo[] {
    return this.#core.listeners(topic);
  }

  /** §4.3: routing-table lookups so far and nodes walked. */
  trieStats(): ReturnType<PubSubCore["trieStats"]> {
    return this.#core.trieStats();
  }

  /** Counters. */
  stats(): PubSubServerStats {
    const r = this.#router?.stats();
    return { ...this.#core.stats(), ...this.#limiter.stats(), droppedHwm: r?.droppedHwm ?? 0, droppedQueueFull: r?.droppedQueueFull ?? 0, droppedUnroutable: r?.droppedUnroutable ?? 0, ingested: this.#ingested, droppedStatus: this.#droppedStatus };
  }
}

function authenticatorOf(o: Bag): Authenticator {
  const fn = functionOption<Authenticator, undefined>(OWNER, o, "authenticator", undefined);
  const users = stringOption(OWNER, o, "users", undefined);
  const any = boolOption(OWNER, o, "allowAny", false);
  const count = (fn ? 1 : 0) + (users ? 1 : 0) + (any ? 1 : 0);
  if (count !== 1) throw new InvalidOptionError("authenticator", `${OWNER}: expected exactly one of \`authenticator\`, \`users\`, \`allowAny\``);
  return fn ?? (users ? usersFileAuthenticator(users) : allowAnyAuthenticator());
}

/** A MESSAGE copy (identity, version, "MESSAGE", ...), not a STATUS. */
function isCopy(message: unknown): boolean {
  return Array.isArray(message) && String(message[2]) === "MESSAGE";
}

function firstFrame(message: unknown): Buffer {
  const f = Array.isArray(message) ? message[0] : message;
  return Buffer.isBuffer(f) ? f : Buffer.from(String(f ?? ""));
}
