/** The built CLI `zpatterns queue|worker`: option errors are usage errors (run `npm run build` first). */
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli } from "../../helpers/process.js";
import { within } from "../../helpers/wait.js";

afterEach(killAll);

describe("zpatterns queue|worker usage errors", () => {
  for (const [protocol, prefix] of [["paranoid", []], ["simple", ["simple-pirate"]]] as const) {
    it(`exit 2 (usage) for an endpoint that is not one (${protocol})`, async () => {
      const queue = startCli([...prefix, "queue", "--frontend", "not-an-endpoint", "--backend", "tcp://127.0.0.1:*"]);
      const worker = startCli([...prefix, "worker", "--connect", "not-an-endpoint"]);
      expect(await within(queue.exited, 10_000, "queue exit")).toBe(2);
      expect(await within(worker.exited, 10_000, "worker exit")).toBe(2);
    });
  }

  it("exit 2 for a flag of the old vocabulary (--liveness is now --heartbeat-liveness)", async () => {
    const queue = startCli(["queue", "--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "--liveness", "3"]);
    expect(await within(queue.exited, 10_000, "queue exit")).toBe(2);
  });
});
