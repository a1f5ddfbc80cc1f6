/**
 * Helpers shared by the Majordomo and Titanic commands.
 * @module
 */
import { EXIT, UsageError, aborted, type CliContext } from "../../src/cli/cli.js";

/** Run `make`, turning an option TypeError into a usage error (exit code 2). */
export function usage<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Run until SIGINT/SIGTERM, then close `thing` and print its stats. The process is kept
 * alive meanwhile: a worker waiting out a reconnect backoff has no socket open, and the
 * reactor's timers are unref'd.
 */
export async function serve(ctx: CliContext, thing: { close(): Promise<void>; stats(): object }): Promise<number> {
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    await aborted(ctx.signal);
  } finally {
    clearInterval(keepAlive);
  }
  await thing.close();
  ctx.out.log(`stopped: ${JSON.stringify(thing.stats())}`, { stopped: true, stats: thing.stats() });
  return EXIT.OK;
}
