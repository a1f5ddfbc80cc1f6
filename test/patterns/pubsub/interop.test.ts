import { afterEach, describe, expect, it } from "vitest";
import { killAll, startPython } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { closeAll, server } from "./setup.js";

afterEach(async () => {
  await killAll();
  await closeAll();
});

describe("ZPS/1 interop: a Python subscriber written from PROTOCOL.md", () => {
  it("rule 3 and 5: authenticates, keeps alive, receives from our server, says BYE", async () => {
    const s = await server({ expiry: 2000 });
    const left: string[] = [];
    s.on("client:left", (e) => left.push(e.principal.name));
    const py = startPython("pubsub_client.py", [s.endpoint, "alice", "alice-pw", "3", "news."]);
    await py.waitLine(/^SESSION 201$/);
    await waitFor(() => {
      if (py.lines.filter((l) => l.startsWith("MESSAGE")).length >= 3) return true;
      s.publish("news.py", "hello", "world");
      return false;
    }, { what: "3 messages at the Python peer", every: 20 });
    expect(py.lines.find((l) => l.startsWith("MESSAGE"))).toBe("MESSAGE news.py\thello|world");
    expect(await py.exited).toBe(0);
    await waitFor(() => left.length === 1, { what: "BYE from the Python peer" });
  });

  it("rule 4.2: the Python peer is told 403 for a pattern outside its entitlements", async () => {
    const s = await server();
    const py = startPython("pubsub_client.py", [s.endpoint, "bob", "bob-pw", "1", "news."]);
    await py.waitLine(/^DENIED 403/);
    expect(await py.exited).toBe(3);
  });
});
