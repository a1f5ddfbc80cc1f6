/**
 * Password hashes for the 27/ZAP PLAIN mechanism. Passwords are never stored: a users file
 * holds scrypt hashes, and checks compare derived keys in constant time.
 *
 * Hash format: `scrypt$N$r$p$<salt, base64>$<key, base64>` (N the CPU/memory cost, a power of
 * two; key 32 bytes; salt 16 bytes). Users file (JSON):
 * ```json
 * { "format": "zeromq-patterns/plain-users@1",
 *   "users": { "alice": "scrypt$16384$8$1$...$..." } }
 * ```
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { InvalidOptionError } from "../errors.js";

/** The `format` tag of a users file. */
export const USERS_FILE_FORMAT = "zeromq-patterns/plain-users@1";

/** Default scrypt cost N (2^14: about 16 MiB and tens of ms per check). */
export const DEFAULT_SCRYPT_COST = 16384;

const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** Options of {@link hashPassword}. */
export interface HashPasswordOptions {
  /** scrypt N, a power of two from 2^10 to 2^20. Default {@link DEFAULT_SCRYPT_COST}. */
  readonly cost?: number;
  /** scrypt block size r. Default 8. */
  readonly blockSize?: number;
  /** scrypt parallelism p. Default 1. */
  readonly parallelization?: number;
}

/** The parts of a stored scrypt password hash. */
export interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function derive(password: string | Buffer, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => scrypt(password, salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key))));
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 1 && (n & (n - 1)) === 0;
}

/** Parse a hash string; undefined when it is not one of ours (parse errors are values). */
export function parsePasswordHash(hash: unknown): ParsedHash | undefined {
  if (typeof hash !== "string") return undefined;
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (!isPowerOfTwo(N) || N < 1024 || N > 1 << 20) return undefined;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4]!, "base64");
  const key = Buffer.from(parts[5]!, "base64");
  if (salt.length < 8 || key.length !== KEY_BYTES) return undefined;
  return { N, r, p, salt, key };
}

/** True when `hash` is a password hash this module can check. */
export function isPasswordHash(hash: unknown): hash is string {
  return parsePasswordHash(hash) !== undefined;
}

/** Hash a password for a users file (random salt, scrypt). */
export async function hashPassword(password: string, options: HashPasswordOptions = {}): Promise<string> {
  if (typeof password !== "string") throw new InvalidOptionError("password", "hashPassword: expected `password` to be a string");
  const N = options.cost ?? DEFAULT_SCRYPT_COST;
  const r = options.blockSize ?? 8;
  const p = options.parallelization ?? 1;
  if (!isPowerOfTwo(N) || N < 1024 || N > 1 << 20) throw new InvalidOptionError("cost", `hashPassword: expected \`cost\` to be a power of two from 1024 to 1048576, got ${String(N)}`);
  if (!Number.isInteger(r) || r < 1 || r > 32) throw new InvalidOptionError("blockSize", `hashPassword: expected \`blockSize\` to be an integer from 1 to 32, got ${String(r)}`);
  if (!Number.isInteger(p) || p < 1 || p > 16) throw new InvalidOptionError("parallelization", `hashPassword: expected \`parallelization\` to be an integer from 1 to 16, got ${String(p)}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, N, r, p);
  return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

/** Dummy hashes by scrypt parameters (`N$r$p`). */
const dummyHashes = new Map<string, Promise<string>>();

/**
 * A hash of a random password made with the same scrypt parameters as `sample` (the default
 * ones when `sample` is not a hash), cached per parameter set: checking a password against it
 * costs what a check against `sample` costs, so an unknown user costs what a known one does.
 */
export function dummyPasswordHash(sample?: string): Promise<string> {
  const parsed = parsePasswordHash(sample);
  const key = parsed ? `${parsed.N}$${parsed.r}$${parsed.p}` : "default";
  let hash = dummyHashes.get(key);
  if (!hash) {
    hash = hashPassword(randomBytes(16).toString("hex"), parsed ? { cost: parsed.N, blockSize: parsed.r, parallelization: parsed.p } : {});
    dummyHashes.set(key, hash);
  }
  return hash;
}

/**
 * Check a password against a hash, comparing the derived keys in constant time. Resolves
 * false (never throws) for a wrong password or an unreadable hash.
 */
export async function verifyPassword(password: string | Buffer, hash: string): Promise<boolean> {
  const parsed = parsePasswordHash(hash);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.N, parsed.r, parsed.p);
  return timingSafeEqual(key, parsed.key);
}

/**
 * Parse users-file JSON into a map of username to hash; returns an error message instead when
 * the text is not a valid users file.
 */
export function parseUsersFile(text: string): Map<string, string> | string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (typeof data !== "object" || data === null || (data as { format?: unknown }).format !== USERS_FILE_FORMAT) return `expected "format": "${USERS_FILE_FORMAT}"`;
  const users = (data as { users?: unknown }).users;
  if (typeof users !== "object" || users === null || Array.isArray(users)) return `expected "users" to be an object`;
  const out = new Map<string, string>();
  for (const [name, hash] of Object.entries(users)) {
    if (!isPasswordHash(hash)) return `user ${JSON.stringify(name)}: not a password hash (plain passwords are not accepted; use hashPassword or "zpatterns passwd")`;
    out.set(name, hash);
  }
  return out;
}

/** Read a users file (see the module documentation). Rejects, naming the file, when it is invalid. */
export async function loadUsersFile(file: string): Promise<Map<string, string>> {
  const parsed = parseUsersFile(await readFile(file, "utf8"));
  if (typeof parsed === "string") throw new Error(`${file}: ${parsed}`);
  return parsed;
}

/** Write a users file (mode 0600) from a map or record of username to hash. */
export async function writeUsersFile(file: string, users: ReadonlyMap<string, string> | Readonly<Record<string, string>>): Promise<void> {
  const entries = users instanceof Map ? [...users] : Object.entries(users);
  for (const [name, hash] of entries) {
    if (!isPasswordHash(hash)) throw new TypeError(`writeUsersFile: user ${JSON.stringify(name)} has no password hash (hash it with hashPassword)`);
  }
  const body = JSON.stringify({ format: USERS_FILE_FORMAT, users: Object.fromEntries(entries) }, null, 2) + "\n";
  await writeFile(file, body, { mode: 0o600 });
  await chmod(file, 0o600);
}

/**
 * Add or replace one user in a users file (created if missing): hashes `password` and
 * rewrites the file.
 */
export async function setUserPassword(file: string, username: string, password: string, options: HashPasswordOptions = {}): Promise<void> {
  // 27/ZAP PLAIN carries the user name in at most 255 bytes (UTF-8), not 255 characters.
  if (typeof username !== "string" || username.length === 0 || Buffer.byteLength(username, "utf8") > 255) throw new InvalidOptionError("username", "setUserPassword: expected `username` to be 1-255 bytes of UTF-8");
  let users = new Map<string, string>();
  try {
    users = await loadUsersFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  users.set(username, await hashPassword(password, options));
  await writeUsersFile(file, users);
}
