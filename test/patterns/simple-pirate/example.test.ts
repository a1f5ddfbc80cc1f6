import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

// Runs the built example: `npm run build` first.
afterEach(killAll);

describe("examples/simple-pirate", () => {
  it("runs to the end: the client rides over the dead worker, the pipelined burst is answered", async () => {
    const run = start(process.execPath, ["dist/examples/simple-pirate.js"]);
    expect(await run.exited).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("reply: "))).toHaveLength(5);
    expect(run.lines).toContain("pipelined: 20 replies with 10 in flight");
    const m = /^queue: (\d+) requests, (\d+) replies, 0 dropped, 0 malformed; client retries: (\d+)$/.exec(run.lines.at(-1) ?? "");
    expect(m).not.toBeNull();
    expect(Number(m![3])).toBeGreaterThanOrEqual(1);
    expect(Number(m![1])).toBe(25 + Number(m![3]));
  });
});
