/**
 * Option helpers shared by the Majordomo (and Titanic) constructors.
 * @module
 */
import { InvalidOptionError, Reactor, type Bag } from "../../src/index.js";
import type { MdpVersion } from "./protocol.js";

/** Validate an optional `version` option (1 or 2, default 1); throws a TypeError naming it. */
export function versionOption(owner: string, bag: Bag): MdpVersion {
  const v = bag.version;
  if (v === undefined) return 1;
  if (v !== 1 && v !== 2) throw new InvalidOptionError("version", `${owner}: expected \`version\` to be 1 (MDP/0.1) or 2 (MDP/0.2), got ${String(v)}`);
  return v;
}

/** The `reactor` option: the one given (not owned) or a new one (owned, to close with the object). */
export function reactorOption(owner: string, bag: Bag): { reactor: Reactor; own: boolean } {
  const r = bag.reactor;
  if (r === undefined) return { reactor: new Reactor(), own: true };
  if (!(r instanceof Reactor)) throw new InvalidOptionError("reactor", `${owner}: expected \`reactor\` to be a Reactor`);
  return { reactor: r, own: false };
}
