import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { PubSubServer } from "../../../patterns/pubsub/index.js";
import { ZapHandler } from "../../../src/zap/index.js";

describe("review: a server whose start() fails", () => {
  it("releases what start() had taken (its ZAP handler, its sockets): `await new PubSubServer(...).start()` leaves nothing to close", async () => {
    const holder = new zmq.Router({ linger: 0 });
    await holder.bind("tcp://127.0.0.1:*");
    const server = zmq.curveKeyPair();
    const client = zmq.curveKeyPair();
    try {
      await expect(
        new PubSubServer({ bind: holder.lastEndpoint!, allowAny: true, curveSecretKey: server.secretKey, curveAllow: [client.publicKey] }).start(),
      ).rejects.toThrow();
      // The failed server's ZAP handler must not hold the context's ZAP endpoint.
      const zap = await ZapHandler.start({ allowNull: true });
      await zap.close();
    } finally {
      holder.close();
    }
  });
});
