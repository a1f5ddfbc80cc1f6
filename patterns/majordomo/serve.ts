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
 * Run until SIGINT/SIGTERM, then close `thing` and print its stats. (The CLI framework keeps
 * the process alive while a command runs, even when a worker between reconnects has no socket.)
 */
export async function serve(ctx: CliContext, thing: { close(): Promise<void>; stats(): object }): Promise<number> {
  await aborted(ctx.signal);
  await thing.close();
  ctx.out.log(`stopped: ${JSON.stringify(thing.stats())}`, { stopped: true, stats: thing.stats() });
  return EXIT.OK;
}
