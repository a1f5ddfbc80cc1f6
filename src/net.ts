/**
 * A free TCP endpoint, for peers that must know their endpoint before they bind: a Freelance
 * server's routing id is its endpoint, a Binary Star pair names each other's (`*` will not do).
 * @module
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** A TCP port on `host` that is free now (asked from the OS; another process may take it before you bind). */
export function freeTcpPort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `tcp://HOST:PORT` with a port from {@link freeTcpPort}. */
export async function freeTcpEndpoint(host = "127.0.0.1"): Promise<string> {
  return `tcp://${host}:${await freeTcpPort(host)}`;
}

/**
 * A TCP port P on `host` with P .. P + count - 1 all free now (12/CHP binds P, P + 1, P + 2).
 * P is drawn at random below the OS's ephemeral range (Linux: `ip_local_port_range`), so the
 * ports after P are not handed out meanwhile as the local port of some outgoing connection,
 * as ports next to one the OS just gave out would be.
 */
export async function freeTcpPortRange(count: number, host = "127.0.0.1"): Promise<number> {
  const top = ephemeralLow() - count;
  for (let attempt = 0; top > RANGE_BOTTOM && attempt < 1000; attempt++) {
    const p = RANGE_BOTTOM + Math.floor(Math.random() * (top - RANGE_BOTTOM));
    let free = true;
    for (let i = 0; i < count && free; i++) free = await portFree(p + i, host);
    if (free) return p;
  }
  for (;;) {
    const p = await freeTcpPort(host);
    if (p + count - 1 > 65535) continue;
    let free = true;
    for (let i = 1; i < count && free; i++) free = await portFree(p + i, host);
    if (free) return p;
  }
}

/** Lowest port {@link freeTcpPortRange} draws from (above the well-known and registered services most hosts run). */
const RANGE_BOTTOM = 20_000;

/** The first port of the OS's ephemeral range (32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
