/** examples/titanic.ts runs to the end (built: run `npm run build` first). */
import { afterEach, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

afterEach(killAll);

it("examples/titanic.ts runs and ends by itself", async () => {
  const p = start(process.execPath, ["dist/examples/titanic.js"]);
  expect(await p.exited).toBe(0);
  expect(p.lines.filter((l) => / -> 200 [A-Z]+!$/.test(l))).toHaveLength(3);
  expect(p.lines).toContain("call() in one go -> DONE!");
});
