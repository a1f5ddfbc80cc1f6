/**
 * Prometheus metrics for any component (`zeromq-patterns/metrics`; needs the optional peer
 * dependency `prom-client`). {@link StatsMetrics} registers what a component's `stats()`
 * returns, knowing no pattern: the metric names and types follow from the keys by the rules
 * below, and a small {@link MetricsTable} per component adds what the keys cannot say.
 * Values are read on scrape (prom-client `collect()`), so nothing runs on the hot path.
 *
 * Naming rules, for component `C` and a numeric key `k` of `stats()`:
 * - `zmq_patterns_C_<k in snake case>_total`, a counter; a gauge (no `_total`) when `k` is a
 *   level rather than a count ({@link DEFAULT_GAUGES}: workers, idle, pending, services,
 *   subscribers, tickets, ...; add more with `gauges`). Booleans are gauges of 0 or 1.
 * - `dropped<Reason>` keys: `zmq_patterns_C_dropped_by_reason_total{reason="<reason>"}` (a
 *   component's `dropped` total stays `zmq_patterns_C_dropped_total`).
 * - A nested object with `sent` and `received` counters is a socket's:
 *   `zmq_patterns_C_socket_<k>_total{socket="<its key>"}`.
 * - A nested map named in `labelMaps` (Titanic's `replied` by status, pub-sub's `drops` by
 *   subscriber): `zmq_patterns_C_<map>_total{<label>="<its key>"}`.
 * - Any other nested object: its keys prefixed with its own (`ha_transitions_total`). Strings
 *   and arrays are left out.
 *
 * ```ts
 * import { StatsMetrics, MetricsServer } from "zeromq-patterns/metrics";
 * const metrics = new StatsMetrics();
 * metrics.register("paranoid_pirate_queue", queue);
 * const server = await MetricsServer.start({ host: "127.0.0.1", port: 9464, metrics });
 * // or: app.get("/metrics", async (_, res) => res.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
 * ```
 * @module
 */
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Registry } from "prom-client";
import { InvalidOptionError } from "../errors.js";
import { Lifecycle, type LifecycleOptions } from "../lifecycle.js";
import { intOption, optionsObject, stringOption } from "../options.js";
import { DEFAULT_HELP, statsSamples, type MetricsTable, type Sample, type StatsSource } from "./rules.js";

export * from "./rules.js";

/** A metric family found in a component's stats. */
interface Family {
  readonly name: string;
  readonly gauge: boolean;
  readonly labelNames: readonly string[];
  readonly metric: Counter | Gauge;
}

/** Options of {@link StatsMetrics}. */
export interface StatsMetricsOptions {
  /** The prom-client registry to register with. Default: a new one (`metrics.registry`). */
  readonly registry?: Registry;
  /** Metric name prefix. Default `zmq_patterns`. */
  readonly prefix?: string;
}

/**
 * Registers components' `stats()` with a prom-client registry (see the module documentation
 * for the names). Each component's stats are read once per scrape.
 */
export class StatsMetrics {
  /** The registry the metrics are in (serve `registry.metrics()` with `registry.contentType`). */
  readonly registry: Registry;
  readonly #prefix: string;
  readonly #components = new Map<string, { refresh(): void; unregister(): void }>();

  constructor(options: StatsMetricsOptions = {}) {
    const o = optionsObject("StatsMetrics", options);
    this.registry = (o.registry as Registry | undefined) ?? new Registry();
    if (!(this.registry instanceof Registry)) throw new InvalidOptionError("registry", "StatsMetrics: expected `registry` to be a prom-client Registry");
    this.#prefix = stringOption("StatsMetrics", o, "prefix", "zmq_patterns");
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(this.#prefix)) throw new InvalidOptionError("prefix", "StatsMetrics: expected `prefix` to be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)");
  }

  /** The names of the registered components. */
  get components(): string[] {
    return [...this.#components.keys()];
  }

  /**
   * Export `source`'s stats as `<prefix>_<component>_...` metrics. Returns a function that
   * unregisters them. A component name is registered once.
   */
  register(component: string, source: StatsSource, table: MetricsTable = {}): () => void {
    if (typeof component !== "string" || !/^[a-z][a-z0-9_]*$/.test(component)) throw new InvalidOptionError("component", `StatsMetrics: expected a component name in snake case, got ${JSON.stringify(component)}`);
    if (this.#components.has(component)) throw new InvalidOptionError("component", `StatsMetrics: component ${component} is registered already`);
    const read = typeof source === "function" ? source : typeof source?.stats === "function" ? () => source.stats() : undefined;
    if (!read) throw new InvalidOptionError("source", "StatsMetrics: expected a component with stats() or a function returning stats");
    const base = `${this.#prefix}_${component}_`;
    const families = new Map<string, Family>();
    let snapshot: Map<string, Sample[]> | undefined;
    const samples = (): Map<string, Sample[]> => {
      if (snapshot) return snapshot;
      const byFamily = new Map<string, Sample[]>();
      for (const s of statsSamples(read(), table)) {
        const list = byFamily.get(s.family);
        if (list) list.push(s);
        else byFamily.set(s.family, [s]);
      }
      snapshot = byFamily;
      // One read per scrape: every family of this component collects from the same snapshot.
      setImmediate(() => (snapshot = undefined));
      return byFamily;
    };
    const help = (key: string) => table.help?.[key] ?? DEFAULT_HELP[key] ?? `${key} (${component} stats())`;
    const refresh = (): void => {
      for (const [family, list] of samples()) {
        if (families.has(family)) continue;
        const first = list[0]!;
        const name = base + family + (first.gauge ? "" : "_total");
        const labelNames = [...new Set(list.flatMap((s) => Object.keys(s.labels)))];
        if (this.registry.getSingleMetric(name)) continue;
        const collect = function (this: Counter | Gauge): void {
          this.reset();
          for (const s of samples().get(family) ?? []) {
            const labels = Object.fromEntries(labelNames.map((l) => [l, s.labels[l] ?? ""]));
            if (first.gauge) (this as Gauge).set(labels, s.value);
            else (this as Counter).inc(labels, Math.max(0, s.value));
          }
        };
        const config = { name, help: help(first.key), labelNames, registers: [this.registry], collect };
        families.set(family, { name, gauge: first.gauge, labelNames, metric: first.gauge ? new Gauge(config) : new Counter(config) });
      }
    };
    const fresh = (): void => {
      snapshot = undefined;
      refresh();
    };
    fresh();
    snapshot = undefined;
    const unregister = () => {
      if (this.#components.get(component)?.unregister !== unregister) return;
      for (const f of families.values()) this.registry.removeSingleMetric(f.name);
      this.#components.delete(component);
    };
    this.#components.set(component, { refresh: fresh, unregister });
    return unregister;
  }

  /** The exposition text (format 0.0.4) of the registry, with families that appeared since the last scrape. */
  async scrape(): Promise<string> {
    for (const c of this.#components.values()) c.refresh();
    return this.registry.metrics();
  }
}

/** Options of {@link MetricsServer}. */
export interface MetricsServerOptions extends LifecycleOptions {
  /** Address to bind (as given: `127.0.0.1`, `0.0.0.0`, `::1`, a host name). */
  readonly host: string;
  /** Port; 0 picks a free one (see {@link MetricsServer.address}). */
  readonly port: number;
  /** What to serve. */
  readonly metrics: StatsMetrics;
  /** URL path. Default `/metrics`. */
  readonly path?: string;
}

/** `GET /metrics` (text format 0.0.4) on plain `node:http`; 404 for anything else. */
export class MetricsServer extends Lifecycle {
  readonly #host: string;
  readonly #port: number;
  readonly #path: string;
  readonly #metrics: StatsMetrics;
  #address: { host: string; port: number; url: string } | undefined;
  #scrapes = 0;

  constructor(options: MetricsServerOptions) {
    const o = optionsObject("MetricsServer", options);
    super("MetricsServer", o);
    this.#host = stringOption("MetricsServer", o, "host", "");
    if (this.#host === "") throw new InvalidOptionError("host", "MetricsServer: expected `host` to be an address to bind");
    this.#port = intOption("MetricsServer", o, "port", -1, 0, 65535);
    if (this.#port < 0) throw new InvalidOptionError("port", "MetricsServer: expected `port` to be an integer from 0 to 65535");
    this.#path = stringOption("MetricsServer", o, "path", "/metrics");
    if (!(o.metrics instanceof StatsMetrics)) throw new InvalidOptionError("metrics", "MetricsServer: expected `metrics` to be a StatsMetrics");
    this.#metrics = o.metrics;
  }

  /** Where it listens, once started (`port` is the bound one when 0 was asked). */
  get address(): { host: string; port: number; url: string } | undefined {
    return this.#address;
  }

  /** Scrapes answered. */
  stats(): { scrapes: number } {
    return { scrapes: this.#scrapes };
  }

  protected async onStart(): Promise<void> {
    const server: Server = createServer((req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== this.#path) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      this.#metrics.scrape().then(
        (text) => {
          this.#scrapes++;
          res.writeHead(200, { "content-type": this.#metrics.registry.contentType }).end(text);
        },
        (error: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(`${String(error)}\n`),
      );
    });
    this.own(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, this.#host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.unref();
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : this.#port;
    const host = this.#host.includes(":") ? `[${this.#host}]` : this.#host;
    this.#address = { host: this.#host, port, url: `http://${host}:${port}${this.#path}` };
  }
}
