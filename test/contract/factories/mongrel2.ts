/**
 * Mongrel2Handler under the lifecycle contract. It only connects (to mongrel2's two specs), so
 * it has no failing start; nothing answers its specs here, which the contract does not need.
 */
import { Mongrel2Handler } from "../../../patterns/mongrel2/index.js";
import type { LifecycleFactory } from "../harness.js";

export const mongrel2Factories: LifecycleFactory[] = [
  {
    name: "Mongrel2Handler",
    make: async (ctx, extras) => new Mongrel2Handler({ sendSpec: await ctx.endpoint(), recvSpec: await ctx.endpoint(), listener: (_req, res) => res.end(), drainTimeout: 100, ...extras }),
  },
];
