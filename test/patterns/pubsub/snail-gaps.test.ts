/**
 * ZPS/1.1 gaps counted exactly, with subscribers that really stall while our server publishes
 * far more than their high-water mark and the socket buffers hold: `zpatterns pubsub
 * subscribe` (the built CLI; run `npm run build` first) stopped with SIGSTOP, and the Python
 * peer test/peers/pubsub_snail_client.py (written from PROTOCOL.md §3.7) that stops reading.
 * Each one's missed count (the sum of its sequence gaps) equals the server's drop count for it.
 * And the CLI's other side: `pubsub serve --stats-interval` lines, `subscribe --close-on-lag`.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { killAll, startCli, startPython } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import type { PubSubServer } from "../../../patterns/pubsub/index.js";
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

/**
 * Publish markers until the subscriber has the last copy and every copy of its session is
 * accounted for (received, as `received()` lists their sequence numbers, or dropped): then
 * the gaps it saw are all the drops there were.
 */
async function accounted(s: PubSubServer, received: () => number[]): Promise<void> {
  await waitFor(
    () => {
      const info = s.clients()[0]!;
      const got = received();
      if (got.at(-1) === info.seq && got.length + info.dropped === info.seq) return true;
      if (got.at(-1) !== info.seq) s.publish("t", "end");
      return false;
    },
    { what: "every copy received or dropped", every: 50, timeout: 30_000 },
  ).catch((error: unknown) => {
    const info = s.clients().map((c) => ({ seq: c.seq, dropped: c.dropped }));
    throw new Error(`${String(error)}: sessions ${JSON.stringify(info)}, received ${received().length}, last seq ${received().at(-1)}`);
  });
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
    await accounted(s, () => messages().map((m) => m.seq!));
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

describe("ZPS/1.1 interop: a Python subscriber written from PROTOCOL.md §3.7", () => {
  it("stalled (it stops reading for 1.5 s), it counts exactly the copies our server dropped for it", { timeout: 60_000 }, async () => {
    const s = await server({ allowAny: true, subscriberHwm: 10 });
    const py = startPython("pubsub_snail_client.py", [s.endpoint, "u", "p", "1500", "t"]);
    await py.waitLine(/^SESSION 201$/);
    await waitFor(
      () => {
        if (py.lines.some((l) => l.startsWith("FIRST"))) return true;
        s.publish("t", "warm-up");
        return false;
      },
      { what: "the first message at the Python peer", every: 20 },
    );
    const body = "x".repeat(1024);
    for (let i = 0; i < 20_000; i++) s.publish("t", body);
    await py.waitLine(/^AWAKE$/, 20_000);
    const seqs = () => py.lines.filter((l) => /^(FIRST|MSG) /.test(l)).map((l) => Number(l.split(" ")[1]));
    await accounted(s, seqs);
    const { dropped, version } = s.clients()[0]!;
    expect(version).toBe("ZPS/1.1");
    expect(dropped).toBeGreaterThan(0);
    const gaps = py.lines.filter((l) => l.startsWith("GAP ")).reduce((n, l) => n + Number(l.split(" ")[1]), 0);
    expect(gaps).toBe(dropped);
  });
});

describe("zpatterns pubsub serve --stats-interval | subscribe --close-on-lag", () => {
  it("serve prints stats lines (drops per subscriber); a stalled subscribe --close-on-lag exits 4", { timeout: 60_000 }, async () => {
    const serve = startCli(["pubsub", "serve", "--bind", "tcp://127.0.0.1:*", "--ingest", "tcp://127.0.0.1:*", "--allow-any", "--stats-interval", "100", "--json"]);
    const { endpoint, ingest } = JSON.parse(await serve.waitLine(/"listening"/)) as { endpoint: string; ingest: string };
    const statsLines = () => serve.errLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === "stats");
    await waitFor(() => statsLines().length > 0, { what: "a stats line" });
    expect(statsLines()[0]).toMatchObject({ clients: 0, dropped: 0, drops: {} });
    const sub = startCli(["pubsub", "subscribe", "--connect", endpoint, "--user", "u", "--password", "p", "--max-lag", "50", "--close-on-lag", "--heartbeat-liveness", "100", "--json", "t"]);
    await waitFor(() => statsLines().at(-1)?.clients === 1, { what: "the subscriber's session" });
    sub.proc.kill("SIGSTOP");
    const push = new zmq.Push({ linger: 0 });
    try {
      push.connect(ingest);
      await push.send(["t", "late"]);
      await waitFor(() => Number(statsLines().at(-1)?.delivered) === 1, { what: "the copy handed to the subscriber" });
      // Two more stats lines: at least 100 ms of stall after the copy was stamped (> --max-lag 50).
      const n = statsLines().length;
      await waitFor(() => statsLines().length >= n + 2, { what: "two stats intervals" });
      sub.proc.kill("SIGCONT");
      expect(await within(sub.exited, 10_000, "subscriber exit")).toBe(4);
      const logs = sub.errLines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(logs.find((l) => l.event === "lag:exceeded")).toMatchObject({ maxLag: 50, seq: 1 });
      expect(logs.find((l) => l.event === "stats")).toMatchObject({ protocol: "ZPS/1.1", lagExceeded: 1, received: 0 });
      expect(sub.lines).toEqual([]);
    } finally {
      push.close();
    }
    serve.kill("SIGTERM");
    expect(await within(serve.exited, 10_000, "serve exit")).toBe(0);
  });
});
