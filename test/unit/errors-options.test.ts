import { describe, it, expect } from "vitest";
import {
  AbortedError, AuthError, ClosedError, InvalidOptionError, PeerUnreachableError, ProtocolError, QueueFullError, SocketError, TimeoutError, ZmqPatternsError,
  boolOption, clockOption, systemClock, describeId, endpointOption, endpointsOption, enumOption, functionOption, intOption, numberOption, objectOption, optionsObject, signalOption, stringOption, zmqErrorCode,
  Reactor, ManualClock,
} from "../../src/index.js";

describe("errors", () => {
  it("each class has its stable code, is a ZmqPatternsError and an Error, and keeps the cause", () => {
    const cause = Object.assign(new Error("zmq"), { code: "EHOSTUNREACH" });
    const cases: [ZmqPatternsError, string, string][] = [
      [new TimeoutError(undefined, { cause }), "ZMQP_TIMEOUT", "TimeoutError"],
      [new ClosedError(undefined, { cause }), "ZMQP_CLOSED", "ClosedError"],
      [new AbortedError(undefined, { cause }), "ZMQP_ABORTED", "AbortedError"],
      [new PeerUnreachableError(Buffer.from("w1"), { cause }), "ZMQP_PEER_UNREACHABLE", "PeerUnreachableError"],
      [new ProtocolError("bad", { cause }), "ZMQP_PROTOCOL", "ProtocolError"],
      [new AuthError(400, "denied", { cause }), "ZMQP_AUTH", "AuthError"],
      [new SocketError("send failed", { cause }), "ZMQP_SOCKET", "SocketError"],
    ];
    for (const [error, code, name] of cases) {
      expect(error.code).toBe(code);
      expect(error.name).toBe(name);
      expect(error).toBeInstanceOf(ZmqPatternsError);
      expect(error).toBeInstanceOf(Error);
      expect(error.cause).toBe(cause);
    }
    const q = new QueueFullError(7, "backlog");
    expect([q.code, q.limit, q.message]).toEqual(["ZMQP_QUEUE_FULL", 7, "The backlog is full (limit 7)"]);
    expect(new SocketError("x", { cause }).zmqCode).toBe("EHOSTUNREACH");
    expect(new AuthError(403, "no").status).toBe(403);
    expect(new TimeoutError()).not.toBeInstanceOf(ClosedError);
    expect(new PeerUnreachableError(Buffer.from([0, 1])).message).toMatch(/0x0001/);
  });

  it("InvalidOptionError is a TypeError and a ZmqPatternsError with the option name", () => {
    const e = new InvalidOptionError("retries", "bad");
    expect(e).toBeInstanceOf(TypeError);
    expect(e).toBeInstanceOf(ZmqPatternsError);
    expect(e.code).toBe("ZMQP_INVALID_OPTION");
    expect(e.option).toBe("retries");
    expect(new TypeError("x")).not.toBeInstanceOf(ZmqPatternsError);
  });

  it("instanceof ZmqPatternsError works for an error from another copy of the package (brand symbol)", () => {
    const foreign = new Error("other copy") as Error & Record<symbol, unknown>;
    foreign[Symbol.for("zeromq-patterns.error")] = true;
    expect(foreign).toBeInstanceOf(ZmqPatternsError);
    expect(foreign).not.toBeInstanceOf(TimeoutError);
    expect(null).not.toBeInstanceOf(ZmqPatternsError);
  });

  it("zmqErrorCode and describeId", () => {
    expect(zmqErrorCode(Object.assign(new Error(), { code: "EAGAIN" }))).toBe("EAGAIN");
    expect(zmqErrorCode({ code: 11 })).toBeUndefined();
    expect(zmqErrorCode("EAGAIN")).toBeUndefined();
    expect(zmqErrorCode(null)).toBeUndefined();
    expect(describeId(Buffer.from("worker-1"))).toBe("worker-1");
    expect(describeId(Buffer.from([0, 0x6b, 0x8b, 0x45, 0x67]))).toBe("0x006b8b4567");
  });
});

function thrown(fn: () => unknown): InvalidOptionError {
  try {
    fn();
  } catch (e) {
    return e as InvalidOptionError;
  }
  throw new Error("did not throw");
}

describe("option validators", () => {
  it("return defaults for absent options and values when valid", () => {
    expect(intOption("X", {}, "n", 5)).toBe(5);
    expect(intOption("X", { n: 0 }, "n", 5)).toBe(0);
    expect(numberOption("X", { f: 1.5 }, "f", 2)).toBe(1.5);
    expect(boolOption("X", { b: false }, "b", true)).toBe(false);
    expect(stringOption("X", { s: "a" }, "s", undefined)).toBe("a");
    expect(stringOption("X", { s: "" }, "s", undefined, true)).toBe("");
    expect(enumOption("X", { e: "b" }, "e", ["a", "b"], "a")).toBe("b");
    const fn = () => {};
    expect(functionOption("X", { f: fn }, "f", undefined)).toBe(fn);
    const signal = new AbortController().signal;
    expect(signalOption("X", { signal })).toBe(signal);
    expect(endpointOption("X", {}, "ep", "tcp://127.0.0.1:1")).toBe("tcp://127.0.0.1:1");
    expect(endpointsOption("X", { eps: "ipc:///tmp/x" }, "eps")).toEqual(["ipc:///tmp/x"]);
    expect(endpointsOption("X", { eps: ["inproc://a", "tcp://h:1"] }, "eps")).toEqual(["inproc://a", "tcp://h:1"]);
    expect(objectOption("X", { o: {} }, "o")).toEqual({});
    expect(optionsObject("X", undefined)).toEqual({});
    expect(clockOption("X", {})).toBe(systemClock);
    const clock = new ManualClock();
    expect(clockOption("X", { clock })).toBe(clock);
  });

  it("throw a TypeError naming the option and its owner", () => {
    const cases: [() => unknown, string][] = [
      [() => intOption("Owner", { n: 1.5 }, "n", 0), "n"],
      [() => intOption("Owner", { n: "3" }, "n", 0), "n"],
      [() => intOption("Owner", { n: 11 }, "n", 0, 0, 10), "n"],
      [() => intOption("Owner", { n: -1 }, "n", 0), "n"],
      [() => numberOption("Owner", { f: Number.POSITIVE_INFINITY }, "f", 0), "f"],
      [() => numberOption("Owner", { f: Number.NaN }, "f", 0), "f"],
      [() => boolOption("Owner", { b: 1 }, "b", false), "b"],
      [() => stringOption("Owner", { s: "" }, "s", undefined), "s"],
      [() => stringOption("Owner", { s: 3 }, "s", undefined), "s"],
      [() => enumOption("Owner", { e: "c" }, "e", ["a", "b"], "a"), "e"],
      [() => functionOption("Owner", { f: "x" }, "f", undefined), "f"],
      [() => signalOption("Owner", { signal: {} }), "signal"],
      [() => endpointOption("Owner", {}, "endpoint"), "endpoint"],
      [() => endpointOption("Owner", { endpoint: "localhost:5555" }, "endpoint"), "endpoint"],
      [() => endpointsOption("Owner", { endpoints: [] }, "endpoints"), "endpoints"],
      [() => endpointsOption("Owner", { endpoints: ["tcp://a:1", 3] }, "endpoints"), "endpoints"],
      [() => objectOption("Owner", { o: 3 }, "o"), "o"],
      [() => clockOption("Owner", { clock: { now: () => 0 } }), "clock"],
      [() => optionsObject("Owner", 3), "options"],
      [() => optionsObject("Owner", null), "options"],
      [() => optionsObject("Owner", []), "options"],
    ];
    for (const [fn, name] of cases) {
      const e = thrown(fn);
      expect(e).toBeInstanceOf(TypeError);
      expect(e).toBeInstanceOf(InvalidOptionError);
      expect(e.option).toBe(name);
      expect(e.message).toMatch(/^Owner: expected /);
      if (name !== "options") expect(e.message).toContain(`\`${name}\``);
    }
  });
});

describe("Reactor option validation", () => {
  it("rejects each bad option with a TypeError naming it", () => {
    const cases: [unknown, RegExp][] = [
      [{ clock: {} }, /`clock`/],
      [{ clock: 5 }, /`clock`/],
      [{ linger: -2 }, /`linger`/],
      [{ linger: 1.5 }, /`linger`/],
      [{ sendQueueLimit: 0 }, /`sendQueueLimit`/],
      [{ overflow: "block" }, /`overflow`/],
      [{ ticketDelay: 0 }, /`ticketDelay`/],
      [{ signal: "abort" }, /`signal`/],
      ["fast", /options/],
    ];
    for (const [options, re] of cases) {
      expect(() => new Reactor(options as never)).toThrow(TypeError);
      expect(() => new Reactor(options as never)).toThrow(re);
    }
    const ok = new Reactor({ clock: new ManualClock(), linger: -1, sendQueueLimit: 1, overflow: "wait", ticketDelay: 1 });
    void ok.close();
  });

  it("add() validates its socket and options", async () => {
    const zmq = await import("zeromq");
    const reactor = new Reactor();
    const socket = new zmq.Dealer();
    const push = new zmq.Push();
    try {
      expect(() => reactor.add({} as never)).toThrow(/`socket`/);
      expect(() => reactor.add(socket, { onMessage: 1 as never })).toThrow(/`onMessage`/);
      expect(() => reactor.add(socket, { name: "" })).toThrow(/`name`/);
      expect(() => reactor.add(socket, { sendQueueLimit: 0 })).toThrow(/`sendQueueLimit`/);
      expect(() => reactor.add(socket, { overflow: "x" as never })).toThrow(/`overflow`/);
      expect(() => reactor.add(socket, { linger: -5 })).toThrow(/`linger`/);
      expect(() => reactor.add(socket, { monitor: "yes" as never })).toThrow(/`monitor`/);
      expect(() => reactor.add(push, { onMessage: () => {} })).toThrow(/cannot receive/);
      const h = reactor.add(socket);
      expect(() => reactor.add(socket)).toThrow(/already registered/);
      expect(() => h.setHandler(() => {})).toThrow(TypeError);
    } finally {
      push.close();
      await reactor.close();
    }
  });
});
