/** The three brokers over the dispatch engine, under the lifecycle contract. */
import { MajordomoBroker } from "../../../patterns/majordomo/index.js";
import { ParanoidPirateQueue } from "../../../patterns/paranoid-pirate/index.js";
import { SimplePirateQueue } from "../../../patterns/simple-pirate/index.js";
import type { LifecycleFactory } from "../harness.js";

export const dispatchFactories: LifecycleFactory[] = [
  {
    name: "SimplePirateQueue",
    make: async (ctx, extras) => new SimplePirateQueue({ frontend: await ctx.endpoint(), backend: await ctx.endpoint(), ...extras }),
    // The frontend binds, the backend's endpoint is taken: the frontend must be unbound again.
    failing: (_ctx, free, taken, extras) => new SimplePirateQueue({ frontend: free, backend: taken, ...extras }),
  },
  {
    name: "ParanoidPirateQueue",
    make: async (ctx, extras) => new ParanoidPirateQueue({ frontend: await ctx.endpoint(), backend: await ctx.endpoint(), ...extras }),
    failing: (_ctx, free, taken, extras) => new ParanoidPirateQueue({ frontend: free, backend: taken, ...extras }),
  },
  {
    name: "MajordomoBroker",
    make: async (ctx, extras) => new MajordomoBroker({ bind: await ctx.endpoint(), ...extras }),
    failing: (_ctx, free, taken, extras) => new MajordomoBroker({ bind: [free, taken], ...extras }),
  },
];
