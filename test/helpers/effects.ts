/**
 * A handler with a side effect, for the exactly-once tests: it counts how often it ran for
 * each request body, then answers `done:<body>`.
 */

/** The side effect: how often the handler ran for each request body. */
export class Effects {
  readonly runs = new Map<string, number>();
  run(body: string): void {
    this.runs.set(body, (this.runs.get(body) ?? 0) + 1);
  }
}

/** A handler that records its effect, awaits `before` (a gate), then answers `done:<body>`. */
export function effectHandler(effects: Effects, before?: (body: string) => Promise<void> | void): (frames: Buffer[]) => Promise<string> {
  return async (frames) => {
    const body = frames.map(String).join();
    effects.run(body);
    await before?.(body);
    return `done:${body}`;
  };
}

/** Resolves once `emitter` emitted `event` `count` times. */
export function after(emitter: { on(event: string, fn: () => void): unknown }, event: string, count: number): Promise<void> {
  let n = 0;
  return new Promise<void>((resolve) => emitter.on(event, () => ++n >= count && resolve()));
}
