/**
 * The Majordomo worker (7/MDP 0.1 or 18/MDP 0.2) on the core {@link HeartbeatLink}: READY on
 * every (re)connect, heartbeats whenever nothing else went out (so also while a handler
 * runs), liveness, and reconnect on a fresh socket with backoff when the broker goes silent
 * or sends DISCONNECT. Requests are handled one at a time, as 7/MDP says, by the core
 * {@link HeartbeatWorker}.
 * @module
 */
import {
  HeartbeatWorker,
  InvalidOptionError,
  heartbeatWorkerConfig,
  optionsObject,
  toFrames,
  type HeartbeatWorkerConfig,
  type HeartbeatWorkerOptions,
  type HeartbeatWorkerStats,
  type MessageLike,
  type RequestContext,
  type WorkerEvents,
} from "../../src/index.js";
import { MDP_HEARTBEAT_INTERVAL } from "./broker.js";
import { versionOption } from "./options.js";
import { MMI_PREFIX, isServiceName, parseWorkerInbound, workerDisconnect, workerHeartbeat, workerReady, workerReply, type MdpVersion } from "./protocol.js";

/** What a Majordomo handler gets besides the request frames. */
export interface MajordomoRequestContext extends RequestContext {
  /**
   * 18/MDP PARTIAL: send part of the reply now. Returns false if the reply is no longer
   * wanted (connection lost). Under MDP/0.1 there are no partial replies: throws TypeError.
   */
  partial(frames: MessageLike): boolean;
}

/**
 * A request handler: returns the reply frames (or a promise of them). Under MDP/0.2 it may
 * also return an async iterable: every item but the last goes out as PARTIAL, the last as
 * FINAL (under 0.1 the items are joined into one REPLY).
 */
export type MajordomoHandler = (frames: Buffer[], ctx: MajordomoRequestContext) => MessageLike | Promise<MessageLike> | AsyncIterable<MessageLike>;

/**
 * Options of {@link MajordomoWorker}: the worker vocabulary (src/README.md, "Workers");
 * `heartbeatInterval` defaults to 2500 (7/MDP); use the broker's value.
 */
export interface MajordomoWorkerOptions extends HeartbeatWorkerOptions<MajordomoHandler> {
  /** The service this worker offers (printable, not `mmi.*`). Required. */
  readonly service: string;
  /** 1 = MDP/0.1 (default), 2 = MDP/0.2. */
  readonly version?: MdpVersion;
}

/** Counters of a {@link MajordomoWorker}: the worker counters, and the 7/MDP ones. */
export interface MajordomoWorkerStats extends HeartbeatWorkerStats {
  /** 18/MDP PARTIAL replies sent. */
  partials: number;
  /** DISCONNECTs received from the broker (each one a reconnect). */
  disconnectsReceived: number;
}

/** Events of a {@link MajordomoWorker}: the worker events (src/README.md, "Workers"). */
export type MajordomoWorkerEvents = WorkerEvents;

/** A request as the worker runs it: the client's routing id and the body. */
export interface MajordomoJob {
  client: Buffer;
  body: Buffer[];
}

function isAsyncIterable(value: unknown): value is AsyncIterable<MessageLike> {
  return typeof value === "object" && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

/**
 * 7/MDP / 18/MDP worker; see the module documentation. Starts connecting by itself once
 * constructed (or call {@link start} and await it). When a handler fails and there is no
 * `errorReply`, the worker sends DISCONNECT and reconnects, so the broker notices and
 * redelivers the request to another worker.
 */
export class MajordomoWorker extends HeartbeatWorker<MajordomoJob, HeartbeatWorkerConfig<MajordomoHandler>> {
  readonly service: string;
  readonly version: MdpVersion;
  readonly #s = { partials: 0, disconnectsReceived: 0 };

  constructor(options: MajordomoWorkerOptions) {
    const owner = "MajordomoWorker";
    const o = optionsObject(owner, options);
    const config = heartbeatWorkerConfig<MajordomoHandler>(owner, o, MDP_HEARTBEAT_INTERVAL);
    const service = o.service;
    if (typeof service !== "string" || !isServiceName(service) || service.startsWith(MMI_PREFIX)) {
      throw new InvalidOptionError("service", `${owner}: expected \`service\` to be a printable service name outside "mmi.", got ${JSON.stringify(service)}`);
    }
    const version = versionOption(owner, o);
    super(owner, o, config);
    this.service = service;
    this.version = version;
  }

  /** Counters. */
  override stats(): MajordomoWorkerStats {
    return { ...super.stats(), ...this.#s };
  }

  protected greeting(): MessageLike {
    return workerReady(this.version, this.service);
  }

  protected heartbeat(): MessageLike {
    return workerHeartbeat(this.version);
  }

  protected onBrokerMessage(frames: Buffer[]): void {
    const msg = parseWorkerInbound(frames, this.version);
    if (!msg.ok) return this.runner.malformed("link", msg.reason, frames.length);
    if (msg.kind === "heartbeat") return this.heartbeatReceived();
    if (msg.kind === "disconnect") {
      this.#s.disconnectsReceived++;
      return this.reconnect("DISCONNECT from broker");
    }
    this.runner.accept({ client: msg.client, body: msg.body });
  }

  protected sendReply(job: MajordomoJob, reply: Buffer[]): boolean {
    return this.linkSend(workerReply(this.version, job.client, reply, true));
  }

  /** No reply: tell the broker and reconnect, so it redelivers the request elsewhere. */
  protected recover(): void {
    if (this.linkSend(workerDisconnect(this.version))) this.reconnect("handler failed");
  }

  /** Run the handler; a stream goes out as PARTIALs (0.2) or joined (0.1), its last item is the reply. */
  protected override runRequest(job: MajordomoJob, base: RequestContext): MessageLike | Promise<MessageLike> {
    const ctx: MajordomoRequestContext = {
      client: base.client,
      stamp: base.stamp,
      get signal() {
        return base.signal;
      },
      partial: (frames) => {
        if (this.version === 1) throw new TypeError("MDP/0.1 has no partial replies (use version: 2)");
        if (base.signal.aborted || !this.linkSend(workerReply(this.version, job.client, frames, false))) return false;
        this.#s.partials++;
        return true;
      },
    };
    const result = this.config.handler(job.body, ctx);
    return isAsyncIterable(result) ? this.#stream(result, ctx) : result;
  }

  async #stream(items: AsyncIterable<MessageLike>, ctx: MajordomoRequestContext): Promise<MessageLike> {
    let last: MessageLike | undefined;
    const joined: Buffer[] = [];
    for await (const item of items) {
      // Nobody will receive the rest: stop the iterator (break calls its return()).
      if (ctx.signal.aborted) break;
      if (this.version === 1) joined.push(...toFrames(item));
      else {
        if (last !== undefined) ctx.partial(last);
        last = item;
      }
    }
    return this.version === 1 ? joined : (last ?? []);
  }
}
