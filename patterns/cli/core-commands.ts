/**
 * Commands that belong to no single pattern: `demo`, `bench`, `version`.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { version as libzmqVersion } from "zeromq";
import { EXIT, type CliCommand } from "../../src/cli/cli.js";

/** The package version, read on demand from the package root (found from patterns/cli or dist/patterns/cli). */
function packageVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    const url = new URL(up, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, "utf8")) as { name?: string; version?: string };
    if (pkg.name === "zeromq-patterns" && pkg.version) return pkg.version;
  }
  return "unknown";
}

export const coreCommands: CliCommand[] = [
  {
    name: "demo",
    summary: "Run the main demo (ends by itself)",
    usage: "[--duration MS] [--scene all|pirate|pubsub]",
    help: "Options:\n  --duration MS   how long the Paranoid Pirate scene runs (default 15000)\n  --scene NAME    all (default), pirate or pubsub",
    options: { duration: { type: "string" }, scene: { type: "string" } },
    async run(ctx) {
      const { runDemo } = await import("../../examples/demo.js");
      return runDemo(ctx);
    },
  },
  {
    name: "bench",
    summary: "Run benchmarks against raw zeromq.js (all, or the ones named)",
    usage: "[NAME...] [--rounds N] [--json]",
    help: "Arguments:\n  NAME          benchmark name (default: all)\n\nOptions:\n  --rounds N    interleaved rounds per benchmark (default 5)\n  --list        list benchmark names",
    options: { rounds: { type: "string" }, list: { type: "boolean" } },
    allowPositionals: true,
    async run(ctx) {
      const { runBenchCommand } = await import("../../bench/run.js");
      return runBenchCommand(ctx);
    },
  },
  {
    name: "version",
    summary: "Print the package and libzmq versions",
    usage: "",
    help: "",
    options: {},
    async run(ctx) {
      const version = packageVersion();
      ctx.out.result(`zeromq-patterns ${version} (libzmq ${libzmqVersion}, node ${process.versions.node})`, { version, libzmq: libzmqVersion, node: process.versions.node });
      return EXIT.OK;
    },
  },
];
