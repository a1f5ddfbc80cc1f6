/**
 * Slow-subscriber detection (ZPS/1.1, PROTOCOL.md §3.7): the codecs, the SequenceTracker on
 * given times, PubSubCore's per-session sequence numbers on a ManualClock, and over real
 * sockets: a stalled subscriber is told it lagged (and closes itself with closeOnLag), an old
 * ZPS/1 client (the Python peer) still receives, a client falls back to ZPS/1 on a 505.
 */
import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, Reactor } from "../../../src/index.js";
import {
  allowAnyAuthenticator,
  helloFrames,
  isParseError,
  parseClientCommand,
  parseServerMessage,
  PROTOCOL_1_1,
  PubSubClient,
  PubSubCore,
  SequenceTracker,
  SlowSubscriberError,
  uint64,
  uint64Frame,
  type ServerMessage,
} from "../../../patterns/pubsub/index.js";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor, within } from "../../helpers/wait.js";
import { client, closeAll, server } from "./setup.js";

afterEach(async () => {
  await killAll();
  await closeAll();
});

const b = (s: string) => Buffer.from(s);
const tick = () => new Promise((r) => setImmediate(r));

describe("ZPS/1.1 codecs (§3.7)", () => {
  it("a ZPS/1.1 HELLO names its version; a ZPS/1.1 MESSAGE carries seq and sent as 8-byte integers", () => {
    const hello = parseClientCommand(helloFrames("u", "p", ["a"], PROTOCOL_1_1));
    expect(hello).toMatchObject({ command: "HELLO", version: "ZPS/1.1" });
    const m = parseServerMessage([b("ZPS/1.1"), b("MESSAGE"), uint64Frame(2 ** 40 + 3), uint64Frame(1_700_000_000_123), b("t"), b("x")]) as ServerMessage;
    expect(m).toEqual({ command: "MESSAGE", seq: 2 ** 40 + 3, sent: 1_700_000_000_123, topic: b("t"), body: [b("x")] });
    expect(uint64(uint64Frame(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(uint64(Buffer.alloc(7))).toBeUndefined();
    expect(uint64(Buffer.alloc(8, 0xff))).toBeUndefined();
    expect(isParseError(parseServerMessage([b("ZPS/1.1"), b("MESSAGE"), b("short"), uint64Frame(1), b("t")]))).toBe(true);
    expect(isParseError(parseServerMessage([b("ZPS/1.1"), b("MESSAGE"), uint64Frame(1), uint64Frame(1)]))).toBe(true);
    // A ZPS/1 MESSAGE is unchanged.
    expect(parseServerMessage([b("ZPS/1"), b("MESSAGE"), b("t"), b("x")])).toEqual({ command: "MESSAGE", topic: b("t"), body: [b("x")] });
  });
});

describe("SequenceTracker", () => {
  it("counts gaps exactly and starts again at 1 after reset", () => {
    const t = new SequenceTracker(0);
    expect(t.observe(1, 0, 0).missed).toBe(0);
    expect(t.observe(2, 0, 0).missed).toBe(0);
    expect(t.observe(7, 0, 0).missed).toBe(4);
    expect(t.observe(9, 0, 0).missed).toBe(1);
    expect(t.stats()).toMatchObject({ missed: 5, gaps: 2, seq: 9 });
    t.reset();
    expect(t.observe(3, 0, 0).missed).toBe(2);
    expect(t.stats()).toMatchObject({ missed: 7, gaps: 3, seq: 3 });
  });

  it("lag over maxLag, to the millisecond: maxLag itself is not late, maxLag + 1 is; one lag:exceeded per episode", () => {
    const t = new SequenceTracker(100);
    expect(t.observe(1, 1000, 1100)).toEqual({ missed: 0, lag: 100, exceeded: false, lagging: false });
    expect(t.observe(2, 1000, 1101)).toEqual({ missed: 0, lag: 101, exceeded: true, lagging: true });
    expect(t.observe(3, 1000, 1500)).toMatchObject({ exceeded: false, lagging: true });
    expect(t.observe(4, 1500, 1510)).toMatchObject({ exceeded: false, lagging: false });
    expect(t.observe(5, 1500, 1700)).toMatchObject({ exceeded: true, lagging: true });
    expect(t.stats()).toMatchObject({ lagged: 3, lagExceeded: 2, lastLag: 200, worstLag: 500 });
  });

  it("maxLag 0 measures lag but never exceeds it", () => {
    const t = new SequenceTracker(0);
    expect(t.observe(1, 0, 10_000)).toMatchObject({ lag: 10_000, lagging: false, exceeded: false });
    expect(t.stats()).toMatchObject({ worstLag: 10_000, lagged: 0 });
  });
});

describe("PubSubCore sequence numbers (§3.7)", () => {
  function core() {
    const reactor = new Reactor({ clock: new ManualClock() });
    const sent: Buffer[][] = [];
    let wall = 5000;
    const c = new PubSubCore({ reactor, authenticator: allowAnyAuthenticator(), transmit: (f) => (sent.push(f), true), wallClock: () => wall, congestionBackoff: 10 });
    return { c, sent, reactor, setWall: (ms: number) => (wall = ms) };
  }
  const messages = (sent: Buffer[][], id: string) => sent.filter((f) => f[0]!.toString() === id && f[2]?.toString() === "MESSAGE");

  it("numbers each session's copies 1, 2, 3 whatever the other sessions' filters; ZPS/1 sessions get unstamped MESSAGEs", async () => {
    const { c, sent, reactor, setWall } = core();
    c.handle(b("new-a"), helloFrames("a", "p", ["a."], PROTOCOL_1_1));
    c.handle(b("new-b"), helloFrames("b", "p", ["b."], PROTOCOL_1_1));
    c.handle(b("old"), helloFrames("o", "p", [""]));
    await tick();
    for (const topic of ["a.1", "b.1", "b.2", "a.2", "b.3", "a.3"]) c.publish(topic, "x");
    setWall(6000);
    c.publish("a.4", "y");
    const a = messages(sent, "new-a");
    expect(a.map((f) => [f[1]!.toString(), uint64(f[3]!), uint64(f[4]!), f[5]!.toString()])).toEqual([
      ["ZPS/1.1", 1, 5000, "a.1"],
      ["ZPS/1.1", 2, 5000, "a.2"],
      ["ZPS/1.1", 3, 5000, "a.3"],
      ["ZPS/1.1", 4, 6000, "a.4"],
    ]);
    expect(messages(sent, "new-b").map((f) => uint64(f[3]!))).toEqual([1, 2, 3]);
    expect(messages(sent, "old").map((f) => f.slice(1).map(String))[0]).toEqual(["ZPS/1", "MESSAGE", "a.1", "x"]);
    expect(c.client("new-a")).toMatchObject({ version: "ZPS/1.1", seq: 4 });
    expect(c.client("old")).toMatchObject({ version: "ZPS/1", seq: 7 });
    c.closeCore();
    await reactor.close();
  });

  it("a dropped copy uses up its number: the next stamped copy shows the gap, equal to the drops counted", async () => {
    const { c, sent, reactor } = core();
    c.handle(b("s"), helloFrames("s", "p", [""], PROTOCOL_1_1));
    await tick();
    c.publish("t", "1");
    c.noteDrop(b("s")); // the transport dropped copy 1 at the HWM: congested for 10 ms
    c.publish("t", "2"); // dropped untried
    c.publish("t", "3"); // dropped untried
    (reactor.clock as ManualClock).advance(10);
    c.publish("t", "4");
    expect(messages(sent, "s").map((f) => uint64(f[3]!))).toEqual([1, 4]);
    expect(c.client("s")).toMatchObject({ dropped: 3, seq: 4 });
    const t = new SequenceTracker(0);
    t.observe(4, 0, 0); // copy 1 never arrived either (dropped by the transport)
    expect(t.stats().missed).toBe(c.client("s")!.dropped);
    c.closeCore();
    await reactor.close();
  });
});

describe("PubSubClient slow-subscriber options", () => {
  it("validates maxLag, closeOnLag (needs maxLag) and protocol, naming the option", () => {
    const base = { endpoint: "tcp://127.0.0.1:1", user: "u", password: "p" };
    expect(() => new PubSubClient({ ...base, maxLag: -1 })).toThrow(expect.objectContaining({ option: "maxLag" }));
    expect(() => new PubSubClient({ ...base, closeOnLag: true })).toThrow(expect.objectContaining({ option: "closeOnLag" }));
    expect(() => new PubSubClient({ ...base, protocol: "ZPS/2" as never })).toThrow(expect.objectContaining({ option: "protocol" }));
  });
});

describe("PubSubClient slow-subscriber detection over sockets", () => {
  /** Publish `n` messages at once, then block the client's event loop for `ms` on the first one it gets. */
  async function stalledRun(options: { maxLag: number; closeOnLag?: boolean }) {
    const s = await server({ allowAny: true });
    const c = client(s.endpoint, "u", "p", { subscribe: ["t"], ...options });
    await c.ready();
    const lagged: { lag: number; maxLag: number }[] = [];
    c.on("lag:exceeded", (e) => lagged.push(e));
    let first = true;
    c.on("message", () => {
      if (!first) return;
      first = false;
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // a stalled subscriber: busy for 300 ms while the other copies wait in its socket
      }
    });
    // All copies are stamped before the stall begins, so each one after the first is at least 300 ms late.
    for (let i = 0; i < 20; i++) s.publish("t", String(i));
    return { s, c, lagged };
  }

  it("a stalled subscriber is told it lagged (lag:exceeded once, the late messages counted)", async () => {
    const { c, lagged } = await stalledRun({ maxLag: 100 });
    await waitFor(() => c.stats().received === 20, { what: "20 messages" });
    expect(lagged).toHaveLength(1);
    expect(lagged[0]!.lag).toBeGreaterThan(100);
    expect(c.stats()).toMatchObject({ lagExceeded: 1, missed: 0, seq: 20 });
    expect(c.stats().lagged).toBeGreaterThanOrEqual(19);
    expect(c.protocol).toBe("ZPS/1.1");
  });

  it("closeOnLag: it closes itself (the Suicidal Snail), the iterator throws SlowSubscriberError", async () => {
    const { c } = await stalledRun({ maxLag: 100, closeOnLag: true });
    const iter = c[Symbol.asyncIterator]();
    const error = await within(
      (async () => {
        for (;;) await iter.next();
      })().catch((e: unknown) => e),
      10_000,
      "the client closing itself",
    );
    expect(error).toBeInstanceOf(SlowSubscriberError);
    expect((error as SlowSubscriberError).lag).toBeGreaterThan(100);
    await waitFor(() => c.closed, { what: "closed" });
    expect(c.stats().received).toBe(1);
  });

  it("an old ZPS/1 client (the Python peer) still receives next to a ZPS/1.1 client", async () => {
    const s = await server();
    const fresh = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."] });
    await fresh.ready();
    const py = startPython("pubsub_client.py", [s.endpoint, "alice", "alice-pw", "3", "news."]);
    await py.waitLine(/^SESSION 201$/);
    const seqs: number[] = [];
    fresh.on("message", (m) => seqs.push(m.seq!));
    await waitFor(
      () => {
        if (py.lines.filter((l) => l.startsWith("MESSAGE")).length >= 3) return true;
        s.publish("news.py", "hello");
        return false;
      },
      { what: "3 messages at the Python peer", every: 20 },
    );
    expect(await py.exited).toBe(0);
    expect(py.lines.find((l) => l.startsWith("MESSAGE"))).toBe("MESSAGE news.py\thello");
    expect(seqs.length).toBeGreaterThanOrEqual(3);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(fresh.stats().missed).toBe(0);
  });

  it("falls back to ZPS/1 when the server answers its ZPS/1.1 HELLO with 505 (a ZPS/1 server)", async () => {
    const router = new zmq.Router({ linger: 0 });
    await router.bind("tcp://127.0.0.1:*");
    const old = (async () => {
      for await (const [id, version, command] of router) {
        if (version!.toString() !== "ZPS/1") await router.send([id!, "ZPS/1", "STATUS", "505", "-", "unsupported version"]);
        else if (command!.toString() === "HELLO") {
          await router.send([id!, "ZPS/1", "STATUS", "201", "HELLO", "Session created"]);
          await router.send([id!, "ZPS/1", "MESSAGE", "t", "old"]);
        }
      }
    })().catch(() => undefined);
    try {
      const c = client(router.lastEndpoint!, "u", "p", { subscribe: ["t"] });
      const downgraded: unknown[] = [];
      c.on("protocol:downgraded", (e) => downgraded.push(e));
      const got: string[] = [];
      c.on("message", (m) => got.push(String(m.body[0])));
      await within(c.ready(), 10_000, "session with the old server");
      await waitFor(() => got.length > 0, { what: "a message" });
      expect(downgraded).toEqual([{ from: "ZPS/1.1", to: "ZPS/1" }]);
      expect(c.protocol).toBe("ZPS/1");
      expect(got[0]).toBe("old");
      await c.close();
    } finally {
      router.close();
      await old;
    }
  });
});
