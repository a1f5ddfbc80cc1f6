/**
 * Option validation shared by every public constructor. Each helper throws an
 * {@link InvalidOptionError} (a `TypeError`) that names the option.
 * @module
 */
import { systemClock, type Clock } from "./clock.js";
import { InvalidOptionError } from "./errors.js";

/** A validated options object. */
export type Bag = Readonly<Record<string, unknown>>;

/** Check that `options` is undefined or a plain object; return it as a record. */
export function optionsObject(owner: string, options: unknown): Bag {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidOptionError("options", `${owner}: expected options to be an object, got ${show(options)}`);
  }
  return options as Bag;
}

function fail(owner: string, name: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be ${expected}, got ${show(value)}`);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return "a function";
  if (Array.isArray(value)) return "an array";
  return String(value);
}

/**
 * A required option: throws an {@link InvalidOptionError} naming it when it is absent
 * (`undefined`). Returns the value for a typed check to follow.
 */
export function requiredOption(owner: string, bag: Bag, name: string, expected = "given"): unknown {
  const value = bag[name];
  if (value === undefined) throw new InvalidOptionError(name, `${owner}: \`${name}\` is required (expected ${expected})`);
  return value;
}

/** An integer in [min, max]; `def` when absent. */
export function intOption(owner: string, bag: Bag, name: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = bag[name];
  if (value === undefined) return def;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    fail(owner, name, `an integer ${range}`, value);
  }
  return value;
}

/** A finite number in [min, max]; `def` when absent. */
export function numberOption(owner: string, bag: Bag, name: string, def: number, min = 0, max = Number.MAX_VALUE): number {
  const value = bag[name];
  if (value === undefined) return def;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    fail(owner, name, `a number between ${min} and ${max}`, value);
  }
  return value;
}

/** A boolean; `def` when absent. */
export function boolOption(owner: string, bag: Bag, name: string, def: boolean): boolean {
  const value = bag[name];
  if (value === undefined) return def;
  if (typeof value !== "boolean") fail(owner, name, "a boolean", value);
  return value;
}

/** A string (non-empty unless `allowEmpty`); `def` when absent. */
export function stringOption<D extends string | undefined>(owner: string, bag: Bag, name: string, def: D, allowEmpty = false): string | D {
  const value = bag[name];
  if (value === undefined) return def;
  if (typeof value !== "string" || (!allowEmpty && value.length === 0)) fail(owner, name, "a non-empty string", value);
  return value;
}

/** One of `choices`; `def` when absent. */
export function enumOption<T extends string>(owner: string, bag: Bag, name: string, choices: readonly T[], def: T): T {
  const value = bag[name];
  if (value === undefined) return def;
  if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
    fail(owner, name, `one of ${choices.map((c) => JSON.stringify(c)).join(", ")}`, value);
  }
  return value as T;
}

/** A function; `def` when absent. */
export function functionOption<F extends (...args: never[]) => unknown, D extends F | undefined>(owner: string, bag: Bag, name: string, def: D): F | D {
  const value = bag[name];
  if (value === undefined) return def;
  if (typeof value !== "function") fail(owner, name, "a function", value);
  return value as F;
}

/** An `AbortSignal`, or undefined. */
export function signalOption(owner: string, bag: Bag, name = "signal"): AbortSignal | undefined {
  const value = bag[name];
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) fail(owner, name, "an AbortSignal", value);
  return value;
}

/** A ZeroMQ endpoint (`tcp://`, `ipc://`, `inproc://`, ...). Required unless `def` is given. */
export function endpointOption(owner: string, bag: Bag, name: string, def?: string): string {
  const value = bag[name] ?? def;
  if (typeof value !== "string" || !/^[a-z][a-z0-9+.-]*:\/\/.+/i.test(value)) {
    fail(owner, name, "a ZeroMQ endpoint such as \"tcp://127.0.0.1:5555\"", value);
  }
  return value;
}

/** A non-empty array of endpoints, also accepting one endpoint string. */
export function endpointsOption(owner: string, bag: Bag, name: string): string[] {
  const value = bag[name];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) fail(owner, name, "an endpoint or a non-empty array of endpoints", value);
  return list.map((_, i) => endpointOption(owner, { [name]: list[i] }, name));
}

/** An object (not validated deeper); `undefined` when absent. */
export function objectOption<T extends object>(owner: string, bag: Bag, name: string): T | undefined {
  const value = bag[name];
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null) fail(owner, name, "an object", value);
  return value as T;
}

/** A {@link Clock} (`{ now(), setTimer() }`); the system clock when absent. */
export function clockOption(owner: string, bag: Bag, name = "clock"): Clock {
  const value = bag[name];
  if (value === undefined) return systemClock;
  if (typeof value !== "object" || value === null || typeof (value as Clock).now !== "function" || typeof (value as Clock).setTimer !== "function") {
    fail(owner, name, "a Clock ({ now(), setTimer() })", value);
  }
  return value as Clock;
}
