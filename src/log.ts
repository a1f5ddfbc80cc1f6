/**
 * Logging: the one {@link Logger} shape every class takes (`logger` in the lifecycle options;
 * anything with pino's `debug/info/warn/error`, a pino logger included), silent by default,
 * and {@link createLogger}, a small leveled logger writing human lines or pino-compatible JSON
 * lines (`time`, `level` as pino's numbers, `msg`, `component`, then the fields).
 *
 * ```ts
 * import pino from "pino";
 * const queue = new ParanoidPirateQueue({ frontend, backend, logger: pino().child({ component: "queue" }) });
 * ```
 * @module
 */
import { InvalidOptionError } from "./errors.js";
import type { Bag } from "./options.js";

/** One log method, called as pino's are: `log(msg)` or `log(fields, msg?)`. */
export interface LogFn {
  (msg: string): void;
  (fields: object, msg?: string): void;
}

/** What a class logs through: pino's `debug/info/warn/error` (a pino logger is one). */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Level names, lowest first, and pino's numbers for them. */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

/** A level name. */
export type LogLevel = keyof typeof LOG_LEVELS;

/** The level names, for `--log-level`. */
export const LOG_LEVEL_NAMES = Object.keys(LOG_LEVELS) as LogLevel[];

const noop: LogFn = () => undefined;

/** A logger that drops everything (the default of every class). */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** The `logger` option: absent -> {@link silentLogger}; else it needs the four methods. */
export function loggerOption(owner: string, bag: Bag, name = "logger"): Logger {
  const value = bag[name] as Partial<Logger> | undefined;
  if (value === undefined) return silentLogger;
  const ok = typeof value === "object" && value !== null && (["debug", "info", "warn", "error"] as const).every((m) => typeof value[m] === "function");
  if (!ok) throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be a logger (an object with debug, info, warn and error methods, e.g. pino's)`);
  return value as Logger;
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Lowest level written. Default `info`. */
  readonly level?: LogLevel;
  /** JSON lines (pino's fields) instead of human text. Default false. */
  readonly json?: boolean;
  /** Where each line goes (without its newline). */
  readonly write: (line: string) => void;
  /** Fields on every line (`component`, ...). */
  readonly bindings?: Record<string, unknown>;
  /** The clock for `time` (ms since the epoch). Default `Date.now`. */
  readonly now?: () => number;
}

/** A {@link Logger} that can make children with more bound fields, and log at any level. */
export interface LeveledLogger extends Logger {
  readonly level: LogLevel;
  /** True when a line at `level` is written. */
  enabled(level: LogLevel): boolean;
  /** Log at `level` (`trace` to `fatal`). */
  log(level: Exclude<LogLevel, "silent">, fields: object, msg?: string): void;
  /** A logger with `bindings` added to every line. */
  child(bindings: Record<string, unknown>): LeveledLogger;
}

/** A field value for a line: buffers as hex, errors as their message. */
function plain(v: unknown): unknown {
  return Buffer.isBuffer(v) ? v.toString("hex") : v instanceof Error ? v.message : v;
}

/**
 * A leveled logger. Human lines are `msg k=v ...` (the bound fields are left out: they are
 * the same on every line); JSON lines are pino's: `{"time","level","msg","component",...}`.
 */
export function createLogger(options: CreateLoggerOptions): LeveledLogger {
  const level = options.level ?? "info";
  if (!(level in LOG_LEVELS)) throw new InvalidOptionError("level", `createLogger: expected \`level\` to be one of ${LOG_LEVEL_NAMES.join(", ")}`);
  const min = LOG_LEVELS[level];
  const bindings = options.bindings ?? {};
  const now = options.now ?? Date.now;
  const enabled = (l: LogLevel) => LOG_LEVELS[l] >= min && min !== Infinity;
  const log = (l: Exclude<LogLevel, "silent">, fieldsOrMsg: object | string, msg?: string): void => {
    if (!enabled(l)) return;
    const fields = typeof fieldsOrMsg === "string" ? {} : (fieldsOrMsg as Record<string, unknown>);
    const text = typeof fieldsOrMsg === "string" ? fieldsOrMsg : (msg ?? "");
    if (options.json) {
      const record: Record<string, unknown> = { time: now(), level: LOG_LEVELS[l], msg: text, ...bindings };
      for (const [k, v] of Object.entries(fields)) if (!(k in record)) record[k] = plain(v);
      options.write(JSON.stringify(record));
      return;
    }
    const kv = Object.entries(fields).map(([k, v]) => `${k}=${String(plain(v))}`);
    options.write([text, ...kv].filter((s) => s.length > 0).join(" "));
  };
  const at = (l: Exclude<LogLevel, "silent">): LogFn => ((f: object | string, m?: string) => log(l, f, m)) as LogFn;
  return {
    level,
    enabled,
    log,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => createLogger({ ...options, bindings: { ...bindings, ...more } }),
  };
}
