/**
 * zeromq-patterns/metrics under the lifecycle contract: MetricsServer (a node:http listener).
 */
import { MetricsServer, StatsMetrics } from "../../../src/metrics/index.js";
import type { LifecycleFactory } from "../harness.js";

const port = (endpoint: string): number => Number(new URL(endpoint.replace(/^tcp:/, "http:")).port);

export const metricsFactories: LifecycleFactory[] = [
  {
    name: "MetricsServer",
    make: async (_ctx, extras) => new MetricsServer({ host: "127.0.0.1", port: 0, metrics: new StatsMetrics(), ...extras }),
    // One listen only: on the taken TCP port.
    failing: (_ctx, _free, taken, extras) => new MetricsServer({ host: "127.0.0.1", port: port(taken), metrics: new StatsMetrics(), ...extras }),
  },
];
