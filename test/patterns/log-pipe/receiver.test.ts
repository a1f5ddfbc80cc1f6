/**
 * LogReceiver (Message::Passing::Input::ZeroMQ): options, malformed input on PULL and SUB,
 * lifecycle (a failed start releases what it bound; a shared signal keeps no listener).
 */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { InvalidOptionError } from "../../../src/index.js";
import { LogReceiver, Pipe, type PipeOutput } from "../../../patterns/log-pipe/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { malformedMessages, sendMalformed } from "../../helpers/malformed.js";
import { waitFor, within } from "../../helpers/wait.js";
import { expectReleasedAfterFailedStart } from "./release.js";

function arrayOutput(): PipeOutput & { sent: string[] } {
  const sent: string[] = [];
  return { sent, send: (text) => (sent.push(text), true), close: async () => {}, stats: () => ({ sent: sent.length, dropped: 0 }) };
}

describe("LogReceiver", () => {
  it("validates its options with InvalidOptionErrors naming the option", () => {
    expect(() => new LogReceiver({} as never)).toThrow(expect.objectContaining({ option: "bind" }));
    expect(() => new LogReceiver({ bind: "tcp://127.0.0.1:1", subscribe: [1] as never })).toThrow(expect.objectContaining({ option: "subscribe" }));
    expect(() => new LogReceiver({ bind: "tcp://127.0.0.1:1", type: "push" as never })).toThrow(InvalidOptionError);
    expect(() => new LogReceiver({ connect: "tcp://127.0.0.1:1", hwm: 0 })).toThrow(expect.objectContaining({ option: "hwm" }));
  });

  it("counts malformed (multi-frame) and invalid messages on a bound PULL and never crashes", async () => {
    const receiver = new LogReceiver({ type: "pull", bind: "tcp://127.0.0.1:*" });
    await receiver.start();
    const malformed: number[] = [];
    receiver.on("message:malformed", (e) => void malformed.push(e.frames));
    const pipe = new Pipe({ input: receiver, output: arrayOutput() });
    const running = pipe.run();
    const sent = await sendMalformed(receiver.endpoints[0]!, { type: "push", count: 200, templates: [[Buffer.from('{"a":1}')]] });
    await waitFor(() => {
      const s = pipe.stats();
      return s.in + s.malformed === sent;
    }, { what: "all garbage accounted for" });
    await receiver.close();
    const stats = await within(running, 5000, "pipe run");
    expect(stats.malformed).toBeGreaterThan(0);
    expect(malformed).toHaveLength(stats.malformed);
    expect(malformed.every((n) => n !== 1)).toBe(true);
    expect(stats.in).toBe(stats.out + stats.invalid);
    expect(stats.invalid).toBeGreaterThan(0);
    expect(receiver.stats()).toEqual({ received: stats.in, malformed: stats.malformed });
  });

  it("counts garbage on a bound SUB input", async () => {
    const receiver = new LogReceiver({ type: "sub", bind: "tcp://127.0.0.1:*" });
    await receiver.start();
    const pipe = new Pipe({ input: receiver, output: arrayOutput() });
    const running = pipe.run();
    // A publisher's messages only flow once the subscription reached it: send until they arrive.
    const pub = new zmq.Publisher({ linger: 0 });
    pub.connect(receiver.endpoints[0]!);
    const garbage = malformedMessages(200, 7, [[Buffer.from('{"a":1}')]]);
    try {
      await waitFor(async () => {
        for (const m of garbage) await pub.send(m);
        const s = pipe.stats();
        return s.malformed > 0 && s.in > 0;
      }, { what: "garbage counted at the SUB" });
    } finally {
      pub.close();
    }
    await pipe.close();
    const stats = await running;
    expect(stats.in).toBe(stats.out + stats.invalid);
  });

  it("holds messages in zeromq until run() is called, then delivers them", async () => {
    const receiver = new LogReceiver({ type: "pull", bind: "tcp://127.0.0.1:*" });
    await receiver.start();
    const push = new zmq.Push({ linger: 0 });
    push.connect(receiver.endpoints[0]!);
    try {
      for (let i = 0; i < 3; i++) await push.send(`m${i}`);
      const got: string[] = [];
      const running = receiver.run((t) => void got.push(t));
      await waitFor(() => got.length === 3, { what: "three messages" });
      expect(got).toEqual(["m0", "m1", "m2"]);
      await receiver.close();
      await within(running, 5000, "run ends on close");
    } finally {
      push.close();
    }
  });

  it("a start() that fails closes what it had bound; closing then releases the reactor", async () => {
    let receiver: LogReceiver | undefined;
    await expectReleasedAfterFailedStart((free, taken) => (receiver = new LogReceiver({ type: "pull", bind: [free, taken] })).start());
    await receiver!.close();
    expect(receiver!.reactor.closed).toBe(true);
  });

  it("leaves no listener on a shared AbortSignal once closed", async () => {
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) {
      const receiver = new LogReceiver({ type: "pull", bind: await uniqAddress("inproc"), signal: ac.signal });
      await receiver.start();
      await receiver.close();
    }
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
