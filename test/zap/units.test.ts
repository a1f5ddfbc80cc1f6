import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeMetadata,
  encodeMetadata,
  encodeZapReply,
  generateKeyPair,
  hashPassword,
  isZ85Key,
  keyToBuffer,
  keyToZ85,
  loadCertificates,
  loadKeyPair,
  loadUsersFile,
  parseCertificate,
  parseUsersFile,
  parseZapRequest,
  saveKeyPair,
  setUserPassword,
  verifyPassword,
  writeUsersFile,
  z85Decode,
  z85Encode,
} from "../../src/zap/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "zmqp-zap-units-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("32/Z85", () => {
  it("encodes the RFC's test vector", () => {
    const bytes = Buffer.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe("HelloWorld");
    expect(z85Decode("HelloWorld")).toEqual(bytes);
  });

  it("round-trips libzmq's keys and edge values", () => {
    for (let i = 0; i < 20; i++) {
      const { publicKey, secretKey } = generateKeyPair();
      expect(keyToZ85(keyToBuffer(publicKey))).toBe(publicKey);
      expect(keyToBuffer(secretKey)).toHaveLength(32);
    }
    const edge = Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(z85Decode(z85Encode(edge))).toEqual(edge);
    expect(z85Encode(Buffer.alloc(0))).toBe("");
  });

  it("returns undefined (or throws a typed error) on bad input", () => {
    expect(() => z85Encode(Buffer.alloc(3))).toThrow(RangeError);
    expect(z85Decode("abcd")).toBeUndefined();
    expect(z85Decode("abc d")).toBeUndefined();
    expect(z85Decode("#####")).toBeUndefined(); // above 2^32 - 1
    expect(z85Decode("ééééé")).toBeUndefined();
    expect(isZ85Key("x".repeat(39))).toBe(false);
    expect(() => keyToBuffer("nope")).toThrow(TypeError);
    expect(() => keyToZ85(Buffer.alloc(31))).toThrow(TypeError);
  });
});

describe("key pair files", () => {
  it("saves and loads a key pair; the secret file is 0600 and the public one has no secret", async () => {
    const pair = generateKeyPair();
    const { publicFile, secretFile } = await saveKeyPair(join(dir, "server"), pair);
    expect(await loadKeyPair(secretFile)).toEqual(pair);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(publicFile, "utf8")).not.toContain(pair.secretKey);
    await expect(loadKeyPair(publicFile)).rejects.toThrow(/no secret-key/);
    await expect(saveKeyPair(join(dir, "server"), generateKeyPair())).rejects.toMatchObject({ code: "EEXIST" });
    const other = generateKeyPair();
    await saveKeyPair(join(dir, "server"), other, { overwrite: true });
    expect(await loadKeyPair(secretFile)).toEqual(other);
  });

  it("loads a certificate directory, skipping secret files, and names a bad file", async () => {
    const certs = await mkdtemp(join(dir, "certs-"));
    const a = generateKeyPair();
    const b = generateKeyPair();
    await saveKeyPair(join(certs, "a"), a, { userId: "alice" });
    await saveKeyPair(join(certs, "b"), b);
    const loaded = await loadCertificates(certs);
    expect([...loaded.keys()].sort()).toEqual([a.publicKey, b.publicKey].sort());
    expect(loaded.get(a.publicKey)).toMatchObject({ userId: "alice" });
    expect(loaded.get(a.publicKey)!.secretKey).toBeUndefined();
    await writeFile(join(certs, "broken.key"), "public-key = short\n");
    await expect(loadCertificates(certs)).rejects.toThrow(/broken\.key/);
  });

  it("parses certificate text as values", () => {
    const { publicKey } = generateKeyPair();
    expect(parseCertificate(`# c\n\npublic-key = ${publicKey}\n`)).toEqual({ publicKey });
    expect(parseCertificate("nonsense")).toMatch(/name = value/);
    expect(parseCertificate(`public-key = ${publicKey}\npublic-key = ${publicKey}`)).toMatch(/twice/);
    expect(parseCertificate(`public-key = ${publicKey}\nsecret-key = bad`)).toMatch(/secret-key/);
  });

  it("refuses to save bad keys", async () => {
    await expect(saveKeyPair(join(dir, "x"), { publicKey: "bad", secretKey: "bad" })).rejects.toThrow(TypeError);
  });
});

describe("password hashes", () => {
  it("verifies the right password only, and never stores it", async () => {
    const hash = await hashPassword("correct horse", { cost: 1024 });
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(hash).not.toContain("correct");
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horsf", hash)).toBe(false);
    expect(await verifyPassword("x", "not-a-hash")).toBe(false);
    expect(await hashPassword("correct horse", { cost: 1024 })).not.toBe(hash);
    await expect(hashPassword("x", { cost: 1000 })).rejects.toThrow(/cost/);
  });

  it("reads and writes users files, refusing plain passwords", async () => {
    const file = join(dir, "users.json");
    await writeUsersFile(file, { alice: await hashPassword("a", { cost: 1024 }) });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect([...(await loadUsersFile(file)).keys()]).toEqual(["alice"]);
    await expect(writeUsersFile(file, { bob: "plain" })).rejects.toThrow(TypeError);
    expect(parseUsersFile("{")).toMatch(/not JSON/);
    expect(parseUsersFile('{"users":{}}')).toMatch(/format/);
    expect(parseUsersFile('{"format":"zeromq-patterns/plain-users@1","users":{"bob":"hunter2"}}')).toMatch(/plain passwords/);
    await writeFile(join(dir, "bad.json"), "[]");
    await expect(loadUsersFile(join(dir, "bad.json"))).rejects.toThrow(/bad\.json/);
  });

  it("setUserPassword refuses a user name PLAIN cannot carry (over 255 bytes, whatever its length in characters)", async () => {
    const file = join(dir, "long-names.json");
    await expect(setUserPassword(file, "\u00e9".repeat(200), "pw", { cost: 1024 })).rejects.toThrow(expect.objectContaining({ code: "ZMQP_INVALID_OPTION", option: "username" }));
    await setUserPassword(file, "\u00e9".repeat(127), "pw", { cost: 1024 });
  });
});

describe("27/ZAP wire format", () => {
  const id = Buffer.from([0, 1, 2, 3, 4]);
  const req = (...frames: (string | Buffer)[]) => [id, Buffer.alloc(0), ...frames.map((f) => (typeof f === "string" ? Buffer.from(f) : f))];

  it("parses NULL, PLAIN and CURVE requests", () => {
    const key = generateKeyPair().publicKey;
    const curve = parseZapRequest(req("1.0", "r1", "", "10.0.0.1", "", "CURVE", keyToBuffer(key)));
    expect(curve).toMatchObject({ ok: true, envelope: [id], request: { mechanism: "CURVE", publicKey: key, domain: "" } });
    expect(parseZapRequest(req("1.0", "r2", "d", "::1", "BOB", "PLAIN", "u", "p"))).toMatchObject({ ok: true, request: { username: "u", password: "p" } });
    expect(parseZapRequest(req("1.0", "r3", "d", "1.2.3.4", "", "NULL"))).toMatchObject({ ok: true, request: { mechanism: "NULL" } });
    expect(parseZapRequest(req("1.0", "r4", "d", "1.2.3.4", "", "GSSAPI", "blob"))).toMatchObject({ ok: true, request: { mechanism: "GSSAPI" } });
  });

  it("reports malformed requests as values, with an address when it can answer", () => {
    expect(parseZapRequest([id])).toEqual({ ok: false, reason: "no routing envelope" });
    expect(parseZapRequest(req("1.0"))).toMatchObject({ ok: false, reason: "no request id" });
    expect(parseZapRequest(req("1.1", "r"))).toMatchObject({ ok: false, reason: "unsupported version" });
    const cases: [(string | Buffer)[], RegExp][] = [
      [["1.0", "r", "d", "a", ""], /missing/],
      [["1.0", "r", "d\u0001", "a", "", "NULL"], /domain/],
      [["1.0", "r", "d", "a", Buffer.alloc(256), "NULL"], /identity/],
      [["1.0", "r", "d", "a", "", ""], /mechanism/],
      [["1.0", "r", "d", "a", "", "NULL", "x"], /NULL/],
      [["1.0", "r", "d", "a", "", "PLAIN", "u"], /PLAIN/],
      [["1.0", "r", "d", "a", "", "CURVE", Buffer.alloc(31)], /CURVE/],
    ];
    for (const [frames, re] of cases) {
      const parsed = parseZapRequest(req(...frames));
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) {
        expect(parsed.reason).toMatch(re);
        expect(parsed.answer?.requestId.toString()).toBe("r");
      }
    }
  });

  it("encodes replies and ZMTP metadata", () => {
    const meta = encodeMetadata({ "User-Id": "x", Blob: Buffer.from([0, 1]) });
    expect(decodeMetadata(meta)).toEqual({ "User-Id": Buffer.from("x"), Blob: Buffer.from([0, 1]) });
    expect(() => encodeMetadata({ "bad name": "x" })).toThrow(TypeError);
    expect(decodeMetadata(Buffer.from([5, 65]))).toBeUndefined();
    const reply = encodeZapReply([id], Buffer.from("r"), { status: 400, text: "No", userId: "ignored", metadata: { A: "b" } });
    expect(reply.map(String).slice(1)).toEqual(["", "1.0", "r", "400", "No", "", ""]);
  });
});
