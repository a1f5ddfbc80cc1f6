import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import zeromqTransport from "../../../patterns/tools/pino-transport.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { waitFor } from "../../helpers/wait.js";

describe("review: tools", () => {
  it("pino transport: a failed bind closes the sender (no socket left bound behind the rejection)", async () => {
    const taken = await uniqAddress("inproc");
    const free = await uniqAddress("inproc");
    const holder = new zmq.Pull({ linger: 0 });
    await holder.bind(taken);
    const probe = new zmq.Pull({ linger: 0 });
    try {
      await expect(zeromqTransport({ type: "push", bind: [free, taken], statsInterval: 0 })).rejects.toThrow();
      // The endpoint the transport did bind before failing must be free again (libzmq
      // releases it a moment after the socket closes, hence the bounded wait).
      await waitFor(() => probe.bind(free).then(() => true, () => false), { timeout: 3000, what: `${free} to be released` });
      expect(probe.lastEndpoint).toBe(free);
    } finally {
      holder.close();
      probe.close();
    }
  });
});
