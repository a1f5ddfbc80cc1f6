/**
 * The main demo (`npm run demo`, `zpatterns demo [--duration MS] [--scene all|pirate|pubsub]`):
 * one command, nothing to set up. It runs
 * 1. the Paranoid Pirate scene (examples/pirate-scene.ts): a 6/PPP queue, workers of which one
 *    crashes now and then and one is slow, and Lazy Pirate clients, with live progress once a
 *    second, then a summary (requests, retries, redeliveries, purged workers, p50/p99);
 * 2. the authenticated pub-sub scene (examples/pubsub-demo.ts): an authorised subscriber, a
 *    denied one and one that stops its keep-alive and is expired;
 * and ends by itself.
 */
import { EXIT, choiceArg, intArg, type CliContext } from "../src/cli/cli.js";
import { runPirateScene, type PirateSummary } from "./pirate-scene.js";
import { runPubSubScene } from "./pubsub-demo.js";

/** The demo's scenes. */
export const DEMO_SCENES = ["all", "pirate", "pubsub"] as const;

/** One line of summary for a Pirate scene. */
export function pirateSummaryLine(s: PirateSummary): string {
  return (
    `Summary: requests ${s.requests}, replies ${s.replies}, retries ${s.retries}, abandoned ${s.abandoned}, ` +
    `redelivered ${s.redelivered}, purged ${s.purged} workers (${s.crashes} crashes), ` +
    `latency p50 ${s.p50.toFixed(1)} ms p99 ${s.p99.toFixed(1)} ms`
  );
}

/** `zpatterns demo`: run the scenes, print their summaries; exit 0 when every scene did what it shows. */
export async function runDemo(ctx: CliContext): Promise<number> {
  const duration = intArg(ctx.values, "duration", 15_000, 100);
  const scene = choiceArg(ctx.values, "scene", DEMO_SCENES, "all");
  let ok = true;
  if (scene !== "pubsub") {
    ctx.out.log(`Paranoid Pirate demo (${(duration / 1000).toFixed(1)} s): 1 queue, 4 workers (1 crashes and restarts, 1 is slow at times), 4 Lazy Pirate clients`);
    const summary = await runPirateScene({ duration, log: (line) => ctx.out.log(line), signal: ctx.signal });
    ctx.out.result(pirateSummaryLine(summary), { scene: "paranoid-pirate", ...summary });
    ok &&= summary.replies > 0;
  }
  if (scene !== "pirate" && !ctx.signal.aborted) {
    ctx.out.log("");
    ctx.out.log("Authenticated pub-sub demo: an authorised subscriber, a denied one, an expired one");
    const result = await runPubSubScene(ctx.out, ctx.signal);
    ok &&= result.ok;
  }
  return ok ? EXIT.OK : EXIT.FAILURE;
}
