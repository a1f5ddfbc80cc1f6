/**
 * 9/TSP persistence: one directory, one file per request (`<uuid>.req`) and per reply
 * (`<uuid>.rep`). Every file is written to a temporary name, fsync'd, renamed into place and
 * the directory fsync'd, so a crash leaves either the whole file or none of it.
 *
 * File format: the 4 bytes `TSP1`, then for each frame a 4-byte big-endian length and the
 * frame's bytes. A file that does not parse is reported as corrupt (counted) and treated as
 * absent.
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { InvalidOptionError } from "../../src/index.js";

const MAGIC = Buffer.from("TSP1");
const UUID = /^[0-9a-fA-F]{32}$/;

/** True when `s` is a 9/TSP UUID: 32 hexadecimal characters. */
export function isTitanicUuid(s: string): boolean {
  return UUID.test(s);
}

/** Serialise frames into the store's file format. */
export function encodeFrames(frames: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [MAGIC];
  for (const f of frames) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(f.length);
    parts.push(len, f);
  }
  return Buffer.concat(parts);
}

/** Bytes {@link encodeFrames} writes for `frames` (what a stored file of them takes on disk). */
export function encodedSize(frames: readonly Buffer[]): number {
  let n = MAGIC.length;
  for (const f of frames) n += 4 + f.length;
  return n;
}

/** Parse the store's file format; undefined when the bytes are not a whole, valid file. */
export function decodeFrames(data: Buffer): Buffer[] | undefined {
  if (data.length < 4 || !data.subarray(0, 4).equals(MAGIC)) return undefined;
  const frames: Buffer[] = [];
  let at = 4;
  while (at < data.length) {
    if (at + 4 > data.length) return undefined;
    const len = data.readUInt32BE(at);
    at += 4;
    if (at + len > data.length) return undefined;
    frames.push(Buffer.from(data.subarray(at, at + len)));
    at += len;
  }
  return frames;
}

/** Which file of a request. */
export type TitanicFileKind = "req" | "rep";

/** One stored request, as {@link TitanicStore.scan} finds it. */
export interface TitanicStoredEntry {
  readonly uuid: string;
  /** Bytes of its request file. */
  readonly reqBytes: number;
  /** Bytes of its reply file; undefined while it has none (pending). */
  readonly repBytes: number | undefined;
  readonly mtimeMs: number;
}

/** The directory of requests and replies. */
export class TitanicStore {
  #corrupt = 0;

  constructor(
    /** The directory (created if missing). */
    readonly dir: string,
  ) {
    if (typeof dir !== "string" || dir.length === 0) throw new InvalidOptionError("dir", `TitanicStore: expected \`dir\` to be a non-empty path, got ${String(dir)}`);
  }

  /** Files that did not parse so far. */
  get corrupt(): number {
    return this.#corrupt;
  }

  /** Create the directory and remove temporary files a crash left behind. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(".tmp-")) await rm(join(this.dir, name), { force: true });
    }
  }

  #path(uuid: string, kind: TitanicFileKind): string {
    return join(this.dir, `${uuid}.${kind}`);
  }

  /** Write a file atomically and durably (temp file, fsync, rename, fsync the directory). Resolves with the bytes written. */
  async put(uuid: string, kind: TitanicFileKind, frames: readonly Buffer[]): Promise<number> {
    const tmp = join(this.dir, `.tmp-${uuid}.${kind}-${randomBytes(4).toString("hex")}`);
    const data = encodeFrames(frames);
    const fh = await open(tmp, "w");
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.#path(uuid, kind));
    const dir = await open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return data.length;
  }

  /** Read a file; undefined when it does not exist (or is corrupt, which is counted). */
  async get(uuid: string, kind: TitanicFileKind): Promise<Buffer[] | undefined> {
    const frames = await this.read(uuid, kind);
    return frames === "corrupt" ? undefined : frames;
  }

  /**
   * Read a file: its frames, undefined when it does not exist, `"corrupt"` (counted) when it
   * does not parse. One read decides, so a file being written meanwhile (renamed into place
   * between two checks) is never taken for a corrupt one.
   */
  async read(uuid: string, kind: TitanicFileKind): Promise<Buffer[] | "corrupt" | undefined> {
    let data: Buffer;
    try {
      data = await readFile(this.#path(uuid, kind));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const frames = decodeFrames(data);
    if (frames !== undefined) return frames;
    this.#corrupt++;
    return "corrupt";
  }

  /** True when the file exists. */
  async has(uuid: string, kind: TitanicFileKind): Promise<boolean> {
    try {
      await stat(this.#path(uuid, kind));
      return true;
    } catch {
      return false;
    }
  }

  /** Delete the reply of a request only (no error if absent). */
  async deleteReply(uuid: string): Promise<void> {
    await rm(this.#path(uuid, "rep"), { force: true });
  }

  /** Delete a request and its reply (no error if absent). */
  async delete(uuid: string): Promise<void> {
    await rm(this.#path(uuid, "rep"), { force: true });
    await rm(this.#path(uuid, "req"), { force: true });
  }

  /** UUIDs of requests without a reply, oldest first. */
  async pending(): Promise<string[]> {
    return (await this.scan()).filter((e) => e.repBytes === undefined).map((e) => e.uuid);
  }

  /** Every stored request with the sizes of its files, oldest first. */
  async scan(): Promise<TitanicStoredEntry[]> {
    const names = new Set(await readdir(this.dir));
    const out: TitanicStoredEntry[] = [];
    const size = async (name: string) => {
      try {
        return await stat(join(this.dir, name));
      } catch {
        return undefined; // closed meanwhile
      }
    };
    for (const name of names) {
      const m = /^([0-9a-fA-F]{32})\.req$/.exec(name);
      if (!m) continue;
      const req = await size(name);
      if (!req) continue;
      const rep = names.has(`${m[1]}.rep`) ? await size(`${m[1]}.rep`) : undefined;
      out.push({ uuid: m[1]!, reqBytes: req.size, repBytes: rep?.size, mtimeMs: req.mtimeMs });
    }
    return out.sort((a, b) => a.mtimeMs - b.mtimeMs);
  }
}
