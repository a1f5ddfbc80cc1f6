/**
 * Unique addresses for tests, so files running in parallel never collide.
 */
import { freeTcpPort } from "../../src/index.js";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Transport = "inproc" | "ipc" | "tcp";

/** Transports every reactor-level test loops over. */
export const TRANSPORTS: readonly Transport[] = ["inproc", "ipc", "tcp"];

let counter = 0;

/** A free TCP port on 127.0.0.1 (asked from the OS). */
export const freePort = (): Promise<number> => freeTcpPort();

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
