/**
 * PROTOCOL.md §4.1 authentication: the pluggable authenticator and the two built-ins, a
 * users file (scrypt password hashes, per-user entitlements) and allow-any for development.
 * @module
 */
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { InvalidOptionError } from "../../src/index.js";
import { DEFAULT_SCRYPT_COST, dummyPasswordHash, hashPassword, isPasswordHash, verifyPassword } from "../../src/zap/index.js";

/** §3.1 HELLO credentials. */
export interface Credentials {
  /** User name (UTF-8). */
  readonly user: string;
  /** Secret (a password for the users file; any bytes for custom authenticators). */
  readonly secret: Buffer;
}

/** What the server knows of the peer presenting credentials. */
export interface PeerInfo {
  /** ROUTER routing id of the connection. */
  readonly identity: Buffer;
}

/** An authenticated principal and the patterns it may subscribe to (§4.2). */
export interface Principal {
  /** Name reported in events and {@link PubSubServer.listeners}. */
  readonly name: string;
  /**
   * Entitlements: topic prefixes. A subscription pattern is allowed when it starts with one
   * of them (so it can only match topics inside them); `""` allows everything.
   */
  readonly entitlements: readonly (string | Uint8Array)[];
}

/** A refusal: `status` 401 (default), 403 or 429, and a reason sent to the client. */
export interface Denial {
  readonly denied: string;
  readonly status?: 401 | 403 | 429;
}

/** What an authenticator returns. */
export type AuthResult = Principal | Denial;

/** §4.1: checks credentials; may be async. Throwing, rejecting, or returning neither a principal nor a denial (401/403/429) answers 500. */
export type Authenticator = (credentials: Credentials, peer: PeerInfo) => AuthResult | Promise<AuthResult>;

/** True when `r` is a {@link Denial}. */
export function isDenial(r: AuthResult): r is Denial {
  return typeof (r as Denial).denied === "string";
}

/** Allow-any (development only): every credential is accepted with `entitlements`. */
export function allowAnyAuthenticator(entitlements: readonly (string | Uint8Array)[] = [""]): Authenticator {
  return (credentials) => ({ name: credentials.user || "anonymous", entitlements });
}

// ---------------------------------------------------------------------------- scrypt

// Password hashing is the zap module's (one implementation for PLAIN and ZPS/1 users files).
export { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from "../../src/zap/index.js";

// ---------------------------------------------------------------------------- users file

/** One user in a users file. */
export interface UserRecord {
  /** {@link hashPassword} output. Never a plain password. */
  password: string;
  /** Entitlements: topic prefixes the user may subscribe to. */
  allow: string[];
}

/** The users file: `{ "users": { NAME: UserRecord } }` (JSON). */
export interface UsersFile {
  users: Record<string, UserRecord>;
}

/** Read and validate a users file. Throws with the file name on a bad file. */
export async function readUsersFile(path: string): Promise<UsersFile> {
  const data = JSON.parse(await readFile(path, "utf8")) as unknown;
  const users = (data as UsersFile | null)?.users;
  if (typeof users !== "object" || users === null) throw new TypeError(`${path}: expected {"users": {...}}`);
  for (const [name, rec] of Object.entries(users)) {
    if (!isPasswordHash(rec?.password)) throw new TypeError(`${path}: user ${JSON.stringify(name)} has no valid scrypt password hash`);
    if (!Array.isArray(rec.allow) || !rec.allow.every((a) => typeof a === "string")) throw new TypeError(`${path}: user ${JSON.stringify(name)}: "allow" must be an array of strings`);
  }
  return { users };
}

/**
 * Add or replace a user in a users file (created when missing), hashing the password.
 * The file is written to a temporary name and renamed, with mode 0600.
 */
export async function addUser(path: string, user: string, password: string, allow: readonly string[], cost = DEFAULT_SCRYPT_COST): Promise<void> {
  if (!user) throw new InvalidOptionError("user", "addUser: expected `user` to be a non-empty user name");
  let file: UsersFile = { users: {} };
  try {
    file = await readUsersFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  file.users[user] = { password: await hashPassword(password, { cost }), allow: [...allow] };
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(file, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * Authenticator over a users file. The file is re-read when its modification time changes.
 * Unknown users cost the same scrypt work as known ones (a dummy hash), so timing does not
 * tell which user names exist.
 */
export function usersFileAuthenticator(path: string): Authenticator {
  let cache: { mtimeMs: number; file: UsersFile } | undefined;
  const load = async (): Promise<UsersFile> => {
    const { mtimeMs } = await stat(path);
    if (!cache || cache.mtimeMs !== mtimeMs) cache = { mtimeMs, file: await readUsersFile(path) };
    return cache.file;
  };
  return async ({ user, secret }) => {
    const file = await load();
    const record = Object.hasOwn(file.users, user) ? file.users[user] : undefined;
    if (!record) {
      // Spend the same work as a real check, with the parameters of some real user's hash
      // (as the file is now: a rewrite may change them).
      await verifyPassword(secret, await dummyPasswordHash(Object.values(file.users)[0]?.password));
      return { denied: "unknown user or wrong password" };
    }
    if (!(await verifyPassword(secret, record.password))) return { denied: "unknown user or wrong password" };
    return { name: user, entitlements: record.allow };
  };
}
