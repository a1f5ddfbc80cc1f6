/**
 * The main demo (`npm run demo`). Until the Pirate patterns land it runs the reactor echo
 * scene: several clients and a server on one Reactor, with live progress and a summary.
 * Run it as `zpatterns demo` (or `npm run demo`).
 */
import { EXIT, intArg, type CliContext } from "../src/cli/cli.js";
import { reactorEcho } from "./reactor-echo.js";

export async function runDemo(ctx: CliContext): Promise<number> {
  const duration = intArg(ctx.values, "duration", 5000, 100);
  ctx.out.log(`Reactor demo: 4 DEALER clients, 1 ROUTER echo server, ${duration} ms`);
  const s = await reactorEcho(duration, (line) => ctx.out.log(line), ctx.signal);
  ctx.out.result(`Summary: ${s.replies} replies to ${s.requests} requests, ${s.stats.dropped} dropped, ${s.stats.handlerErrors} handler errors`, {
    replies: s.replies,
    requests: s.requests,
    dropped: s.stats.dropped,
    handlerErrors: s.stats.handlerErrors,
  });
  return s.replies > 0 ? EXIT.OK : EXIT.FAILURE;
}
