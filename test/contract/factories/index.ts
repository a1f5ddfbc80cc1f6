/** Every long-lived class under the lifecycle contract; each area lists its own. */
import type { LifecycleFactory } from "../harness.js";
import { coreFactories } from "./core.js";
import { dispatchFactories } from "./dispatch.js";

export const factories: LifecycleFactory[] = [...coreFactories, ...dispatchFactories];
