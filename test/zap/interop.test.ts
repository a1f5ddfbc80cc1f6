import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ZapHandler, generateKeyPair, loadKeyPair, saveKeyPair } from "../../src/zap/index.js";
import { killAll, start, startCli, startPython } from "../helpers/process.js";
import { waitFor } from "../helpers/wait.js";
import { curveOptions, echoServer } from "./helpers.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zmqp-zap-interop-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("interop with a pyzmq CURVE client", () => {
  it("replies to an allowed key and refuses another", async () => {
    const serverKeys = generateKeyPair();
    const allowed = generateKeyPair();
    const other = generateKeyPair();
    const zap = await ZapHandler.start({ curve: { keys: [allowed.publicKey] } });
    cleanup.push(() => zap.close());
    const server = await echoServer("tcp", curveOptions(serverKeys, serverKeys).server);
    cleanup.push(() => server.reactor.close());

    const ok = startPython("zap_curve_client.py", [server.endpoint, serverKeys.publicKey, allowed.publicKey, allowed.secretKey]);
    expect(await ok.waitLine(/^(REPLY|REFUSED|TIMEOUT)/, 15_000)).toBe("REPLY hello");

    const refused = startPython("zap_curve_client.py", [server.endpoint, serverKeys.publicKey, other.publicKey, other.secretKey]);
    expect(await refused.waitLine(/^(REPLY|REFUSED|TIMEOUT)/, 15_000)).toBe("REFUSED 400");
    await waitFor(() => zap.stats().deniedBy.key >= 1, { what: "a key denial" });
    expect(server.received).toHaveLength(1);
  });

  it("reads a key pair file written by saveKeyPair", async () => {
    const serverKeys = generateKeyPair();
    const { publicFile, secretFile } = await saveKeyPair(join(dir, "py"), generateKeyPair());
    const zap = await ZapHandler.start({ curve: { certificates: dir } });
    cleanup.push(() => zap.close());
    const server = await echoServer("ipc", curveOptions(serverKeys, serverKeys).server);
    cleanup.push(() => server.reactor.close());
    const py = startPython("zap_curve_client.py", [server.endpoint, serverKeys.publicKey, "--secret-file", secretFile]);
    expect(await py.waitLine(/^(REPLY|REFUSED|TIMEOUT)/, 15_000)).toBe("REPLY hello");
    expect(publicFile.endsWith(".key")).toBe(true);
  });
});

describe("zpatterns keygen (built CLI)", () => {
  it("writes a key pair and prints the public key", async () => {
    const prefix = join(dir, "cli");
    const child = startCli(["keygen", "--out", prefix, "--user-id", "svc"]);
    const line = await child.waitLine(/^\S{40}$/, 15_000);
    expect(await child.exited).toBe(0);
    const pair = await loadKeyPair(prefix + ".key_secret");
    expect(pair.publicKey).toBe(line);
    expect((await stat(prefix + ".key_secret")).mode & 0o777).toBe(0o600);
    expect(await readFile(prefix + ".key", "utf8")).not.toContain("secret-key");
    const again = startCli(["keygen", "--out", prefix]);
    expect(await again.exited).toBe(1);
    const usage = startCli(["keygen", "--bogus"]);
    expect(await usage.exited).toBe(2);
  });
});

describe("zpatterns passwd (built CLI)", () => {
  it("adds users to a users file as scrypt hashes that the handler accepts", async () => {
    const { loadUsersFile, verifyPassword } = await import("../../src/zap/index.js");
    const file = join(dir, "users.json");
    const first = startCli(["passwd", "--file", file, "--user", "alice"], { stdin: "wonderland\n" });
    expect(await first.exited).toBe(0);
    const second = startCli(["passwd", "--file", file, "--user", "bob"], { stdin: "builder\n" });
    expect(await second.exited).toBe(0);
    const text = await readFile(file, "utf8");
    expect(text).not.toContain("wonderland");
    const users = await loadUsersFile(file);
    expect([...users.keys()]).toEqual(["alice", "bob"]);
    expect(await verifyPassword("wonderland", users.get("alice")!)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const missing = startCli(["passwd", "--file", file], { stdin: "x\n" });
    expect(await missing.exited).toBe(2);
  });
});

describe("package export (built)", () => {
  it("serves ZapHandler from the ./zap subpath and not from the root", async () => {
    const script = 'const z = await import("zeromq-patterns/zap"); const r = await import("zeromq-patterns"); console.log(typeof z.ZapHandler, "ZapHandler" in r)';
    const child = start(process.execPath, ["--input-type=module", "-e", script]);
    expect(await child.waitLine(/^\w+ \w+$/, 15_000)).toBe("function false");
  });
});
