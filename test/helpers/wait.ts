/**
 * Waiting on state, never on sleeps: `waitFor` re-checks a condition on every macrotask
 * turn (setImmediate) or a short poll, and fails with a message when its bound passes.
 */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, options: { timeout?: number; what?: string; every?: number } = {}): Promise<T> {
  const { timeout = 10_000, what = "condition", every = 5 } = options;
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Reject after `ms` with a clear message if `promise` has not settled. */
export function within<T>(promise: Promise<T>, ms: number, what = "operation"): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
