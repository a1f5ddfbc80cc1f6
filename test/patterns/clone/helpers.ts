/**
 * Clone test helpers: a base port P whose P + 1 and P + 2 are free too (12/CHP binds all
 * three), and a cleanup list.
 */
import { createServer } from "node:net";
import { freePort } from "../../helpers/addresses.js";

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.unref();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** `tcp://127.0.0.1:P` with P, P + 1 and P + 2 free now. */
export async function cloneEndpoint(): Promise<string> {
  for (;;) {
    const p = await freePort();
    if (p > 65533) continue;
    if ((await portFree(p + 1)) && (await portFree(p + 2))) return `tcp://127.0.0.1:${p}`;
  }
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
