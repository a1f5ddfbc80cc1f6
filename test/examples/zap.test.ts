import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../helpers/process.js";

afterEach(killAll);

describe("examples/zap", () => {
  it("admits the listed CURVE key and refuses the other with status 400", async () => {
    const child = start(process.execPath, ["dist/examples/zap.js"]);
    const code = await child.exited;
    expect(child.lines).toContain("intruder refused with status 400");
    expect(child.lines).toContain("friend got: hello friend");
    expect(child.lines).toContain("ZAP: 1 allowed, 1 denied");
    expect(code).toBe(0);
  });
});
