/**
 * Exactly-once requests (Guide ch4, "idempotency"): the stamp a client puts on each request
 * and the bounded reply cache a worker answers a duplicate from.
 *
 * The stamp is one extra frame, the first of the request body, that only peers which opted
 * in (`exactlyOnce: true` on both sides) send or strip; 6/PPP and 7/MDP are unchanged:
 *
 * | bytes | content |
 * |---|---|
 * | 0-3 | marker `0xFF "XO1"` ({@link STAMP_MARKER}) |
 * | 4-11 | sequence number, unsigned 64-bit big-endian |
 * | 12- | client id, 1-255 bytes (a UUID by default) |
 *
 * A retry of a request repeats its stamp. The worker keys its {@link ReplyCache} by (client
 * id, sequence): the first request runs the handler; a duplicate that arrives after it is
 * answered from the cache, one that arrives while it runs is answered with its reply when
 * it finishes (see src/README.md, "Exactly-once requests").
 * @module
 */
import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "./clock.js";
import { InvalidOptionError } from "./errors.js";
import { boolOption, intOption, stringOption, type Bag } from "./options.js";

/** First four bytes of a stamp frame. */
export const STAMP_MARKER: Buffer = Buffer.from([0xff, 0x58, 0x4f, 0x31]);
/** Default most replies a {@link ReplyCache} keeps. */
export const REPLY_CACHE_SIZE = 10_000;
/** Default ms a reply stays in a {@link ReplyCache}. */
export const REPLY_CACHE_TTL = 60_000;
/** Most duplicates that may wait for one running request (beyond: dropped, reason `duplicate`). */
export const MAX_WAITING_DUPLICATES = 16;

const HEADER = STAMP_MARKER.length + 8;

/** A parsed stamp. */
export interface Stamp {
  readonly clientId: string;
  readonly seq: bigint;
  /** The cache key: sequence and client id bytes. */
  readonly key: string;
}

/** The stamp frame of request `seq` from `clientId`. */
export function stampFrame(clientId: Buffer, seq: bigint): Buffer {
  const frame = Buffer.allocUnsafe(HEADER + clientId.length);
  STAMP_MARKER.copy(frame, 0);
  frame.writeBigUInt64BE(seq, STAMP_MARKER.length);
  clientId.copy(frame, HEADER);
  return frame;
}

/**
 * Parse `frame` as a stamp: undefined when it does not start with the marker (a plain
 * request), a string (why) when it does but is not a valid stamp.
 */
export function parseStamp(frame: Buffer | undefined): Stamp | string | undefined {
  if (frame === undefined || frame.length < STAMP_MARKER.length || frame.compare(STAMP_MARKER, 0, 4, 0, 4) !== 0) return undefined;
  if (frame.length < HEADER + 1 || frame.length > HEADER + 255) return `stamp frame of ${frame.length} bytes (expected ${HEADER + 1}-${HEADER + 255})`;
  return { clientId: frame.toString("utf8", HEADER), seq: frame.readBigUInt64BE(STAMP_MARKER.length), key: frame.toString("latin1", STAMP_MARKER.length) };
}

/** The client side: stamps requests with its id and a sequence number per request. */
export class RequestStamper {
  /** This client's id. */
  readonly clientId: string;
  readonly #id: Buffer;
  readonly #base: bigint;

  /**
   * Sequence numbers are `Date.now() at construction * 2^20 + the request's engine id`, so a
   * client restarted with the same `clientId` never reuses one (unless it sent more than 2^20
   * requests per millisecond it ran).
   */
  constructor(clientId: string, startMs = Date.now()) {
    this.clientId = clientId;
    this.#id = Buffer.from(clientId);
    this.#base = BigInt(Math.floor(startMs)) << 20n;
  }

  /** The sequence number of the request with engine id `id`. */
  seq(id: number): bigint {
    return this.#base + BigInt(id);
  }

  /** The stamp frame of the request with engine id `id` (every attempt carries the same). */
  frame(id: number): Buffer {
    return stampFrame(this.#id, this.seq(id));
  }
}

/**
 * Validate a client's `exactlyOnce` and `clientId` options: the client id (a random UUID
 * unless given), or undefined when off. `supported`: the client stamps its requests.
 */
export function clientIdOption(owner: string, bag: Bag, supported: boolean): string | undefined {
  const on = boolOption(owner, bag, "exactlyOnce", false);
  const clientId = stringOption(owner, bag, "clientId", undefined);
  if (clientId !== undefined && !on) throw new InvalidOptionError("clientId", `${owner}: \`clientId\` needs \`exactlyOnce: true\``);
  if (clientId !== undefined && Buffer.byteLength(clientId) > 255) throw new InvalidOptionError("clientId", `${owner}: expected \`clientId\` to be 1-255 bytes`);
  if (on && !supported) throw new InvalidOptionError("exactlyOnce", `${owner}: \`exactlyOnce\` is not supported by this client`);
  return on ? (clientId ?? randomUUID()) : undefined;
}

/** Options of a {@link ReplyCache}. */
export interface ReplyCacheOptions {
  /** Most replies kept (the oldest is evicted beyond). Default 10000. */
  readonly size?: number;
  /** ms a reply is kept after its handler finished. Default 60000. */
  readonly ttl?: number;
  /** Clock of the TTL. Default the system clock (a worker's own cache uses its reactor's). */
  readonly clock?: Pick<Clock, "now">;
}

/** Counters of a {@link ReplyCache}. */
export interface ReplyCacheStats {
  /** Replies held now. */
  entries: number;
  /** Requests whose handler runs now. */
  running: number;
  /** Duplicates waiting for a running request. */
  waiting: number;
  /** Lookups that found a reply. */
  hits: number;
  /** Replies evicted because the cache was full. */
  evictions: number;
  /** Replies dropped because their TTL passed. */
  expired: number;
}

/** What {@link ReplyCache.lookup} found. */
export type CacheLookup = { readonly state: "done"; readonly reply: Buffer[] } | { readonly state: "running" } | undefined;

/** Called with the reply of the request waited for, or undefined when its handler failed. */
export type CacheWaiter = (reply: Buffer[] | undefined) => void;

interface Done {
  readonly reply: Buffer[];
  readonly expires: number;
}

/**
 * The replies of stamped requests, by (client id, sequence): bounded by `size` (oldest
 * evicted) and `ttl` (a reply is forgotten `ttl` ms after it was stored, exactly), on a
 * clock. Socket-free. One cache may be shared by several workers of a process (give the same
 * instance as their `replyCache`): a duplicate then finds the reply whichever worker gets
 * it, and a worker closed after its handler ran but before its reply went out still leaves
 * the reply here (src/README.md, "Exactly-once requests", for what it cannot cover).
 */
export class ReplyCache {
  /** Most replies kept. */
  readonly size: number;
  /** ms a reply is kept. */
  readonly ttl: number;
  readonly #clock: Pick<Clock, "now">;
  /** Completed replies in completion order (so expiry is from the front: one TTL for all). */
  readonly #done = new Map<string, Done>();
  /** Running requests and the duplicates waiting for them. */
  readonly #running = new Map<string, CacheWaiter[]>();
  readonly #s = { hits: 0, evictions: 0, expired: 0 };

  constructor(options: ReplyCacheOptions = {}) {
    const o = options as Bag;
    this.size = intOption("ReplyCache", o, "size", REPLY_CACHE_SIZE, 1);
    this.ttl = intOption("ReplyCache", o, "ttl", REPLY_CACHE_TTL, 1);
    const clock = o.clock as Pick<Clock, "now"> | undefined;
    if (clock !== undefined && (typeof clock !== "object" || clock === null || typeof clock.now !== "function")) throw new InvalidOptionError("clock", "ReplyCache: expected `clock` to have now()");
    this.#clock = clock ?? systemClock;
  }

  /** Counters. */
  stats(): ReplyCacheStats {
    this.#sweep(this.#clock.now());
    let waiting = 0;
    for (const w of this.#running.values()) waiting += w.length;
    return { entries: this.#done.size, running: this.#running.size, waiting, ...this.#s };
  }

  /** The reply stored for `key`, or whether its request is running now. */
  lookup(key: string): CacheLookup {
    if (this.#running.has(key)) return { state: "running" };
    const done = this.#done.get(key);
    if (done === undefined) return undefined;
    if (this.#clock.now() >= done.expires) {
      this.#done.delete(key);
      this.#s.expired++;
      return undefined;
    }
    this.#s.hits++;
    return { state: "done", reply: done.reply };
  }

  /** The handler of `key` starts. */
  begin(key: string): void {
    if (!this.#running.has(key)) this.#running.set(key, []);
  }

  /** Wait for the running request `key`; false when it is not running or has too many waiting. */
  wait(key: string, waiter: CacheWaiter): boolean {
    const waiters = this.#running.get(key);
    if (waiters === undefined || waiters.length >= MAX_WAITING_DUPLICATES) return false;
    waiters.push(waiter);
    return true;
  }

  /** The handler of `key` returned `reply`: keep it and answer the waiting duplicates. */
  complete(key: string, reply: Buffer[]): void {
    const now = this.#clock.now();
    this.#sweep(now);
    this.#done.delete(key);
    while (this.#done.size >= this.size) {
      this.#done.delete(this.#done.keys().next().value!);
      this.#s.evictions++;
    }
    this.#done.set(key, { reply, expires: now + this.ttl });
    this.#settle(key, reply);
  }

  /** The handler of `key` failed: forget it; the waiting duplicates are told (and may run it). */
  abandon(key: string): void {
    this.#settle(key, undefined);
  }

  /** Forget everything (waiters are told, as by {@link abandon}). */
  clear(): void {
    for (const key of [...this.#running.keys()]) this.abandon(key);
    this.#done.clear();
  }

  #settle(key: string, reply: Buffer[] | undefined): void {
    const waiters = this.#running.get(key);
    this.#running.delete(key);
    for (const w of waiters ?? []) w(reply);
  }

  /** Drop expired replies from the front (all have one TTL, so they expire in order). */
  #sweep(now: number): void {
    for (const [key, done] of this.#done) {
      if (now < done.expires) return;
      this.#done.delete(key);
      this.#s.expired++;
    }
  }
}

/** A worker's validated cache options: its own cache's size and ttl, or a shared cache. */
export interface ReplyCacheSpec {
  readonly shared: ReplyCache | undefined;
  readonly size: number;
  readonly ttl: number;
}

/**
 * Validate a worker's `exactlyOnce`, `replyCacheSize`, `replyCacheTtl` and `replyCache`
 * options (undefined when off); {@link replyCacheOf} makes the cache once the clock is known.
 */
export function replyCacheOption(owner: string, bag: Bag): ReplyCacheSpec | undefined {
  const shared = bag.replyCache;
  if (shared !== undefined && !(shared instanceof ReplyCache)) throw new InvalidOptionError("replyCache", `${owner}: expected \`replyCache\` to be a ReplyCache`);
  const on = boolOption(owner, bag, "exactlyOnce", shared !== undefined);
  const size = intOption(owner, bag, "replyCacheSize", REPLY_CACHE_SIZE, 1);
  const ttl = intOption(owner, bag, "replyCacheTtl", REPLY_CACHE_TTL, 1);
  for (const name of ["replyCacheSize", "replyCacheTtl", "replyCache"]) {
    if (bag[name] !== undefined && !on) throw new InvalidOptionError(name, `${owner}: \`${name}\` needs \`exactlyOnce: true\``);
  }
  if (shared !== undefined && (bag.replyCacheSize !== undefined || bag.replyCacheTtl !== undefined)) {
    throw new InvalidOptionError("replyCacheSize", `${owner}: a shared \`replyCache\` has its own size and ttl`);
  }
  return on ? { shared, size, ttl } : undefined;
}

/** The cache of a {@link ReplyCacheSpec}: the shared one, or a new one on `clock`. */
export function replyCacheOf(spec: ReplyCacheSpec | undefined, clock: Pick<Clock, "now">): ReplyCache | undefined {
  return spec && (spec.shared ?? new ReplyCache({ size: spec.size, ttl: spec.ttl, clock }));
}
