import { afterEach, describe, expect, it } from "vitest";
import { client, closeAll, server } from "./setup.js";

afterEach(closeAll);

describe("review: client lifecycle", () => {
  it("no message or status event reaches the application once close() was called (not even during the BYE grace)", async () => {
    const s = await server({ allowAny: true });
    const c = client(s.endpoint, "u", "p", { subscribe: ["t."] });
    await c.ready();
    let after = 0;
    let closing = false;
    c.on("message", () => closing && after++);
    c.on("status", () => closing && after++);
    // Copies in flight when close() is called arrive during the BYE grace period.
    for (let i = 0; i < 200; i++) s.publish("t.x", String(i));
    closing = true;
    await c.close();
    expect(after).toBe(0);
  });
});
