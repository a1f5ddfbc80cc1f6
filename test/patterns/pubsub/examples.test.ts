import { afterEach, describe, expect, it } from "vitest";
import { killAll, start } from "../../helpers/process.js";

afterEach(killAll);

describe("pub-sub examples (built, from dist/examples)", () => {
  it("examples/pubsub.ts prints the two entitled messages and the 403", async () => {
    const p = start(process.execPath, ["dist/examples/pubsub.js"]);
    expect(await p.exited).toBe(0);
    expect(p.lines).toContain("alerts.disk\t95% full");
    expect(p.lines).toContain("metrics.cpu.host1\t0.93");
    expect(p.lines.some((l) => l.startsWith("denied: 403"))).toBe(true);
    expect(p.lines).toContain("listeners of alerts.disk: ops");
  });

  it("examples/pubsub-demo.ts: authorised, denied and expired subscribers; ends by itself", async () => {
    const p = start(process.execPath, ["dist/examples/pubsub-demo.js", "--json"]);
    expect(await p.exited).toBe(0);
    const summary = JSON.parse(p.lines.at(-1)!) as Record<string, number>;
    expect(summary.deniedStatus).toBe(401);
    expect(summary.expired).toBe(1);
    // Publishing starts once alice's subscription is confirmed (201 HELLO) and the scene waits
    // for the copies in flight: she receives every one.
    expect(summary.published).toBeGreaterThan(0);
    expect(summary.aliceReceived).toBe(summary.published);
  });
});
