/**
 * PROTOCOL.md §4.1 authentication: the pluggable authenticator and the two built-ins, a
 * users file (scrypt password hashes, per-user entitlements) and allow-any for development.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { InvalidOptionError, clockOption, intOption, optionsObject, type Clock } from "../../src/index.js";
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

// ---------------------------------------------------------------------------- limits

/** Defaults of the password-check limits (PROTOCOL.md §4.1.1). */
export const AUTH_LIMIT_DEFAULTS = {
  maxAuthChecks: 2,
  maxQueuedAuthChecks: 16,
  authFailureLimit: 5,
  authBackoff: 1000,
  authBackoffMax: 60_000,
  maxAuthNames: 10_000,
} as const;

/** Options of {@link AuthLimiter} (also {@link PubSubServer} options). */
export interface AuthLimitOptions {
  /** Credential checks (authenticator calls: scrypt for a users file) running at once. Default 2. */
  readonly maxAuthChecks?: number;
  /** Checks waiting for a running slot; beyond, HELLO is answered 429. Default 16. */
  readonly maxQueuedAuthChecks?: number;
  /** Failed checks for one user name before its checks back off. Default 5. */
  readonly authFailureLimit?: number;
  /** First back-off after `authFailureLimit` failures, ms; doubles with each further failure. Default 1000. */
  readonly authBackoff?: number;
  /** Back-off cap, ms; a name with no failure for twice this long starts afresh. Default 60000. */
  readonly authBackoffMax?: number;
  /** User names whose failures (and last good credentials) are remembered; the least recent are forgotten beyond. Default 10000. */
  readonly maxAuthNames?: number;
}

/** Counters of an {@link AuthLimiter}. */
export interface AuthLimiterStats {
  /** Checks run (the wrapped authenticator called). */
  authChecks: number;
  /** Running now. */
  authChecksRunning: number;
  /** Waiting for a slot now. */
  authChecksQueued: number;
  /** Checks refused with 429 (the two below). */
  authRefused: number;
  /** Refused: every slot busy and the queue full (or a queued check displaced by one with known-good credentials). */
  authRefusedBusy: number;
  /** Refused: the user name is backing off after repeated failures. */
  authRefusedBackoff: number;
  /** User names backing off now. */
  authNamesBackingOff: number;
}

/** What the limiter remembers of one user name. */
interface NameRecord {
  failures: number;
  lastFailure: number;
  /** Checks for this name are refused until then (unless with known-good credentials). */
  blockedUntil: number;
  /** Keyed digests of the last credentials that succeeded for this name. */
  good: Buffer[];
}

interface Waiter {
  readonly known: boolean;
  readonly run: () => void;
  readonly refuse: () => void;
}

const LIMITER = "AuthLimiter";
const GOOD_PER_NAME = 4;

/**
 * PROTOCOL.md §4.1.1: bounds the credential checks a server runs. Socket-free, on a
 * {@link Clock}. {@link wrap} returns an authenticator that:
 * - runs at most `maxAuthChecks` checks at once and queues `maxQueuedAuthChecks` more;
 *   beyond, it answers 429 without checking (`authRefusedBusy`);
 * - after `authFailureLimit` failures (401/403) for one user name, refuses that name's
 *   checks with 429 for `authBackoff` ms, doubling with each further failure up to
 *   `authBackoffMax` (`authRefusedBackoff`); a success clears the name's failures;
 * - lets credentials that succeeded before for that name (known-good: an HMAC under a key
 *   made at start, never the secret) pass a back-off and go first in the queue, displacing
 *   the newest unknown one when it is full: a guessing run against a name does not lock
 *   its owner out. They are still checked: a changed password is refused.
 * Unknown and known user names are treated alike, so a refusal tells nothing of which
 * names exist.
 */
export class AuthLimiter {
  readonly #clock: Clock;
  readonly #maxChecks: number;
  readonly #maxQueued: number;
  readonly #failureLimit: number;
  readonly #backoff: number;
  readonly #backoffMax: number;
  readonly #maxNames: number;
  readonly #key = randomBytes(32);
  /** Least recently used first. */
  readonly #names = new Map<string, NameRecord>();
  readonly #queue: Waiter[] = [];
  #running = 0;
  readonly #s = { authChecks: 0, authRefusedBusy: 0, authRefusedBackoff: 0 };

  constructor(options: AuthLimitOptions & { readonly clock?: Clock } = {}, owner = LIMITER) {
    const o = optionsObject(owner, options);
    const d = AUTH_LIMIT_DEFAULTS;
    this.#clock = clockOption(owner, o);
    this.#maxChecks = intOption(owner, o, "maxAuthChecks", d.maxAuthChecks, 1);
    this.#maxQueued = intOption(owner, o, "maxQueuedAuthChecks", d.maxQueuedAuthChecks, 0);
    this.#failureLimit = intOption(owner, o, "authFailureLimit", d.authFailureLimit, 1);
    this.#backoff = intOption(owner, o, "authBackoff", d.authBackoff, 1);
    this.#backoffMax = intOption(owner, o, "authBackoffMax", d.authBackoffMax, 1);
    if (this.#backoffMax < this.#backoff) throw new InvalidOptionError("authBackoffMax", `${owner}: expected \`authBackoffMax\` (${this.#backoffMax}) to be at least \`authBackoff\` (${this.#backoff})`);
    this.#maxNames = intOption(owner, o, "maxAuthNames", d.maxAuthNames, 1);
  }

  /** Counters. */
  stats(): AuthLimiterStats {
    const now = this.#clock.now();
    let backingOff = 0;
    for (const r of this.#names.values()) if (r.blockedUntil > now) backingOff++;
    const s = this.#s;
    return { ...s, authChecksRunning: this.#running, authChecksQueued: this.#queue.length, authRefused: s.authRefusedBusy + s.authRefusedBackoff, authNamesBackingOff: backingOff };
  }

  /** ms until `user`'s checks are taken again (0: now). */
  backoffOf(user: string): number {
    const r = this.#names.get(user);
    return r ? Math.max(0, r.blockedUntil - this.#clock.now()) : 0;
  }

  /** `inner` behind the limits. */
  wrap(inner: Authenticator): Authenticator {
    return (credentials, peer) => {
      const { user, secret } = credentials;
      const digest = createHmac("sha256", this.#key).update(user).update("\0").update(secret).digest();
      const record = this.#record(user);
      const known = record?.good.some((g) => timingSafeEqual(g, digest)) ?? false;
      if (record && !known && record.blockedUntil > this.#clock.now()) {
        this.#touch(user, record);
        this.#s.authRefusedBackoff++;
        return { denied: "too many failed logins for this user, retry later", status: 429 };
      }
      return new Promise<AuthResult>((resolve, reject) => {
        const refuse = () => {
          this.#s.authRefusedBusy++;
          resolve({ denied: "too many logins in progress, retry later", status: 429 });
        };
        const run = () => {
          this.#running++;
          this.#s.authChecks++;
          let result: Promise<AuthResult>;
          try {
            result = Promise.resolve(inner(credentials, peer));
          } catch (error) {
            result = Promise.reject(error);
          }
          result
            .then((r) => {
              if (r !== null && typeof r === "object" && typeof (r as Denial).denied === "string") {
                if ((r as Denial).status !== 429) this.#failed(user);
              } else if (r !== null && typeof r === "object" && typeof (r as Principal).name === "string") this.#succeeded(user, digest);
              return r;
            })
            // The slot is free (and the next check started) before the result is delivered.
            .finally(() => {
              this.#running--;
              this.#queue.shift()?.run();
            })
            .then(resolve, reject);
        };
        if (this.#running < this.#maxChecks) return run();
        const waiter: Waiter = { known, run, refuse };
        if (this.#queue.length < this.#maxQueued) return void this.#enqueue(waiter);
        // Full: a known-good check displaces the newest unknown one.
        const last = this.#queue.findLastIndex((w) => !w.known);
        if (!known || last < 0) return refuse();
        this.#queue.splice(last, 1)[0]!.refuse();
        this.#enqueue(waiter);
      });
    };
  }

  /** Known-good checks go after the known-good ones already waiting, before the rest. */
  #enqueue(waiter: Waiter): void {
    if (!waiter.known) return void this.#queue.push(waiter);
    const at = this.#queue.findIndex((w) => !w.known);
    this.#queue.splice(at < 0 ? this.#queue.length : at, 0, waiter);
  }

  /**
   * The record of `user`, forgetting failures after 2 x `authBackoffMax` without one (not
   * 1 x: a guess each time a capped back-off ends must not start the name afresh).
   */
  #record(user: string): NameRecord | undefined {
    const r = this.#names.get(user);
    if (r && r.failures > 0 && this.#clock.now() - r.lastFailure >= 2 * this.#backoffMax) {
      r.failures = 0;
      r.blockedUntil = 0;
    }
    return r;
  }

  #touch(user: string, r: NameRecord): void {
    this.#names.delete(user);
    this.#names.set(user, r);
    if (this.#names.size > this.#maxNames) this.#names.delete(this.#names.keys().next().value!);
  }

  #failed(user: string): void {
    const now = this.#clock.now();
    const r = this.#record(user) ?? { failures: 0, lastFailure: now, blockedUntil: 0, good: [] };
    r.failures++;
    r.lastFailure = now;
    if (r.failures >= this.#failureLimit) r.blockedUntil = now + Math.min(this.#backoffMax, this.#backoff * 2 ** (r.failures - this.#failureLimit));
    this.#touch(user, r);
  }

  #succeeded(user: string, digest: Buffer): void {
    const r = this.#names.get(user) ?? { failures: 0, lastFailure: 0, blockedUntil: 0, good: [] };
    // A success clears the failures, unless the name is backing off: then it came through
    // with known-good credentials, and the guessing run goes on.
    if (r.blockedUntil <= this.#clock.now()) r.failures = 0;
    if (!r.good.some((g) => g.equals(digest))) r.good = [digest, ...r.good].slice(0, GOOD_PER_NAME);
    this.#touch(user, r);
  }
}
