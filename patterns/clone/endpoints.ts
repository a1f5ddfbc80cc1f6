/**
 * 12/CHP names one port P; a server binds P (snapshot), P + 1 (publisher) and P + 2
 * (collector), and a client connects to the same three.
 * @module
 */
import { InvalidOptionError } from "../../src/index.js";

/** The three endpoints of a Clone server. */
export interface CloneEndpoints {
  /** The base endpoint, `tcp://HOST:P`. */
  readonly base: string;
  /** ROUTER, port P. */
  readonly snapshot: string;
  /** PUB, port P + 1. */
  readonly publisher: string;
  /** SUB collector, port P + 2. */
  readonly collector: string;
}

/** Split `tcp://HOST:P` into the three endpoints; `option` names the option in the error. */
export function cloneEndpoints(owner: string, option: string, endpoint: unknown): CloneEndpoints {
  const m = typeof endpoint === "string" ? /^tcp:\/\/(.+):(\d+)$/.exec(endpoint) : null;
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65533) {
    throw new InvalidOptionError(option, `${owner}: expected \`${option}\` to be "tcp://HOST:P" with 1 <= P <= 65533 (12/CHP uses P, P+1 and P+2), got ${typeof endpoint === "string" ? JSON.stringify(endpoint) : String(endpoint)}`);
  }
  const at = (p: number) => `tcp://${m[1]}:${p}`;
  return { base: endpoint as string, snapshot: at(port), publisher: at(port + 1), collector: at(port + 2) };
}
