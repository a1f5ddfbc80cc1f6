/**
 * The naming rules of `zeromq-patterns/metrics` (see its module documentation), without
 * prom-client: which keys of a `stats()` snapshot become which metric family, type and labels.
 * @module
 */
import { InvalidOptionError } from "../errors.js";

/** A component whose counters are exported: anything with `stats()`, or a function returning them. */
export type StatsSource = { stats(): object } | (() => object);

/** What a component's keys cannot say by themselves. */
export interface MetricsTable {
  /** Keys that are levels (gauges), beside {@link DEFAULT_GAUGES}. */
  readonly gauges?: readonly string[];
  /** Nested maps of counters keyed by a label value: map key -> label name. */
  readonly labelMaps?: Readonly<Record<string, string>>;
  /** Help text by key (beside {@link DEFAULT_HELP}). */
  readonly help?: Readonly<Record<string, string>>;
  /** Keys left out. */
  readonly skip?: readonly string[];
}

/** Keys that are levels, not counts, in every component. */
export const DEFAULT_GAUGES: readonly string[] = [
  "workers", "idle", "pending", "services", "subscribers", "clients", "subscriptions", "trieNodes",
  "tickets", "ticketsActive", "timersActive", "sockets", "running", "ready", "queued", "inFlight",
  "minWorkers", "maxWorkers", "draining", "backlog", "lastPublishVisited", "lastPublishMatched",
  "cacheEntries",
];

/** Maps of counters every component may have, keyed by a label value. */
export const DEFAULT_LABEL_MAPS: Readonly<Record<string, string>> = { replied: "status", drops: "subscriber" };

/** Help text of the shared vocabulary's counters (src/README.md). */
export const DEFAULT_HELP: Readonly<Record<string, string>> = {
  requests: "Requests received",
  dispatched: "Deliveries to workers, redeliveries included",
  replies: "Replies sent or forwarded",
  lateReplies: "Replies from a worker that had no request in flight",
  redelivered: "Requests redelivered after their worker died",
  requestsExpired: "Requests that waited pendingTimeout and were taken out",
  dropped: "Messages or requests dropped, all reasons",
  dropped_by_reason: "Drops by what was dropped or why",
  droppedReplies: "Replies that could not reach their client",
  malformed: "Malformed messages counted and dropped",
  readies: "READYs received",
  rejected: "Peers not taken as workers",
  workersExpired: "Workers removed by heartbeat expiry",
  workersDisconnected: "Workers removed for any other reason",
  heartbeatsSent: "Heartbeats sent",
  heartbeatsReceived: "Heartbeats received",
  workers: "Workers known now",
  idle: "Workers ready for a request now",
  pending: "Requests waiting now",
  services: "Services with at least one worker",
  authFailures: "Refused credentials",
  clients: "Sessions open now",
  subscriptions: "Subscription patterns now",
  running: "Handlers running now",
  failed: "Requests whose handler failed",
  timedOut: "Handlers that ran past handlerTimeout",
};

/** One value of a stats snapshot, named by the rules. */
export interface Sample {
  family: string;
  key: string;
  gauge: boolean;
  labels: Record<string, string>;
  value: number;
}

const snake = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9_]/g, "_")
    .toLowerCase();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

/** The samples of one stats snapshot, by the module's naming rules. */
export function statsSamples(stats: object, table: MetricsTable = {}): Sample[] {
  const gauges = new Set([...DEFAULT_GAUGES, ...(table.gauges ?? [])]);
  const labelMaps = { ...DEFAULT_LABEL_MAPS, ...table.labelMaps };
  const skip = new Set(table.skip ?? []);
  const out: Sample[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string, labels: Record<string, string>): void => {
    for (const [key, value] of Object.entries(obj)) {
      if (skip.has(key)) continue;
      if (typeof value === "number" || typeof value === "boolean") {
        const n = Number(value);
        if (!Number.isFinite(n)) continue;
        const reason = /^dropped([A-Z]\w*)$/.exec(key);
        if (reason && typeof value === "number") out.push({ family: `${prefix}dropped_by_reason`, key: "dropped_by_reason", gauge: false, labels: { ...labels, reason: snake(reason[1]!).replace(/_/g, "-") }, value: n });
        else out.push({ family: prefix + snake(key), key, gauge: typeof value === "boolean" || gauges.has(key), labels, value: n });
      } else if (isObject(value)) {
        const label = labelMaps[key];
        if (label !== undefined) {
          for (const [k, v] of Object.entries(value)) if (typeof v === "number") out.push({ family: prefix + snake(key), key, gauge: false, labels: { ...labels, [label]: k }, value: v });
        } else if (typeof value.sent === "number" && typeof value.received === "number") {
          walk(value, `${prefix}socket_`, { ...labels, socket: key });
        } else {
          walk(value, `${prefix}${snake(key)}_`, labels);
        }
      }
    }
  };
  walk(stats as Record<string, unknown>, "", {});
  return out;
}

/** `HOST:PORT` (or `[IPv6]:PORT`), as `--metrics` takes it; port 0 picks a free one. */
export function parseHostPort(text: string, option = "metrics"): { host: string; port: number } {
  const m = typeof text === "string" ? /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text) : null;
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new InvalidOptionError(option, `expected \`${option}\` to be HOST:PORT (port 0-65535, e.g. 127.0.0.1:9464 or [::1]:0), got ${JSON.stringify(text)}`);
  return { host: m[1] ?? m[2]!, port };
}

