/**
 * {@link CloneClient}: a 12/CHP client keeping a copy of a Clone server's hashmap (or of a
 * subtree of it). It subscribes first (SUB on P + 1), then asks for the snapshot (DEALER on
 * P, `ICANHAZ?`), applies the snapshot and only the updates strictly newer than it (a
 * {@link CloneReplica}), and sends its own updates as `KVSET` (with a fresh UUID each) to the
 * collector (P + 2) of every server it knows, so that both members of an HA pair get them.
 *
 * A server that goes silent (no HUGZ or update for `serverTtl` ms), or whose sequence numbers
 * go back (a restart: a new map, a new numbering), makes the client resynchronise: with one
 * endpoint it asks the same server again (the request waits until it is back); with several,
 * a silent one is left for the next (its snapshot request is the Binary Star vote that makes
 * a backup take over).
 * @module
 */
import * as zmq from "zeromq";
import {
  EMPTY,
  InvalidOptionError,
  Lifecycle,
  QueueFullError,
  TimeoutError,
  endpointsOption,
  intOption,
  optionsObject,
  stringOption,
  toFrame,
  type FrameLike,
  type LifecycleOptions,
  type SocketHandle,
  type Ticket,
} from "../../src/index.js";
import { cloneEndpoints, type CloneEndpoints } from "./endpoints.js";
import { RESERVED_KEYS, SERVER_TTL, TTL_PROPERTY, icanhazMessage, kvFrames, newUuid, parsePublication, parseSnapshotReply } from "./protocol.js";
import { CloneReplica, type CloneChange } from "./store.js";

/** Options of {@link CloneClient}. */
export interface CloneClientOptions extends LifecycleOptions {
  /** A server's `tcp://HOST:P`, or several (an HA pair: primary first). Required. */
  readonly endpoint: string | readonly string[];
  /** Only keys under this subtree (`/a/b/`). Default all. */
  readonly subtree?: string;
  /** ms without a message from the server (HUGZ once per second) before it counts as gone, and the longest a snapshot may stall. Default 5000. */
  readonly serverTtl?: number;
  /** Changes buffered for the async iterator (oldest dropped and counted beyond). Default 10000. */
  readonly receiveQueueLimit?: number;
  /** Updates buffered while a snapshot arrives (beyond: the sync runs again). Default 100000. */
  readonly maxBuffered?: number;
  /** KVSETs queued to send. Default 10000. */
  readonly sendQueueLimit?: number;
}

/** Options of {@link CloneClient.set}. */
export interface CloneSetOptions {
  /** Seconds until the server deletes the key (the RFC's `ttl` property). Default none. */
  readonly ttl?: number;
}

/** Events of a {@link CloneClient}. */
export interface CloneClientEvents {
  [event: string]: unknown[];
  /** A key changed (an update, or a difference a snapshot made). */
  "kv:changed": [CloneChange];
  /** A snapshot completed: the copy is the server's as of `seq`. */
  "kv:synced": [{ endpoint: string; seq: number; keys: number; changes: number }];
  /** The server was silent for `serverTtl` ms, its snapshot stalled, or its sequence went back (a restart). */
  "server:lost": [{ endpoint: string; reason: "silent" | "snapshot-timeout" | "restarted"; silentMs: number }];
  /** The client moved to another server. */
  "endpoint:failover": [{ from: string; to: string }];
  /** A message broke 12/CHP: counted and dropped. */
  "message:malformed": [{ socket: "snapshot" | "subscriber"; reason: string; frames: number }];
  /** The async iterator's buffer was full: the oldest change was dropped. */
  "change:dropped": [CloneChange];
}

/** Counters of a {@link CloneClient}. */
export interface CloneClientStats {
  /** Keys held now. */
  keys: number;
  /** The last sequence number applied. */
  seq: number;
  /** KVPUBs applied; discarded as stale; outside the subtree; sequence gaps seen. */
  applied: number;
  stale: number;
  outside: number;
  gaps: number;
  /** KVPUBs older than one applied since the snapshot: the server restarted (a resync follows). */
  regressions: number;
  /** Snapshots completed; KVSYNCs received; snapshot requests sent. */
  syncs: number;
  snapshotEntries: number;
  requests: number;
  /** HUGZ received. */
  hugz: number;
  /** KVSETs sent; of those, sent again (same UUID) because their KVPUB had not come back. */
  sets: number;
  resent: number;
  /** Servers given up (silent, snapshot stalled, restarted); moves to another endpoint. */
  lost: number;
  failovers: number;
  /** Messages from a server of the list that is not the current one (dropped). */
  ignored: number;
  /** Malformed messages. */
  malformed: number;
  /** Changes dropped from the iterator's buffer; updates dropped from a full sync buffer. */
  droppedChanges: number;
  bufferOverflows: number;
}

const OWNER = "CloneClient";
let instances = 0;

/**
 * See the module documentation. Starts by itself (a subscriber); `await client.synced()`
 * resolves once the first snapshot is in.
 *
 * ```ts
 * const client = new CloneClient({ endpoint: "tcp://127.0.0.1:5556", subtree: "/config/" });
 * await client.synced();
 * client.get("/config/a")?.toString();
 * await client.set("/config/b", "2", { ttl: 60 });
 * for await (const change of client) console.log(change.key, change.value?.toString());
 * ```
 */
export class CloneClient extends Lifecycle<CloneClientEvents> {
  /** The servers, in failover order. */
  readonly servers: readonly CloneEndpoints[];
  /** The subtree. */
  readonly subtree: string;
  /** ms of silence before a server counts as gone. */
  readonly serverTtl: number;
  readonly #replica: CloneReplica;
  readonly #receiveQueueLimit: number;
  readonly #sendQueueLimit: number;
  readonly #name = `clone-client-${++instances}`;
  #current = 0;
  #attempts = 0;
  #requestOnHeard = false;
  #snapshot: SocketHandle<zmq.Dealer> | undefined;
  #pub: SocketHandle<zmq.XPublisher, "wait"> | undefined;
  #silence: Ticket | undefined;
  #lastHeard = 0;
  #collectors = 0;
  #collectorWaiters: (() => void)[] = [];
  #syncWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #buffer: CloneChange[] = [];
  #iterating = false;
  #waiters: { resolve: (r: IteratorResult<CloneChange>) => void }[] = [];
  readonly #confirmations = new Map<string, { key: string; value: Buffer; resolve: (published: boolean) => void }>();
  readonly #c = { snapshotEntries: 0, requests: 0, hugz: 0, sets: 0, resent: 0, lost: 0, failovers: 0, ignored: 0, malformed: 0, droppedChanges: 0 };

  constructor(options: CloneClientOptions) {
    const o = optionsObject(OWNER, options);
    const servers = endpointsOption(OWNER, o, "endpoint").map((e) => cloneEndpoints(OWNER, "endpoint", e));
    const subtree = stringOption(OWNER, o, "subtree", "", true);
    const serverTtl = intOption(OWNER, o, "serverTtl", SERVER_TTL, 1);
    const receiveQueueLimit = intOption(OWNER, o, "receiveQueueLimit", 10000, 1);
    const maxBuffered = intOption(OWNER, o, "maxBuffered", 100_000, 1);
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10000, 1);
    let replica: CloneReplica;
    try {
      replica = new CloneReplica({ subtree, maxBuffered });
    } catch (error) {
      throw error instanceof InvalidOptionError ? new InvalidOptionError(error.option, error.message.replace("CloneReplica", OWNER)) : error;
    }
    super(OWNER, o);
    this.servers = servers;
    this.subtree = subtree;
    this.serverTtl = serverTtl;
    this.#replica = replica;
    this.#receiveQueueLimit = receiveQueueLimit;
    this.#sendQueueLimit = sendQueueLimit;
    this.startSoon();
  }

  /** Collector subscriptions received so far: one per connection a server's collector made (libzmq reports none when one drops). */
  get collectors(): number {
    return this.#collectors;
  }

  /** The server in use (its base endpoint). */
  get endpoint(): string {
    return this.servers[this.#current]!.base;
  }

  /** True once a snapshot is in (and no resynchronisation is running). */
  get isSynced(): boolean {
    return this.#replica.synced;
  }

  /** Keys held. */
  get size(): number {
    return this.#replica.size;
  }

  /** The value of `key`, or undefined. */
  get(key: string): Buffer | undefined {
    return this.#replica.get(key);
  }

  /** Every key and value, sorted by key. */
  entries(): [string, Buffer][] {
    return this.#replica.entries().map((kv) => [kv.key, kv.value]);
  }

  /** Counters (see {@link CloneClientStats}). */
  stats(): CloneClientStats {
    const r = this.#replica.stats();
    return { keys: this.#replica.size, seq: this.#replica.seq, applied: r.applied, stale: r.stale, outside: r.outside, gaps: r.gaps, regressions: r.regressions, syncs: r.syncs, bufferOverflows: r.bufferOverflows, ...this.#c };
  }

  /** Resolves once a snapshot is in (at once when synced); rejects with `ClosedError` on close. */
  synced(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError());
    this.startOnUse();
    if (this.#replica.synced) return Promise.resolve();
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  /**
   * Send a KVSET to every server's collector: `value` sets `key` (with `ttl` seconds, the
   * server deletes it then), an empty value deletes it. Resolves once the server published it
   * (its KVPUB, with this KVSET's UUID, came back; or a snapshot shows the value): until then
   * it is sent again (same UUID) every `serverTtl / 5` ms, and after `3 x serverTtl` it
   * rejects with `TimeoutError` (the server refused it, or none is there). A key outside the
   * subtree cannot be seen coming back: it resolves once handed to ZeroMQ.
   */
  async set(key: string, value: FrameLike, options: CloneSetOptions = {}): Promise<void> {
    this.assertOpen("set");
    if (typeof key !== "string" || key.length === 0) throw new InvalidOptionError("key", `${OWNER}.set: expected \`key\` to be a non-empty string, got ${JSON.stringify(key)}`);
    if (RESERVED_KEYS.includes(key)) throw new InvalidOptionError("key", `${OWNER}.set: key ${JSON.stringify(key)} is reserved by 12/CHP`);
    const o = optionsObject(`${OWNER}.set`, options);
    const ttl = o.ttl;
    if (ttl !== undefined && (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0)) throw new InvalidOptionError("ttl", `${OWNER}.set: expected \`ttl\` to be a number of seconds >= 0, got ${String(ttl)}`);
    const frame = toFrame(value);
    this.startOnUse();
    await this.#collectorReady();
    const props: Record<string, string> = ttl ? { [TTL_PROPERTY]: String(ttl) } : {};
    const uuid = newUuid();
    const frames = kvFrames({ key, seq: 0, uuid, props, value: frame });
    if (!key.startsWith(this.subtree)) return this.#send(frames);
    // A PUB drops what it sends while a collector's connection is not up (a server just
    // restarted): send again (same UUID: the server drops a repeat) until our KVPUB comes back.
    if (this.#confirmations.size >= this.#sendQueueLimit) throw new QueueFullError(this.#sendQueueLimit, `unconfirmed KVSETs of ${OWNER}`);
    const id = uuid.toString("hex");
    const confirmed = new Promise<boolean>((resolve) => this.#confirmations.set(id, { key, value: frame, resolve }));
    const deadline = this.reactor.clock.now() + 3 * this.serverTtl;
    try {
      for (;;) {
        await this.#send(frames);
        const retry = Math.max(100, Math.round(this.serverTtl / 5));
        let timer: { cancel(): void } | undefined;
        const again = new Promise<boolean>((resolve) => (timer = this.reactor.after(retry, () => resolve(false))));
        const done = await Promise.race([confirmed, again]);
        timer?.cancel();
        if (done) return;
        if (this.closed) throw this.closedError();
        if (this.reactor.clock.now() >= deadline) throw new TimeoutError(`${OWNER}.set: ${JSON.stringify(key)} was not published within ${3 * this.serverTtl} ms (refused by the server? see its kv:refused)`);
        this.#c.resent++;
      }
    } finally {
      this.#confirmations.delete(id);
    }
  }

  async #send(frames: Buffer[]): Promise<void> {
    const pub = this.#pub;
    if (!pub || pub.closed || !(await pub.send(frames))) throw this.closedError();
    this.#c.sets++;
  }

  /** A KVPUB (from any server of the list) or a snapshot settles the `set()`s it shows. */
  #confirm(uuid: Buffer | undefined): void {
    if (this.#confirmations.size === 0) return;
    if (uuid) {
      if (uuid.length === 0) return;
      const id = uuid.toString("hex");
      this.#confirmations.get(id)?.resolve(true);
      return;
    }
    // After a snapshot (no UUIDs in it): a key now holding the value sent is published.
    for (const c of this.#confirmations.values()) {
      const now = this.#replica.get(c.key);
      if (c.value.length === 0 ? now === undefined : now?.equals(c.value)) c.resolve(true);
    }
  }

  /** Delete `key` (a KVSET with an empty value). */
  delete(key: string): Promise<void> {
    return this.set(key, EMPTY);
  }

  /** Resolves when every KVSET queued so far has been handed to ZeroMQ. */
  async flush(): Promise<void> {
    await this.#pub?.flush();
  }

  /** The changes as they come (buffered up to `receiveQueueLimit` while iterating). Ends on close. */
  [Symbol.asyncIterator](): AsyncIterator<CloneChange> {
    this.#iterating = true;
    this.startOnUse();
    return {
      next: () => {
        const change = this.#buffer.shift();
        if (change) return Promise.resolve({ value: change, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.#waiters.push({ resolve }));
      },
      return: () => {
        this.#iterating = false;
        this.#buffer = [];
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  protected onStart(): void {
    const pub = this.ownSocket(new zmq.XPublisher({ verbosity: "allSubsUnsubs", sendHighWaterMark: 100_000 }), {
      name: `${this.#name}-publisher`,
      sendQueueLimit: this.#sendQueueLimit,
      overflow: "wait",
      linger: 2000,
      onMessage: (frames) => this.#onSubscription(frames),
    });
    for (const s of this.servers) pub.socket.connect(s.collector);
    this.#pub = pub;
    // One SUB per server for the client's whole life, subscribed from the start: after a
    // failover the next server's SUB has long been subscribed when the snapshot is asked for.
    // Only the current server's messages are used.
    this.servers.forEach((server, i) => {
      const sub = this.ownSocket(new zmq.Subscriber({ receiveHighWaterMark: 100_000 }), { name: `${this.#name}-subscriber-${i}`, onMessage: (m) => this.#onPublication(i, m) });
      sub.socket.subscribe(this.subtree);
      if (this.subtree !== "") sub.socket.subscribe("HUGZ");
      sub.socket.connect(server.publisher);
    });
    this.own(() => this.#snapshot?.close());
    this.#silence = this.ownTimer(this.reactor.tickets(this.serverTtl).add(() => this.#onSilence()));
    this.#startSync();
  }

  protected override onClose(): void {
    for (const w of this.#syncWaiters.splice(0)) w.reject(this.closedError());
    for (const w of this.#collectorWaiters.splice(0)) w();
    for (const c of this.#confirmations.values()) c.resolve(false);
    for (const w of this.#waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  #collectorReady(): Promise<void> {
    if (this.#collectors > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = this.reactor.after(this.serverTtl, () => {
        const i = this.#collectorWaiters.indexOf(done);
        if (i >= 0) this.#collectorWaiters.splice(i, 1);
        reject(new TimeoutError(`${OWNER}.set: no server's collector subscribed within serverTtl ${this.serverTtl} ms (${this.servers.map((s) => s.collector).join(", ")})`));
      });
      const done = () => {
        timer.cancel();
        if (this.closed) reject(this.closedError());
        else resolve();
      };
      this.#collectorWaiters.push(done);
    });
  }

  #onSubscription(frames: Buffer[]): void {
    // XPUB: each collector's SUB subscribes (0x01 + prefix) when it connects, and libzmq
    // unsubscribes it (0x00 + prefix) when its connection ends (a server killed).
    const op = frames[0]?.[0];
    if (op === 0) this.#collectors = Math.max(0, this.#collectors - 1);
    if (op !== 1) return;
    this.#collectors++;
    for (const w of this.#collectorWaiters.splice(0)) w();
  }

  /**
   * A fresh DEALER to the current server and a new snapshot request (queued until it
   * connects), at once or, with `afterHeard`, once the current server's SUB has a message.
   */
  #startSync(afterHeard = false): void {
    void this.#snapshot?.close();
    this.#snapshot = undefined;
    this.#replica.beginSync();
    this.#lastHeard = this.reactor.clock.now();
    const dealer = this.reactor.add(new zmq.Dealer({ linger: 0 }), { name: `${this.#name}-snapshot`, onMessage: (m) => this.#onSnapshot(m) });
    this.#snapshot = dealer;
    dealer.socket.connect(this.servers[this.#current]!.snapshot);
    this.#requestOnHeard = afterHeard;
    if (!afterHeard) this.#request();
  }

  #request(): void {
    const dealer = this.#snapshot;
    if (!dealer || dealer.closed) return;
    this.#attempts++;
    this.#c.requests++;
    dealer.send(icanhazMessage(this.subtree));
    this.#silence?.reset();
  }

  #heard(): void {
    this.#lastHeard = this.reactor.clock.now();
    this.#silence?.reset();
  }

  #onPublication(server: number, frames: Buffer[]): void {
    if (server !== this.#current) {
      // Another server of the list (a passive one publishes nothing; one that took over
      // before we moved to it does): it may still confirm a set().
      const p = parsePublication(frames);
      if (p.type === "kvpub") this.#confirm(p.kv.uuid);
      this.#c.ignored++;
      return;
    }
    const p = parsePublication(frames);
    if (p.type === "malformed") return this.#malformed("subscriber", p.reason, frames.length);
    this.#heard();
    if (this.#requestOnHeard) {
      this.#requestOnHeard = false;
      this.#request();
    }
    if (p.type === "hugz") {
      this.#c.hugz++;
      return;
    }
    const { outcome, change } = this.#replica.publication(p.kv);
    this.#confirm(p.kv.uuid);
    if (change) this.#changed(change);
    // An older sequence after newer ones: another server's numbering (a restart).
    else if (outcome === "regressed") this.#lost("restarted");
  }

  #onSnapshot(frames: Buffer[]): void {
    const r = parseSnapshotReply(frames);
    if (r.type === "malformed") return this.#malformed("snapshot", r.reason, frames.length);
    this.#heard();
    if (r.type === "kvsync") {
      if (this.#replica.snapshotEntry(r.kv)) this.#c.snapshotEntries++;
      return;
    }
    const { changes, resync } = this.#replica.endSync(r.seq);
    if (resync) {
      this.#replica.beginSync();
      this.#request();
      return;
    }
    this.#attempts = 0;
    for (const change of changes) this.#changed(change);
    this.#confirm(undefined);
    if (this.listenerCount("kv:synced") > 0) this.emit("kv:synced", { endpoint: this.endpoint, seq: r.seq, keys: this.#replica.size, changes: changes.length });
    for (const w of this.#syncWaiters.splice(0)) w.resolve();
  }

  #changed(change: CloneChange): void {
    if (this.listenerCount("kv:changed") > 0) this.emit("kv:changed", change);
    if (!this.#iterating) return;
    const waiter = this.#waiters.shift();
    if (waiter) return waiter.resolve({ value: change, done: false });
    if (this.#buffer.length >= this.#receiveQueueLimit) {
      const dropped = this.#buffer.shift()!;
      this.#c.droppedChanges++;
      if (this.listenerCount("change:dropped") > 0) this.emit("change:dropped", dropped);
    }
    this.#buffer.push(change);
  }

  #onSilence(): void {
    if (this.closed) return;
    this.#lost(this.#replica.syncing ? "snapshot-timeout" : "silent");
  }

  /**
   * The server is gone, not answering, or restarted: with one endpoint, ask it again on a
   * fresh DEALER (the request waits there until the server is back); with several, ask the
   * same one once more after a stalled snapshot (a passive Binary Star member takes over on a
   * later vote), else move to the next. A restarted server is asked again.
   */
  #lost(reason: "silent" | "snapshot-timeout" | "restarted"): void {
    this.#c.lost++;
    if (this.listenerCount("server:lost") > 0) this.emit("server:lost", { endpoint: this.endpoint, reason, silentMs: this.reactor.clock.now() - this.#lastHeard });
    const retrySame = reason === "restarted" || (reason === "snapshot-timeout" && this.#attempts < 2);
    if (this.servers.length > 1 && !retrySame) {
      const from = this.endpoint;
      this.#current = (this.#current + 1) % this.servers.length;
      this.#attempts = 0;
      this.#c.failovers++;
      if (this.listenerCount("endpoint:failover") > 0) this.emit("endpoint:failover", { from, to: this.endpoint });
      // That server's SUB has been subscribed since the start: ask at once (a passive Binary
      // Star member sends nothing until this request, its vote, makes it active).
      return this.#startSync(false);
    }
    // The same server. Silent, it may be restarting and its SUB still reconnecting: subscribe
    // first, then snapshot, so with one server ask once its SUB heard from it (HUGZ at
    // least). A restart told by its sequence came over a connected SUB; a stalled snapshot
    // of one of several servers is a passive member's, which sends nothing: ask at once.
    this.#startSync(this.servers.length === 1 && reason !== "restarted");
  }

  #malformed(socket: "snapshot" | "subscriber", reason: string, frames: number): void {
    this.#c.malformed++;
    if (this.listenerCount("message:malformed") > 0) this.emit("message:malformed", { socket, reason, frames });
  }
}
