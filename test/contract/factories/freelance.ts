/**
 * Freelance (10/FLP) under the lifecycle contract. The server binds one endpoint, so its
 * failing start binds only the taken one. The client's pending call goes to a server that is
 * not there, with a timeout far beyond the case: only the close can end it.
 */
import { echoHandler } from "../../../src/index.js";
import { FreelanceClient, FreelanceServer } from "../../../patterns/freelance/index.js";
import type { LifecycleFactory } from "../harness.js";

const FOREVER = 600_000;

export const freelanceFactories: LifecycleFactory[] = [
  {
    name: "FreelanceServer",
    make: async (ctx, extras) => new FreelanceServer({ bind: await ctx.endpoint(), handler: echoHandler, ...extras }),
    failing: (_ctx, _free, taken, extras) => new FreelanceServer({ bind: taken, handler: echoHandler, ...extras }),
  },
  {
    name: "FreelanceClient",
    make: async (ctx, extras) => new FreelanceClient({ endpoint: [await ctx.endpoint(), await ctx.endpoint()], requestTimeout: FOREVER, ...extras }),
    pending: (c) => (c as FreelanceClient).request("hello"),
  },
];
