import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

// Runs the built example: `npm run build` first.
afterEach(killAll);

describe("examples/binary-star", () => {
  it("runs to the end: every request answered across a kill -9 of the primary", async () => {
    const run = start(process.execPath, ["dist/examples/binary-star.js", "30"]);
    expect(await run.exited).toBe(0);
    expect(run.lines).toContain("9 answered: kill -9 the primary");
    expect(run.lines.at(-1)).toMatch(/^30\/30 answered, [1-9]\d* failover\(s\)$/);
    expect(run.lines.some((l) => /^backup: bstar:state from=passive to=active event=client-request/.test(l))).toBe(true);
  });
});
