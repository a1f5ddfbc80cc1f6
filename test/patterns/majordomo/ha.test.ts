/**
 * MajordomoBroker with the `ha` option: a Binary Star pair of brokers, an echo worker on
 * each, and a MajordomoClient that knows both. The primary's death under a stream of
 * requests (every one answered, by the backup after the client vote), and the backup alone
 * (no primary ever seen: it refuses clients).
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, RequestAbandonedError } from "../../../src/index.js";
import { MajordomoBroker } from "../../../patterns/majordomo/index.js";
import { freePort } from "../../helpers/addresses.js";
import { waitFor, within } from "../../helpers/wait.js";
import { HB, broker, client, closeAll, text, worker } from "./fixtures.js";

const STAR_HB = 100; // the peer expires after 200 ms
const FAILOVER = 2 * STAR_HB + 100;

afterEach(closeAll);

const ep = async () => `tcp://127.0.0.1:${await freePort()}`;

async function pair() {
  const pState = await ep();
  const bState = await ep();
  const primary = await broker({ ha: { role: "primary", local: pState, remote: bState, heartbeatInterval: STAR_HB } });
  const backup = await broker({ ha: { role: "backup", local: bState, remote: pState, heartbeatInterval: STAR_HB } });
  await waitFor(() => primary.broker.haState === "active" && backup.broker.haState === "passive", { what: "primary active, backup passive", timeout: 10_000 });
  for (const b of [primary, backup]) {
    worker(b.endpoint, "echo");
    await waitFor(() => b.broker.services().includes("echo"), { what: "echo worker registered", timeout: 10_000 });
  }
  return { primary, backup };
}

describe("MajordomoBroker HA pair (ha option)", () => {
  it("the primary answers; after it dies under a stream of requests, every request is answered by the backup", async () => {
    const { primary, backup } = await pair();
    const refusedByBackup: string[] = [];
    backup.broker.on("request:refused", (e) => refusedByBackup.push(e.service));
    const c = client([primary.endpoint, backup.endpoint], { requestTimeout: 300, retries: 10, failoverDelay: FAILOVER });
    for (let i = 1; i <= 10; i++) expect(text(await within(c.request("echo", `p-${i}`), 10_000, `request ${i}`))).toEqual([`p-${i}`]);
    expect(primary.broker.stats().replies).toBe(10);
    expect(primary.broker.stats().ha!.accepted).toBe(10);
    expect(backup.broker.stats().requests).toBe(0);

    const total = 40;
    const answers: string[] = [];
    let closing: Promise<void> | undefined;
    for (let i = 1; i <= total; i++) {
      if (i === 10) closing = primary.broker.close(); // its death, requests still coming
      answers.push(text(await within(c.request("echo", `r-${i}`), 15_000, `request r-${i}`)).join(""));
    }
    await closing;
    expect(answers).toEqual(Array.from({ length: total }, (_, i) => `r-${i + 1}`));
    expect(backup.broker.haState).toBe("active");
    expect(backup.broker.stats().replies).toBeGreaterThanOrEqual(total - 10);
    expect(c.stats().failovers).toBeGreaterThanOrEqual(1);
    expect(refusedByBackup).toEqual([]);
  });

  it("the backup alone (its primary never seen) refuses clients: counted, the client abandons", async () => {
    const backup = await broker({ ha: { role: "backup", local: await ep(), remote: await ep(), heartbeatInterval: STAR_HB } });
    worker(backup.endpoint, "echo");
    await waitFor(() => backup.broker.services().includes("echo"), { what: "echo worker registered", timeout: 10_000 });
    const refused: string[] = [];
    backup.broker.on("request:refused", (e) => refused.push(e.service));
    const c = client(backup.endpoint, { requestTimeout: 200, retries: 3 });
    // 4 attempts over >= 800 ms, far past the 200 ms peer expiry: each a refused vote.
    await expect(c.request("echo", "anyone?")).rejects.toBeInstanceOf(RequestAbandonedError);
    await expect(c.request("mmi.service", "echo")).rejects.toBeInstanceOf(RequestAbandonedError);
    const s = backup.broker.stats();
    expect(s.refused).toBeGreaterThanOrEqual(8);
    expect(s.requests).toBe(0);
    expect(s.mmi).toBe(0);
    expect(s.ha!.state).toBe("backup");
    expect(s.ha!.refused).toBe(s.refused);
    expect(refused).toContain("echo");
    expect(refused).toContain("mmi.service");
  });

  it("validates the ha option in the constructor, naming it", () => {
    const make = (ha: unknown) => () => new MajordomoBroker({ bind: "tcp://127.0.0.1:*", heartbeatInterval: HB, ha } as never);
    const option = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return undefined;
    };
    expect(option(make(5))).toBe("ha");
    expect(option(make({ local: "tcp://*:1", remote: "tcp://127.0.0.1:2" }))).toBe("ha.role");
    expect(option(make({ role: "leader", local: "tcp://*:1", remote: "tcp://127.0.0.1:2" }))).toBe("ha.role");
    expect(option(make({ role: "primary", remote: "tcp://127.0.0.1:2" }))).toBe("ha.local");
    expect(option(make({ role: "primary", local: "tcp://*:1", remote: "tcp://127.0.0.1:2", heartbeatInterval: 0 }))).toBe("ha.heartbeatInterval");
    expect(option(make(undefined))).toBeUndefined();
  });
});
