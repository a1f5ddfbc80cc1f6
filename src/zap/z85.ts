/**
 * 32/Z85: the ZeroMQ Base-85 encoding of binary data as printable text, used for CURVE keys
 * (a 32-byte key is 40 characters). Written from the RFC: every 4 bytes, read as one
 * big-endian 32-bit number, become 5 characters of the Z85 alphabet, most significant first.
 * @module
 */

/** 32/Z85 alphabet: value 0 is `0`, value 84 is `#`. */
export const Z85_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < Z85_ALPHABET.length; i++) DECODE[Z85_ALPHABET.charCodeAt(i)] = i;

/**
 * 32/Z85 encode. `data.length` must be a multiple of 4 (the RFC leaves padding to the
 * caller); throws `RangeError` otherwise.
 */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) throw new RangeError(`z85Encode: the length must be a multiple of 4, got ${data.length}`);
  let out = "";
  for (let i = 0; i < data.length; i += 4) {
    let value = ((data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!) >>> 0;
    const chunk = new Array<string>(5);
    for (let j = 4; j >= 0; j--) {
      chunk[j] = Z85_ALPHABET[value % 85]!;
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/**
 * 32/Z85 decode. Returns undefined when `text` is not valid Z85 (length not a multiple of 5,
 * a character outside the alphabet, or a group above 2^32 - 1): parse errors are values.
 */
export function z85Decode(text: string): Buffer | undefined {
  if (typeof text !== "string" || text.length % 5 !== 0) return undefined;
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const code = text.charCodeAt(i + j);
      const digit = code < 128 ? DECODE[code]! : -1;
      if (digit < 0) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) return undefined;
    out.writeUInt32BE(value, o);
  }
  return out;
}

/** Length of a CURVE key in bytes (25/ZMTP-CURVE). */
export const CURVE_KEY_BYTES = 32;
/** Length of a CURVE key in Z85 characters. */
export const CURVE_KEY_Z85_LENGTH = 40;

/** True when `key` is a 40-character Z85 string (a CURVE key). */
export function isZ85Key(key: unknown): key is string {
  return typeof key === "string" && key.length === CURVE_KEY_Z85_LENGTH && z85Decode(key) !== undefined;
}

/** 32/Z85: a CURVE key as its 32 bytes. Throws `TypeError` if `key` is not a 40-character Z85 key. */
export function keyToBuffer(key: string): Buffer {
  const bytes = typeof key === "string" && key.length === CURVE_KEY_Z85_LENGTH ? z85Decode(key) : undefined;
  if (!bytes) throw new TypeError(`Expected a CURVE key as 40 Z85 characters, got ${typeof key === "string" ? JSON.stringify(key) : String(key)}`);
  return bytes;
}

/** 32/Z85: 32 key bytes as a 40-character Z85 key. Throws `TypeError` on another length. */
export function keyToZ85(key: Uint8Array): string {
  if (!(key instanceof Uint8Array) || key.length !== CURVE_KEY_BYTES) throw new TypeError(`Expected a CURVE key of 32 bytes, got ${key instanceof Uint8Array ? `${key.length} bytes` : String(key)}`);
  return z85Encode(key);
}
