/**
 * The Binary Star classes under the lifecycle contract: BinaryStar (state PUB + SUB) and
 * BinaryStarServer (a frontend ROUTER on top). Their peer is an endpoint where nothing runs.
 */
import { BinaryStar, BinaryStarServer } from "../../../patterns/binary-star/index.js";
import type { LifecycleFactory } from "../harness.js";

export const binaryStarFactories: LifecycleFactory[] = [
  {
    name: "BinaryStar",
    make: async (ctx, extras) => new BinaryStar({ role: "primary", local: await ctx.endpoint(), remote: await ctx.endpoint(), ...extras }),
    // One bind only: the state PUB on the taken endpoint.
    failing: async (ctx, _free, taken, extras) => new BinaryStar({ role: "backup", local: taken, remote: await ctx.endpoint(), ...extras }),
  },
  {
    name: "BinaryStarServer",
    make: async (ctx, extras) => new BinaryStarServer({ role: "primary", frontend: await ctx.endpoint(), local: await ctx.endpoint(), remote: await ctx.endpoint(), ...extras }),
    // The frontend binds `free`, then the star's PUB fails on `taken`.
    failing: async (ctx, free, taken, extras) => new BinaryStarServer({ role: "backup", frontend: free, local: taken, remote: await ctx.endpoint(), ...extras }),
  },
];
