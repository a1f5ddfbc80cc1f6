/**
 * The brokers with the `ha` option under the lifecycle contract: the Binary Star they compose
 * is started in `onStart()` and closed with them. Their peer is an endpoint where nothing runs.
 */
import { MajordomoBroker } from "../../../patterns/majordomo/index.js";
import { ParanoidPirateQueue } from "../../../patterns/paranoid-pirate/index.js";
import type { LifecycleFactory } from "../harness.js";

export const haFactories: LifecycleFactory[] = [
  {
    name: "ParanoidPirateQueue (ha)",
    make: async (ctx, extras) =>
      new ParanoidPirateQueue({ frontend: await ctx.endpoint(), backend: await ctx.endpoint(), ha: { role: "primary", local: await ctx.endpoint(), remote: await ctx.endpoint() }, ...extras }),
    // The frontend binds `free`, the backend a fresh endpoint, then the star's PUB fails on `taken`.
    failing: async (ctx, free, taken, extras) =>
      new ParanoidPirateQueue({ frontend: free, backend: await ctx.endpoint(), ha: { role: "backup", local: taken, remote: await ctx.endpoint() }, ...extras }),
  },
  {
    name: "MajordomoBroker (ha)",
    make: async (ctx, extras) => new MajordomoBroker({ bind: await ctx.endpoint(), ha: { role: "primary", local: await ctx.endpoint(), remote: await ctx.endpoint() }, ...extras }),
    // The ROUTER binds `free`, then the star's PUB fails on `taken`.
    failing: async (ctx, free, taken, extras) => new MajordomoBroker({ bind: free, ha: { role: "backup", local: taken, remote: await ctx.endpoint() }, ...extras }),
  },
];
