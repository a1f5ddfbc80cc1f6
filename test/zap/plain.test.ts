import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ZapHandler, hashPassword, setUserPassword, type ZapHandlerOptions, type ZapOutcome } from "../../src/zap/index.js";
import type { Transport } from "../helpers/addresses.js";
import { waitFor } from "../helpers/wait.js";
import { attempt, echoServer, expectRefused, expectReply, type Attempt } from "./helpers.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let dir: string;
let usersFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zmqp-zap-plain-"));
  usersFile = join(dir, "users.json");
  await setUserPassword(usersFile, "admin", "s3cret", { cost: 1024 });
  await setUserPassword(usersFile, "guest", "guest", { cost: 1024 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function setup(transport: Transport, zapOptions: ZapHandlerOptions, server: Parameters<typeof echoServer>[1] = { plainServer: true }) {
  const zap = await ZapHandler.start(zapOptions);
  cleanup.push(() => zap.close());
  const srv = await echoServer(transport, server);
  cleanup.push(() => srv.reactor.close());
  const connect = (options: Parameters<typeof attempt>[1] = {}): Attempt => {
    const a = attempt(srv.endpoint, options);
    cleanup.push(() => a.client.close());
    return a;
  };
  return { zap, server: srv, connect };
}

for (const transport of ["tcp", "ipc"] as const) {
  describe(`PLAIN over ${transport}`, () => {
    it("accepts the right password and refuses a wrong one and an unknown user", async () => {
      const { zap, server, connect } = await setup(transport, { plain: { users: usersFile } });
      const outcomes: ZapOutcome[] = [];
      zap.on("auth:allowed", (o) => outcomes.push(o));
      zap.on("auth:denied", (o) => outcomes.push(o));

      await expectReply(connect({ plainUsername: "admin", plainPassword: "s3cret" }));
      expect(outcomes[0]).toMatchObject({ mechanism: "PLAIN", status: 200, userId: "admin", username: "admin" });
      expect(JSON.stringify(outcomes[0])).not.toContain("s3cret");

      expect(await expectRefused(connect({ plainUsername: "admin", plainPassword: "wrong" }))).toBe(400);
      await waitFor(() => zap.stats().deniedBy.password >= 1, { what: "a password denial" });
      expect(await expectRefused(connect({ plainUsername: "mallory", plainPassword: "s3cret" }))).toBe(400);
      await waitFor(() => zap.stats().deniedBy.user >= 1, { what: "an unknown-user denial" });
      expect(server.received).toHaveLength(1);
      expect(zap.stats().allowed).toBe(1);
    });
  });
}

describe("PLAIN configuration", () => {
  it("takes users as a map of hashes, and refuses PLAIN where it is not configured", async () => {
    const users = { ops: await hashPassword("pw", { cost: 1024 }) };
    const { zap, connect } = await setup("tcp", { domains: { ops: { plain: { users } } } }, { plainServer: true, zapDomain: "ops" });
    await expectReply(connect({ plainUsername: "ops", plainPassword: "pw" }));
    const other = await echoServer("tcp", { plainServer: true, zapDomain: "other" });
    cleanup.push(() => other.reactor.close());
    const a = attempt(other.endpoint, { plainUsername: "ops", plainPassword: "pw" });
    cleanup.push(() => a.client.close());
    expect(await expectRefused(a)).toBe(400);
    await waitFor(() => zap.stats().deniedBy.mechanism >= 1, { what: "a mechanism denial" });
  });

  it("rejects plain-text passwords in the options", () => {
    expect(() => new ZapHandler({ plain: { users: { bob: "hunter2" } } })).toThrow(TypeError);
    expect(() => new ZapHandler({ plain: { users: { bob: "hunter2" } } })).toThrow(/plain\.users/);
  });
});

describe("NULL and address filters", () => {
  it("allows NULL by default and denies it per domain", async () => {
    const { zap, connect } = await setup("tcp", { domains: { locked: { allowNull: false } } }, { zapDomain: "open" });
    await expectReply(connect());
    const locked = await echoServer("tcp", { zapDomain: "locked" });
    cleanup.push(() => locked.reactor.close());
    const a = attempt(locked.endpoint, {});
    cleanup.push(() => a.client.close());
    expect(await expectRefused(a)).toBe(400);
    await waitFor(() => zap.stats().deniedBy.mechanism >= 1, { what: "a NULL denial" });
    expect(locked.received).toHaveLength(0);
  });

  it("refuses an address on the deny list", async () => {
    const { zap, server, connect } = await setup("tcp", { deny: ["127.0.0.0/8"], plain: { users: usersFile } });
    expect(await expectRefused(connect({ plainUsername: "admin", plainPassword: "s3cret" }))).toBe(400);
    await waitFor(() => zap.stats().deniedBy.address >= 1, { what: "an address denial" });
    expect(server.received).toHaveLength(0);
    expect(zap.stats().allowed).toBe(0);
  });

  it("lets only the allow list in, and still checks credentials", async () => {
    const { zap, connect } = await setup("tcp", { allow: ["127.0.0.1"], plain: { users: usersFile } });
    await expectReply(connect({ plainUsername: "guest", plainPassword: "guest" }));
    expect(await expectRefused(connect({ plainUsername: "guest", plainPassword: "nope" }))).toBe(400);
    await waitFor(() => zap.stats().deniedBy.password >= 1, { what: "a password denial" });

    const zap2Options: ZapHandlerOptions = { allow: ["10.1.2.3", "::1"], plain: { users: usersFile } };
    await zap.close();
    const { zap: zap2, connect: connect2 } = await setup("tcp", zap2Options);
    expect(await expectRefused(connect2({ plainUsername: "guest", plainPassword: "guest" }))).toBe(400);
    await waitFor(() => zap2.stats().deniedBy.address >= 1, { what: "an address denial" });
  });

  it("rejects allow and deny together with a TypeError", () => {
    expect(() => new ZapHandler({ allow: ["127.0.0.1"], deny: ["10.0.0.1"] })).toThrow(TypeError);
    expect(() => new ZapHandler({ domains: { d: { allow: ["127.0.0.1"], deny: ["10.0.0.1"] } } })).toThrow(/domains\.d\.allow/);
    expect(() => new ZapHandler({ allow: ["not-an-ip"] })).toThrow(/`allow`/);
  });
});
