/**
 * Gaps counted exactly, with a subscriber that really stalls: `zpatterns pubsub subscribe`
 * (the built CLI; run `npm run build` first) is stopped with SIGSTOP while our server
 * publishes far more than its high-water mark and the socket buffers hold; after SIGCONT the
 * messages it missed (its sequence gaps) equal the copies the server dropped for it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import { closeAll, server } from "./setup.js";

afterEach(async () => {
  await killAll();
  await closeAll();
});

interface Line {
  topic?: string;
  body?: string[];
  seq?: number;
  event?: string;
  count?: number;
  missed?: number;
  received?: number;
}

describe("zpatterns pubsub subscribe: gaps counted exactly", () => {
  it("a subscriber stopped while the server drops its copies counts exactly the drops as missed", { timeout: 60_000 }, async () => {
    const s = await server({ allowAny: true, subscriberHwm: 10 });
    const sub = startCli(["pubsub", "subscribe", "--connect", s.endpoint, "--user", "u", "--password", "p", "--heartbeat-interval", "200", "--heartbeat-liveness", "100", "--json", "t"]);
    const messages = () => sub.lines.map((l) => JSON.parse(l) as Line).filter((l) => l.topic !== undefined);
    await waitFor(() => s.clients().length === 1, { what: "the subscriber's session" });
    await waitFor(
      () => {
        if (messages().length > 0) return true;
        s.publish("t", "warm-up");
        return false;
      },
      { what: "a first message", every: 20 },
    );
    sub.proc.kill("SIGSTOP");
    const body = "x".repeat(1024);
    for (let i = 0; i < 20_000; i++) s.publish("t", body);
    await waitFor(() => (s.clients()[0]?.dropped ?? 0) > 0, { what: "drops at the stalled subscriber" });
    sub.proc.kill("SIGCONT");
    // Publish markers until the subscriber has the last copy and every copy is accounted for
    // (printed or dropped): then the gaps it saw are all the drops there were.
    await waitFor(
      () => {
        const info = s.clients()[0]!;
        const got = messages();
        if (got.at(-1)?.seq === info.seq && got.length + info.dropped === info.seq) return true;
        if (got.at(-1)?.seq !== info.seq) s.publish("t", "end");
        return false;
      },
      { what: "every copy printed or dropped", every: 50, timeout: 30_000 },
    ).catch((error: unknown) => {
      const info = s.clients().map((c) => ({ seq: c.seq, dropped: c.dropped }));
      throw new Error(`${String(error)}: sessions ${JSON.stringify(info)}, printed ${messages().length}, last seq ${messages().at(-1)?.seq}; stderr ${sub.errLines.slice(-5).join(" | ")}`);
    });
    const { dropped, id } = s.clients()[0]!;
    expect(dropped).toBeGreaterThan(0);
    expect(s.stats().drops).toEqual({ [id]: dropped });
    sub.kill("SIGTERM");
    expect(await within(sub.exited, 10_000, "subscriber exit")).toBe(0);
    const logs = sub.errLines.map((l) => JSON.parse(l) as Line);
    const stats = logs.find((l) => l.event === "stats")!;
    expect(stats.missed).toBe(dropped);
    expect(logs.filter((l) => l.event === "messages:missed").reduce((n, l) => n + l.count!, 0)).toBe(dropped);
  });
});
