/**
 * ParanoidPirateQueue with the `ha` option: a Binary Star pair of queues, a
 * ParanoidPirateWorker on each, and a LazyPirateClient that knows both. The primary's death
 * under a stream of requests (every one answered, by the backup after the client vote), and
 * the backup alone (no primary ever seen: it refuses clients).
 */
import { afterEach, describe, expect, it } from "vitest";
import { InvalidOptionError, RequestAbandonedError, upperHandler } from "../../../src/index.js";
import { LazyPirateClient, type LazyPirateOptions } from "../../../patterns/lazy-pirate/index.js";
import { ParanoidPirateQueue, ParanoidPirateWorker, type ParanoidPirateQueueOptions } from "../../../patterns/paranoid-pirate/index.js";
import { freePort } from "../../helpers/addresses.js";
import { waitFor, within } from "../../helpers/wait.js";

const HB = 100;
const STAR_HB = 100; // the peer expires after 200 ms
const FAILOVER = 2 * STAR_HB + 100;
const cleanup: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const ep = async () => `tcp://127.0.0.1:${await freePort()}`;

async function queue(ha: ParanoidPirateQueueOptions["ha"]): Promise<ParanoidPirateQueue> {
  const q = new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", heartbeatInterval: HB, heartbeatLiveness: 5, ha });
  cleanup.push(() => q.close());
  await q.start();
  return q;
}

async function withWorker(q: ParanoidPirateQueue): Promise<void> {
  const w = new ParanoidPirateWorker({ endpoint: q.endpoints.backend[0]!, handler: upperHandler, heartbeatInterval: HB, heartbeatLiveness: 5 });
  cleanup.push(() => w.close());
  await waitFor(() => q.stats().idle > 0, { what: "worker ready", timeout: 10_000 });
}

function client(endpoint: string | string[], options: Partial<LazyPirateOptions> = {}): LazyPirateClient {
  const c = new LazyPirateClient({ endpoint, requestTimeout: 300, retries: 10, ...options });
  cleanup.push(() => c.close());
  return c;
}

const text = (frames: Buffer[]) => frames.map(String).join("");

describe("ParanoidPirateQueue HA pair (ha option)", () => {
  it("the primary answers; after it dies under a stream of requests, every request is answered by the backup", async () => {
    const pState = await ep();
    const bState = await ep();
    const primary = await queue({ role: "primary", local: pState, remote: bState, heartbeatInterval: STAR_HB });
    const backup = await queue({ role: "backup", local: bState, remote: pState, heartbeatInterval: STAR_HB });
    await waitFor(() => primary.haState === "active" && backup.haState === "passive", { what: "primary active, backup passive", timeout: 10_000 });
    await withWorker(primary);
    await withWorker(backup);
    const backupRefused: Buffer[] = [];
    backup.on("request:refused", (e) => backupRefused.push(e.client));

    const c = client([primary.endpoints.frontend[0]!, backup.endpoints.frontend[0]!], { failoverDelay: FAILOVER });
    for (let i = 1; i <= 10; i++) expect(text(await within(c.request(`p-${i}`), 10_000, `request ${i}`))).toBe(`P-${i}`);
    expect(primary.stats().replies).toBe(10);
    expect(primary.stats().ha!.accepted).toBe(10);
    expect(backup.stats().requests).toBe(0);

    const total = 40;
    const answers: string[] = [];
    let closing: Promise<void> | undefined;
    for (let i = 1; i <= total; i++) {
      if (i === 10) closing = primary.close(); // its death, requests still coming
      answers.push(text(await within(c.request(`r-${i}`), 15_000, `request r-${i}`)));
    }
    await closing;
    expect(answers).toEqual(Array.from({ length: total }, (_, i) => `R-${i + 1}`));
    expect(backup.haState).toBe("active");
    expect(backup.stats().replies).toBeGreaterThanOrEqual(total - 10);
    expect(c.stats().failovers).toBeGreaterThanOrEqual(1);
    expect(backupRefused).toEqual([]);
  });

  it("the backup alone (its primary never seen) refuses clients: counted, the client abandons", async () => {
    const backup = await queue({ role: "backup", local: await ep(), remote: await ep(), heartbeatInterval: STAR_HB });
    await withWorker(backup);
    const refused: Buffer[] = [];
    backup.on("request:refused", (e) => refused.push(e.client));
    const c = client(backup.endpoints.frontend[0]!, { requestTimeout: 200, retries: 3 });
    // 4 attempts over >= 800 ms, far past the 200 ms peer expiry: each a refused vote.
    await expect(c.request("anyone?")).rejects.toBeInstanceOf(RequestAbandonedError);
    const s = backup.stats();
    expect(s.refused).toBeGreaterThanOrEqual(4);
    expect(s.requests).toBe(0);
    expect(s.dispatched).toBe(0);
    expect(s.ha!.state).toBe("backup");
    expect(s.ha!.refused).toBe(s.refused);
    expect(refused.length).toBe(s.refused);
  });

  it("without ha nothing is refused and stats().ha is undefined", async () => {
    const q = await queue(undefined);
    await withWorker(q);
    expect(text(await within(client(q.endpoints.frontend[0]!).request("x"), 10_000, "reply"))).toBe("X");
    expect(q.stats().refused).toBe(0);
    expect(q.stats().ha).toBeUndefined();
    expect(q.haState).toBeUndefined();
  });

  it("validates the ha option in the constructor, naming it", () => {
    const make = (ha: unknown) => () => new ParanoidPirateQueue({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", ha } as never);
    const option = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidOptionError);
        return (error as InvalidOptionError).option;
      }
      return undefined;
    };
    expect(option(make("primary"))).toBe("ha");
    expect(option(make({ local: "tcp://*:1", remote: "tcp://127.0.0.1:2" }))).toBe("ha.role");
    expect(option(make({ role: "primary", local: "tcp://*:1" }))).toBe("ha.remote");
  });
});
