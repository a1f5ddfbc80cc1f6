/**
 * LogSender (Message::Passing::Output::ZeroMQ): options, bounded holding while the collector
 * is away or not subscribed, garbage on the subscription channel, lifecycle.
 */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { LogReceiver, LogSender, Pipe } from "../../../patterns/log-pipe/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { waitFor } from "../../helpers/wait.js";
import { expectReleasedAfterFailedStart } from "./release.js";

describe("LogSender", () => {
  it("validates its options with InvalidOptionErrors naming the option", () => {
    expect(() => new LogSender({} as never)).toThrow(expect.objectContaining({ option: "bind" }));
    expect(() => new LogSender({ connect: "nope" })).toThrow(expect.objectContaining({ option: "connect" }));
    expect(() => new LogSender({ connect: "tcp://127.0.0.1:1", hwm: 0 })).toThrow(expect.objectContaining({ option: "hwm" }));
    expect(() => new LogSender({ connect: "tcp://127.0.0.1:1", type: "sub" as never })).toThrow(expect.objectContaining({ option: "type" }));
    expect(() => new LogSender({ connect: "tcp://127.0.0.1:1", overflow: "reject" as never })).toThrow(expect.objectContaining({ option: "overflow" }));
  });

  it("counts garbage on a bound PUB's subscription channel", async () => {
    const sender = new LogSender({ bind: "tcp://127.0.0.1:*", hwm: 10 });
    await sender.start();
    const malformed: string[] = [];
    sender.on("message:malformed", (e) => void malformed.push(e.reason));
    const xsub = new zmq.XSubscriber({ linger: 0 });
    xsub.connect(sender.endpoints[0]!);
    try {
      await xsub.send([Buffer.from([7, 1, 2])]);
      await xsub.send([Buffer.alloc(0)]);
      await xsub.send([Buffer.from([0x00])]); // an unsubscribe without a subscription
      await waitFor(() => sender.stats().malformed === 2, { what: "2 malformed subscription frames" });
      expect(malformed).toHaveLength(2);
      expect(sender.stats().subscriptions).toBe(0);
      await xsub.send([Buffer.from([1])]);
      await waitFor(() => sender.stats().subscriptions === 1, { what: "a real subscription" });
    } finally {
      xsub.close();
      await sender.close();
    }
  });

  it("a PUSH sender rides out a collector restart: held while away (bounded, counted), flowing again after", async () => {
    // The first collector picks a free port; the second one rebinds it.
    const bindPull = async (ep: string) => {
      const pull = new zmq.Pull({ linger: 0, receiveTimeout: 10_000 });
      // A closed socket releases its port asynchronously: retry the bind.
      await waitFor(() => pull.bind(ep).then(() => true, () => false), { what: `bind ${ep}` });
      return pull;
    };
    const collect = async (pull: zmq.Pull, n: number, what: string) => {
      const got: string[] = [];
      try {
        while (got.length < n) got.push(((await pull.receive()) as Buffer[])[0]!.toString());
      } catch (error) {
        throw new Error(`${what}: got ${JSON.stringify(got)}, sender ${JSON.stringify(sender.stats())}: ${String(error)}`);
      } finally {
        pull.close();
      }
      return got;
    };
    const pull1 = await bindPull("tcp://127.0.0.1:*");
    const ep = pull1.lastEndpoint!;
    const sender = new LogSender({ type: "push", connect: ep, hwm: 50, reconnectInterval: 20, reconnectMaxInterval: 100 });
    // Not started yet: send() starts it (a connecting sender works at once).
    for (let i = 0; i < 3; i++) sender.send(`a${i}`);
    expect(await collect(pull1, 3, "first collector")).toEqual(["a0", "a1", "a2"]);
    // Collector gone: the sender holds at most hwm (+1 in flight) and counts the rest.
    for (let i = 0; i < 200; i++) sender.send(`b${i}`);
    const away = sender.stats();
    expect(away.queued).toBeLessThanOrEqual(51);
    expect(away.accepted).toBe(203);
    // Back again: what was held arrives, then new messages.
    const pull2 = await bindPull(ep);
    for (let i = 0; i < 5; i++) sender.send(`c${i}`);
    expect((await collect(pull2, 5, "second collector")).length).toBe(5);
    await sender.close();
    const s = sender.stats();
    expect(s.sent + s.dropped).toBe(s.accepted);
    expect(s.droppedQueueFull).toBeGreaterThan(0);
  });

  it("a PUB sender holds messages until a subscriber arrives, then sends them in order", async () => {
    const sender = new LogSender({ bind: "tcp://127.0.0.1:*", hwm: 10 });
    await sender.start();
    const dropped: string[] = [];
    sender.on("message:dropped", (e) => void dropped.push(e.reason));
    for (let i = 0; i < 15; i++) sender.send(JSON.stringify({ i }));
    expect(sender.stats()).toMatchObject({ accepted: 15, queued: 10, dropped: 5, droppedQueueFull: 5, sent: 0 });
    const receiver = new LogReceiver({ connect: sender.endpoints[0]! });
    const got: string[] = [];
    const pipe = new Pipe({ input: receiver, output: { send: (t) => (got.push(t), true), close: async () => {}, stats: () => ({ sent: got.length, dropped: 0 }) }, count: 10 });
    const stats = await pipe.run();
    expect(stats.out).toBe(10);
    expect(got.map((t) => JSON.parse(t).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await sender.close();
    expect(sender.stats()).toMatchObject({ sent: 10, dropped: 5 });
    expect(sender.send("late")).toBe(false);
    expect(sender.stats().droppedClosed).toBe(1);
    expect(dropped).toEqual([...Array(5).fill("queue-full"), "closed"]);
  });

  it("close() with linger waits for a first subscriber, then sends what it held", async () => {
    const sender = new LogSender({ bind: "tcp://127.0.0.1:*", hwm: 10, linger: 5000 });
    await sender.start();
    for (let i = 0; i < 3; i++) sender.send(`m${i}`);
    const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 5000 });
    sub.subscribe();
    const closing = sender.close();
    sub.connect(sender.endpoints[0]!);
    try {
      const got: string[] = [];
      while (got.length < 3) got.push(String((await sub.receive())[0]));
      expect(got).toEqual(["m0", "m1", "m2"]);
      await closing;
      expect(sender.stats()).toMatchObject({ sent: 3, dropped: 0 });
    } finally {
      sub.close();
    }
  });

  it("a start() that fails closes what it had bound; a sender that never started holds nothing open", async () => {
    let sender: LogSender | undefined;
    await expectReleasedAfterFailedStart((free, taken) => (sender = new LogSender({ type: "push", bind: [free, taken] })).start());
    await sender!.close();
    expect(sender!.reactor.closed).toBe(true);
    const idle = new LogSender({ type: "push", connect: "tcp://127.0.0.1:1" });
    expect(idle.reactor.sockets).toHaveLength(0);
    await idle.close();
  });

  it("leaves no listener on a shared AbortSignal once closed", async () => {
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) {
      const sender = new LogSender({ type: "push", bind: await uniqAddress("inproc"), signal: ac.signal });
      await sender.start();
      await sender.close();
    }
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
