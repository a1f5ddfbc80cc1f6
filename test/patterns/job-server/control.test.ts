/**
 * The job server's control endpoint: STATUS over REQ and DEALER, unknown commands, garbage.
 */
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { InvalidOptionError, TimeoutError } from "../../../src/index.js";
import { ControlServer, isLocalEndpoint, requestStatus, STATUS_COMMAND } from "../../../patterns/job-server/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { waitFor } from "../../helpers/wait.js";

describe("ControlServer", () => {
  it("validates its options", () => {
    expect(() => new ControlServer({ status: () => ({}) } as never)).toThrow(expect.objectContaining({ option: "bind" }));
    expect(() => new ControlServer({ bind: "tcp://127.0.0.1:*" } as never)).toThrow(expect.objectContaining({ option: "status" }));
    expect(() => new ControlServer({ bind: "nowhere", status: () => ({}) })).toThrow(InvalidOptionError);
  });

  it("binds only to loopback, ipc:// or inproc:// unless allowRemote (it answers anyone who reaches it)", async () => {
    const status = () => ({});
    for (const bind of ["tcp://*:5557", "tcp://0.0.0.0:5557", "tcp://192.168.1.10:5557", "tcp://[::]:5557", "tcp://eth0:5557", "udp://127.0.0.1:5557"]) {
      expect(() => new ControlServer({ bind, status }), bind).toThrow(expect.objectContaining({ option: "bind", message: expect.stringMatching(/loopback/) }));
    }
    for (const bind of ["tcp://127.0.0.1:5557", "tcp://127.1.2.3:*", "tcp://[::1]:5557", "tcp://localhost:5557", "ipc:///tmp/x.sock", "inproc://ctl"]) {
      expect(isLocalEndpoint(bind), bind).toBe(true);
      expect(() => new ControlServer({ bind, status }), bind).not.toThrow();
    }
    expect(() => new ControlServer({ bind: "tcp://*:5557", status, allowRemote: true })).not.toThrow();
    expect(() => new ControlServer({ bind: "tcp://127.0.0.1:1", status, allowRemote: "yes" as never })).toThrow(expect.objectContaining({ option: "allowRemote" }));
    // A remote bind really binds when allowed.
    const server = new ControlServer({ bind: "tcp://*:*", status: () => ({ ok: true }), allowRemote: true });
    try {
      await server.start();
      expect(await requestStatus(server.endpoint.replace("0.0.0.0", "127.0.0.1"), 5000)).toEqual({ ok: true });
    } finally {
      await server.close();
    }
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
