/** The built CLI `zpatterns queue|worker`: option errors are usage errors (run `npm run build` first). */
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli } from "../../helpers/process.js";
import { within } from "../../helpers/wait.js";

afterEach(killAll);

describe("zpatterns queue|worker usage errors", () => {
  for (const protocol of ["paranoid", "simple"]) {
    it(`exit 2 (usage) for an endpoint that is not one (--protocol ${protocol})`, async () => {
      const queue = startCli(["queue", "--protocol", protocol, "--frontend", "not-an-endpoint", "--backend", "tcp://127.0.0.1:*"]);
      const worker = startCli(["worker", "--protocol", protocol, "--connect", "not-an-endpoint"]);
      expect(await within(queue.exited, 10_000, "queue exit")).toBe(2);
      expect(await within(worker.exited, 10_000, "worker exit")).toBe(2);
    });
  }
});
