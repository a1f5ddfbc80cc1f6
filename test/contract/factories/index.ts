/** Every long-lived class under the lifecycle contract; each area lists its own. */
import type { LifecycleFactory } from "../harness.js";
import { binaryStarFactories } from "./binary-star.js";
import { cloneFactories } from "./clone.js";
import { coreFactories } from "./core.js";
import { dispatchFactories } from "./dispatch.js";
import { freelanceFactories } from "./freelance.js";
import { haFactories } from "./ha.js";
import { metricsFactories } from "./metrics.js";
import { mongrel2Factories } from "./mongrel2.js";
import { pubsubFactories } from "./pubsub.js";
import { requestFactories } from "./request.js";
import { toolsFactories } from "./tools.js";
import { workerFactories } from "./workers.js";

export const factories: LifecycleFactory[] = [...binaryStarFactories, ...cloneFactories, ...coreFactories, ...dispatchFactories, ...freelanceFactories, ...haFactories, ...metricsFactories, ...mongrel2Factories, ...pubsubFactories, ...requestFactories, ...toolsFactories, ...workerFactories];
