/**
 * A table of peers keyed by routing id, each with an O(1) expiry ticket: the server half of
 * heartbeating (queues, brokers, pub-sub servers). `touch(id)` on any traffic from the peer
 * resets its ticket; a peer silent for `expiry` ms is removed and reported to `onExpire`.
 * Iteration order is insertion order (use {@link PeerTable.moveToEnd} for LRU lists).
 * @module
 */
import { idKey } from "./frames.js";
import { InvalidOptionError } from "./errors.js";
import type { Reactor } from "./reactor.js";
import type { Ticket, TicketList } from "./timers.js";

/** One row of a {@link PeerTable}. */
export interface PeerEntry<T> {
  /** Routing id. */
  readonly id: Buffer;
  /** `idKey(id)`: the map key. */
  readonly key: string;
  /** Pattern-specific state. */
  state: T;
  /** Clock time the peer was last heard from. */
  lastSeen: number;
  /** @internal */
  ticket: Ticket;
}

/** See the module documentation. */
export class PeerTable<T> {
  readonly #map = new Map<string, PeerEntry<T>>();
  readonly #tickets: TicketList;
  readonly #reactor: Reactor;
  #expired = 0;

  constructor(
    reactor: Reactor,
    /** Silence (ms) after which a peer expires. */
    readonly expiry: number,
    private readonly onExpire: (entry: PeerEntry<T>) => void,
  ) {
    if (typeof reactor !== "object" || reactor === null || typeof (reactor as Partial<Reactor>).tickets !== "function") {
      throw new InvalidOptionError("reactor", `PeerTable: expected \`reactor\` to be a Reactor, got ${String(reactor)}`);
    }
    if (typeof expiry !== "number" || !Number.isInteger(expiry) || expiry < 1) {
      throw new InvalidOptionError("expiry", `PeerTable: expected \`expiry\` to be an integer >= 1, got ${String(expiry)}`);
    }
    if (typeof onExpire !== "function") throw new InvalidOptionError("onExpire", "PeerTable: expected `onExpire` to be a function");
    this.#reactor = reactor;
    this.#tickets = reactor.tickets(expiry);
  }

  /** Number of peers. */
  get size(): number {
    return this.#map.size;
  }

  /** Number of peers removed by expiry so far. */
  get expired(): number {
    return this.#expired;
  }

  /** The entry for `id`, if any. */
  get(id: Buffer | string): PeerEntry<T> | undefined {
    return this.#map.get(typeof id === "string" ? id : idKey(id));
  }

  /** True when `id` is in the table. */
  has(id: Buffer | string): boolean {
    return this.get(id) !== undefined;
  }

  /** Add a peer (replacing any entry with the same id) with a fresh expiry ticket. */
  add(id: Buffer, state: T): PeerEntry<T> {
    const key = idKey(id);
    this.#map.get(key)?.ticket.cancel();
    const entry: PeerEntry<T> = {
      id,
      key,
      state,
      lastSeen: this.#reactor.clock.now(),
      ticket: this.#tickets.add(() => {
        if (this.#map.get(key) !== entry) return;
        this.#map.delete(key);
        this.#expired++;
        this.onExpire(entry);
      }),
    };
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry;
  }

  /** Record traffic from `id`: resets its expiry (O(1)). Returns the entry, if known. */
  touch(id: Buffer | string): PeerEntry<T> | undefined {
    const entry = this.get(id);
    if (entry) {
      entry.lastSeen = this.#reactor.clock.now();
      entry.ticket.reset();
    }
    return entry;
  }

  /** Move `id` to the end of the iteration order (most recently used). */
  moveToEnd(entry: PeerEntry<T>): void {
    if (this.#map.get(entry.key) !== entry) return;
    this.#map.delete(entry.key);
    this.#map.set(entry.key, entry);
  }

  /** Remove a peer without calling `onExpire`. Returns the removed entry. */
  delete(id: Buffer | string): PeerEntry<T> | undefined {
    const entry = this.get(id);
    if (entry) {
      entry.ticket.cancel();
      this.#map.delete(entry.key);
    }
    return entry;
  }

  /** All entries, in insertion (or {@link moveToEnd}) order. */
  values(): IterableIterator<PeerEntry<T>> {
    return this.#map.values();
  }

  /** Remove everything (no `onExpire` calls). */
  clear(): void {
    for (const entry of this.#map.values()) entry.ticket.cancel();
    this.#map.clear();
  }
}
