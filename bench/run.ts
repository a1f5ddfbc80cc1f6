/**
 * Benchmark runner: `npm run bench` runs all, `npm run bench -- NAME...` the ones named.
 * Each prints a table; with `--json` each prints one JSON line
 * `{"bench": NAME, "ratio": R, "results": [...]}` (the last stdout line is the last bench's).
 * Results are also written to bench/results/NAME.json. Run through the CLI (`zpatterns bench`).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { EXIT, intArg, UsageError, type CliContext } from "../src/cli/cli.js";
import { table, type Benchmark } from "./lib.js";
import { reactorBench } from "./reactor.js";
import { lazyPirateBench } from "./lazy-pirate.js";
import { pubsubBench } from "./pubsub.js";
import { hwmBench } from "./hwm.js";
import { majordomoBench } from "./majordomo.js";
import { paranoidPirateBench } from "./paranoid-pirate.js";
import { freelanceBench } from "./freelance.js";
import { mongrel2Bench } from "./mongrel2.js";
import { cloneBench } from "./clone.js";

/** Every benchmark, in run order. */
export const benchmarks: Benchmark[] = [reactorBench, lazyPirateBench, pubsubBench, hwmBench, majordomoBench, paranoidPirateBench, freelanceBench, cloneBench, mongrel2Bench];

const resultsDir = fileURLToPath(new URL("../../bench/results/", import.meta.url));

export async function runBenchCommand(ctx: CliContext): Promise<number> {
  if (ctx.values.list) {
    for (const b of benchmarks) ctx.out.result(`${b.name.padEnd(16)} ${b.description}`, { bench: b.name, description: b.description });
    return EXIT.OK;
  }
  const rounds = intArg(ctx.values, "rounds", 5, 1);
  const names = ctx.positionals;
  for (const n of names) {
    if (!benchmarks.some((b) => b.name === n)) throw new UsageError(`unknown benchmark "${n}" (have: ${benchmarks.map((b) => b.name).join(", ")})`);
  }
  const chosen = names.length ? benchmarks.filter((b) => names.includes(b.name)) : benchmarks;
  mkdirSync(resultsDir, { recursive: true });
  for (const bench of chosen) {
    if (ctx.signal.aborted) return EXIT.FAILURE;
    const outcome = await bench.run({ rounds, log: (line) => process.stderr.write(line + "\n") });
    const record = { bench: bench.name, ratio: Number(outcome.ratio.toFixed(4)), results: outcome.results, node: process.versions.node, date: new Date().toISOString() };
    writeFileSync(`${resultsDir}${bench.name}.json`, JSON.stringify(record, null, 2) + "\n");
    if (!ctx.out.json) {
      process.stdout.write(table(bench.name, outcome.results) + "\n");
      for (const note of outcome.notes ?? []) process.stdout.write(note + "\n");
      process.stdout.write(`ratio (ours / raw zeromq.js, higher is better): ${outcome.ratio.toFixed(3)}\n\n`);
    } else {
      process.stdout.write(JSON.stringify({ bench: bench.name, ratio: record.ratio, results: outcome.results }) + "\n");
    }
  }
  return EXIT.OK;
}
