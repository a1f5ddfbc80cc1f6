/**
 * The retrying clients (all on the request engine) under the lifecycle contract. `pending` is
 * a request to an endpoint where nothing answers, with a timeout far beyond the case, so it
 * can only end by the close (ClosedError).
 */
import { LazyPirateClient, PipelinedClient } from "../../../patterns/lazy-pirate/index.js";
import { MajordomoClient } from "../../../patterns/majordomo/index.js";
import { TitanicClient } from "../../../patterns/titanic/index.js";
import type { LifecycleFactory } from "../harness.js";

const FOREVER = 600_000;

export const requestFactories: LifecycleFactory[] = [
  {
    name: "LazyPirateClient",
    make: async (ctx, extras) => new LazyPirateClient({ endpoint: await ctx.endpoint(), requestTimeout: FOREVER, ...extras }),
    pending: (c) => (c as LazyPirateClient).request("hello"),
  },
  {
    name: "PipelinedClient",
    make: async (ctx, extras) => new PipelinedClient({ endpoint: [await ctx.endpoint(), await ctx.endpoint()], requestTimeout: FOREVER, ...extras }),
    pending: (c) => (c as PipelinedClient).request("hello"),
  },
  {
    name: "MajordomoClient",
    make: async (ctx, extras) => new MajordomoClient({ endpoint: await ctx.endpoint(), requestTimeout: FOREVER, ...extras }),
    pending: (c) => (c as MajordomoClient).request("echo", "hello"),
  },
  {
    name: "TitanicClient",
    make: async (ctx, extras) => new TitanicClient({ endpoint: await ctx.endpoint(), requestTimeout: FOREVER, ...extras }),
    pending: (c) => (c as TitanicClient).call("echo", "hello"),
  },
];
