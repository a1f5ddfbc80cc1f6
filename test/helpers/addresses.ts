/**
 * Unique addresses for tests, so files running in parallel never collide.
 */
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Transport = "inproc" | "ipc" | "tcp";

/** Transports every reactor-level test loops over. */
export const TRANSPORTS: readonly Transport[] = ["inproc", "ipc", "tcp"];

let counter = 0;

/** A free TCP port on 127.0.0.1 (asked from the OS). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A unique endpoint for `transport`, usable for both bind and connect. */
export async function uniqAddress(transport: Transport): Promise<string> {
  const n = `${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
  switch (transport) {
    case "inproc":
      return `inproc://zmqp-test-${n}`;
    case "ipc":
      return `ipc://${join(tmpdir(), `zmqp-${n}.sock`)}`;
    case "tcp":
      return `tcp://127.0.0.1:${await freePort()}`;
  }
}
