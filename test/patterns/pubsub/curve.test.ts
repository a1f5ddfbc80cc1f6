import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../src/zap/index.js";
import { killAll, startCli } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { client, closeAll, collect, server, usersFile } from "./setup.js";

afterEach(async () => {
  await killAll();
  await closeAll();
});

describe("ZPS/1 over CURVE (rule 7)", () => {
  it("a client whose key is on the allowed list connects; one with another key cannot", async () => {
    const serverKeys = generateKeyPair();
    const good = generateKeyPair();
    const bad = generateKeyPair();
    const s = await server({ curveSecretKey: serverKeys.secretKey, curveAllow: [good.publicKey] });
    const ok = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], curveServerKey: serverKeys.publicKey, curvePublicKey: good.publicKey, curveSecretKey: good.secretKey });
    const intruder = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], curveServerKey: serverKeys.publicKey, curvePublicKey: bad.publicKey, curveSecretKey: bad.secretKey });
    const got = collect(ok);
    const gotBad = collect(intruder);
    await ok.ready();
    await waitFor(() => s.zap!.stats().denied >= 1, { what: "the ZAP handler refusing the unlisted key" });
    expect(intruder.sessionState).toBe("connecting");
    expect(s.clients()).toHaveLength(1);
    expect(s.publish("news.x", "secret")).toBe(1);
    await waitFor(() => got.length === 1);
    expect(gotBad).toEqual([]);
  });

  it("a client without CURVE cannot talk to a CURVE server", async () => {
    const serverKeys = generateKeyPair();
    const s = await server({ curveSecretKey: serverKeys.secretKey, curveAllow: [generateKeyPair().publicKey] });
    const plain = client(s.endpoint, "alice", "alice-pw", { subscribe: ["news."], heartbeatLiveness: 2 });
    const lost: string[] = [];
    plain.on("link:lost", (e) => lost.push(e.reason));
    await waitFor(() => lost.length >= 1, { what: "the plain client giving up" });
    expect(s.stats().received).toBe(0);
  });

  it("CLI: keygen key files drive serve --curve-secret-key/--curve-allow and subscribe --curve-*", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zps-curve-"));
    const keygens = ["server", "alice", "eve"].map((name) => startCli(["keygen", "--out", join(dir, name)]));
    const users = await usersFile();
    expect(await Promise.all(keygens.map((k) => k.exited))).toEqual([0, 0, 0]);
    const srv = startCli(["pubsub", "serve", "--bind", "tcp://127.0.0.1:*", "--ingest", "tcp://127.0.0.1:*", "--users", users, "--curve-secret-key", join(dir, "server.key_secret"), "--curve-allow", join(dir, "alice.key")]);
    const [, endpoint, , ingest] = (await srv.waitLine(/^listening /, 20_000)).split(" ");
    const sub = (who: string) =>
      startCli(["pubsub", "subscribe", "--connect", endpoint!, "--user", "alice", "--password", "alice-pw", "--count", "1", "--heartbeat-interval", "100", "--curve-server-key", join(dir, "server.key"), "--curve-public-key", join(dir, `${who}.key`), "--curve-secret-key", join(dir, `${who}.key_secret`), "news."]);
    const alice = sub("alice");
    const eve = sub("eve");
    await waitFor(() => alice.errLines.includes("session started"), { what: "alice's CURVE session", timeout: 20_000 });
    const pub = startCli(["pubsub", "publish", "--connect", ingest!, "news.curve", "hello"]);
    expect(await pub.exited).toBe(0);
    expect(await alice.exited).toBe(0);
    expect(alice.lines).toEqual(["news.curve\thello"]);
    expect(eve.lines).toEqual([]);
    expect(eve.errLines).not.toContain("session started");
  }, 60_000);
});
