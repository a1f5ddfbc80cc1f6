/**
 * The base classes of the three workers. {@link WorkerBase} is the {@link Lifecycle} every
 * worker is: validated options, a {@link RequestRunner} wired to the pattern's hooks, the
 * start by itself on the next turn, the runner closed on close. {@link HeartbeatWorker} adds
 * the {@link HeartbeatLink} the 6/PPP and 7/MDP workers talk through: a pattern supplies its
 * greeting, heartbeat, message parser and reply framing, nothing else. Options, events and
 * counters: src/README.md ("Workers").
 * @module
 */
import { replyCacheOf } from "./exactly-once.js";
import type { MessageLike } from "./frames.js";
import { Lifecycle } from "./lifecycle.js";
import { HeartbeatLink } from "./link.js";
import type { Bag } from "./options.js";
import type { ReactorOptions } from "./reactor.js";
import {
  RequestRunner,
  type HeartbeatWorkerConfig,
  type HeartbeatWorkerStats,
  type RequestContext,
  type RequestFailure,
  type WorkerConfig,
  type WorkerEvents,
  type WorkerHandler,
  type WorkerJob,
} from "./worker.js";

/** What every worker is; a pattern implements the three hooks of its {@link RequestRunner}. */
export abstract class WorkerBase<J extends WorkerJob, C extends WorkerConfig<unknown>> extends Lifecycle<WorkerEvents> {
  /** The broker's (queue's backend) endpoint. */
  readonly endpoint: string;
  /** The validated options. */
  protected readonly config: C;
  /** Runs the requests (one at a time) and counts them. */
  protected readonly runner: RequestRunner<J>;

  /**
   * @param maxPending the runner's backlog bound
   * @param reactorDefaults options of the reactor made when none is shared
   */
  protected constructor(owner: string, options: Bag, config: C, maxPending: number, reactorDefaults?: ReactorOptions) {
    super(owner, options, reactorDefaults);
    this.config = config;
    this.endpoint = config.endpoint;
    this.runner = new RequestRunner<J>(
      { maxPending, handlerTimeout: config.handlerTimeout, errorReply: config.errorReply, timers: this.reactor, replyCache: replyCacheOf(config.replyCache, this.reactor.clock) },
      {
        run: (job, ctx) => this.runRequest(job, ctx),
        send: (job, reply) => this.sendReply(job, reply),
        recover: (job, reason) => this.recover(job, reason),
        emit: (event, ...args) => this.emit(event, ...args),
        listening: (event) => this.listenerCount(event) > 0,
      },
    );
    this.startSoon();
  }

  /** Run the handler for one request (the pattern may wrap it, as Majordomo does for streams). */
  protected runRequest(job: J, ctx: RequestContext): MessageLike | Promise<MessageLike> {
    return (this.config.handler as WorkerHandler)(job.body, ctx);
  }
  /** Frame and send a reply on the current connection; false when it could not go out. */
  protected abstract sendReply(job: J, reply: Buffer[]): boolean;
  /** A live request failed with no `errorReply`: have the broker redeliver it. */
  protected abstract recover(job: J, reason: RequestFailure): void;

  /** A handler still running finishes on its own; its reply is dropped (`reply:dropped`, `closed`). */
  protected override onClose(): void {
    this.runner.close();
  }
}

/** A worker on a {@link HeartbeatLink} (6/PPP, 7/MDP). */
export abstract class HeartbeatWorker<J extends WorkerJob, C extends HeartbeatWorkerConfig<unknown>> extends WorkerBase<J, C> {
  #link: HeartbeatLink | undefined;
  #heartbeatsReceived = 0;

  protected constructor(owner: string, options: Bag, config: C) {
    super(owner, options, config, config.maxPending);
  }

  /** True while a socket to the broker is open. */
  get connected(): boolean {
    return this.#link?.connected ?? false;
  }

  /** Counters (see src/README.md, "Workers"). */
  stats(): HeartbeatWorkerStats {
    const l = this.#link?.stats();
    return { ...this.runner.stats(), heartbeatsReceived: this.#heartbeatsReceived, heartbeatsSent: l?.heartbeatsSent ?? 0, connects: l?.connects ?? 0, reconnects: l?.reconnects ?? 0 };
  }

  /** The message sent on every (re)connect (READY). */
  protected abstract greeting(): MessageLike;
  /** The heartbeat message. */
  protected abstract heartbeat(): MessageLike;
  /** Every message from the broker. */
  protected abstract onBrokerMessage(frames: Buffer[]): void;

  /** Count a heartbeat from the broker. */
  protected heartbeatReceived(): void {
    this.#heartbeatsReceived++;
  }

  /** Send on the link; false when there is none (not started, or closed with a shared reactor). */
  protected linkSend(message: MessageLike): boolean {
    const link = this.#link;
    return link !== undefined && !link.closed && link.send(message);
  }

  /** Drop the socket and reconnect on a new one after the backoff delay. */
  protected reconnect(reason: string): void {
    this.#link?.reconnect(reason);
  }

  protected async onStart(): Promise<void> {
    const c = this.config;
    const link = new HeartbeatLink({
      reactor: this.reactor,
      endpoint: c.endpoint,
      greeting: () => this.greeting(),
      heartbeat: () => this.heartbeat(),
      onMessage: (frames) => this.onBrokerMessage(frames),
      heartbeatInterval: c.heartbeatInterval,
      heartbeatLiveness: c.heartbeatLiveness,
      reconnectInterval: c.reconnectInterval,
      reconnectMaxInterval: c.reconnectMaxInterval,
      sendQueueLimit: c.sendQueueLimit,
      socketOptions: c.socketOptions,
    });
    this.#link = link;
    this.own(() => link.close());
    // A lost link ends the requests' connection first; then its events are the worker's, under the same names.
    this.own(link.on("link:lost", () => this.runner.reset()));
    for (const event of ["link:connected", "link:established", "link:lost", "link:reconnecting"] as const) {
      this.own(link.on(event, (...args) => (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args)));
    }
    await link.start();
  }
}
