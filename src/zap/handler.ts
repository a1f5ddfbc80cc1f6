/**
 * The 27/ZAP handler: a ROUTER bound on `inproc://zeromq.zap.01`, served by a {@link Reactor},
 * answering every authentication request libzmq makes for the server sockets of its context.
 * @module
 */
import * as zmq from "zeromq";
import {
  InvalidOptionError,
  Lifecycle,
  SocketError,
  intOption,
  optionsObject,
  zmqErrorCode,
  type LifecycleOptions,
  type SocketHandle,
  type TicketList,
} from "../index.js";
import { CompiledPolicy, DENY_REASONS, defaultText, mergePolicy, normaliseDecision, policyOptions, type DenyReason, type ZapDecision, type ZapPolicyOptions } from "./policy.js";
import { ZAP_ENDPOINT, encodeZapReply, parseZapRequest, type ZapRequest, type ZapStatus } from "./protocol.js";

/** Options of {@link ZapHandler}: the default policy, per-domain policies, and plumbing. */
export interface ZapHandlerOptions extends ZapPolicyOptions, LifecycleOptions {
  /** Policies by ZAP domain (the server socket's `zapDomain`). Each is merged over the default policy. */
  readonly domains?: Readonly<Record<string, ZapPolicyOptions>>;
  /** The zeromq context whose servers this handler serves. Default: zeromq's default context. */
  readonly context?: zmq.Context;
  /** Requests being decided at once; beyond it requests are answered 300 (`busy`). Default 1000. */
  readonly maxPending?: number;
  /** Longest a decision may take (ms) before the request is answered 300 (`timeout`). Default 5000. */
  readonly timeout?: number;
}

/** What happened to one request (in events). Never carries the password. */
export interface ZapOutcome {
  readonly domain: string;
  readonly address: string;
  readonly mechanism: string;
  readonly identity: Buffer;
  /** PLAIN username. */
  readonly username?: string;
  /** CURVE client public key, Z85. */
  readonly publicKey?: string;
  readonly status: ZapStatus;
  readonly text: string;
  /** User id sent with a 200 ("" otherwise). */
  readonly userId: string;
  /** Why it was refused (300/400). */
  readonly reason?: DenyReason;
}

/** Events of a {@link ZapHandler}. */
export interface ZapHandlerEvents {
  [event: string]: unknown[];
  /** A request was answered 200. */
  "auth:allowed": [ZapOutcome];
  /** A request was answered 300 or 400. */
  "auth:denied": [ZapOutcome];
  /** A request was answered 500: the callback threw, rejected or returned an invalid decision. */
  "auth:error": [{ outcome: ZapOutcome; error: unknown }];
  /**
   * A malformed request was counted. `socket` is `"zap"`; `id` is the requester's routing id
   * when the request could still be answered (400), absent when it was ignored.
   */
  "message:malformed": [{ socket: string; reason: string; frames: number; id?: Buffer }];
}

/** Counters of a {@link ZapHandler}. */
export interface ZapStats {
  /** Messages received on the ZAP socket (well-formed or not). */
  requests: number;
  /** Answered 200. */
  allowed: number;
  /** Answered 300 or 400. */
  denied: number;
  /** Denials by reason. */
  deniedBy: Record<DenyReason, number>;
  /** Answered 500 (callback failures). */
  errors: number;
  /** Malformed requests (answered 400 when addressable, else ignored). */
  malformed: number;
  /** Requests being decided now. */
  pending: number;
  /** Replies the socket could not deliver (server gone, queue full). */
  repliesDropped: number;
}

/**
 * A second handler tried to bind `inproc://zeromq.zap.01` in a context that already has one
 * (27/ZAP: one handler per process, here per zeromq context).
 */
export class ZapHandlerInUseError extends SocketError {
  constructor(options?: { cause?: unknown }) {
    super(`A ZAP handler is already bound on ${ZAP_ENDPOINT} in this zeromq context; close it first (one handler per context)`, options);
  }
}

const OWNER = "ZapHandler";
const live = new WeakMap<zmq.Context, ZapHandler>();

/**
 * 27/ZAP handler for Node. Binds a ROUTER on `inproc://zeromq.zap.01` in its context and
 * answers each request from the configured policy: allow/deny by address, NULL per domain,
 * PLAIN against scrypt password hashes, CURVE against allowed keys or certificates, or a
 * callback that decides. Bind it before the server sockets accept clients:
 *
 * ```ts
 * const zap = await ZapHandler.start({ curve: { keys: [client.publicKey] } }); // or new ZapHandler(...) + start()
 * const server = new zmq.Router({ curveServer: true, curveSecretKey: server.secretKey, zapEnforceDomain: true });
 * ```
 */
export class ZapHandler extends Lifecycle<ZapHandlerEvents> {
  /** 27/ZAP endpoint. */
  static readonly endpoint = ZAP_ENDPOINT;

  /** The context this handler serves. */
  readonly context: zmq.Context;
  readonly #default: CompiledPolicy;
  readonly #domains: Map<string, CompiledPolicy>;
  readonly #maxPending: number;
  readonly #timeout: number;
  readonly #stats: ZapStats = {
    requests: 0,
    allowed: 0,
    denied: 0,
    deniedBy: Object.fromEntries(DENY_REASONS.map((r) => [r, 0])) as Record<DenyReason, number>,
    errors: 0,
    malformed: 0,
    pending: 0,
    repliesDropped: 0,
  };
  #handle: SocketHandle | undefined;
  /** One O(1) expiry ticket per pending request (all share `timeout`). */
  #deadlines: TicketList | undefined;

  /** Validate the options (InvalidOptionError naming the option). Call {@link start} (or use {@link ZapHandler.start}) to serve. */
  constructor(options?: ZapHandlerOptions) {
    const o = optionsObject(OWNER, options);
    const context = o.context;
    if (context !== undefined && !(context instanceof zmq.Context)) throw new InvalidOptionError("context", `${OWNER}: expected \`context\` to be a zeromq Context, got ${String(context)}`);
    const maxPending = intOption(OWNER, o, "maxPending", 1000, 1);
    const timeout = intOption(OWNER, o, "timeout", 5000, 1);
    const base = policyOptions(o);
    const fallback = new CompiledPolicy(OWNER, base);
    const domains = new Map<string, CompiledPolicy>();
    if (o.domains !== undefined) {
      if (typeof o.domains !== "object" || o.domains === null || Array.isArray(o.domains)) {
        throw new InvalidOptionError("domains", `${OWNER}: expected \`domains\` to be an object of domain name to policy, got ${String(o.domains)}`);
      }
      for (const [name, policy] of Object.entries(o.domains as Record<string, unknown>)) {
        const path = `domains.${name}.`;
        if (typeof policy !== "object" || policy === null || Array.isArray(policy)) {
          throw new InvalidOptionError(`domains.${name}`, `${OWNER}: expected \`domains.${name}\` to be a policy object, got ${String(policy)}`);
        }
        const own = policyOptions(policy as Record<string, unknown>);
        // Validate the domain's own options first so errors name the domain's option.
        new CompiledPolicy(OWNER, own, path);
        domains.set(name, new CompiledPolicy(OWNER, mergePolicy(base, own), path));
      }
    }
    super(OWNER, o);
    this.context = (context as zmq.Context | undefined) ?? zmq.context;
    this.#maxPending = maxPending;
    this.#timeout = timeout;
    this.#default = fallback;
    this.#domains = domains;
  }

  /** True once the ZAP socket is bound and serving. */
  get bound(): boolean {
    return this.#handle !== undefined && !this.#handle.closed && !this.closed;
  }

  /**
   * `start()` loads the users files and certificate directories, then binds on
   * `inproc://zeromq.zap.01`. It rejects with {@link ZapHandlerInUseError} when another
   * handler holds the endpoint in this context, with the file's error when a users file or
   * certificate is invalid, and with ClosedError after close. Idempotent.
   */
  protected async onStart(signal: AbortSignal): Promise<void> {
    await this.reload();
    signal.throwIfAborted();
    const other = live.get(this.context);
    if (other && other !== this && !other.closed) throw new ZapHandlerInUseError();
    const socket = await this.#bindSocket(signal);
    this.#deadlines = this.reactor.tickets(this.#timeout);
    this.#handle = this.ownSocket(socket, {
      name: "zap",
      overflow: "drop-newest",
      sendQueueLimit: this.#maxPending,
      onMessage: (frames) => this.#onRequest(frames),
    });
    live.set(this.context, this);
    this.own(() => {
      if (live.get(this.context) === this) live.delete(this.context);
    });
  }

  async #bindSocket(signal: AbortSignal): Promise<zmq.Router> {
    // A handler closed a moment ago may still hold the inproc name until libzmq's reaper has
    // destroyed its socket; retry for up to ~2 s for that case. (close() does not call
    // unbind(): unbinding the ZAP inproc endpoint while servers' ZAP pipes are attached trips
    // an assertion in libzmq 4.3.5, pipe.cpp:355.)
    for (let attempt = 0; ; attempt++) {
      const socket = new zmq.Router({ context: this.context, linger: 0, mandatory: true, sendTimeout: 0 });
      try {
        await socket.bind(ZAP_ENDPOINT);
        return socket;
      } catch (error) {
        socket.close();
        if (zmqErrorCode(error) !== "EADDRINUSE") throw new SocketError(`${OWNER}: bind ${ZAP_ENDPOINT} failed: ${String(error)}`, { cause: error });
        signal.throwIfAborted();
        if (attempt >= 80) throw new ZapHandlerInUseError({ cause: error });
        await new Promise((resolve) => setTimeout(resolve, 25).unref());
      }
    }
  }

  /** Re-read users files and certificate directories (after they changed). */
  async reload(): Promise<void> {
    await this.#default.load();
    for (const policy of this.#domains.values()) await policy.load();
  }

  /** Counters (see {@link ZapStats}). */
  stats(): ZapStats {
    const dropped = this.#handle?.stats().dropped ?? 0;
    return { ...this.#stats, deniedBy: { ...this.#stats.deniedBy }, repliesDropped: dropped };
  }

  // close(): the ZAP socket closes (requests being decided get no answer), and the reactor if
  // the handler owns it. Afterwards another handler can bind in the same context (libzmq
  // frees the inproc name a moment later; start() waits for that).

  #onRequest(frames: Buffer[]): void {
    this.#stats.requests++;
    const parsed = parseZapRequest(frames);
    if (!parsed.ok) {
      this.#stats.malformed++;
      if (parsed.answer) this.#reply(parsed.answer.envelope, parsed.answer.requestId, 400, "Malformed request", "");
      const id = parsed.answer?.envelope[0];
      this.emit("message:malformed", { socket: "zap", reason: parsed.reason, frames: frames.length, ...(id ? { id } : {}) });
      return;
    }
    const { envelope, request } = parsed;
    if (this.#stats.pending >= this.#maxPending) {
      this.#finish(envelope, request, { status: 300, text: "Too many pending requests", reason: "busy" });
      return;
    }
    this.#stats.pending++;
    let settled = false;
    const deadline = this.#deadlines!.add(() => {
      if (settled) return;
      settled = true;
      this.#stats.pending--;
      this.#finish(envelope, request, { status: 300, text: "Timed out", reason: "timeout" });
    });
    void this.#decide(request).then((result) => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      this.#stats.pending--;
      if (typeof result === "string" || result instanceof Error) {
        this.#finish(envelope, request, { status: 500, text: "Internal error" }, result);
      } else {
        this.#finish(envelope, request, result);
      }
    });
  }

  /** The decision, or the error (string or Error) that makes it a 500. Never rejects. */
  async #decide(request: ZapRequest): Promise<ZapDecision | string | Error> {
    const policy = this.#domains.get(request.domain) ?? this.#default;
    try {
      if (!policy.authenticate) return await policy.decide(request);
      const result = await policy.authenticate(request, () => policy.decide(request));
      const decision = normaliseDecision(result, request);
      return typeof decision === "string" ? new TypeError(`ZAP callback: ${decision}`) : decision;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  #finish(envelope: Buffer[], request: ZapRequest, decision: ZapDecision, error?: unknown): void {
    // Closed meanwhile: no reply can go out, so nothing is counted as answered.
    if (!this.#handle || this.#handle.closed) return;
    const status = decision.status;
    const text = decision.text ?? defaultText(status);
    const userId = status === 200 ? (decision.userId ?? "") : "";
    const outcome: ZapOutcome = {
      domain: request.domain,
      address: request.address,
      mechanism: request.mechanism,
      identity: request.identity,
      ...(request.username !== undefined ? { username: request.username } : {}),
      ...(request.publicKey !== undefined ? { publicKey: request.publicKey } : {}),
      status,
      text,
      userId,
      ...(status === 300 || status === 400 ? { reason: decision.reason ?? "callback" } : {}),
    };
    this.#reply(envelope, request.requestId, status, text, userId, decision);
    if (status === 200) {
      this.#stats.allowed++;
      this.emit("auth:allowed", outcome);
    } else if (status === 500) {
      this.#stats.errors++;
      this.emit("auth:error", { outcome, error: error ?? new Error(text) });
    } else {
      this.#stats.denied++;
      this.#stats.deniedBy[outcome.reason!]++;
      this.emit("auth:denied", outcome);
    }
  }

  #reply(envelope: Buffer[], requestId: Buffer, status: ZapStatus, text: string, userId: string, decision?: ZapDecision): void {
    const handle = this.#handle;
    if (!handle || handle.closed) return;
    const metadata = status === 200 ? decision?.metadata : undefined;
    handle.send(encodeZapReply(envelope, requestId, { status, text, userId, ...(metadata ? { metadata } : {}) }));
  }
}
