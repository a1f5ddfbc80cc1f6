/**
 * zeromq-patterns/metrics (src/metrics/): the naming rules over a stats snapshot, StatsMetrics
 * reading stats on scrape only, and MetricsServer on a real node:http port.
 */
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/index.js";
import { MetricsServer, parseHostPort, StatsMetrics, statsSamples } from "../../src/metrics/index.js";

const servers: MetricsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A component whose stats look like a broker's, counting how often they are read. */
function fakeBroker() {
  let reads = 0;
  const s = {
    requests: 7,
    replies: 5,
    dropped: 2,
    droppedOverflow: 1,
    droppedClosed: 1,
    workers: 3,
    idle: 1,
    draining: false,
    frontend: { received: 7, sent: 5, droppedHwm: 0 },
    replied: { "200": 4, "404": 1 },
    ha: { transitions: 2 },
    name: "not a number",
    children: [{ pid: 1 }],
  };
  return {
    s,
    get reads() {
      return reads;
    },
    stats() {
      reads++;
      return s;
    },
  };
}

describe("metrics naming rules (statsSamples)", () => {
  it("counters, gauges, drop reasons, socket labels, labelled maps, nested prefixes; strings and arrays left out", () => {
    const rows = statsSamples(fakeBroker().s, { gauges: [] }).map((x) => [x.family, x.gauge ? "gauge" : "counter", x.labels, x.value]);
    expect(rows).toEqual([
      ["requests", "counter", {}, 7],
      ["replies", "counter", {}, 5],
      ["dropped", "counter", {}, 2],
      ["dropped_by_reason", "counter", { reason: "overflow" }, 1],
      ["dropped_by_reason", "counter", { reason: "closed" }, 1],
      ["workers", "gauge", {}, 3],
      ["idle", "gauge", {}, 1],
      ["draining", "gauge", {}, 0],
      ["socket_received", "counter", { socket: "frontend" }, 7],
      ["socket_sent", "counter", { socket: "frontend" }, 5],
      ["socket_dropped_by_reason", "counter", { socket: "frontend", reason: "hwm" }, 0],
      ["replied", "counter", { status: "200" }, 4],
      ["replied", "counter", { status: "404" }, 1],
      ["ha_transitions", "counter", {}, 2],
    ]);
    expect(statsSamples({ replies: 1, secret: 2 }, { gauges: ["replies"], skip: ["secret"] })).toEqual([{ family: "replies", key: "replies", gauge: true, labels: {}, value: 1 }]);
  });

  it("parseHostPort: HOST:PORT and [IPv6]:PORT, port 0..65535; anything else names the option", () => {
    expect(parseHostPort("127.0.0.1:0")).toEqual({ host: "127.0.0.1", port: 0 });
    expect(parseHostPort("[::1]:9464")).toEqual({ host: "::1", port: 9464 });
    expect(parseHostPort("localhost:65535")).toEqual({ host: "localhost", port: 65535 });
    for (const bad of ["", "9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:9x", "http://127.0.0.1:1", "::1:80", "a b:1"]) {
      expect(() => parseHostPort(bad), bad).toThrow(InvalidOptionError);
    }
    expect(() => parseHostPort("x")).toThrow(/`metrics` to be HOST:PORT/);
  });
});

describe("StatsMetrics", () => {
  it("reads stats on scrape only, once per scrape, and writes the exposition text", async () => {
    const broker = fakeBroker();
    const metrics = new StatsMetrics();
    metrics.register("my_broker", broker);
    const readsAtRegister = broker.reads;
    broker.s.requests = 9;
    const text = await metrics.scrape();
    expect(broker.reads).toBe(readsAtRegister + 1);
    expect(text).toContain("# TYPE zmq_patterns_my_broker_requests_total counter");
    expect(text).toContain("zmq_patterns_my_broker_requests_total 9\n");
    expect(text).toContain("# HELP zmq_patterns_my_broker_requests_total Requests received");
    expect(text).toContain("# TYPE zmq_patterns_my_broker_workers gauge");
    expect(text).toContain('zmq_patterns_my_broker_dropped_by_reason_total{reason="overflow"} 1');
    expect(text).toContain('zmq_patterns_my_broker_socket_received_total{socket="frontend"} 7');
    expect(text).toContain('zmq_patterns_my_broker_replied_total{status="404"} 1');
    await new Promise((resolve) => setImmediate(resolve));
    await metrics.registry.metrics(); // a scrape through the registry alone reads them too
    expect(broker.reads).toBe(readsAtRegister + 2);
  });

  it("a key that appears later is exported from the next scrape; unregister removes the families", async () => {
    const stats: Record<string, number> = { requests: 1 };
    const metrics = new StatsMetrics({ registry: new Registry(), prefix: "app" });
    const off = metrics.register("late", () => stats);
    stats.replies = 4;
    expect(await metrics.scrape()).toContain("app_late_replies_total 4");
    expect(metrics.components).toEqual(["late"]);
    off();
    expect(await metrics.scrape()).toBe("\n");
    expect(metrics.components).toEqual([]);
  });

  it("validates names and sources", () => {
    const metrics = new StatsMetrics();
    metrics.register("one", () => ({}));
    expect(() => metrics.register("one", () => ({}))).toThrow(/registered already/);
    expect(() => metrics.register("Bad-Name", () => ({}))).toThrow(InvalidOptionError);
    expect(() => metrics.register("two", {} as never)).toThrow(/stats\(\)/);
    expect(() => new StatsMetrics({ prefix: "1x" })).toThrow(InvalidOptionError);
    expect(() => new StatsMetrics({ registry: {} as never })).toThrow(InvalidOptionError);
  });
});

describe("MetricsServer", () => {
  it("serves GET /metrics (text 0.0.4) on the port it was given (0: a free one), 404 elsewhere, and closes", async () => {
    const metrics = new StatsMetrics();
    metrics.register("thing", () => ({ requests: 3 }));
    const server = new MetricsServer({ host: "127.0.0.1", port: 0, metrics });
    servers.push(server);
    await server.start();
    const { url, port } = server.address!;
    expect(port).toBeGreaterThan(0);
    expect(url).toBe(`http://127.0.0.1:${port}/metrics`);
    const res = await fetch(url);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toContain("zmq_patterns_thing_requests_total 3");
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    expect((await fetch(url, { method: "POST" })).status).toBe(404);
    expect(server.stats().scrapes).toBe(1);
    // The same port again: the start fails, leaving nothing bound.
    const twin = new MetricsServer({ host: "127.0.0.1", port, metrics });
    servers.push(twin);
    await expect(twin.start()).rejects.toMatchObject({ code: "EADDRINUSE" });
    await server.close();
    await expect(fetch(url)).rejects.toThrow();
  });

  it("validates its options", () => {
    const metrics = new StatsMetrics();
    expect(() => new MetricsServer({ host: "", port: 0, metrics })).toThrow(/`host`/);
    expect(() => new MetricsServer({ host: "127.0.0.1", port: 70_000, metrics })).toThrow(InvalidOptionError);
    expect(() => new MetricsServer({ host: "127.0.0.1", port: 0, metrics: {} as never })).toThrow(/`metrics`/);
  });
});
