/**
 * CURVE keys and certificate files for 25/ZMTP-CURVE and the ZAP handler.
 *
 * File format (our own, plain text, one `name = value` per line, `#` starts a comment):
 * ```
 * # zeromq-patterns CURVE certificate
 * public-key = <40 Z85 characters>
 * secret-key = <40 Z85 characters>     (only in the secret file)
 * user-id = alice                      (optional: the ZAP user id for this key)
 * ```
 * {@link saveKeyPair} writes `PREFIX.key` (public, shareable) and `PREFIX.key_secret`
 * (public + secret, mode 0600). A certificate directory holds public `*.key` files; files
 * ending in `_secret` are never loaded from it.
 * @module
 */
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { InvalidOptionError } from "../errors.js";
import { isZ85Key } from "./z85.js";

/** A CURVE key pair, each key 40 Z85 characters. */
export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** A CURVE certificate as read from a file. */
export interface Certificate {
  /** Public key, Z85. */
  readonly publicKey: string;
  /** Secret key, Z85 (only from a secret file). */
  readonly secretKey?: string;
  /** `user-id` field: the user id the ZAP handler replies with for this key. */
  readonly userId?: string;
  /** The file it came from. */
  readonly file?: string;
}

/** Suffix of a public certificate file. */
export const PUBLIC_SUFFIX = ".key";
/** Suffix of a secret certificate file. */
export const SECRET_SUFFIX = ".key_secret";

/** 25/ZMTP-CURVE: a new random key pair (zeromq's `curveKeyPair`, from libzmq). */
export function generateKeyPair(): CurveKeyPair {
  const { publicKey, secretKey } = curveKeyPair();
  return { publicKey, secretKey };
}

/** Options of {@link saveKeyPair}. */
export interface SaveKeyPairOptions {
  /** `user-id` line written in both files. */
  readonly userId?: string;
  /** Replace existing files. Default false: an existing file is an error (`EEXIST`). */
  readonly overwrite?: boolean;
}

/** Files written by {@link saveKeyPair}. */
export interface SavedKeyPair {
  readonly publicFile: string;
  readonly secretFile: string;
}

/**
 * Write a key pair as `PREFIX.key` (public key) and `PREFIX.key_secret` (both keys, file
 * mode 0600). Refuses to overwrite unless `overwrite` is set.
 */
export async function saveKeyPair(prefix: string, pair: CurveKeyPair, options: SaveKeyPairOptions = {}): Promise<SavedKeyPair> {
  if (typeof prefix !== "string" || prefix.length === 0) throw new InvalidOptionError("prefix", "saveKeyPair: expected `prefix` to be a non-empty path");
  if (!isZ85Key(pair?.publicKey)) throw new InvalidOptionError("publicKey", "saveKeyPair: expected `publicKey` to be a 40-character Z85 key");
  if (!isZ85Key(pair.secretKey)) throw new InvalidOptionError("secretKey", "saveKeyPair: expected `secretKey` to be a 40-character Z85 key");
  const userId = options.userId;
  if (userId !== undefined && (typeof userId !== "string" || !/^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(userId))) {
    throw new InvalidOptionError("userId", "saveKeyPair: expected `userId` to be printable ASCII (1-255 characters)");
  }
  const extra = userId === undefined ? "" : `user-id = ${userId}\n`;
  const publicFile = prefix + PUBLIC_SUFFIX;
  const secretFile = prefix + SECRET_SUFFIX;
  const flag = options.overwrite ? "w" : "wx";
  await writeFile(publicFile, `# zeromq-patterns CURVE public key (Z85). Share this file.\npublic-key = ${pair.publicKey}\n${extra}`, { flag, mode: 0o644 });
  await writeFile(secretFile, `# zeromq-patterns CURVE secret key (Z85). Keep this file private.\npublic-key = ${pair.publicKey}\nsecret-key = ${pair.secretKey}\n${extra}`, { flag, mode: 0o600 });
  await chmod(secretFile, 0o600);
  return { publicFile, secretFile };
}

/**
 * Parse certificate text (see the module documentation). Returns the certificate or an
 * error message: parse errors are values.
 */
export function parseCertificate(text: string, file?: string): Certificate | string {
  const fields = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) return `line ${i + 1}: expected "name = value"`;
    const name = line.slice(0, eq).trim();
    if (fields.has(name)) return `line ${i + 1}: "${name}" appears twice`;
    fields.set(name, line.slice(eq + 1).trim());
  }
  const publicKey = fields.get("public-key");
  if (!isZ85Key(publicKey)) return "missing or invalid public-key (40 Z85 characters)";
  const secretKey = fields.get("secret-key");
  if (secretKey !== undefined && !isZ85Key(secretKey)) return "invalid secret-key (40 Z85 characters)";
  const userId = fields.get("user-id");
  return {
    publicKey,
    ...(secretKey !== undefined ? { secretKey } : {}),
    ...(userId !== undefined && userId !== "" ? { userId } : {}),
    ...(file !== undefined ? { file } : {}),
  };
}

async function readCertificate(file: string): Promise<Certificate> {
  const parsed = parseCertificate(await readFile(file, "utf8"), file);
  if (typeof parsed === "string") throw new Error(`${file}: ${parsed}`);
  return parsed;
}

/** Read a certificate file (public or secret). Rejects with the file name on a bad file. */
export function loadCertificate(file: string): Promise<Certificate> {
  return readCertificate(file);
}

/** Read a key pair from a secret file written by {@link saveKeyPair}. */
export async function loadKeyPair(secretFile: string): Promise<CurveKeyPair> {
  const cert = await readCertificate(secretFile);
  if (cert.secretKey === undefined) throw new Error(`${secretFile}: no secret-key (is this the public file?)`);
  return { publicKey: cert.publicKey, secretKey: cert.secretKey };
}

/**
 * Read every public certificate (`*.key`) of a directory, keyed by public key (Z85).
 * Secret files are skipped. Rejects, naming the file, if one is not a valid certificate.
 */
export async function loadCertificates(dir: string): Promise<Map<string, Certificate>> {
  const entries = await readdir(dir, { withFileTypes: true });
  const certs = new Map<string, Certificate>();
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.isFile() || !entry.name.endsWith(PUBLIC_SUFFIX)) continue;
    const cert = await readCertificate(join(dir, entry.name));
    certs.set(cert.publicKey, { publicKey: cert.publicKey, ...(cert.userId ? { userId: cert.userId } : {}), ...(cert.file ? { file: cert.file } : {}) });
  }
  return certs;
}
