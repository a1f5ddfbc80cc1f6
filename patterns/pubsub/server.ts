/**
 * {@link PubSubServer}: the ZPS/1 server (PROTOCOL.md §4) on a ROUTER socket, with an
 * optional PULL ingest socket for messages to publish.
 * @module
 */
import * as zmq from "zeromq";
import {
  boolOption,
  endpointsOption,
  functionOption,
  intOption,
  InvalidOptionError,
  optionsObject,
  Reactor,
  signalOption,
  stringOption,
  type SocketHandle,
} from "../../src/index.js";
import { isZ85Key, ZapHandler, zapServerOptions } from "../../src/zap/index.js";
import { allowAnyAuthenticator, usersFileAuthenticator, type Authenticator } from "./auth.js";
import { PubSubCore, type PubSubCoreStats, type PubSubServerEvents } from "./core.js";
import { LIMITS } from "./protocol.js";

/** Options of {@link PubSubServer}. Exactly one of `authenticator`, `users`, `allowAny`. */
export interface PubSubServerOptions {
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
  /** Share a reactor (default: the server makes and owns one). */
  readonly reactor?: Reactor;
  /** Aborting it closes the server. */
  readonly signal?: AbortSignal;
}

/** Counters of a {@link PubSubServer}. */
export interface PubSubServerStats extends PubSubCoreStats {
  /** Copies zeromq refused at a subscriber's HWM. */
  droppedHwm: number;
  /** Copies dropped because the ROUTER's send queue was full. */
  droppedQueueFull: number;
  /** Copies to identities that were gone. */
  droppedUnroutable: number;
  /** Messages taken from the ingest socket and published. */
  ingested: number;
}

let serverCount = 0;

/**
 * ZPS/1 server: authenticates clients, keeps the connection and routing tables, publishes
 * one copy per matching subscriber, purges expired and unroutable identities.
 *
 * ```ts
 * const server = await new PubSubServer({ bind: "tcp://127.0.0.1:5555", users: "users.json" }).start();
 * server.on("client:authenticated", ({ principal }) => console.log(principal.name));
 * server.publish("news.uk", "hello");
 * ```
 */
export class PubSubServer extends PubSubCore<PubSubServerEvents> {
  readonly #reactor: Reactor;
  readonly #ownReactor: boolean;
  readonly #bind: string[];
  readonly #ingestEps: string[];
  readonly #router: zmq.Router;
  readonly #name: string;
  readonly #sendQueueLimit: number;
  readonly #signal: AbortSignal | undefined;
  #routerHandle: SocketHandle<zmq.Router, "drop-newest"> | undefined;
  #pulls: SocketHandle<zmq.Pull>[] = [];
  #ingested = 0;
  readonly #zapOptions: { domain: string; keys: string[] } | undefined;
  #zap: ZapHandler | undefined;
  #started: Promise<this> | undefined;
  /** The binding itself (close() waits for it; {@link start} wraps it). */
  #starting: Promise<this> | undefined;
  #closing: Promise<void> | undefined;
  readonly #offs: (() => void)[] = [];

  constructor(options: PubSubServerOptions) {
    const owner = "PubSubServer";
    const o = optionsObject(owner, options);
    const given = o.reactor;
    if (given !== undefined && !(given instanceof Reactor)) throw new InvalidOptionError("reactor", `${owner}: expected \`reactor\` to be a Reactor`);
    const authenticator = PubSubServer.#authenticatorOf(owner, o);
    const bind = endpointsOption(owner, o, "bind");
    const ingest = o.ingest === undefined ? [] : endpointsOption(owner, o, "ingest");
    const hwm = intOption(owner, o, "subscriberHwm", 1000, 0);
    const sendQueueLimit = intOption(owner, o, "sendQueueLimit", 10_000, 1);
    const curveSecretKey = stringOption(owner, o, "curveSecretKey", undefined);
    if (curveSecretKey !== undefined && !isZ85Key(curveSecretKey)) throw new InvalidOptionError("curveSecretKey", `${owner}: expected \`curveSecretKey\` to be a 40-character Z85 key`);
    const zapDomain = stringOption(owner, o, "zapDomain", "zps");
    const curveAllow = o.curveAllow;
    if (curveAllow !== undefined && (!Array.isArray(curveAllow) || !curveAllow.every((k) => isZ85Key(k)))) {
      throw new InvalidOptionError("curveAllow", `${owner}: expected \`curveAllow\` to be an array of 40-character Z85 public keys`);
    }
    if (curveAllow !== undefined && curveSecretKey === undefined) throw new InvalidOptionError("curveAllow", `${owner}: \`curveAllow\` needs \`curveSecretKey\``);
    const signal = signalOption(owner, o);
    const reactor = (given as Reactor | undefined) ?? new Reactor();
    let send: (frames: Buffer[]) => boolean = () => false;
    super({ reactor, authenticator, transmit: (frames) => send(frames), expiry: o.expiry as number, maxClients: o.maxClients as number, maxSubscriptionsPerClient: o.maxSubscriptionsPerClient as number, maxPendingAuth: o.maxPendingAuth as number, authRetryDelay: o.authRetryDelay as number, congestionBackoff: o.congestionBackoff as number }, owner);
    this.#reactor = reactor;
    this.#ownReactor = given === undefined;
    this.#bind = bind;
    this.#ingestEps = ingest;
    this.#sendQueueLimit = sendQueueLimit;
    this.#signal = signal;
    this.#name = `pubsub-${++serverCount}`;
    this.#zapOptions = curveAllow ? { domain: zapDomain, keys: curveAllow as string[] } : undefined;
    // §4.6: a slow or gone subscriber never blocks: EAGAIN/EHOSTUNREACH at once, counted.
    this.#router = new zmq.Router({
      mandatory: true,
      sendTimeout: 0,
      sendHighWaterMark: hwm,
      linger: 0,
      ...(curveSecretKey ? { curveServer: true, curveSecretKey, ...zapServerOptions(zapDomain) } : {}),
    });
    send = (frames) => this.#routerHandle?.send(frames) ?? false;
    this.#offs.push(
      reactor.on("message:dropped", (e) => {
        if (e.socket === this.#name && e.reason !== "closed") this.noteDrop(firstFrame(e.message), e.reason === "hwm" || e.reason === "queue-full");
      }),
      reactor.on("peer:unreachable", (e) => {
        if (e.socket === this.#name) this.evict(e.routingId, "unroutable");
      }),
    );
    if (signal?.aborted) void this.close();
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  static #authenticatorOf(owner: string, o: Readonly<Record<string, unknown>>): Authenticator {
    const fn = functionOption<Authenticator, undefined>(owner, o, "authenticator", undefined);
    const users = stringOption(owner, o, "users", undefined);
    const any = boolOption(owner, o, "allowAny", false);
    const count = (fn ? 1 : 0) + (users ? 1 : 0) + (any ? 1 : 0);
    if (count !== 1) throw new InvalidOptionError("authenticator", `${owner}: expected exactly one of \`authenticator\`, \`users\`, \`allowAny\``);
    return fn ?? (users ? usersFileAuthenticator(users) : allowAnyAuthenticator());
  }

  readonly #onAbort = () => void this.close();

  /**
   * Bind the sockets and start serving. Resolves with the server. Idempotent. When it fails
   * (an endpoint in use, ...) the server is closed first, so nothing it took stays behind.
   */
  start(): Promise<this> {
    this.#started ??= this.#start().catch(async (error: unknown) => {
      await this.close();
      throw error;
    });
    return this.#started;
  }

  #start(): Promise<this> {
    this.#starting ??= (async () => {
      if (this.#zapOptions) {
        const { domain, keys } = this.#zapOptions;
        this.#zap = await ZapHandler.start({ reactor: this.#reactor, allowNull: false, domains: { [domain]: { curve: { keys } } } });
      }
      for (const ep of this.#bind) await this.#router.bind(ep);
      this.#routerHandle = this.#reactor.add(this.#router, {
        name: this.#name,
        sendQueueLimit: this.#sendQueueLimit,
        overflow: "drop-newest",
        linger: 0,
        onMessage: (msg) => {
          if (msg.length < 2) return this.noteMalformed("router", "no frames after the identity", msg[0]);
          this.handle(msg[0]!, msg.slice(1));
        },
      });
      for (const ep of this.#ingestEps) {
        const pull = new zmq.Pull({ linger: 0 });
        await pull.bind(ep).catch((error: unknown) => {
          pull.close();
          throw error;
        });
        this.#pulls.push(
          this.#reactor.add(pull, {
            name: `${this.#name}:ingest`,
            onMessage: (msg) => {
              if (msg.length < 2) return this.noteMalformed("ingest", "ingest needs [topic, body...]");
              if (msg[0]!.length > LIMITS.pattern) return this.noteMalformed("ingest", `topic longer than ${LIMITS.pattern} bytes`);
              this.#ingested++;
              this.publish(msg[0]!, ...msg.slice(1));
            },
          }),
        );
      }
      return this;
    })();
    return this.#starting;
  }

  /** The ROUTER's last bound endpoint (the real port after `:*`). */
  get endpoint(): string {
    return this.#router.lastEndpoint ?? this.#bind[0]!;
  }

  /** The ingest socket's last bound endpoint, if any. */
  get ingestEndpoint(): string | undefined {
    return this.#pulls[0]?.socket.lastEndpoint ?? this.#ingestEps[0];
  }

  /** The ZAP handler the server started for `curveAllow`, if any. */
  get zap(): ZapHandler | undefined {
    return this.#zap;
  }

  /** The reactor the server runs on. */
  get reactor(): Reactor {
    return this.#reactor;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  override stats(): PubSubServerStats {
    const r = this.#routerHandle?.stats();
    return { ...super.stats(), droppedHwm: r?.droppedHwm ?? 0, droppedQueueFull: r?.droppedQueueFull ?? 0, droppedUnroutable: r?.droppedUnroutable ?? 0, ingested: this.#ingested };
  }

  /** Stop serving: forget all sessions, close the sockets (and the reactor if it is ours). Idempotent. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.closeCore();
    this.#closing = (async () => {
      await this.#starting?.catch(() => undefined);
      for (const off of this.#offs) off();
      const handles = [this.#routerHandle, ...this.#pulls].filter((h) => h !== undefined);
      await Promise.all(handles.map((h) => h.close(0)));
      if (!this.#routerHandle && !this.#router.closed) this.#router.close();
      await this.#zap?.close();
      if (this.#ownReactor) await this.#reactor.close();
    })();
    return this.#closing;
  }
}

function firstFrame(message: unknown): Buffer {
  const f = Array.isArray(message) ? message[0] : message;
  return Buffer.isBuffer(f) ? f : Buffer.from(String(f ?? ""));
}

