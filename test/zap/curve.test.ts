import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ZapHandler, generateKeyPair, saveKeyPair, type ZapOutcome } from "../../src/zap/index.js";
import type { Transport } from "../helpers/addresses.js";
import { waitFor } from "../helpers/wait.js";
import { attempt, curveOptions, echoServer, expectRefused, expectReply, type Attempt, type EchoServer } from "./helpers.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(transport: Transport, zapOptions: ConstructorParameters<typeof ZapHandler>[0], serverExtra = {}) {
  const zap = await ZapHandler.start(zapOptions);
  cleanup.push(() => zap.close());
  const serverKeys = generateKeyPair();
  const server: EchoServer = await echoServer(transport, { ...curveOptions(serverKeys, serverKeys).server, ...serverExtra });
  cleanup.push(() => server.reactor.close());
  const connect = (keys = generateKeyPair(), extra = {}): Attempt => {
    const a = attempt(server.endpoint, { ...curveOptions(serverKeys, keys).client, ...extra });
    cleanup.push(() => a.client.close());
    return a;
  };
  return { zap, server, connect };
}

for (const transport of ["tcp", "ipc"] as const) {
  describe(`CURVE over ${transport}`, () => {
    it("lets a listed key in and refuses an unlisted one", async () => {
      const good = generateKeyPair();
      const { zap, server, connect } = await setup(transport, { curve: { keys: [good.publicKey] } });
      const denied: ZapOutcome[] = [];
      const allowed: ZapOutcome[] = [];
      zap.on("auth:denied", (o) => denied.push(o));
      zap.on("auth:allowed", (o) => allowed.push(o));

      const bad = connect();
      expect(await expectRefused(bad)).toBe(400);
      await waitFor(() => zap.stats().deniedBy.key >= 1, { what: "a key denial" });
      expect(server.received).toHaveLength(0);
      expect(denied[0]).toMatchObject({ mechanism: "CURVE", status: 400, reason: "key", userId: "" });

      const ok = connect(good);
      await expectReply(ok);
      expect(server.received).toHaveLength(1);
      expect(allowed[0]).toMatchObject({ mechanism: "CURVE", status: 200, userId: good.publicKey, publicKey: good.publicKey });
      const s = zap.stats();
      expect(s.allowed).toBeGreaterThanOrEqual(1);
      expect(s.errors).toBe(0);
      expect(s.malformed).toBe(0);
    });

    it("allows any key with allowAny", async () => {
      const { zap, connect } = await setup(transport, { curve: { allowAny: true } });
      await expectReply(connect());
      await expectReply(connect());
      expect(zap.stats().allowed).toBe(2);
      expect(zap.stats().denied).toBe(0);
    });
  });
}

describe("CURVE certificates", () => {
  it("accepts keys from a certificate directory, with the user id of the certificate", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zmqp-zap-certs-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const alice = generateKeyPair();
    const bob = generateKeyPair();
    await saveKeyPair(join(dir, "alice"), alice, { userId: "alice" });
    await saveKeyPair(join(dir, "bob"), bob);
    const { zap, connect } = await setup("tcp", { curve: { certificates: dir } });
    const allowed: ZapOutcome[] = [];
    zap.on("auth:allowed", (o) => allowed.push(o));
    await expectReply(connect(alice));
    await expectReply(connect(bob));
    expect(allowed.map((o) => o.userId)).toEqual(["alice", bob.publicKey]);
    expect(await expectRefused(connect())).toBe(400);
    await waitFor(() => zap.stats().deniedBy.key >= 1, { what: "a key denial" });
  });

  it("picks up a new certificate on reload()", async () => {
    const dir = await mkdtemp(join(tmpdir(), "zmqp-zap-certs-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const { zap, connect } = await setup("tcp", { curve: { certificates: dir } });
    const carol = generateKeyPair();
    expect(await expectRefused(connect(carol))).toBe(400);
    await saveKeyPair(join(dir, "carol"), carol);
    await zap.reload();
    await expectReply(connect(carol));
  });

  it("refuses CURVE when the domain has no CURVE policy, and uses the domain's own policy", async () => {
    const good = generateKeyPair();
    const { zap, connect } = await setup("tcp", { domains: { open: { curve: { allowAny: true } } } }, { zapDomain: "closed" });
    expect(await expectRefused(connect(good))).toBe(400);
    await waitFor(() => zap.stats().deniedBy.mechanism >= 1, { what: "a mechanism denial" });
    const open = await domainServer("open");
    await expectReply(open.connect(good));
  });
});

/** A second server in the same process, on domain `domain`, served by the same handler. */
async function domainServer(domain: string) {
  const serverKeys = generateKeyPair();
  const server = await echoServer("tcp", { ...curveOptions(serverKeys, serverKeys).server, zapDomain: domain });
  cleanup.push(() => server.reactor.close());
  return {
    connect: (keys = generateKeyPair()) => {
      const a = attempt(server.endpoint, curveOptions(serverKeys, keys).client);
      cleanup.push(() => a.client.close());
      return a;
    },
  };
}
