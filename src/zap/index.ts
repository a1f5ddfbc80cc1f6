/**
 * `zeromq-patterns/zap`: a 27/ZAP authentication handler for zeromq.js, with CURVE key and
 * certificate files, 32/Z85 conversion and PLAIN password hashes.
 *
 * Not re-exported from the package root: binding a ZAP handler is a decision for the whole
 * process (one handler per zeromq context), so it is imported on purpose.
 * @module zeromq-patterns/zap
 */
export { ZapHandler, ZapHandlerInUseError, type ZapHandlerOptions, type ZapHandlerEvents, type ZapOutcome, type ZapStats } from "./handler.js";
export {
  DENY_REASONS,
  type DenyReason,
  type ZapDecision,
  type ZapCallback,
  type ZapCallbackResult,
  type ZapPolicyOptions,
  type PlainOptions,
  type CurveOptions,
} from "./policy.js";
export {
  ZAP_ENDPOINT,
  ZAP_VERSION,
  ZAP_STATUSES,
  parseZapRequest,
  zapServerOptions,
  encodeZapReply,
  encodeMetadata,
  decodeMetadata,
  type ZapRequest,
  type ZapStatus,
  type ZapMechanism,
  type ZapMetadata,
  type ZapReply,
  type ParsedZapRequest,
} from "./protocol.js";
export {
  generateKeyPair,
  saveKeyPair,
  loadKeyPair,
  loadCertificate,
  loadCertificates,
  parseCertificate,
  PUBLIC_SUFFIX,
  SECRET_SUFFIX,
  type CurveKeyPair,
  type Certificate,
  type SaveKeyPairOptions,
  type SavedKeyPair,
} from "./keys.js";
export { z85Encode, z85Decode, keyToBuffer, keyToZ85, isZ85Key, Z85_ALPHABET, CURVE_KEY_BYTES, CURVE_KEY_Z85_LENGTH } from "./z85.js";
export {
  hashPassword,
  verifyPassword,
  dummyPasswordHash,
  isPasswordHash,
  parsePasswordHash,
  parseUsersFile,
  loadUsersFile,
  writeUsersFile,
  setUserPassword,
  USERS_FILE_FORMAT,
  DEFAULT_SCRYPT_COST,
  type HashPasswordOptions,
  type ParsedHash,
} from "./passwords.js";
