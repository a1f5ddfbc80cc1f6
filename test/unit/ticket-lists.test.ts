import { describe, it, expect } from "vitest";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { ManualClock, PeerTable, Reactor, Scheduler, type TicketList } from "../../src/index.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 10 && ref.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return ref.deref() === undefined;
}

describe("ticket lists", () => {
  it("an abandoned, empty ticket list is not kept alive by its scheduler", async () => {
    const clock = new ManualClock();
    const scheduler = new Scheduler(clock, () => {});
    const make = (): WeakRef<TicketList> => {
      const list = scheduler.tickets(100);
      list.add(() => {}).cancel();
      return new WeakRef(list);
    };
    expect(await collected(make())).toBe(true);
    expect(scheduler.stats().ticketsActive).toBe(0);
  });

  it("reactor ticket lists (one per PeerTable or HeartbeatLink) are garbage once empty and dropped", async () => {
    const clock = new ManualClock();
    const reactor = new Reactor({ clock });
    const make = () => {
      const list = reactor.tickets(100);
      list.add(() => {});
      new PeerTable<number>(reactor, 100, () => {}).add(Buffer.from("a"), 1);
      return new WeakRef(list);
    };
    const refs = Array.from({ length: 20 }, make);
    clock.advance(100);
    expect(reactor.stats()).toMatchObject({ ticketsActive: 0, ticketsExpired: 40 });
    for (const ref of refs) expect(await collected(ref)).toBe(true);
    // a list that has tickets is kept, and still fires after being emptied and refilled
    const live = reactor.tickets(10);
    let fired = 0;
    live.add(() => fired++).cancel();
    live.add(() => fired++);
    clock.advance(10);
    live.add(() => fired++);
    clock.advance(10);
    expect(fired).toBe(2);
    await reactor.close();
  });
});
