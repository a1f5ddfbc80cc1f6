/** The compiled ZAP policy (src/zap/policy.ts), decided without sockets. */
import { describe, expect, it } from "vitest";
import { DEFAULT_SCRYPT_COST, dummyPasswordHash, hashPassword, parsePasswordHash, parseZapRequest, type ZapRequest } from "../../src/zap/index.js";
import { CompiledPolicy } from "../../src/zap/policy.js";

const id = Buffer.from([0, 1, 2, 3, 4]);
function plainRequest(user: Buffer | string, password: Buffer | string): ZapRequest {
  const parsed = parseZapRequest([id, Buffer.alloc(0), ...["1.0", "r1", "d", "127.0.0.1", "", "PLAIN"].map((s) => Buffer.from(s)), Buffer.from(user), Buffer.from(password)]);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

describe("PLAIN policy", () => {
  it("compares the password bytes exactly: bytes that are not UTF-8 do not match a password holding U+FFFD", async () => {
    const policy = new CompiledPolicy("test", { plain: { users: { alice: await hashPassword("pa\uFFFDss", { cost: 1024 }) } } });
    expect((await policy.decide(plainRequest("alice", "pa\uFFFDss"))).status).toBe(200);
    expect((await policy.decide(plainRequest("alice", Buffer.from([0x70, 0x61, 0xff, 0x73, 0x73])))).status).toBe(400);
    expect((await policy.decide(plainRequest("alice", Buffer.from([0x70, 0x61, 0xc3, 0x73, 0x73])))).status).toBe(400);
    // The same for the user name.
    const bob = new CompiledPolicy("test", { plain: { users: { "b\uFFFD": await hashPassword("pw", { cost: 1024 }) } } });
    expect((await bob.decide(plainRequest("b\uFFFD", "pw"))).status).toBe(200);
    expect((await bob.decide(plainRequest(Buffer.from([0x62, 0xfe]), "pw"))).status).toBe(400);
  });

  it("an unknown user is checked against a dummy hash with the users file's scrypt parameters (no timing side channel)", async () => {
    // Users hashed at a cost 16 times below the default: the dummy check must follow them, or
    // an unknown user costs 16 times the work of a known one. (Checked on the parameters, not
    // by timing: tests never assert speed.)
    const aliceHash = await hashPassword("pw", { cost: 1024 });
    const dummy = parsePasswordHash(await dummyPasswordHash(aliceHash))!;
    const alice = parsePasswordHash(aliceHash)!;
    expect({ N: dummy.N, r: dummy.r, p: dummy.p }).toEqual({ N: alice.N, r: alice.r, p: alice.p });
    expect(parsePasswordHash(await dummyPasswordHash(undefined))!.N).toBe(DEFAULT_SCRYPT_COST);
    const policy = new CompiledPolicy("test", { plain: { users: { alice: aliceHash } } });
    expect((await policy.decide(plainRequest("mallory", "wrong"))).status).toBe(400);
    expect((await policy.decide(plainRequest("alice", "wrong"))).status).toBe(400);
    expect((await policy.decide(plainRequest("alice", "pw"))).status).toBe(200);
  });
});
