/**
 * The Freelance client's server table, socket-free: which servers are alive, when each is
 * pinged next, and which one a request goes to. The client drives it with the clock's time
 * ({@link ServerTable.tick} on a timer, {@link ServerTable.heard} on every message from a
 * server), so test/unit/freelance-servers.test.ts checks it on `ManualClock` to the millisecond.
 *
 * - A server is alive from any message it sends (a PONG or a reply) until `serverTtl` ms after
 *   its last one; then it is dead until it speaks again.
 * - A live server is pinged every `pingInterval` ms. A server not alive (never heard, expired,
 *   or unreachable) is pinged every `probeInterval` ms, so a server that comes up (or back) is
 *   found quickly; a ping to a peer that is not connected never leaves the client.
 * - {@link ServerTable.pick} takes the live servers in turn (round-robin), skipping those a
 *   request was already sent to while there are others.
 * @module
 */

/** One server, as the table sees it. */
export interface ServerEntry {
  /** The endpoint, also the server's routing id (10/FLP). */
  readonly endpoint: string;
  /** `Buffer.from(endpoint)`: the routing id frame. */
  readonly id: Buffer;
  /** Heard from within `serverTtl`. */
  alive: boolean;
  /** Clock time of the last message from it; undefined if never heard. */
  lastSeen: number | undefined;
  /** Clock time of its next ping. */
  nextPingAt: number;
}

/** What a {@link ServerTable.tick} found due. */
export interface TickResult {
  /** Servers to ping now. */
  readonly ping: ServerEntry[];
  /** Servers that just expired (alive -> dead). */
  readonly expired: ServerEntry[];
}

/** Timing of a {@link ServerTable}. */
export interface ServerTableOptions {
  readonly pingInterval: number;
  readonly serverTtl: number;
  readonly probeInterval: number;
}

/** See the module documentation. */
export class ServerTable {
  readonly #byEndpoint = new Map<string, ServerEntry>();
  readonly #order: ServerEntry[] = [];
  readonly #options: ServerTableOptions;
  #next = 0;

  constructor(endpoints: readonly string[], options: ServerTableOptions, now: number) {
    this.#options = options;
    for (const endpoint of endpoints) {
      if (this.#byEndpoint.has(endpoint)) continue;
      const entry: ServerEntry = { endpoint, id: Buffer.from(endpoint), alive: false, lastSeen: undefined, nextPingAt: now };
      this.#byEndpoint.set(endpoint, entry);
      this.#order.push(entry);
    }
  }

  /** Every server, in the order given. */
  get servers(): readonly ServerEntry[] {
    return this.#order;
  }

  /** The live servers, in the order given. */
  live(): ServerEntry[] {
    return this.#order.filter((s) => s.alive);
  }

  /** The server with this endpoint (= routing id), if it is one of ours. */
  get(endpoint: string): ServerEntry | undefined {
    return this.#byEndpoint.get(endpoint);
  }

  /**
   * A message from `endpoint` arrived at `now`. Returns the entry and whether it just became
   * alive, or undefined for a routing id that is not one of our servers.
   */
  heard(endpoint: string, now: number): { entry: ServerEntry; revived: boolean } | undefined {
    const entry = this.#byEndpoint.get(endpoint);
    if (!entry) return undefined;
    const revived = !entry.alive;
    entry.alive = true;
    entry.lastSeen = now;
    if (revived) entry.nextPingAt = now + this.#options.pingInterval;
    return { entry, revived };
  }

  /** The server cannot be reached (its connection is gone): dead now. Returns true if it was alive. */
  lost(endpoint: string, now: number): boolean {
    const entry = this.#byEndpoint.get(endpoint);
    if (!entry || !entry.alive) return false;
    entry.alive = false;
    entry.nextPingAt = Math.min(entry.nextPingAt, now + this.#options.probeInterval);
    return true;
  }

  /** Expire servers silent for `serverTtl` and collect the pings due at `now`. */
  tick(now: number): TickResult {
    const ping: ServerEntry[] = [];
    const expired: ServerEntry[] = [];
    for (const s of this.#order) {
      if (s.alive && s.lastSeen !== undefined && now - s.lastSeen >= this.#options.serverTtl) {
        s.alive = false;
        expired.push(s);
        s.nextPingAt = Math.min(s.nextPingAt, now);
      }
      if (now >= s.nextPingAt) {
        ping.push(s);
        s.nextPingAt = now + (s.alive ? this.#options.pingInterval : this.#options.probeInterval);
      }
    }
    return { ping, expired };
  }

  /**
   * The live server the next attempt goes to: the next in turn not in `tried`, else the next
   * in turn; undefined when none is alive.
   */
  pick(tried?: ReadonlySet<string>): ServerEntry | undefined {
    const n = this.#order.length;
    let fallback: ServerEntry | undefined;
    let fallbackAt = 0;
    for (let k = 0; k < n; k++) {
      const i = (this.#next + k) % n;
      const s = this.#order[i]!;
      if (!s.alive) continue;
      if (!tried?.has(s.endpoint)) {
        this.#next = (i + 1) % n;
        return s;
      }
      if (!fallback) {
        fallback = s;
        fallbackAt = i;
      }
    }
    if (fallback) this.#next = (fallbackAt + 1) % n;
    return fallback;
  }
}
