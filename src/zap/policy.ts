/**
 * 27/ZAP decisions, independent of any socket or loop (after pyzmq's loop-free
 * `Authenticator`): address filters, NULL per domain, PLAIN against scrypt hashes, CURVE
 * against keys or certificate directories, and a callback that has the last word.
 * @module
 */
import { BlockList, isIP } from "node:net";
import { InvalidOptionError } from "../index.js";
import { loadCertificates, type Certificate } from "./keys.js";
import { dummyPasswordHash, isPasswordHash, loadUsersFile, verifyPassword } from "./passwords.js";
import { encodeMetadata, ZAP_STATUSES, type ZapMetadata, type ZapRequest, type ZapStatus } from "./protocol.js";
import { isZ85Key } from "./z85.js";

/** Why a request was refused (counted per reason in `stats().deniedBy`). */
export type DenyReason =
  /** the client address is not allowed (allow list) or is denied (deny list) */
  | "address"
  /** the mechanism is not allowed in this domain (NULL denied, PLAIN/CURVE not configured, unknown mechanism) */
  | "mechanism"
  /** PLAIN: unknown username */
  | "user"
  /** PLAIN: wrong password */
  | "password"
  /** CURVE: the public key is not allowed */
  | "key"
  /** the callback refused (status 300 or 400) */
  | "callback"
  /** too many requests pending (`maxPending`): answered 300 */
  | "busy"
  /** the decision took longer than `timeout`: answered 300 */
  | "timeout";

/** Every {@link DenyReason}. */
export const DENY_REASONS: readonly DenyReason[] = ["address", "mechanism", "user", "password", "key", "callback", "busy", "timeout"];

/** 27/ZAP decision: the reply's status code, text, user id and metadata. */
export interface ZapDecision {
  /** 200 allow, 300 temporary error, 400 refuse, 500 internal error. */
  readonly status: ZapStatus;
  /** Status text (ASCII, at most 255). Default "OK" / "Access denied" / ... */
  readonly text?: string;
  /** User id for a 200 (at most 255 bytes). Default: PLAIN username, CURVE key (Z85), "" for NULL. */
  readonly userId?: string;
  /** ZMTP properties returned with a 200. */
  readonly metadata?: ZapMetadata;
  /** Why it was refused, for stats and events. Default `callback` when a callback refuses. */
  readonly reason?: DenyReason;
}

/** What a callback may return: a decision, or true (200) / false (400). */
export type ZapCallbackResult = ZapDecision | boolean;

/**
 * Custom 27/ZAP decision. `policy()` evaluates the configured policy (address filter and
 * mechanism checks) so a callback can add to it instead of replacing it. A callback that
 * throws, rejects or returns something else than a {@link ZapCallbackResult} gives a 500.
 */
export type ZapCallback = (request: ZapRequest, policy: () => Promise<ZapDecision>) => ZapCallbackResult | Promise<ZapCallbackResult>;

/** PLAIN configuration: a users file (JSON, scrypt hashes) or the same as a map or record. */
export interface PlainOptions {
  /** Path of a users file, or username -> password hash (from `hashPassword`). Plain passwords are rejected. */
  readonly users: string | ReadonlyMap<string, string> | Readonly<Record<string, string>>;
}

/** CURVE configuration. Keys from `keys` and `certificates` add up; `allowAny` accepts every key. */
export interface CurveOptions {
  /** Accept any client key (encryption without client authentication). Default false. */
  readonly allowAny?: boolean;
  /** Allowed client public keys, Z85. */
  readonly keys?: Iterable<string>;
  /** Directory of public certificates (`*.key`, see `saveKeyPair`); a `user-id` line sets the user id. */
  readonly certificates?: string;
}

/** The policy of one domain (or the default policy). */
export interface ZapPolicyOptions {
  /** Only these addresses or CIDR subnets may connect. Exclusive with `deny`. */
  readonly allow?: readonly string[];
  /** These addresses or CIDR subnets may not connect. Exclusive with `allow`. */
  readonly deny?: readonly string[];
  /** Accept the NULL mechanism (after the address filter). Default true. */
  readonly allowNull?: boolean;
  /** Accept PLAIN against these users. Default: PLAIN refused. */
  readonly plain?: PlainOptions;
  /** Accept CURVE for these keys. Default: CURVE refused. */
  readonly curve?: CurveOptions;
  /** Custom decision; when set it decides every request of the domain. */
  readonly authenticate?: ZapCallback;
}

const POLICY_KEYS = ["allow", "deny", "allowNull", "plain", "curve", "authenticate"] as const;

function fail(owner: string, name: string, expected: string, value: unknown): never {
  const shown = typeof value === "string" ? JSON.stringify(value) : Array.isArray(value) ? "an array" : typeof value === "function" ? "a function" : String(value);
  throw new InvalidOptionError(name, `${owner}: expected \`${name}\` to be ${expected}, got ${shown}`);
}

interface AddressFilter {
  mode: "allow" | "deny";
  list: BlockList;
}

function addressFilter(owner: string, path: string, mode: "allow" | "deny", value: unknown): AddressFilter {
  const name = `${path}${mode}`;
  if (!Array.isArray(value)) fail(owner, name, "an array of IP addresses or CIDR subnets", value);
  const list = new BlockList();
  for (const entry of value as unknown[]) {
    if (typeof entry !== "string") fail(owner, name, "an array of IP addresses or CIDR subnets", entry);
    const [ip, prefix, ...rest] = entry.split("/");
    const family = isIP(ip ?? "");
    const type = family === 6 ? "ipv6" : "ipv4";
    if (family === 0 || rest.length > 0) fail(owner, name, "an array of IP addresses or CIDR subnets", entry);
    if (prefix === undefined) {
      list.addAddress(ip!, type);
    } else {
      const bits = /^\d+$/.test(prefix) ? Number(prefix) : NaN;
      if (!(bits >= 0 && bits <= (family === 6 ? 128 : 32))) fail(owner, name, "an array of IP addresses or CIDR subnets", entry);
      list.addSubnet(ip!, bits, type);
    }
  }
  return { mode, list };
}

function matches(filter: AddressFilter, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return filter.list.check(address, family === 6 ? "ipv6" : "ipv4");
}

const DENIED = "Access denied";
const BAD_CREDENTIALS = "Invalid credentials";

function deny(reason: DenyReason, text = DENIED): ZapDecision {
  return { status: 400, text, reason };
}

/** One domain's policy, validated and with its files loaded. */
export class CompiledPolicy {
  readonly #address: AddressFilter | undefined;
  readonly #allowNull: boolean;
  readonly #plainSource: PlainOptions["users"] | undefined;
  #users: ReadonlyMap<string, string> | undefined;
  readonly #curveAny: boolean;
  readonly #curveKeys: ReadonlySet<string> | undefined;
  readonly #curveDir: string | undefined;
  #certs: ReadonlyMap<string, Certificate> = new Map();
  /** The callback, if any. */
  readonly authenticate: ZapCallback | undefined;

  /** Validate `options` (`path` prefixes option names in errors, e.g. `domains.app.`). */
  constructor(owner: string, options: ZapPolicyOptions, path = "") {
    const o = options as Record<string, unknown>;
    if (o.allow !== undefined && o.deny !== undefined) {
      throw new InvalidOptionError(`${path}allow`, `${owner}: \`${path}allow\` and \`${path}deny\` are mutually exclusive; give one of them`);
    }
    if (o.allow !== undefined) this.#address = addressFilter(owner, path, "allow", o.allow);
    else if (o.deny !== undefined) this.#address = addressFilter(owner, path, "deny", o.deny);
    if (o.allowNull !== undefined && typeof o.allowNull !== "boolean") fail(owner, `${path}allowNull`, "a boolean", o.allowNull);
    this.#allowNull = (o.allowNull as boolean | undefined) ?? true;
    if (o.plain !== undefined) {
      const plain = o.plain as { users?: unknown };
      if (typeof plain !== "object" || plain === null) fail(owner, `${path}plain`, "an object { users }", plain);
      const users = plain.users;
      if (typeof users === "string") {
        if (users.length === 0) fail(owner, `${path}plain.users`, "a users file path or a map of username to password hash", users);
        this.#plainSource = users;
      } else if (users instanceof Map || (typeof users === "object" && users !== null && !Array.isArray(users))) {
        const entries = users instanceof Map ? [...(users as Map<unknown, unknown>)] : Object.entries(users);
        for (const [name, hash] of entries) {
          if (typeof name !== "string" || !isPasswordHash(hash)) {
            fail(owner, `${path}plain.users`, "a map of username to password hash from hashPassword (plain passwords are not accepted)", hash);
          }
        }
        this.#plainSource = new Map(entries as [string, string][]);
        this.#users = this.#plainSource;
      } else {
        fail(owner, `${path}plain.users`, "a users file path or a map of username to password hash", users);
      }
    }
    let curveAny = false;
    if (o.curve !== undefined) {
      const curve = o.curve as Record<string, unknown>;
      if (typeof curve !== "object" || curve === null) fail(owner, `${path}curve`, "an object { allowAny?, keys?, certificates? }", curve);
      if (curve.allowAny !== undefined && typeof curve.allowAny !== "boolean") fail(owner, `${path}curve.allowAny`, "a boolean", curve.allowAny);
      curveAny = curve.allowAny === true;
      if (curve.keys !== undefined) {
        const keys = curve.keys as Iterable<unknown>;
        if (typeof keys !== "object" || keys === null || typeof (keys as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") {
          fail(owner, `${path}curve.keys`, "an iterable of Z85 public keys", keys);
        }
        const set = new Set<string>();
        for (const key of keys) {
          if (!isZ85Key(key)) fail(owner, `${path}curve.keys`, "an iterable of 40-character Z85 public keys", key);
          set.add(key);
        }
        this.#curveKeys = set;
      }
      if (curve.certificates !== undefined) {
        if (typeof curve.certificates !== "string" || curve.certificates.length === 0) fail(owner, `${path}curve.certificates`, "a directory path", curve.certificates);
        this.#curveDir = curve.certificates;
      }
      if (!curveAny && this.#curveKeys === undefined && this.#curveDir === undefined) {
        fail(owner, `${path}curve`, "an object with allowAny: true, keys or certificates", curve);
      }
    }
    this.#curveAny = curveAny;
    this.#curveEnabled = o.curve !== undefined;
    if (o.authenticate !== undefined && typeof o.authenticate !== "function") fail(owner, `${path}authenticate`, "a function", o.authenticate);
    this.authenticate = o.authenticate as ZapCallback | undefined;
  }

  readonly #curveEnabled: boolean;

  /** (Re)load the users file and certificate directory, if any. */
  async load(): Promise<void> {
    if (typeof this.#plainSource === "string") this.#users = await loadUsersFile(this.#plainSource);
    if (this.#curveDir !== undefined) this.#certs = await loadCertificates(this.#curveDir);
  }

  /** The configured policy's decision (without the callback). */
  async decide(request: ZapRequest): Promise<ZapDecision> {
    const filter = this.#address;
    if (filter) {
      const hit = matches(filter, request.address);
      if (filter.mode === "allow" ? !hit : hit) return deny("address");
    }
    switch (request.mechanism) {
      case "NULL":
        return this.#allowNull ? { status: 200, userId: "" } : deny("mechanism");
      case "PLAIN":
        return this.#plain(request);
      case "CURVE":
        return this.#curve(request);
      default:
        return deny("mechanism", "Unsupported mechanism");
    }
  }

  async #plain(request: ZapRequest): Promise<ZapDecision> {
    const users = this.#users;
    if (!users) return deny("mechanism");
    const username = request.username ?? "";
    // Compare the bytes the client sent, not their lossy UTF-8 decoding (every invalid
    // sequence decodes to U+FFFD, so distinct byte strings would match the same entry).
    const [userBytes, password = Buffer.alloc(0)] = request.credentials;
    const exactName = userBytes === undefined || Buffer.from(username, "utf8").equals(userBytes);
    const hash = exactName ? users.get(username) : undefined;
    if (hash === undefined) {
      // Spend the same work as a real check, so timing does not tell which users exist.
      await verifyPassword(password, await dummyPasswordHash(users.values().next().value));
      return deny("user", BAD_CREDENTIALS);
    }
    if (!(await verifyPassword(password, hash))) return deny("password", BAD_CREDENTIALS);
    return { status: 200, userId: username };
  }

  #curve(request: ZapRequest): ZapDecision {
    if (!this.#curveEnabled) return deny("mechanism");
    const key = request.publicKey ?? "";
    const cert = this.#certs.get(key);
    if (cert) return { status: 200, userId: cert.userId ?? key };
    if (this.#curveAny || this.#curveKeys?.has(key)) return { status: 200, userId: key };
    return deny("key", BAD_CREDENTIALS);
  }
}

/** Merge a domain's options over the default ones: a domain's allow/deny replaces both defaults. */
export function mergePolicy(base: ZapPolicyOptions, domain: ZapPolicyOptions): ZapPolicyOptions {
  const merged: Record<string, unknown> = {};
  for (const key of POLICY_KEYS) {
    if (base[key] !== undefined) merged[key] = base[key];
  }
  if (domain.allow !== undefined || domain.deny !== undefined) {
    delete merged.allow;
    delete merged.deny;
  }
  for (const key of POLICY_KEYS) {
    if (domain[key] !== undefined) merged[key] = domain[key];
  }
  return merged as ZapPolicyOptions;
}

/** Pick the policy options out of a larger options object. */
export function policyOptions(options: Readonly<Record<string, unknown>>): ZapPolicyOptions {
  const out: Record<string, unknown> = {};
  for (const key of POLICY_KEYS) if (options[key] !== undefined) out[key] = options[key];
  return out as ZapPolicyOptions;
}

const TEXT = /^[\x20-\x7e]{0,255}$/;

/**
 * Check and complete what a callback returned. Returns the decision, or an error message
 * (a bad return value is the callback's fault: the handler answers 500).
 */
export function normaliseDecision(result: unknown, request: ZapRequest): ZapDecision | string {
  if (result === true) return { status: 200, userId: defaultUserId(request) };
  if (result === false) return { status: 400, text: DENIED, reason: "callback" };
  if (typeof result !== "object" || result === null) return `expected a decision object or boolean, got ${String(result)}`;
  const d = result as Record<string, unknown>;
  if (!ZAP_STATUSES.includes(d.status as ZapStatus)) return `expected status 200, 300, 400 or 500, got ${String(d.status)}`;
  if (d.text !== undefined && (typeof d.text !== "string" || !TEXT.test(d.text))) return "expected text to be printable ASCII, at most 255 characters";
  if (d.userId !== undefined && (typeof d.userId !== "string" || Buffer.byteLength(d.userId) > 255)) return "expected userId to be a string of at most 255 bytes";
  if (d.reason !== undefined && !DENY_REASONS.includes(d.reason as DenyReason)) return `unknown reason ${String(d.reason)}`;
  if (d.metadata !== undefined) {
    try {
      encodeMetadata(d.metadata as ZapMetadata);
    } catch (error) {
      return (error as Error).message;
    }
  }
  const status = d.status as ZapStatus;
  return {
    status,
    ...(d.text !== undefined ? { text: d.text as string } : {}),
    ...(status === 200 ? { userId: (d.userId as string | undefined) ?? defaultUserId(request) } : {}),
    ...(status === 200 && d.metadata !== undefined ? { metadata: d.metadata as ZapMetadata } : {}),
    ...(status === 300 || status === 400 ? { reason: (d.reason as DenyReason | undefined) ?? "callback" } : {}),
  };
}

/** The default user id: PLAIN username, CURVE public key (Z85), else "". */
export function defaultUserId(request: ZapRequest): string {
  return request.username ?? request.publicKey ?? "";
}

/** Default status text of a status code. */
export function defaultText(status: ZapStatus): string {
  return status === 200 ? "OK" : status === 300 ? "Try again later" : status === 400 ? DENIED : "Internal error";
}
