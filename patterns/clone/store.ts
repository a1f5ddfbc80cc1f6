/**
 * The Clone pattern's decisions, socket-free, on an injectable clock (tests use
 * `ManualClock`):
 * - {@link CloneStore}, the server's hashmap: every accepted update gets the next sequence
 *   number, an empty value deletes, the `ttl` property (seconds) expires a key (the expiry is
 *   a delete like any other, with its own sequence number), the size of the map, of a key and
 *   of a value are bounded, and a snapshot is any subtree of it.
 * - {@link CloneReplica}, a client's copy: the RFC's apply rule (updates buffered while the
 *   snapshot arrives, then only those strictly newer than the snapshot's sequence applied;
 *   afterwards only those strictly newer than the last one), subtree filtering and the
 *   changes a resynchronisation makes.
 * @module
 */
import { EMPTY, InvalidOptionError, clockOption, functionOption, intOption, optionsObject, stringOption, type Clock } from "../../src/index.js";
import { RESERVED_KEYS, TTL_PROPERTY, newUuid, validSubtree, type KvMessage, type Properties } from "./protocol.js";

/** Default {@link CloneStoreOptions.maxKeys}. */
export const CLONE_MAX_KEYS = 1_000_000;
/** Default {@link CloneStoreOptions.maxValueSize} (bytes). */
export const CLONE_MAX_VALUE_SIZE = 1_048_576;
/** Longest key accepted (bytes). */
export const CLONE_MAX_KEY_SIZE = 1024;

/** Why an update was refused. */
export type RefusalReason = "max-keys" | "value-size" | "key-size" | "reserved-key";

/** A key-value pair held by a store. */
export interface CloneEntry extends KvMessage {
  /** Clock ms when it expires; 0: never. */
  readonly expiresAt: number;
}

/** What {@link CloneStore.set} did. */
export type SetResult = { readonly ok: true; readonly kv: CloneEntry; readonly deleted: boolean } | { readonly ok: false; readonly reason: RefusalReason; readonly message: string };

/** Options of {@link CloneStore}. */
export interface CloneStoreOptions {
  /** Most keys held; a new key beyond it is refused (`max-keys`). Default 1,000,000. */
  readonly maxKeys?: number;
  /** Largest value (bytes); a bigger one is refused (`value-size`). Default 1 MiB. */
  readonly maxValueSize?: number;
  /** The clock ttl expiry runs on. Default the system clock. */
  readonly clock?: Clock;
  /** Called with the delete of each key whose ttl ran out (already applied, with its sequence number). */
  readonly onExpired?: (kv: CloneEntry) => void;
}

interface HeapItem {
  due: number;
  key: string;
  seq: number;
}

const OWNER = "CloneStore";

/**
 * The server's hashmap (see the module documentation).
 *
 * ```ts
 * const store = new CloneStore({ clock, onExpired: (kv) => publish(kv) });
 * const r = store.set({ key: "/a/x", uuid, props: { ttl: "5" }, value: Buffer.from("1") });
 * if (r.ok) publish(r.kv);
 * ```
 */
export class CloneStore {
  /** Most keys held. */
  readonly maxKeys: number;
  /** Largest value, bytes. */
  readonly maxValueSize: number;
  readonly #clock: Clock;
  readonly #onExpired: ((kv: CloneEntry) => void) | undefined;
  readonly #map = new Map<string, CloneEntry>();
  readonly #heap: HeapItem[] = [];
  #seq = 0;
  #expiring = true;
  #timer: (() => void) | undefined;
  #timerDue = Infinity;
  #expired = 0;

  constructor(options: CloneStoreOptions = {}) {
    const o = optionsObject(OWNER, options);
    this.maxKeys = intOption(OWNER, o, "maxKeys", CLONE_MAX_KEYS, 1);
    this.maxValueSize = intOption(OWNER, o, "maxValueSize", CLONE_MAX_VALUE_SIZE, 1);
    this.#clock = clockOption(OWNER, o);
    this.#onExpired = functionOption<(kv: CloneEntry) => void, undefined>(OWNER, o, "onExpired", undefined);
  }

  /** The sequence number of the last update (0 before any). */
  get seq(): number {
    return this.#seq;
  }

  /** Keys held. */
  get size(): number {
    return this.#map.size;
  }

  /** Keys expired so far. */
  get expired(): number {
    return this.#expired;
  }

  /** The entry for `key`. */
  get(key: string): CloneEntry | undefined {
    return this.#map.get(key);
  }

  /**
   * Whether ttl expiry runs (default true). A passive member of an HA pair turns it off (the
   * active one publishes the deletes); turning it on expires what is overdue at once.
   */
  get expiring(): boolean {
    return this.#expiring;
  }

  set expiring(on: boolean) {
    this.#expiring = on;
    if (on) this.#expire();
    else this.#cancelTimer();
  }

  /** Why `key`/`value` would be refused as a new update, or undefined when acceptable. */
  check(key: string, value: Buffer): { reason: RefusalReason; message: string } | undefined {
    if (RESERVED_KEYS.includes(key)) return { reason: "reserved-key", message: `key ${JSON.stringify(key)} is reserved by 12/CHP` };
    if (Buffer.byteLength(key) > CLONE_MAX_KEY_SIZE) return { reason: "key-size", message: `key of ${Buffer.byteLength(key)} bytes exceeds ${CLONE_MAX_KEY_SIZE}` };
    if (value.length > this.maxValueSize) return { reason: "value-size", message: `value of ${value.length} bytes exceeds maxValueSize ${this.maxValueSize}` };
    if (value.length > 0 && this.#map.size >= this.maxKeys && !this.#map.has(key)) return { reason: "max-keys", message: `the map holds maxKeys ${this.maxKeys} keys` };
    return undefined;
  }

  /**
   * Apply a client's update with the next sequence number: a value sets the key (with
   * `ttl` seconds, when > 0, it expires), an empty value deletes it.
   */
  set(update: { key: string; uuid: Buffer; props: Properties; value: Buffer }, ttl = 0): SetResult {
    const refused = this.check(update.key, update.value);
    if (refused) return { ok: false, ...refused };
    return this.#put({ ...update, seq: this.#seq + 1 }, ttl);
  }

  /**
   * Apply an update that already has its sequence number (a passive server copying its
   * active peer): the store's sequence moves to it. Limits are not checked (the peer did).
   */
  replicate(kv: KvMessage, ttl = 0): CloneEntry {
    return this.#put(kv, ttl).kv;
  }

  /** Move the sequence number up to `seq` (a passive server that copied its peer's snapshot). */
  advance(seq: number): void {
    if (seq > this.#seq) this.#seq = seq;
  }

  /** Every entry whose key starts with `subtree`, in insertion order. */
  *snapshot(subtree = ""): IterableIterator<CloneEntry> {
    if (subtree === "") return yield* this.#map.values();
    for (const entry of this.#map.values()) if (entry.key.startsWith(subtree)) yield entry;
  }

  /** Forget every key (a passive server about to copy its peer's snapshot); the sequence stays. */
  clear(): void {
    this.#map.clear();
    this.#heap.length = 0;
    this.#cancelTimer();
  }

  /** Stop the expiry timer (the store stays usable; a later ttl sets it again). */
  close(): void {
    this.#expiring = false;
    this.#cancelTimer();
  }

  #put(kv: KvMessage, ttl: number): { ok: true; kv: CloneEntry; deleted: boolean } {
    const deleted = kv.value.length === 0;
    const expiresAt = !deleted && ttl > 0 ? this.#clock.now() + Math.round(ttl * 1000) : 0;
    // Most entries have no properties: share one empty object (memory per key matters at 1M keys).
    const props = isEmpty(kv.props) ? NO_PROPS : kv.props;
    const entry: CloneEntry = { key: kv.key, seq: kv.seq, uuid: kv.uuid, props, value: kv.value, expiresAt };
    if (kv.seq > this.#seq) this.#seq = kv.seq;
    if (deleted) this.#map.delete(kv.key);
    else {
      // Re-inserted so that snapshots list keys in the order they last changed.
      this.#map.delete(kv.key);
      this.#map.set(kv.key, entry);
      if (expiresAt > 0) this.#schedule({ due: expiresAt, key: kv.key, seq: kv.seq });
    }
    return { ok: true, kv: entry, deleted };
  }

  #schedule(item: HeapItem): void {
    heapPush(this.#heap, item);
    if (this.#expiring && item.due < this.#timerDue) this.#arm(item.due);
  }

  #arm(due: number): void {
    this.#cancelTimer();
    this.#timerDue = due;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = undefined;
      this.#timerDue = Infinity;
      this.#expire();
    }, due - this.#clock.now());
  }

  #cancelTimer(): void {
    this.#timer?.();
    this.#timer = undefined;
    this.#timerDue = Infinity;
  }

  #expire(): void {
    const now = this.#clock.now();
    while (this.#heap.length > 0 && this.#heap[0]!.due <= now) {
      const item = heapPop(this.#heap)!;
      const entry = this.#map.get(item.key);
      // A key set again (or deleted) since has a newer seq: this item is stale.
      if (!entry || entry.seq !== item.seq) continue;
      const { kv } = this.#put({ key: item.key, seq: this.#seq + 1, uuid: newUuid(), props: {}, value: EMPTY }, 0);
      this.#expired++;
      this.#onExpired?.(kv);
    }
    const next = this.#heap[0];
    if (next && this.#expiring) this.#arm(next.due);
  }
}

const NO_PROPS: Properties = Object.freeze({});

function isEmpty(props: Properties): boolean {
  for (const _ in props) return false;
  return true;
}

function heapPush(heap: HeapItem[], item: HeapItem): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.due <= item.due) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: HeapItem[]): HeapItem | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length === 0 || last === undefined) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= heap.length) break;
    const r = l + 1;
    const c = r < heap.length && heap[r]!.due < heap[l]!.due ? r : l;
    if (heap[c]!.due >= last.due) break;
    heap[i] = heap[c]!;
    i = c;
  }
  heap[i] = last;
  return top;
}

/** The ttl in seconds an entry was set with (its `ttl` property), 0 for none. */
export function entryTtl(props: Properties): number {
  const raw = props[TTL_PROPERTY];
  return raw !== undefined && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : 0;
}

/** A change a {@link CloneReplica} made to its copy. */
export interface CloneChange {
  readonly key: string;
  /** The new value; undefined when the key was deleted. */
  readonly value: Buffer | undefined;
  /** The value before, if any. */
  readonly previous: Buffer | undefined;
  /** The sequence number of the update (for a snapshot, the entry's). */
  readonly seq: number;
  readonly props: Properties;
  /** `update`: a KVPUB; `snapshot`: a (re)synchronisation. */
  readonly cause: "update" | "snapshot";
}

/** What the replica did with a publication. */
export type PublicationOutcome = "applied" | "stale" | "regressed" | "buffered" | "outside" | "overflow";

/** Options of {@link CloneReplica}. */
export interface CloneReplicaOptions {
  /** Only keys under this subtree (`""` or `/a/b/`). Default all. */
  readonly subtree?: string;
  /** Updates buffered while a snapshot arrives; beyond it the oldest is dropped and the sync must run again. Default 100,000. */
  readonly maxBuffered?: number;
}

/** Counters of a {@link CloneReplica}. */
export interface CloneReplicaStats {
  /** Updates applied. */
  applied: number;
  /** Updates discarded as not newer than the snapshot or the last update. */
  stale: number;
  /** Updates outside the subtree (discarded). */
  outside: number;
  /** Gaps in the sequence seen without a subtree (a KVPUB lost). */
  gaps: number;
  /** Updates dropped from a full sync buffer. */
  bufferOverflows: number;
  /** Updates older than one already applied after the snapshot: the server's numbering changed (a restart). */
  regressions: number;
  /** Snapshots completed. */
  syncs: number;
}

/**
 * A client's copy of the hashmap (see the module documentation).
 *
 * ```ts
 * replica.beginSync();                     // after subscribing, when ICANHAZ? goes out
 * replica.snapshotEntry(kv);                // each KVSYNC
 * const changes = replica.endSync(seq);     // KTHXBAI: the copy is replaced
 * replica.publication(kv);                  // each KVPUB, before or after
 * ```
 */
export class CloneReplica {
  /** The subtree. */
  readonly subtree: string;
  /** Buffer bound while syncing. */
  readonly maxBuffered: number;
  #map = new Map<string, KvMessage>();
  #staging = new Map<string, KvMessage>();
  #buffer: KvMessage[] = [];
  #overflowed = false;
  #syncing = false;
  #synced = false;
  #seq = 0;
  #syncSeq = 0;
  readonly #c: CloneReplicaStats = { applied: 0, stale: 0, outside: 0, gaps: 0, bufferOverflows: 0, syncs: 0, regressions: 0 };

  constructor(options: CloneReplicaOptions = {}) {
    const o = optionsObject("CloneReplica", options);
    const subtree = stringOption("CloneReplica", o, "subtree", "", true);
    if (!validSubtree(subtree)) throw new InvalidOptionError("subtree", `CloneReplica: expected \`subtree\` to be "" or /segment/.../, got ${JSON.stringify(subtree)}`);
    this.subtree = subtree;
    this.maxBuffered = intOption("CloneReplica", o, "maxBuffered", 100_000, 1);
  }

  /** The last sequence number applied (the snapshot's, then each update's). */
  get seq(): number {
    return this.#seq;
  }

  /** True once a snapshot completed (and no new sync is running). */
  get synced(): boolean {
    return this.#synced && !this.#syncing;
  }

  /** True while a snapshot is arriving. */
  get syncing(): boolean {
    return this.#syncing;
  }

  /** Keys held. */
  get size(): number {
    return this.#map.size;
  }

  /** Counters. */
  stats(): CloneReplicaStats {
    return { ...this.#c };
  }

  /** The value of `key`. */
  get(key: string): Buffer | undefined {
    return this.#map.get(key)?.value;
  }

  /** The entry of `key`. */
  entry(key: string): KvMessage | undefined {
    return this.#map.get(key);
  }

  /** Every entry, sorted by key. */
  entries(): KvMessage[] {
    return [...this.#map.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** A snapshot is being requested: buffer updates until {@link endSync}. */
  beginSync(): void {
    this.#syncing = true;
    this.#staging = new Map();
    this.#buffer = [];
    this.#overflowed = false;
  }

  /** One KVSYNC; false when outside the subtree or not syncing (ignored). */
  snapshotEntry(kv: KvMessage): boolean {
    if (!this.#syncing || !kv.key.startsWith(this.subtree)) return false;
    if (kv.value.length === 0) this.#staging.delete(kv.key);
    else this.#staging.set(kv.key, kv);
    return true;
  }

  /**
   * KTHXBAI with `seq`: the copy becomes the snapshot, then the buffered updates strictly
   * newer than `seq` are applied. Returns the changes, or `resync: true` when the buffer
   * overflowed (updates were lost: request the snapshot again).
   */
  endSync(seq: number): { changes: CloneChange[]; resync: boolean } {
    if (!this.#syncing) return { changes: [], resync: false };
    this.#syncing = false;
    if (this.#overflowed) {
      this.#buffer = [];
      this.#syncing = false;
      return { changes: [], resync: true };
    }
    const changes: CloneChange[] = [];
    const old = this.#map;
    for (const [key, before] of old) {
      if (!this.#staging.has(key)) changes.push({ key, value: undefined, previous: before.value, seq, props: {}, cause: "snapshot" });
    }
    for (const [key, kv] of this.#staging) {
      const before = old.get(key);
      if (!before || !before.value.equals(kv.value)) changes.push({ key, value: kv.value, previous: before?.value, seq: kv.seq, props: kv.props, cause: "snapshot" });
    }
    this.#map = this.#staging;
    this.#staging = new Map();
    this.#seq = seq;
    this.#syncSeq = seq;
    this.#synced = true;
    this.#c.syncs++;
    const buffered = this.#buffer;
    this.#buffer = [];
    for (const kv of buffered) {
      const change = this.#apply(kv);
      if (change) changes.push(change);
    }
    return { changes, resync: false };
  }

  /** One KVPUB: applied (returns the change), or counted as stale/outside/buffered. */
  publication(kv: KvMessage): { outcome: PublicationOutcome; change?: CloneChange } {
    if (!kv.key.startsWith(this.subtree)) {
      this.#c.outside++;
      return { outcome: "outside" };
    }
    if (this.#syncing) {
      if (this.#buffer.length >= this.maxBuffered) {
        this.#buffer.shift();
        this.#c.bufferOverflows++;
        this.#overflowed = true;
        this.#buffer.push(kv);
        return { outcome: "overflow" };
      }
      this.#buffer.push(kv);
      return { outcome: "buffered" };
    }
    if (!this.#synced) {
      this.#c.stale++;
      return { outcome: "stale" };
    }
    // KVPUBs come in order on one connection: once one newer than the snapshot was applied,
    // an older one is not a late one from before the snapshot but another numbering.
    if (kv.seq <= this.#seq && this.#seq > this.#syncSeq) {
      this.#c.regressions++;
      return { outcome: "regressed" };
    }
    const change = this.#apply(kv);
    return change ? { outcome: "applied", change } : { outcome: "stale" };
  }

  #apply(kv: KvMessage): CloneChange | undefined {
    if (kv.seq <= this.#seq) {
      this.#c.stale++;
      return undefined;
    }
    if (this.subtree === "" && kv.seq > this.#seq + 1) this.#c.gaps++;
    this.#seq = kv.seq;
    this.#c.applied++;
    const before = this.#map.get(kv.key);
    if (kv.value.length === 0) this.#map.delete(kv.key);
    else this.#map.set(kv.key, kv);
    return { key: kv.key, value: kv.value.length === 0 ? undefined : kv.value, previous: before?.value, seq: kv.seq, props: kv.props, cause: "update" };
  }
}
