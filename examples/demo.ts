/**
 * The main demo (`npm run demo`, `zpatterns demo [--duration MS]`): one command, nothing to
 * set up. It runs the Paranoid Pirate scene (examples/pirate-scene.ts): a 6/PPP queue,
 * workers of which one crashes now and then and one is slow, and Lazy Pirate clients, with
 * live progress once a second, then prints a summary and ends by itself.
 * Scenes are exported functions, so more can be appended here.
 */
import { EXIT, intArg, type CliContext } from "../src/cli/cli.js";
import { runPirateScene, type PirateSummary } from "./pirate-scene.js";

/** One line of summary for a Pirate scene. */
export function pirateSummaryLine(s: PirateSummary): string {
  return (
    `Summary: requests ${s.requests}, replies ${s.replies}, retries ${s.retries}, abandoned ${s.abandoned}, ` +
    `redelivered ${s.redelivered}, purged ${s.purged} workers (${s.crashes} crashes), ` +
    `latency p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms`
  );
}

/** `zpatterns demo`: run the scenes, print their summaries; exit 0 when requests were answered. */
export async function runDemo(ctx: CliContext): Promise<number> {
  const duration = intArg(ctx.values, "duration", 15_000, 100);
  ctx.out.log(`Paranoid Pirate demo (${(duration / 1000).toFixed(1)} s): 1 queue, 4 workers (1 crashes and restarts, 1 is slow at times), 4 Lazy Pirate clients`);
  const summary = await runPirateScene({ duration, log: (line) => ctx.out.log(line), signal: ctx.signal });
  ctx.out.result(pirateSummaryLine(summary), { scene: "paranoid-pirate", ...summary });
  return summary.replies > 0 ? EXIT.OK : EXIT.FAILURE;
}
