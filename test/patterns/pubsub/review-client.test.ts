import { afterEach, describe, expect, it } from "vitest";
import { PubSubClient, PubSubServer } from "../../../patterns/pubsub/index.js";
import { waitFor } from "../../helpers/wait.js";
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

  it("rule 5.2: a client busy subscribing and unsubscribing (faster than its keep-alive) still keeps its session", async () => {
    const s = await server({ allowAny: true, expiry: 500 });
    let expired = 0;
    s.on("client:expired", () => expired++);
    const c = client(s.endpoint, "u", "p", { subscribe: ["t."], keepAliveInterval: 100 });
    await c.ready();
    let changes = 0;
    const churn = setInterval(() => (changes++ % 2 ? c.unsubscribe("x.") : c.subscribe("x.")), 20);
    try {
      const t0 = Date.now();
      await waitFor(() => changes >= 40 && Date.now() - t0 > 1500, { what: "1.5 s of subscription changes (three expiry windows)" });
    } finally {
      clearInterval(churn);
    }
    expect(expired).toBe(0);
    expect(s.publish("t.1", "x")).toBe(1);
  });

  it("routingId is validated: 1-255 bytes, not starting with a zero byte (reserved for ids the ROUTER assigns)", () => {
    const make = (routingId: string) => () => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", routingId });
    expect(make("x".repeat(256))).toThrow(TypeError);
    expect(make("x".repeat(256))).toThrow(/`routingId`/);
    expect(make("\u0000abcd")).toThrow(/`routingId`/);
  });

  it("CURVE keys are validated as Z85 (TypeError naming the option), not only by length", () => {
    const bad = " ".repeat(40);
    const good = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    const c = (o: object) => () => new PubSubClient({ endpoint: "tcp://127.0.0.1:1", user: "u", password: "p", ...o });
    expect(c({ curveServerKey: bad })).toThrow(/`curveServerKey`/);
    expect(c({ curveServerKey: good, curvePublicKey: bad, curveSecretKey: good })).toThrow(/`curvePublicKey`/);
    expect(c({ curveServerKey: good, curvePublicKey: good, curveSecretKey: bad })).toThrow(/`curveSecretKey`/);
    const s = (o: object) => () => new PubSubServer({ bind: "tcp://127.0.0.1:*", allowAny: true, ...o });
    expect(s({ curveSecretKey: bad })).toThrow(TypeError);
    expect(s({ curveSecretKey: bad })).toThrow(/`curveSecretKey`/);
    expect(s({ curveSecretKey: good, curveAllow: [bad] })).toThrow(/`curveAllow`/);
  });
});
