import * as zmq from "zeromq";
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, upperHandler } from "../../../src/index.js";
import { LazyPirateClient } from "../../../patterns/lazy-pirate/index.js";
import { BinaryStar, BinaryStarServer, decodeState, encodeState, type BinaryStarServerOptions } from "../../../patterns/binary-star/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { sendMalformed } from "../../helpers/malformed.js";
import { waitFor, within } from "../../helpers/wait.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const HB = 100;

async function server(options: Partial<BinaryStarServerOptions> & Pick<BinaryStarServerOptions, "role" | "local" | "remote">): Promise<BinaryStarServer> {
  const s = new BinaryStarServer({ frontend: "tcp://127.0.0.1:*", heartbeatInterval: HB, handler: upperHandler, ...options });
  cleanup.push(() => s.close());
  await s.start();
  return s;
}

async function pair(): Promise<{ primary: BinaryStarServer; backup: BinaryStarServer }> {
  const [pLocal, bLocal] = [await uniqAddress("tcp"), await uniqAddress("tcp")];
  const primary = await server({ role: "primary", local: pLocal, remote: bLocal });
  const backup = await server({ role: "backup", local: bLocal, remote: pLocal });
  await waitFor(() => primary.haState === "active" && backup.haState === "passive", { what: "primary active, backup passive" });
  return { primary, backup };
}

function client(endpoint: string | string[], requestTimeout = 300, retries = 0): LazyPirateClient {
  const c = new LazyPirateClient({ endpoint, requestTimeout, retries });
  cleanup.push(() => c.close());
  return c;
}

describe("state wire", () => {
  it("encodes the Guide's numbers and rejects anything else", () => {
    expect(["primary", "backup", "active", "passive"].map((s) => encodeState(s as never).toString())).toEqual(["1", "2", "3", "4"]);
    expect(decodeState([Buffer.from("3")])).toEqual({ state: "active" });
    expect(decodeState([Buffer.from("5")])).toHaveProperty("reason");
    expect(decodeState([Buffer.from("03")])).toHaveProperty("reason");
    expect(decodeState([Buffer.from("1"), Buffer.from("1")])).toEqual({ reason: "expected 1 frame, got 2" });
  });
});

describe("BinaryStar", () => {
  it("validates its options, naming the option", () => {
    const base = { role: "primary", local: "tcp://127.0.0.1:1", remote: "tcp://127.0.0.1:2" } as const;
    for (const [bad, name] of [[{ role: undefined }, "role"], [{ role: "x" }, "role"], [{ local: "nope" }, "local"], [{ remote: 5 }, "remote"], [{ heartbeatInterval: 0 }, "heartbeatInterval"]] as const) {
      try {
        new BinaryStar({ ...base, ...bad } as never);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        expect((error as InvalidOptionError).option).toBe(name);
      }
    }
    expect(() => new BinaryStarServer({ ...base, frontend: "bad" })).toThrow(/frontend/);
    expect(() => new BinaryStarServer({ ...base, role: "x" as never, frontend: "tcp://127.0.0.1:3" })).toThrow(/role/);
  });

  it("publishes its state every heartbeatInterval and counts malformed peer messages", async () => {
    const remote = await uniqAddress("tcp");
    const peer = new zmq.Publisher({ linger: 0 });
    await peer.bind(remote);
    cleanup.push(() => peer.close());
    const star = new BinaryStar({ role: "backup", local: "tcp://127.0.0.1:*", remote, heartbeatInterval: HB });
    cleanup.push(() => star.close());
    const malformed: string[] = [];
    star.on("message:malformed", (e) => malformed.push(e.reason));
    await star.start();
    const sub = new zmq.Subscriber({ linger: 0 });
    sub.subscribe();
    sub.connect(star.localEndpoint!);
    cleanup.push(() => sub.close());
    const [msg] = await within(sub.receive(), 2000, "a state message");
    expect(msg!.toString()).toBe("2");
    // Send garbage until the SUB is connected and it counts some, then a real state.
    await waitFor(async () => {
      await peer.send("9");
      await peer.send(["1", "2"]);
      return star.stats().malformed >= 2;
    }, { what: "malformed counted", every: 20 });
    expect(malformed).toContain("unknown state \"9\"");
    expect(malformed).toContain("expected 1 frame, got 2");
    expect(star.haState).toBe("backup");
    await peer.send("3");
    await waitFor(() => star.haState === "passive", { what: "passive" });
    expect(star.stats()).toMatchObject({ state: "passive", stateReceived: 1 });
    expect(star.accept()).toBe(false);
    expect(star.stats().refused).toBe(1);
  });
});

describe("BinaryStarServer", () => {
  it("a pair: the primary serves, the backup refuses (dropped, counted, a vote that does not win)", async () => {
    const { primary, backup } = await pair();
    expect(await within(client(primary.endpoints[0]!).request("hello"), 5000, "reply")).toEqual([Buffer.from("HELLO")]);
    const refused: string[] = [];
    backup.on("request:refused", (e) => refused.push(e.state));
    await expect(client(backup.endpoints[0]!).request("hello")).rejects.toThrow(/abandoned|timed out|attempt/i);
    expect(refused).toEqual(["passive"]);
    expect(backup.stats()).toMatchObject({ requests: 1, refusedRequests: 1, replies: 0, state: "passive" });
    expect(primary.stats()).toMatchObject({ requests: 1, replies: 1, state: "active" });
  });

  it("the backup takes over when the primary dies, on the next client request after 2 x heartbeatInterval", async () => {
    const { primary, backup } = await pair();
    const c = client([primary.endpoints[0]!, backup.endpoints[0]!], 300, 10);
    expect(await c.request("a")).toEqual([Buffer.from("A")]);
    const active = backup.next("bstar:active");
    await primary.close();
    expect(await within(c.request("b"), 10_000, "reply after failover")).toEqual([Buffer.from("B")]);
    const [t] = await active;
    expect(t).toEqual({ from: "passive", to: "active", event: "client-request" });
    expect(backup.haState).toBe("active");
  });

  it("a backup alone never serves; a primary alone serves after 2 x heartbeatInterval", async () => {
    const [a, b] = [await uniqAddress("tcp"), await uniqAddress("tcp")];
    const backup = await server({ role: "backup", local: a, remote: b });
    await expect(client(backup.endpoints[0]!, 300, 3).request("x")).rejects.toThrow();
    expect(backup.haState).toBe("backup");
    expect(backup.stats().refusedRequests).toBe(4);
    await backup.close();
    const primary = await server({ role: "primary", local: b, remote: a });
    expect(await within(client(primary.endpoints[0]!, 300, 10).request("y"), 10_000, "reply")).toEqual([Buffer.from("Y")]);
    expect(primary.haState).toBe("active");
  });

  it("counts malformed frontend messages and stays alive", async () => {
    const { primary } = await pair();
    const sent = await sendMalformed(primary.endpoints[0]!, { type: "dealer", count: 50 });
    expect(sent).toBeGreaterThan(0);
    await waitFor(() => primary.stats().malformedFrontend > 0, { what: "malformed counted" });
    expect(await within(client(primary.endpoints[0]!).request("ok"), 5000, "reply")).toEqual([Buffer.from("OK")]);
  });
});
