/** examples/majordomo.ts runs to the end (built: run `npm run build` first). */
import { afterEach, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

afterEach(killAll);

it("examples/majordomo.ts runs and ends by itself", async () => {
  const p = start(process.execPath, ["dist/examples/majordomo.js"]);
  expect(await p.exited).toBe(0);
  expect(p.lines).toContain("client: echo -> hello majordomo");
  expect(p.lines).toContain("client: clock -> tick 3/3");
  expect(p.lines).toContain("client: work -> done: important job");
  expect(p.lines.some((l) => l.startsWith("client: nobody -> 504"))).toBe(true);
});
