/** examples/clone.ts as a process: its output. */
import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

afterEach(killAll);

describe("examples/clone", () => {
  it("watches a subtree, expires a key and gives a late joiner the whole map", async () => {
    const run = start(process.execPath, ["dist/examples/clone.js"]);
    expect(await run.exited).toBe(0);
    expect(run.lines.filter((l) => l.startsWith("watcher: "))).toEqual([
      "watcher: /config/colour = blue",
      "watcher: /config/size = large",
      "watcher: /config/session = abc",
      "watcher: /config/colour = green",
      "watcher: /config/session = (deleted)",
    ]);
    expect(run.lines.filter((l) => l.startsWith("late joiner: "))).toEqual(["late joiner: /config/colour=green", "late joiner: /config/size=large", "late joiner: /stats/hits=42"]);
    expect(run.lines.at(-1)).toBe("done: 3 keys, server seq 6, 1 expired");
  });
});
