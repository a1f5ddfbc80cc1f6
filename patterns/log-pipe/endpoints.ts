/**
 * The `bind`/`connect` endpoint lists every tools socket takes (Message::Passing's
 * `socket_bind` / `connect`): one endpoint or a list of them, at least one in all.
 * @module
 */
import { InvalidOptionError, endpointOption } from "../../src/index.js";

/** Validated `bind` and `connect` lists. */
export interface EndpointLists {
  /** Endpoints to bind. */
  bind: string[];
  /** Endpoints to connect to. */
  connect: string[];
}

/** Read `bind` and `connect` from an options bag; throws a TypeError naming the option. */
export function endpointLists(owner: string, bag: Readonly<Record<string, unknown>>): EndpointLists {
  const list = (name: string): string[] => {
    const value = bag[name];
    if (value === undefined) return [];
    const items = typeof value === "string" ? [value] : value;
    if (!Array.isArray(items)) throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be an endpoint or an array of endpoints`);
    return items.map((item: unknown) => endpointOption(owner, { [name]: item }, name));
  };
  const result = { bind: list("bind"), connect: list("connect") };
  if (result.bind.length + result.connect.length === 0) {
    throw new InvalidOptionError("bind", `${owner}: expected \`bind\` or \`connect\` to name at least one endpoint`);
  }
  return result;
}
