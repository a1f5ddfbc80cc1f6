/**
 * The vocabulary's command-line flags, defined once: each flag has one name, one help line,
 * one default (the core's constant) and one option it sets. Commands pick flag groups
 * ({@link BROKER_FLAGS}, {@link WORKER_FLAGS}, {@link REQUEST_FLAGS}) instead of declaring
 * `--heartbeat-interval` and friends by hand, so a flag means the same thing everywhere.
 * @module
 */
import { DISPATCH_DEFAULTS } from "../dispatch.js";
import { HEARTBEAT_INTERVAL, HEARTBEAT_LIVENESS, RECONNECT_INTERVAL, RECONNECT_MAX_INTERVAL } from "../heartbeat.js";
import { SEND_QUEUE_LIMIT } from "../link.js";
import { OVERFLOW_POLICIES } from "../queue.js";
import { MAX_PENDING, REQUEST_RETRIES, REQUEST_TIMEOUT } from "../request.js";
import { WORKER_MAX_PENDING } from "../worker.js";
import { REPLY_CACHE_SIZE, REPLY_CACHE_TTL } from "../exactly-once.js";
import { choiceArg, intArg, type CliOptions, type CliValues } from "./cli.js";

/** One vocabulary flag. */
export interface Flag {
  /** `--name` without the dashes. */
  readonly name: string;
  /** The option it sets. */
  readonly option: string;
  /** Placeholder in the help (`MS`, `N`, `P`). */
  readonly arg: string;
  /** Help text; `{default}` is replaced by the default. */
  readonly text: string;
  /** Default value. */
  readonly def: number | string | boolean;
  /** `bool`: a switch (`--exactly-once`); `string`: any text. Default: an integer, or one of `choices`. */
  readonly kind?: "bool" | "string";
  /** Set the option only when the flag is given (the option's own default applies otherwise). */
  readonly omitDefault?: boolean;
  /** Smallest integer accepted (integer flags). */
  readonly min?: number;
  /** Accepted values (choice flags). */
  readonly choices?: readonly string[];
}

const flag = (name: string, option: string, arg: string, text: string, def: number | string | boolean, extra: Partial<Flag> = {}): Flag => ({ name, option, arg, text, def, ...extra });

/** Every vocabulary flag, by option name. Override `def`/`text` per command with {@link withDefaults}. */
export const FLAGS = {
  heartbeatInterval: flag("heartbeat-interval", "heartbeatInterval", "MS", "heartbeat interval (default {default})", HEARTBEAT_INTERVAL, { min: 1 }),
  heartbeatLiveness: flag("heartbeat-liveness", "heartbeatLiveness", "N", "silent intervals before the peer is dead (default {default})", HEARTBEAT_LIVENESS, { min: 1 }),
  maxPending: flag("max-pending", "maxPending", "N", "requests held while no worker is ready (default {default})", DISPATCH_DEFAULTS.maxPending, { min: 1 }),
  pendingOverflow: flag("pending-overflow", "pendingOverflow", "P", "what a full backlog drops: drop-oldest, drop-newest, reject (default {default})", DISPATCH_DEFAULTS.pendingOverflow, { choices: OVERFLOW_POLICIES }),
  pendingTimeout: flag("pending-timeout", "pendingTimeout", "MS", "drop requests that waited this long for a worker, 0 = never (default {default})", DISPATCH_DEFAULTS.pendingTimeout, { min: 0 }),
  maxRedeliveries: flag("max-redeliveries", "maxRedeliveries", "N", "redeliveries of a request whose worker died (default {default})", DISPATCH_DEFAULTS.maxRedeliveries, { min: 0 }),
  maxWorkers: flag("max-workers", "maxWorkers", "N", "most workers known at once (default {default})", DISPATCH_DEFAULTS.maxWorkers, { min: 1 }),
  maxServices: flag("max-services", "maxServices", "N", "most services at once (default {default})", DISPATCH_DEFAULTS.maxServices, { min: 1 }),
  maxInFlight: flag("max-in-flight", "maxInFlight", "N", "requests in flight at once (default {default})", 100, { min: 1 }),
  sendQueueLimit: flag("send-queue-limit", "sendQueueLimit", "N", "send queue limit of each socket (default {default})", SEND_QUEUE_LIMIT, { min: 1 }),
  reconnectInterval: flag("reconnect-interval", "reconnectInterval", "MS", "first reconnect delay (default {default})", RECONNECT_INTERVAL, { min: 0 }),
  reconnectMaxInterval: flag("reconnect-max-interval", "reconnectMaxInterval", "MS", "reconnect delay cap (default {default})", RECONNECT_MAX_INTERVAL, { min: 0 }),
  handlerTimeout: flag("handler-timeout", "handlerTimeout", "MS", "give up a handler running longer, 0 = never (default {default})", 0, { min: 0 }),
  workerMaxPending: flag("max-pending", "maxPending", "N", "requests held while the handler is busy (default {default})", WORKER_MAX_PENDING, { min: 1 }),
  requestTimeout: flag("timeout", "requestTimeout", "MS", "time to wait for each reply before resending (default {default})", REQUEST_TIMEOUT, { min: 1 }),
  failoverDelay: flag("failover-delay", "failoverDelay", "MS", "with several endpoints: wait before resending to the next one (default {default})", 0, { min: 0 }),
  retries: flag("retries", "retries", "N", "resends after the first attempt before abandoning (default {default})", REQUEST_RETRIES, { min: 0 }),
  clientMaxPending: flag("max-pending", "maxPending", "N", "requests waiting for their turn (default {default})", MAX_PENDING, { min: 0 }),
  exactlyOnce: flag("exactly-once", "exactlyOnce", "", "exactly-once requests: stamp requests / answer duplicates from a reply cache", false, { kind: "bool" }),
  clientId: flag("client-id", "clientId", "ID", "client id on the stamps, with --exactly-once (default a random UUID)", "", { kind: "string", omitDefault: true }),
  replyCacheSize: flag("reply-cache-size", "replyCacheSize", "N", "replies kept, with --exactly-once (default {default})", REPLY_CACHE_SIZE, { min: 1, omitDefault: true }),
  replyCacheTtl: flag("reply-cache-ttl", "replyCacheTtl", "MS", "how long a reply is kept, with --exactly-once (default {default})", REPLY_CACHE_TTL, { min: 1, omitDefault: true }),
} as const satisfies Record<string, Flag>;

/** A set of flags a command takes. */
export class FlagGroup {
  constructor(readonly flags: readonly Flag[]) {}

  /** The `parseArgs` options of the group. */
  get options(): CliOptions {
    return Object.fromEntries(this.flags.map((f) => [f.name, { type: f.kind === "bool" ? ("boolean" as const) : ("string" as const) }]));
  }

  /** Help lines, with the flag column `width` wide (counting the two leading spaces). */
  help(width = 28): string {
    return this.flags.map((f) => `  ${`--${f.name}${f.arg ? ` ${f.arg}` : ""}`.padEnd(width - 2)}${f.text.replace("{default}", String(f.def))}`).join("\n");
  }

  /** The options the flags set (every one, defaults for those not given). */
  read(values: CliValues): Record<string, number | string | boolean> {
    const out: Record<string, number | string | boolean> = {};
    for (const f of this.flags) {
      if (f.omitDefault && values[f.name] === undefined) continue;
      if (f.kind) {
        out[f.option] = f.kind === "bool" ? values[f.name] === true : String(values[f.name] ?? f.def);
        continue;
      }
      out[f.option] = f.choices ? choiceArg(values, f.name, f.choices, String(f.def)) : intArg(values, f.name, Number(f.def), f.min ?? 0);
    }
    // The reconnect cap follows a first delay set above its default.
    if (values["reconnect-max-interval"] === undefined && Number(out.reconnectInterval) > Number(out.reconnectMaxInterval)) out.reconnectMaxInterval = out.reconnectInterval!;
    return out;
  }

  /** This group with other defaults (and texts) for some flags, e.g. MDP's 2500 ms heartbeat. */
  withDefaults(overrides: Partial<Record<string, Partial<Flag>>>): FlagGroup {
    return new FlagGroup(this.flags.map((f) => (overrides[f.option] ? { ...f, ...overrides[f.option] } : f)));
  }

  /** This group plus more flags. */
  with(...flags: Flag[]): FlagGroup {
    return new FlagGroup([...this.flags, ...flags]);
  }
}

/** A broker's flags (Simple Pirate has no heartbeats: use {@link BACKLOG_FLAGS}). */
export const BROKER_FLAGS = new FlagGroup([
  FLAGS.heartbeatInterval,
  FLAGS.heartbeatLiveness,
  FLAGS.maxPending,
  FLAGS.pendingOverflow,
  FLAGS.pendingTimeout,
  FLAGS.maxRedeliveries,
  FLAGS.maxWorkers,
  FLAGS.sendQueueLimit,
]);

/** A broker's flags without the heartbeat ones. */
export const BACKLOG_FLAGS = new FlagGroup(BROKER_FLAGS.flags.slice(2));

/** A heartbeating worker's flags. */
export const WORKER_FLAGS = new FlagGroup([
  FLAGS.heartbeatInterval,
  FLAGS.heartbeatLiveness,
  FLAGS.reconnectInterval,
  FLAGS.reconnectMaxInterval,
  FLAGS.handlerTimeout,
  FLAGS.workerMaxPending,
  FLAGS.sendQueueLimit,
  FLAGS.exactlyOnce,
  FLAGS.replyCacheSize,
  FLAGS.replyCacheTtl,
]);

/** A retrying client's flags. */
export const REQUEST_FLAGS = new FlagGroup([FLAGS.requestTimeout, FLAGS.retries]);

/**
 * `--metrics HOST:PORT`: every long-running command takes it (spread `METRICS_FLAG.options`
 * into its options, `METRICS_FLAG.help()` into its help); `runCli` applies it, for all of
 * them: it serves `/metrics` there, logs the bound address, closes it at the end, and
 * `observe(ctx, name, component)` registers what is exported (see src/README.md).
 */
export const METRICS_FLAG = {
  options: { metrics: { type: "string" } } as CliOptions,
  help(width = 28): string {
    return `  ${"--metrics HOST:PORT".padEnd(width - 2)}serve Prometheus metrics on http://HOST:PORT/metrics (port 0: any free one; the\n  ${"".padEnd(width - 2)}address is logged as "metrics URL"). Needs prom-client`;
  },
};

/** The exactly-once flags of the clients that stamp their requests (Lazy Pirate, Majordomo). */
export const EXACTLY_ONCE_CLIENT_FLAGS = new FlagGroup([FLAGS.exactlyOnce, FLAGS.clientId]);
