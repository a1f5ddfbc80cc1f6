/** Clone test helpers. */
import { freeTcpPortRange } from "../../../src/index.js";

/** `tcp://127.0.0.1:P` with P, P + 1 and P + 2 free now (12/CHP binds all three). */
export async function cloneEndpoint(): Promise<string> {
  return `tcp://127.0.0.1:${await freeTcpPortRange(3)}`;
}

/**
 * Publish `messages` to a collector (a SUB bound at `endpoint`) from an XPUB, once the
 * collector's subscription has arrived (a plain PUB would drop them before that). Closes it.
 */
export async function publishToCollector(endpoint: string, messages: readonly Buffer[][]): Promise<number> {
  const { XPublisher } = await import("zeromq");
  const xpub = new XPublisher({ linger: 2000, sendTimeout: 5000 });
  try {
    xpub.connect(endpoint);
    const timer = setTimeout(() => xpub.close(), 10_000);
    await xpub.receive(); // the collector's subscription
    clearTimeout(timer);
    for (const m of messages) await xpub.send(m);
    return messages.length;
  } finally {
    xpub.close();
  }
}
