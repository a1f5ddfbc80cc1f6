/**
 * Option helpers shared by the Majordomo constructors.
 * @module
 */
import { InvalidOptionError, type Bag } from "../../src/index.js";
import type { MdpVersion } from "./protocol.js";

/** Validate an optional `version` option (1 or 2, default 1); throws a TypeError naming it. */
export function versionOption(owner: string, bag: Bag): MdpVersion {
  const v = bag.version;
  if (v === undefined) return 1;
  if (v !== 1 && v !== 2) throw new InvalidOptionError("version", `${owner}: expected \`version\` to be 1 (MDP/0.1) or 2 (MDP/0.2), got ${String(v)}`);
  return v;
}
