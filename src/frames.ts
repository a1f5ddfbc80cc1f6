/**
 * Frames and envelopes. A ROUTER prefixes each message with the sender's routing id; REQ
 * and REP add an empty delimiter frame between an address stack (the envelope) and the body.
 * These helpers split and join those shapes and normalise user input to `Buffer` frames.
 * Parsers return `undefined` for malformed input instead of throwing: malformed frames from
 * the network are counted and dropped by their caller, never allowed to crash it.
 * @module
 */

/** One frame as users may pass it. */
export type FrameLike = Buffer | Uint8Array | string;

/** A message as users may pass it: one frame or several. */
export type MessageLike = FrameLike | readonly FrameLike[];

/** The empty delimiter frame. */
export const EMPTY: Buffer = Buffer.alloc(0);

/** One frame as a `Buffer` (strings are UTF-8). Buffers are returned as they are. */
export function toFrame(frame: FrameLike): Buffer {
  if (Buffer.isBuffer(frame)) return frame;
  if (typeof frame === "string") return Buffer.from(frame, "utf8");
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

/** A message as an array of `Buffer` frames. */
export function toFrames(message: MessageLike): Buffer[] {
  if (typeof message === "string" || Buffer.isBuffer(message) || message instanceof Uint8Array) return [toFrame(message)];
  return message.map(toFrame);
}

/** True if `value` is a frame or an array of frames, with at least one frame. */
export function isMessageLike(value: unknown): value is MessageLike {
  const isFrame = (f: unknown) => typeof f === "string" || f instanceof Uint8Array;
  return isFrame(value) || (Array.isArray(value) && value.length > 0 && value.every(isFrame));
}

/** An address stack and the body it carries. */
export interface Envelope {
  /** Address frames, outermost first (without the empty delimiter). */
  envelope: Buffer[];
  /** Frames after the delimiter. */
  body: Buffer[];
}

/**
 * Split `frames` at the first empty frame. Returns undefined when there is no delimiter or
 * no address before it (`minAddresses`, default 1).
 */
export function splitEnvelope(frames: readonly Buffer[], minAddresses = 1): Envelope | undefined {
  for (let i = 0; i < frames.length; i++) {
    if (frames[i]!.length === 0) {
      if (i < minAddresses) return undefined;
      return { envelope: frames.slice(0, i), body: frames.slice(i + 1) };
    }
  }
  return undefined;
}

/** Join an address stack and a body with the empty delimiter. */
export function joinEnvelope(envelope: readonly Buffer[], body: readonly FrameLike[]): Buffer[] {
  const out: Buffer[] = envelope.slice();
  out.push(EMPTY);
  for (const f of body) out.push(toFrame(f));
  return out;
}

/** True when two frames hold the same bytes. */
export function framesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

/** True when frame `f` is exactly the single byte `byte`. */
export function isByte(f: Buffer | undefined, byte: number): boolean {
  return f !== undefined && f.length === 1 && f[0] === byte;
}

/** A one-byte frame. */
export function byteFrame(byte: number): Buffer {
  return Buffer.from([byte]);
}

/** A stable string key for a routing id (for `Map`s). */
export function idKey(id: Buffer): string {
  return id.toString("latin1");
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** One frame as readable text: UTF-8 when it is valid and printable, else `0x` + hex. */
export function frameToText(frame: Buffer): string {
  try {
    const text = strictUtf8.decode(frame);
    if (!/[\x00-\x08\x0b-\x1f\x7f]/.test(text)) return text;
  } catch {
    // not UTF-8: fall through to hex
  }
  return "0x" + frame.toString("hex");
}

/** Frames as readable text (see {@link frameToText}). */
export function framesToText(frames: readonly Buffer[]): string[] {
  return frames.map(frameToText);
}

/**
 * A message packed into one buffer: `[count u32][length u32 × count][bytes]`. A broker holds a
 * waiting request this way: one allocation (from Node's buffer pool when small) instead of a
 * buffer per frame, each with its own backing store (zeromq.js copies frames of up to 128 bytes
 * into fresh buffers and keeps larger ones in libzmq's receive memory).
 */
export type PackedFrames = Buffer;

/** Pack `frames` into one {@link PackedFrames} buffer (the bytes are copied once). */
export function packFrames(frames: readonly Buffer[]): PackedFrames {
  const n = frames.length;
  let size = 4 + 4 * n;
  for (let i = 0; i < n; i++) size += frames[i]!.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32LE(n, 0);
  let at = 4 + 4 * n;
  for (let i = 0; i < n; i++) {
    const f = frames[i]!;
    out.writeUInt32LE(f.length, 4 + 4 * i);
    f.copy(out, at);
    at += f.length;
  }
  return out;
}

/** The frames of a {@link PackedFrames} buffer, as views into it (no copy). */
export function unpackFrames(packed: PackedFrames): Buffer[] {
  const n = packed.readUInt32LE(0);
  const frames = new Array<Buffer>(n);
  let at = 4 + 4 * n;
  for (let i = 0; i < n; i++) {
    const length = packed.readUInt32LE(4 + 4 * i);
    frames[i] = packed.subarray(at, at + length);
    at += length;
  }
  return frames;
}

/** Frame `index` of a {@link PackedFrames} buffer, as a view into it. */
export function packedFrame(packed: PackedFrames, index: number): Buffer {
  const n = packed.readUInt32LE(0);
  let at = 4 + 4 * n;
  for (let i = 0; i < index; i++) at += packed.readUInt32LE(4 + 4 * i);
  return packed.subarray(at, at + packed.readUInt32LE(4 + 4 * index));
}
