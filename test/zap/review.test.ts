import { describe, expect, it } from "vitest";
import { hashPassword, parseZapRequest, type ZapRequest } from "../../src/zap/index.js";
import { CompiledPolicy } from "../../src/zap/policy.js";

const id = Buffer.from([0, 1, 2, 3, 4]);
function plainRequest(user: Buffer | string, password: Buffer | string): ZapRequest {
  const parsed = parseZapRequest([id, Buffer.alloc(0), ...["1.0", "r1", "d", "127.0.0.1", "", "PLAIN"].map((s) => Buffer.from(s)), Buffer.from(user), Buffer.from(password)]);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.request;
}

describe("review: 27/ZAP PLAIN", () => {
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
});
