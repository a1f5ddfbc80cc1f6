import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

afterEach(killAll);

describe("examples/freelance", () => {
  it("answers every request while two of three servers shut down", async () => {
    const run = start(process.execPath, ["dist/examples/freelance.js"]);
    expect(await run.exited).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("reply: HELLO "))).toHaveLength(30);
    expect(run.lines.at(-1)).toMatch(/^done: 30 replies, \d+ retries, 0 abandoned, 1 server\(s\) alive$/);
  });
});
