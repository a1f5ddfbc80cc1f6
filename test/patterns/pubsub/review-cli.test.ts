import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../helpers/addresses.js";
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

  it("pubsub publish with no server listening fails (exit 1) instead of reporting 'sent'", async () => {
    const pub = startCli(["pubsub", "publish", "--connect", `tcp://127.0.0.1:${await freePort()}`, "t.x", "body"]);
    expect(await pub.exited).toBe(1);
    expect(pub.lines.join("\n")).not.toMatch(/sent/);
  }, 20_000);
});
