import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli } from "../../helpers/process.js";

afterEach(killAll);

describe("review: zpatterns pubsub adduser (built CLI)", () => {
  it("an scrypt cost outside 1024..1048576 is a usage error (exit 2)", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "zps-rv-")), "users.json");
    for (const cost of ["2", "512", "2097152"]) {
      const add = startCli(["pubsub", "adduser", "--users", file, "--user", "u", "--password", "p", "--allow", "x.", "--cost", cost]);
      expect(await add.exited).toBe(2);
    }
  });
});
