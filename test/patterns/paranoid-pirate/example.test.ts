/** The Paranoid Pirate example runs from the build and ends by itself (`npm run build` first). */
import { afterEach, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";
import { within } from "../../helpers/wait.js";

afterEach(killAll);

it("examples/paranoid-pirate.js answers every request though a worker dies", async () => {
  const example = start(process.execPath, ["dist/examples/paranoid-pirate.js", "200"]);
  expect(await within(example.exited, 20_000, "example")).toBe(0);
  const out = example.lines.join("\n");
  expect(out).toMatch(/worker 1 dies now/);
  expect(out).toMatch(/200\/200 answered/);
  expect(out).toMatch(/1 workers purged/);
});
