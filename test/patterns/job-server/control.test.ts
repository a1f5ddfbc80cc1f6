/**
 * The job server's control endpoint: STATUS over REQ and DEALER, unknown commands, garbage.
 */
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { InvalidOptionError, TimeoutError } from "../../../src/index.js";
import { ControlServer, requestStatus, STATUS_COMMAND } from "../../../patterns/job-server/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { waitFor } from "../../helpers/wait.js";

describe("ControlServer", () => {
  it("validates its options", () => {
    expect(() => new ControlServer({ status: () => ({}) } as never)).toThrow(expect.objectContaining({ option: "bind" }));
    expect(() => new ControlServer({ bind: "tcp://127.0.0.1:*" } as never)).toThrow(expect.objectContaining({ option: "status" }));
    expect(() => new ControlServer({ bind: "nowhere", status: () => ({}) })).toThrow(InvalidOptionError);
  });

  it("answers STATUS from REQ and DEALER, reports unknown commands, counts and drops garbage", async () => {
    let n = 0;
    const server = new ControlServer({ bind: "tcp://127.0.0.1:*", status: () => ({ n: ++n }) });
    const malformed: number[] = [];
    server.on("message:malformed", (e) => void malformed.push(e.frames));
    await server.start();
    const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: 5000 });
    dealer.connect(server.endpoint);
    try {
      expect(await requestStatus(server.endpoint, 5000)).toEqual({ n: 1 });
      await dealer.send(STATUS_COMMAND);
      expect(JSON.parse(String((await dealer.receive())[0]))).toEqual({ n: 2 });
      await dealer.send(["", "FROB"]);
      const [empty, body] = await dealer.receive();
      expect(empty!.length).toBe(0);
      expect(JSON.parse(String(body))).toEqual({ error: 'unknown command "FROB"' });
      const sent = await sendMalformed(server.endpoint, { type: "dealer", count: 100, templates: [[Buffer.from(""), Buffer.from("STATUS")]] });
      await waitFor(() => server.stats().requests + server.stats().malformed >= sent + 3, { what: "garbage counted" });
      expect(malformed).toHaveLength(server.stats().malformed);
      expect(await requestStatus(server.endpoint, 5000)).toMatchObject({ n: expect.any(Number) });
    } finally {
      dealer.close();
      await server.close();
    }
  });

  it("requestStatus rejects with a TimeoutError when nobody answers, and with an InvalidOptionError for a bad endpoint", async () => {
    await expect(requestStatus(await uniqAddress("tcp"), 100)).rejects.toBeInstanceOf(TimeoutError);
    await expect(requestStatus("nowhere", 100)).rejects.toBeInstanceOf(InvalidOptionError);
  });
});
