import { describe, expect, it } from "vitest";
import { HEARTBEAT_FRAME, PPP_HEARTBEAT, PPP_READY, READY_FRAME, checkClientRequest, parseQueueMessage, parseWorkerMessage } from "../../../patterns/paranoid-pirate/index.js";
import { malformedMessages } from "../../helpers/malformed.js";

const b = (...frames: (string | number[])[]) => frames.map((f) => (typeof f === "string" ? Buffer.from(f) : Buffer.from(f)));

describe("6/PPP frames", () => {
  it("READY and HEARTBEAT are one frame of one byte", () => {
    expect([...READY_FRAME]).toEqual([PPP_READY]);
    expect([...HEARTBEAT_FRAME]).toEqual([PPP_HEARTBEAT]);
    expect(PPP_READY).toBe(0x01);
    expect(PPP_HEARTBEAT).toBe(0x02);
  });

  it("parses what a worker sends, skipping the routing id", () => {
    expect(parseWorkerMessage(b("id", [1]), 1)).toEqual({ type: "ready" });
    expect(parseWorkerMessage(b("id", [2]), 1)).toEqual({ type: "heartbeat" });
    expect(parseWorkerMessage(b("id", "client", "req", "", "body"), 1)).toEqual({ type: "reply", delimiter: 3 });
    expect(parseWorkerMessage(b("client", "", "x", ""))).toEqual({ type: "reply", delimiter: 1 });
    for (const [frames, reason] of [
      [b("id"), "empty message"],
      [b("id", [3]), "unknown command"],
      [b("id", [1, 1]), "unknown command"],
      [b("id", "client", "body"), "reply without a delimiter"],
      [b("id", "", "body"), "reply without an address"],
      [b("id", "client", ""), "reply without content"],
    ] as const) {
      expect(parseWorkerMessage(frames, 1)).toEqual({ type: "malformed", reason });
    }
  });

  it("parses what a queue sends", () => {
    expect(parseQueueMessage(b([2]))).toEqual({ type: "heartbeat" });
    expect(parseQueueMessage(b("c", "r", "", "a", "b"))).toEqual({ type: "request", envelope: b("c", "r"), body: b("a", "b") });
    expect(parseQueueMessage(b("", "a"))).toEqual({ type: "request", envelope: [], body: b("a") });
    expect(parseQueueMessage([])).toMatchObject({ type: "malformed" });
    expect(parseQueueMessage(b([1]))).toEqual({ type: "malformed", reason: "READY from the queue" });
    expect(parseQueueMessage(b("a", "b"))).toEqual({ type: "malformed", reason: "request without a delimiter" });
    expect(parseQueueMessage(b("a", ""))).toEqual({ type: "malformed", reason: "request without content" });
  });

  it("checks client requests at the frontend", () => {
    expect(checkClientRequest(b("client", "", "body"))).toBeUndefined();
    expect(checkClientRequest(b("client", "req-id", "", "a", "b"))).toBeUndefined();
    expect(checkClientRequest(b("client", "", ""))).toBeUndefined(); // one empty content frame
    expect(checkClientRequest(b("client", "body"))).toBe("too few frames");
    expect(checkClientRequest(b("client", "a", "b"))).toBe("no delimiter");
    expect(checkClientRequest(b("client", "a", ""))).toBe("no content");
  });

  it("never throws on garbage", () => {
    for (const msg of malformedMessages(500, 11, [b([1]), b([2]), b("c", "", "x")])) {
      expect(() => parseWorkerMessage(msg, 0)).not.toThrow();
      expect(() => parseWorkerMessage(msg, 1)).not.toThrow();
      expect(() => parseQueueMessage(msg)).not.toThrow();
      expect(() => checkClientRequest(msg)).not.toThrow();
    }
  });
});
