import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

// Runs the built example: `npm run build` first.
afterEach(killAll);

describe("examples/lazy-pirate", () => {
  it("runs to the end: every request answered despite the flaky server", async () => {
    const run = start(process.execPath, ["dist/examples/lazy-pirate.js"]);
    expect(await run.exited).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("reply: "))).toHaveLength(6);
    const m = /^done: 6 replies, (\d+) retries, (\d+) reopened, 0 abandoned$/.exec(run.lines.at(-1) ?? "");
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(2);
    expect(m![2]).toBe(m![1]);
  });
});
