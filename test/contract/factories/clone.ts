/**
 * Clone (12/CHP) under the lifecycle contract. The server binds P, P+1 and P+2 (a base port
 * whose neighbours are free); its failing start binds those, then its HA star's PUB fails on
 * `taken`. The client's pending call is `synced()` against a server that is not there.
 */
import { CloneClient, CloneServer } from "../../../patterns/clone/index.js";
import { cloneEndpoint } from "../../patterns/clone/helpers.js";
import type { LifecycleFactory } from "../harness.js";

export const cloneFactories: LifecycleFactory[] = [
  {
    name: "CloneServer",
    make: async (_ctx, extras) => new CloneServer({ bind: await cloneEndpoint(), ...extras }),
    failing: async (ctx, free, taken, extras) =>
      new CloneServer({ bind: free, ha: { role: "primary", local: taken, remote: await ctx.endpoint(), peer: await cloneEndpoint() }, ...extras }),
  },
  {
    name: "CloneServer (ha)",
    make: async (ctx, extras) => new CloneServer({ bind: await cloneEndpoint(), ha: { role: "backup", local: await ctx.endpoint(), remote: await ctx.endpoint(), peer: await cloneEndpoint() }, ...extras }),
  },
  {
    name: "CloneClient",
    make: async (_ctx, extras) => new CloneClient({ endpoint: [await cloneEndpoint(), await cloneEndpoint()], ...extras }),
    pending: (c) => (c as CloneClient).synced(),
  },
];
