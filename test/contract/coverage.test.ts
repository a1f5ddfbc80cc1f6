/**
 * The lifecycle contract covers every long-lived class: each concrete class exported by a
 * public entry point that extends Lifecycle must have a factory in test/contract/factories/.
 * A new class without one fails here.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Lifecycle } from "../../src/index.js";
import { factories } from "./factories/index.js";

/** Abstract bases: extended by the classes under test, never constructed themselves. */
const ABSTRACT = new Set(["Lifecycle", "WorkerBase", "HeartbeatWorker", "QueueBroker", "RequestClient"]);

async function exportedLifecycleClasses(): Promise<string[]> {
  const entries = ["../../src/index.js", "../../src/zap/index.js", "../../src/metrics/index.js"];
  for (const dir of readdirSync(new URL("../../patterns/", import.meta.url), { withFileTypes: true })) {
    if (dir.isDirectory() && dir.name !== "cli") entries.push(`../../patterns/${dir.name}/index.js`);
  }
  const names = new Set<string>();
  for (const entry of entries) {
    const mod = (await import(entry)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value === "function" && value.prototype instanceof Lifecycle && !ABSTRACT.has(name)) names.add(name);
    }
  }
  return [...names].sort();
}

describe("lifecycle contract coverage", () => {
  it("every exported Lifecycle class has a contract factory", async () => {
    const covered = new Set(factories.map((f) => f.name.split(" ")[0]));
    const classes = await exportedLifecycleClasses();
    expect(classes.length).toBeGreaterThan(20);
    expect(classes.filter((name) => !covered.has(name))).toEqual([]);
  });
});
