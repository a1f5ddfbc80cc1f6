import { afterEach, describe, expect, it } from "vitest";
import { mongrel2Available } from "../../../patterns/mongrel2/launch.js";
import { killAll, start } from "../../helpers/process.js";

afterEach(killAll);

describe.skipIf(!mongrel2Available())("examples/mongrel2", () => {
  it("serves the app through mongrel2 and answers the request made while the handler restarts", async () => {
    const run = start(process.execPath, ["dist/examples/mongrel2.js"]);
    expect(await run.exited).toBe(0);
    expect(run.lines).toContain("GET /hello?name=mongrel2 -> 200 hello, mongrel2");
    expect(run.lines).toContain("POST /echo -> 200 ping");
    expect(run.lines).toContain("GET /stream -> 200 tick 1 | tick 2 | tick 3 | tick 4 | tick 5");
    expect(run.lines).toContain("GET /hello?name=patient -> 200 hello, patient");
  });
});
