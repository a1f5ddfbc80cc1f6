/**
 * Core classes under the lifecycle contract, and a minimal Lifecycle subclass that proves the
 * harness itself (two binds, a timer, a pending call).
 */
import * as zmq from "zeromq";
import { Lifecycle, optionsObject, type LifecycleOptions } from "../../../src/index.js";
import type { LifecycleFactory } from "../harness.js";

interface ToyOptions extends LifecycleOptions {
  readonly endpoints: readonly string[];
}

/** Binds a ROUTER on every endpoint in turn; `call()` stays pending until close. */
export class ToyServer extends Lifecycle {
  readonly #endpoints: readonly string[];
  readonly #pending = new Set<(error: Error) => void>();

  constructor(options: ToyOptions) {
    const o = optionsObject("ToyServer", options);
    super("ToyServer", o);
    this.#endpoints = options.endpoints;
  }

  protected async onStart(): Promise<void> {
    const handle = this.ownSocket(new zmq.Router({ linger: 0 }), { onMessage: () => undefined });
    this.ownTimer(this.reactor.every(1000, () => undefined));
    for (const ep of this.#endpoints) await handle.socket.bind(ep);
  }

  call(): Promise<never> {
    this.assertOpen("call");
    return new Promise((_, reject) => this.#pending.add(reject));
  }

  protected override onClose(): void {
    for (const reject of this.#pending) reject(this.closedError());
    this.#pending.clear();
  }
}

export const coreFactories: LifecycleFactory[] = [
  {
    name: "ToyServer (harness self-test)",
    make: async (ctx, extras) => new ToyServer({ endpoints: [await ctx.endpoint()], ...extras }),
    failing: (_ctx, free, taken, extras) => new ToyServer({ endpoints: [free, taken], ...extras }),
    pending: (s) => (s as ToyServer).call(),
  },
];
