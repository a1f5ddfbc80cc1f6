import { describe, it, expect } from "vitest";
import * as zmq from "zeromq";
import { Reactor } from "../../src/index.js";
import { TRANSPORTS, uniqAddress } from "../helpers/addresses.js";
import { malformedMessages, prng, sendMalformed } from "../helpers/malformed.js";
import { waitFor } from "../helpers/wait.js";
import { own, track, useCleanup } from "./setup.js";

useCleanup();

describe("malformed message generator", () => {
  it("is deterministic per seed, differs between seeds, and mutates templates", () => {
    expect(Array.from({ length: 5 }, prng(42))).toEqual(Array.from({ length: 5 }, prng(42)));
    const templates = [[Buffer.from([1])], [Buffer.from("MDPW01"), Buffer.from([2]), Buffer.from("svc")]];
    const a = malformedMessages(120, 7, templates);
    const b = malformedMessages(120, 7, templates);
    const c = malformedMessages(120, 8, templates);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toHaveLength(120);
    expect(a.every((m) => m.length > 0 && m.every((f) => Buffer.isBuffer(f)))).toBe(true);
    // the fixed corner cases come first: empty frame, 64 KiB frame, 64 frames
    expect(a[0]).toEqual([Buffer.alloc(0)]);
    expect(a.some((m) => m.some((f) => f.length === 65536))).toBe(true);
    expect(a.some((m) => m.length === 64)).toBe(true);
    // template mutations keep a recognisable header in some messages
    expect(a.slice(9).some((m) => m[0]!.toString() === "MDPW01")).toBe(true);
    // the templates themselves are not modified
    expect(templates[1]![0]!.toString()).toBe("MDPW01");
  });
});

describe.each(TRANSPORTS)("sendMalformed over %s", (transport) => {
  it.each(["dealer", "req"] as const)("from a %s reaches a ROUTER registered with a reactor, every message counted", async (type) => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const router = track(new zmq.Router());
    await router.bind(address);
    const shapes: number[] = [];
    const handle = reactor.add(router, { onMessage: (frames) => void shapes.push(frames.length) });
    const count = type === "req" ? 25 : 60;
    expect(await sendMalformed(address, { type, count, seed: 3 })).toBe(count);
    await waitFor(() => handle.stats().received === count, { what: `${count} malformed messages` });
    const expected = malformedMessages(count, 3).map((m) => m.length + (type === "req" ? 2 : 1)); // + routing id (+ REQ's delimiter)
    if (type === "dealer") expect(shapes).toEqual(expected); // one connection: order kept
    else expect(shapes.sort()).toEqual(expected.sort());
  });

  it("from a push reaches a PULL registered with a reactor (a PUSH cannot talk to a ROUTER)", async () => {
    const reactor = own(new Reactor());
    const address = await uniqAddress(transport);
    const pull = track(new zmq.Pull());
    await pull.bind(address);
    const handle = reactor.add(pull, { onMessage: () => {} });
    expect(await sendMalformed(address, { type: "push", count: 60, seed: 4 })).toBe(60);
    await waitFor(() => handle.stats().received === 60, { what: "60 malformed messages" });
  });
});

describe("sendMalformed failure", () => {
  it("rejects instead of hanging when nobody listens and the HWM fills", async () => {
    const address = await uniqAddress("ipc"); // never bound
    await expect(sendMalformed(address, { type: "dealer", count: 1200, sendTimeout: 100, linger: 0 })).rejects.toMatchObject({ code: "EAGAIN" });
  });
});
