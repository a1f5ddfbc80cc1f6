/**
 * The link and the three workers under the lifecycle contract. They only connect (no
 * `failing`: their start cannot fail on a taken port) and have no call that waits for a
 * peer (no `pending`).
 */
import { HeartbeatLink, echoHandler } from "../../../src/index.js";
import { SimplePirateWorker } from "../../../patterns/simple-pirate/index.js";
import { ParanoidPirateWorker } from "../../../patterns/paranoid-pirate/index.js";
import { MajordomoWorker } from "../../../patterns/majordomo/index.js";
import type { LifecycleFactory } from "../harness.js";

export const workerFactories: LifecycleFactory[] = [
  {
    name: "HeartbeatLink",
    make: async (ctx, extras) =>
      new HeartbeatLink({ endpoint: await ctx.endpoint(), greeting: () => "READY", heartbeat: () => "HB", onMessage: () => undefined, ...extras }),
  },
  {
    name: "SimplePirateWorker",
    make: async (ctx, extras) => new SimplePirateWorker({ endpoint: await ctx.endpoint(), handler: echoHandler, ...extras }),
  },
  {
    name: "ParanoidPirateWorker",
    make: async (ctx, extras) => new ParanoidPirateWorker({ endpoint: await ctx.endpoint(), handler: echoHandler, ...extras }),
  },
  {
    name: "MajordomoWorker",
    make: async (ctx, extras) => new MajordomoWorker({ endpoint: await ctx.endpoint(), service: "echo", handler: echoHandler, ...extras }),
  },
];
