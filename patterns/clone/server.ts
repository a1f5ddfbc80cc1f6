/**
 * {@link CloneServer}: the 12/CHP server. A ROUTER on port P answers `ICANHAZ?` with a
 * snapshot of the subtree (`KVSYNC`* then `KTHXBAI`), a PUB on P + 1 publishes every
 * accepted update as `KVPUB` with a strictly increasing sequence number (and `HUGZ` once per
 * `heartbeatInterval` when idle), and a SUB on P + 2 collects the clients' `KVSET`s. The map
 * is a {@link CloneStore}: bounded keys and value size, ttl expiry broadcast as deletes.
 *
 * With `ha` it is one of a Binary Star pair (the Guide's model 6): snapshot requests are the
 * client votes; the passive server copies its active peer (snapshot, then its KVPUBs) and
 * keeps the KVSETs clients sent it that the active has not published yet, de-duplicated by
 * UUID, and applies them when it takes over.
 * @module
 */
import * as zmq from "zeromq";
import { BoundedQueue, InvalidOptionError, Lifecycle, intOption, objectOption, optionsObject, requiredOption, type LifecycleOptions, type SocketHandle } from "../../src/index.js";
import { BinaryStar, binaryStarHaOption, type BinaryStarEvents, type BinaryStarHaOptions, type BinaryStarSettings, type BinaryStarState, type BinaryStarStats } from "../binary-star/index.js";
import { cloneEndpoints, type CloneEndpoints } from "./endpoints.js";
import { HUGZ_INTERVAL, SERVER_TTL, hugzMessage, icanhazMessage, kthxbaiMessage, kvFrames, kvsyncMessage, parsePublication, parseSnapshotReply, parseSnapshotRequest, parseUpdate, type KvMessage } from "./protocol.js";
import { CLONE_MAX_KEYS, CLONE_MAX_VALUE_SIZE, CloneReplica, CloneStore, entryTtl, type CloneEntry, type RefusalReason } from "./store.js";

/** The `ha` option of a {@link CloneServer}: a Binary Star role plus the peer's Clone endpoint. */
export interface CloneHaOptions extends BinaryStarHaOptions {
  /** The peer Clone server's base endpoint as reachable from here, `tcp://HOST:P` (its snapshot port; P + 1 its publisher). Required. */
  readonly peer: string;
}

/** Options of {@link CloneServer}. */
export interface CloneServerOptions extends LifecycleOptions {
  /** `tcp://HOST:P`: binds P (snapshot ROUTER), P + 1 (PUB) and P + 2 (collector SUB). Required. */
  readonly bind: string;
  /** ms between HUGZ when no update went out. Default 1000 (the RFC's "once per second"). */
  readonly heartbeatInterval?: number;
  /** Most keys held; a KVSET of a new key beyond it is refused (`kv:refused`, reason `max-keys`). Default 1,000,000. */
  readonly maxKeys?: number;
  /** Largest value in bytes; a bigger KVSET is refused (`value-size`). Default 1 MiB. */
  readonly maxValueSize?: number;
  /** Snapshots being sent at once. Default 16. */
  readonly maxClients?: number;
  /** Snapshot requests waiting for a slot (beyond: refused, reason `max-clients`); with `ha`, also the passive's pending KVSETs. Default 1000. */
  readonly maxPending?: number;
  /** The send queue of each socket. Default 10000. */
  readonly sendQueueLimit?: number;
  /** Run as one of a Binary Star pair (see the module documentation). */
  readonly ha?: CloneHaOptions;
}

/** Counters of a {@link CloneServer}. */
export interface CloneServerStats {
  /** Keys held now. */
  keys: number;
  /** The sequence number of the last update. */
  seq: number;
  /** KVSETs received (well-formed). */
  updates: number;
  /** KVPUBs published (updates, deletes, expiries, pending KVSETs applied on takeover). */
  published: number;
  /** Of those, deletes (empty value). */
  deletes: number;
  /** Keys expired by their ttl. */
  expired: number;
  /** KVSETs refused: beyond `maxKeys`, `maxValueSize`, the key size, a reserved key. */
  refused: number;
  refusedMaxKeys: number;
  refusedValueSize: number;
  refusedKeySize: number;
  refusedReservedKey: number;
  /** HUGZ sent. */
  hugz: number;
  /** Snapshots completed (KTHXBAI sent). */
  snapshots: number;
  /** KVSYNCs sent. */
  snapshotEntries: number;
  /** Snapshot requests refused: no slot (`max-clients`), or not active (`ha`). */
  refusedSnapshots: number;
  /** Snapshots cut short: the client went away or stopped reading. */
  abortedSnapshots: number;
  /** Snapshots being sent now / waiting for a slot. */
  snapshotsActive: number;
  snapshotsWaiting: number;
  /** Malformed messages at the snapshot ROUTER, at the collector, from the HA peer. */
  malformed: number;
  malformedSnapshot: number;
  malformedCollector: number;
  malformedPeer: number;
  /** `ha`: KVSETs held while passive / dropped from a full pending list; KVSETs dropped as already published (a client's repeat, or, passive, one the active published first). */
  pending: number;
  pendingDropped: number;
  duplicates: number;
  /** `ha`: updates copied from the active peer; peer snapshots completed; pending KVSETs applied on takeover. */
  replicated: number;
  peerSyncs: number;
  pendingApplied: number;
  /** The Binary Star counters, with `ha` once started. */
  ha: BinaryStarStats | undefined;
}

/** Events of a {@link CloneServer}. */
export interface CloneServerEvents {
  [event: string]: unknown[];
  /** A KVSET was refused (counted, nothing published). */
  "kv:refused": [{ key: string; reason: RefusalReason; message: string; uuid: Buffer }];
  /** A key's ttl ran out: its delete was published. */
  "kv:expired": [{ key: string; seq: number }];
  /** A snapshot was sent. */
  "snapshot:sent": [{ client: Buffer; subtree: string; keys: number; seq: number }];
  /** A snapshot request was refused: no slot, or this server is not active (`ha`). */
  "snapshot:refused": [{ client: Buffer; reason: "max-clients" | "not-active" }];
  /** A snapshot was cut short. */
  "snapshot:aborted": [{ client: Buffer; reason: "unsent" | "closed" }];
  /** A message broke 12/CHP: counted and dropped. */
  "message:malformed": [{ socket: "snapshot" | "collector" | "peer"; reason: string; frames: number; id?: Buffer }];
  /** `ha`: this server copied its active peer's snapshot. */
  "peer:synced": [{ seq: number; keys: number }];
  /** `ha`: on takeover, the pending KVSETs were applied. */
  "pending:applied": [{ count: number }];
  "bstar:state": BinaryStarEvents["bstar:state"];
  "bstar:active": BinaryStarEvents["bstar:active"];
  "bstar:passive": BinaryStarEvents["bstar:passive"];
  "bstar:fatal": BinaryStarEvents["bstar:fatal"];
}

interface SnapshotJob {
  readonly client: Buffer;
  readonly subtree: string;
}

interface PendingSet {
  readonly kv: KvMessage;
  readonly ttl: number;
}

const OWNER = "CloneServer";
/** Messages queued on the snapshot ROUTER before a stream waits for it to drain. */
const SNAPSHOT_BATCH = 1000;

/**
 * See the module documentation. Starts by itself (or `await server.start()`, which resolves
 * once the three ports are bound and rejects when one cannot be).
 *
 * ```ts
 * const server = await CloneServer.start({ bind: "tcp://*:5556" });
 * ```
 */
export class CloneServer extends Lifecycle<CloneServerEvents> {
  /** The three endpoints. */
  readonly endpoints: CloneEndpoints;
  /** ms between idle HUGZ. */
  readonly heartbeatInterval: number;
  /** The hashmap. */
  readonly store: CloneStore;
  readonly #maxClients: number;
  readonly #sendQueueLimit: number;
  readonly #waiting: BoundedQueue<SnapshotJob>;
  readonly #ha: (BinaryStarSettings & { peer: CloneEndpoints }) | undefined;
  readonly #pending = new Map<string, PendingSet>();
  readonly #published = new Map<string, true>();
  readonly #maxPending: number;
  #pendingSerial = 0;
  #star: BinaryStar | undefined;
  #router: SocketHandle<zmq.Router> | undefined;
  #pub: SocketHandle<zmq.Publisher> | undefined;
  #peerSnapshot: SocketHandle<zmq.Dealer> | undefined;
  #peerReplica: CloneReplica | undefined;
  #peerTimer: { cancel(): void } | undefined;
  #streams = 0;
  #sentSinceHugz = false;
  readonly #c = {
    updates: 0,
    published: 0,
    deletes: 0,
    refused: 0,
    refusedMaxKeys: 0,
    refusedValueSize: 0,
    refusedKeySize: 0,
    refusedReservedKey: 0,
    hugz: 0,
    snapshots: 0,
    snapshotEntries: 0,
    refusedSnapshots: 0,
    abortedSnapshots: 0,
    malformedSnapshot: 0,
    malformedCollector: 0,
    malformedPeer: 0,
    pendingDropped: 0,
    duplicates: 0,
    replicated: 0,
    peerSyncs: 0,
    pendingApplied: 0,
  };

  constructor(options: CloneServerOptions) {
    const o = optionsObject(OWNER, options);
    requiredOption(OWNER, o, "bind", '"tcp://HOST:P"');
    const endpoints = cloneEndpoints(OWNER, "bind", o.bind);
    const heartbeatInterval = intOption(OWNER, o, "heartbeatInterval", HUGZ_INTERVAL, 1);
    const maxKeys = intOption(OWNER, o, "maxKeys", CLONE_MAX_KEYS, 1);
    const maxValueSize = intOption(OWNER, o, "maxValueSize", CLONE_MAX_VALUE_SIZE, 1);
    const maxClients = intOption(OWNER, o, "maxClients", 16, 1);
    const maxPending = intOption(OWNER, o, "maxPending", 1000, 1);
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10000, 1);
    const ha = cloneHaOption(o);
    super(OWNER, o);
    this.endpoints = endpoints;
    this.heartbeatInterval = heartbeatInterval;
    this.#maxClients = maxClients;
    this.#maxPending = maxPending;
    this.#sendQueueLimit = sendQueueLimit;
    this.#waiting = new BoundedQueue<SnapshotJob>(maxPending, "drop-newest", `snapshot requests of ${OWNER}`);
    this.#ha = ha;
    this.store = new CloneStore({ maxKeys, maxValueSize, clock: this.reactor.clock, onExpired: (kv) => this.#expired(kv) });
    // With `ha`, nothing expires until this server is active.
    if (ha) this.store.expiring = false;
    this.startSoon();
  }

  /** The Binary Star part, with `ha` once started. */
  get star(): BinaryStar | undefined {
    return this.#star;
  }

  /** This server's Binary Star state, with `ha` once started. */
  get haState(): BinaryStarState | undefined {
    return this.#star?.haState;
  }

  /** True while it serves clients (always without `ha`). */
  get serving(): boolean {
    return !this.#ha || this.#star?.serving === true;
  }

  /** Counters (see {@link CloneServerStats}). */
  stats(): CloneServerStats {
    const c = this.#c;
    return {
      keys: this.store.size,
      seq: this.store.seq,
      ...c,
      expired: this.store.expired,
      malformed: c.malformedSnapshot + c.malformedCollector + c.malformedPeer,
      snapshotsActive: this.#streams,
      snapshotsWaiting: this.#waiting.size,
      pending: this.#pending.size,
      ha: this.#star?.stats(),
    };
  }

  protected async onStart(): Promise<void> {
    const { snapshot, publisher, collector } = this.endpoints;
    // mandatory: a client gone mid-snapshot is an error (counted), not a silent drop; the
    // send waits up to 2 s for a slow reader, then the rest of its snapshot is abandoned.
    const router = this.ownSocket(new zmq.Router({ mandatory: true, sendTimeout: 2000, sendHighWaterMark: 10000 }), {
      name: "clone-snapshot",
      sendQueueLimit: this.#sendQueueLimit,
      overflow: "drop-newest",
      onMessage: (m) => this.#onSnapshotRequest(m),
    });
    await router.socket.bind(snapshot);
    this.#router = router;
    const pub = this.ownSocket(new zmq.Publisher({ sendHighWaterMark: 100_000 }), { name: "clone-publisher", sendQueueLimit: this.#sendQueueLimit, overflow: "drop-newest" });
    await pub.socket.bind(publisher);
    this.#pub = pub;
    const sub = this.ownSocket(new zmq.Subscriber({ receiveHighWaterMark: 100_000 }), { name: "clone-collector", onMessage: (m) => this.#onCollector(m) });
    sub.socket.subscribe();
    await sub.socket.bind(collector);
    this.ownTimer(
      this.reactor.every(this.heartbeatInterval, () => {
        if (!this.#sentSinceHugz && this.serving) this.#publish(hugzMessage(), true);
        this.#sentSinceHugz = false;
      }),
    );
    this.own(() => this.store.close());
    if (this.#ha) await this.#startHa(this.#ha);
  }

  protected override onClose(): void {
    this.#waiting.drain();
  }

  // --- snapshots -------------------------------------------------------------------------

  #onSnapshotRequest(frames: Buffer[]): void {
    const client = frames[0]!;
    const req = parseSnapshotRequest(frames);
    if (req.type === "malformed") return this.#malformed("snapshot", req.reason, frames.length, client);
    if (this.#star && !this.#star.accept()) return this.#refuseSnapshot(client, "not-active");
    const job: SnapshotJob = { client, subtree: req.subtree };
    if (this.#streams < this.#maxClients) return void this.#stream(job);
    if (!this.#waiting.push(job).accepted) this.#refuseSnapshot(client, "max-clients");
  }

  #refuseSnapshot(client: Buffer, reason: "max-clients" | "not-active"): void {
    this.#c.refusedSnapshots++;
    if (this.listenerCount("snapshot:refused") > 0) this.emit("snapshot:refused", { client, reason });
  }

  /** Send one snapshot: taken at once (a consistent point, `seq`), then sent in batches. */
  async #stream(job: SnapshotJob): Promise<void> {
    this.#streams++;
    try {
      const entries = [...this.store.snapshot(job.subtree)];
      const seq = this.store.seq;
      const router = this.#router!;
      const unsent = router.stats().dropped;
      for (let i = 0; i < entries.length; i++) {
        if (router.closed) return this.#abort(job, "closed");
        const e = entries[i]!;
        router.send(kvsyncMessage(job.client, e.key, e.seq, e.value));
        if (router.queued >= SNAPSHOT_BATCH) {
          await router.flush();
          if (router.stats().dropped !== unsent) return this.#abort(job, "unsent");
        }
      }
      router.send(kthxbaiMessage(job.client, seq, job.subtree));
      await router.flush();
      if (router.stats().dropped !== unsent) return this.#abort(job, "unsent");
      this.#c.snapshotEntries += entries.length;
      this.#c.snapshots++;
      if (this.listenerCount("snapshot:sent") > 0) this.emit("snapshot:sent", { client: job.client, subtree: job.subtree, keys: entries.length, seq });
    } finally {
      this.#streams--;
      const next = this.closed ? undefined : this.#waiting.shift();
      if (next) void this.#stream(next);
    }
  }

  #abort(job: SnapshotJob, reason: "unsent" | "closed"): void {
    this.#c.abortedSnapshots++;
    if (this.listenerCount("snapshot:aborted") > 0) this.emit("snapshot:aborted", { client: job.client, reason });
  }

  // --- updates ---------------------------------------------------------------------------

  #onCollector(frames: Buffer[]): void {
    const update = parseUpdate(frames);
    if (update.type === "malformed") return this.#malformed("collector", update.reason, frames.length);
    this.#c.updates++;
    const { kv, ttl } = update;
    if (!this.serving) return this.#hold(kv, ttl);
    // A client sends a KVSET again (same UUID) until it sees it published: apply it once.
    if (kv.uuid.length > 0 && this.#published.has(kv.uuid.toString("hex"))) {
      this.#c.duplicates++;
      return;
    }
    this.#apply(kv, ttl);
  }

  /** Remember a published UUID (bounded: the oldest forgotten) so that a repeat is dropped. */
  #remember(uuid: Buffer): void {
    if (uuid.length === 0) return;
    this.#published.set(uuid.toString("hex"), true);
    if (this.#published.size > this.#maxPending) this.#published.delete(this.#published.keys().next().value as string);
  }

  /** Apply a client's update and publish it (or count the refusal). */
  #apply(kv: KvMessage, ttl: number): void {
    const r = this.store.set(kv, ttl);
    if (!r.ok) {
      // Its repeats are dropped as duplicates: one refusal per update.
      this.#remember(kv.uuid);
      this.#c.refused++;
      this.#c[REFUSAL_COUNTERS[r.reason]]++;
      if (this.listenerCount("kv:refused") > 0) this.emit("kv:refused", { key: kv.key, reason: r.reason, message: r.message, uuid: kv.uuid });
      return;
    }
    if (r.deleted) this.#c.deletes++;
    this.#remember(kv.uuid);
    this.#publish(kvFrames(r.kv));
  }

  #expired(kv: CloneEntry): void {
    this.#c.deletes++;
    this.#publish(kvFrames(kv));
    if (this.listenerCount("kv:expired") > 0) this.emit("kv:expired", { key: kv.key, seq: kv.seq });
  }

  #publish(frames: Buffer[], hugz = false): void {
    const pub = this.#pub;
    if (!pub || pub.closed) return;
    pub.send(frames);
    if (hugz) this.#c.hugz++;
    else {
      this.#c.published++;
      this.#sentSinceHugz = true;
    }
  }

  #malformed(socket: "snapshot" | "collector" | "peer", reason: string, frames: number, id?: Buffer): void {
    this.#c[socket === "snapshot" ? "malformedSnapshot" : socket === "collector" ? "malformedCollector" : "malformedPeer"]++;
    if (this.listenerCount("message:malformed") > 0) this.emit("message:malformed", id ? { socket, reason, frames, id } : { socket, reason, frames });
  }

  // --- Binary Star -----------------------------------------------------------------------

  async #startHa(ha: BinaryStarSettings & { peer: CloneEndpoints }): Promise<void> {
    const peerSub = this.ownSocket(new zmq.Subscriber({ receiveHighWaterMark: 100_000 }), { name: "clone-peer-publisher", onMessage: (m) => this.#onPeerPublication(m) });
    peerSub.socket.subscribe();
    peerSub.socket.connect(ha.peer.publisher);
    const star = new BinaryStar({ role: ha.role, local: ha.local, remote: ha.remote, heartbeatInterval: ha.heartbeatInterval, reactor: this.reactor });
    star.forward(this.emit.bind(this) as (event: string, payload: unknown) => void);
    star.on("bstar:active", () => this.#takeOver());
    star.on("bstar:passive", () => this.#syncFromPeer());
    // Owned before it starts: a star whose start fails still lets go of the shared reactor.
    this.own(() => star.close());
    this.own(() => this.#stopPeerSync());
    await star.start();
    this.#star = star;
  }

  /** Passive: keep a client's KVSET until the active publishes it (same UUID) or we take over. */
  #hold(kv: KvMessage, ttl: number): void {
    const id = kv.uuid.length > 0 ? kv.uuid.toString("hex") : `#${++this.#pendingSerial}`;
    if (this.#published.has(id)) {
      this.#c.duplicates++;
      return;
    }
    if (this.#pending.has(id)) {
      this.#c.duplicates++;
      return;
    }
    if (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#c.pendingDropped++;
    }
    this.#pending.set(id, { kv, ttl });
  }

  /** Passive: an update the active published. */
  #onPeerPublication(frames: Buffer[]): void {
    const p = parsePublication(frames);
    if (p.type === "malformed") return this.#malformed("peer", p.reason, frames.length);
    if (p.type === "hugz" || this.serving) return;
    const { kv } = p;
    if (kv.uuid.length > 0) {
      const id = kv.uuid.toString("hex");
      // Pending here: the active published it. Not yet: remember it to drop the KVSET later.
      this.#pending.delete(id);
      this.#remember(kv.uuid);
    }
    const replica = this.#peerReplica;
    if (!replica) return;
    const { outcome } = replica.publication(kv);
    if (outcome === "applied") {
      this.store.replicate(kv, entryTtl(kv.props));
      this.#c.replicated++;
    } else if (outcome === "regressed") {
      // The active restarted (a new numbering): copy it again.
      this.#syncFromPeer();
    }
  }

  /** Became passive: copy the active peer (snapshot, then its KVPUBs). */
  #syncFromPeer(): void {
    const ha = this.#ha;
    if (!ha || this.closed) return;
    this.store.expiring = false;
    this.#stopPeerSync();
    const replica = new CloneReplica({ maxBuffered: 1_000_000 });
    this.#peerReplica = replica;
    const dealer = this.reactor.add(new zmq.Dealer({ linger: 0 }), {
      name: "clone-peer-snapshot",
      onMessage: (frames) => {
        const r = parseSnapshotReply(frames);
        if (r.type === "malformed") return this.#malformed("peer", r.reason, frames.length);
        if (r.type === "kvsync") return void replica.snapshotEntry(r.kv);
        const { resync } = replica.endSync(r.seq);
        this.#peerTimer?.cancel();
        if (resync) return this.#syncFromPeer();
        void dealer.close();
        this.store.clear();
        for (const kv of replica.entries()) this.store.replicate(kv, entryTtl(kv.props));
        this.store.advance(r.seq);
        this.#c.peerSyncs++;
        if (this.listenerCount("peer:synced") > 0) this.emit("peer:synced", { seq: r.seq, keys: this.store.size });
      },
    });
    this.#peerSnapshot = dealer;
    dealer.socket.connect(ha.peer.snapshot);
    replica.beginSync();
    dealer.send(icanhazMessage(""));
    // The peer may not be active yet (both just started): ask again later.
    this.#peerTimer = this.reactor.after(SERVER_TTL, () => {
      if (this.#star?.haState === "passive") this.#syncFromPeer();
    });
  }

  #stopPeerSync(): void {
    this.#peerTimer?.cancel();
    this.#peerTimer = undefined;
    void this.#peerSnapshot?.close();
    this.#peerSnapshot = undefined;
  }

  /** Became active: apply the KVSETs the old active never published. */
  #takeOver(): void {
    this.#stopPeerSync();
    this.#peerReplica = undefined;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { kv, ttl } of pending) this.#apply(kv, ttl);
    this.store.expiring = true;
    this.#c.pendingApplied += pending.length;
    if (this.listenerCount("pending:applied") > 0) this.emit("pending:applied", { count: pending.length });
  }
}

const REFUSAL_COUNTERS = {
  "max-keys": "refusedMaxKeys",
  "value-size": "refusedValueSize",
  "key-size": "refusedKeySize",
  "reserved-key": "refusedReservedKey",
} as const satisfies Record<RefusalReason, string>;

/** Validate the `ha` option: the Binary Star settings plus `ha.peer`. */
function cloneHaOption(o: Readonly<Record<string, unknown>>): (BinaryStarSettings & { peer: CloneEndpoints }) | undefined {
  const ha = objectOption<Record<string, unknown>>(OWNER, o, "ha");
  if (ha === undefined) return undefined;
  const { peer, ...star } = ha;
  const settings = binaryStarHaOption(OWNER, { ha: star })!;
  if (peer === undefined) throw new InvalidOptionError("ha.peer", `${OWNER}: \`ha.peer\` is required (the peer Clone server's "tcp://HOST:P")`);
  return { ...settings, peer: cloneEndpoints(OWNER, "ha.peer", peer) };
}
