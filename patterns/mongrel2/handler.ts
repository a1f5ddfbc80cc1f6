/**
 * A Mongrel2 handler on the reactor: a PULL socket connected to mongrel2's `send_spec` (it
 * PUSHes requests round-robin over every handler connected) and a PUB connected to its
 * `recv_spec` (it SUBscribes to replies). Each request runs a node:http request listener
 * (see `./http.ts`), or your own `onRequest` over the raw messages. Bounded: the request size,
 * the requests in flight and waiting, the requests queued behind one connection's response,
 * the bytes one response may hold unsent, the socket's send queue. Everything dropped is
 * counted and reported.
 * @module
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat, unlink } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import * as zmq from "zeromq";
import {
  BoundedQueue,
  InvalidOptionError,
  Lifecycle,
  endpointOption,
  functionOption,
  intOption,
  optionsObject,
  stringOption,
  type CloseCause,
  type LifecycleOptions,
  type SocketHandle,
} from "../../src/index.js";
import { HttpExchange, type ConnectionSink, type ExchangeEnd, type RequestListener } from "./http.js";
import { encodeReply, parseMessage, replyPrefix, type Mongrel2Request, type Mongrel2UploadDone, type Mongrel2UploadStart } from "./protocol.js";

/** Raw access: called for every request (and upload done); in flight until the promise it returns settles. Reply with `handler.reply()`. */
export type Mongrel2RequestHandler = (request: Mongrel2Request | Mongrel2UploadDone, handler: Mongrel2Handler) => unknown;

/** Options of {@link Mongrel2Handler}. */
export interface Mongrel2HandlerOptions extends LifecycleOptions {
  /** Mongrel2's `send_spec` (it binds a PUSH there; we connect a PULL). Required. */
  readonly sendSpec: string;
  /** Mongrel2's `recv_spec` (it binds a SUB there; we connect a PUB). Required. */
  readonly recvSpec: string;
  /** Our sockets' identity (ZMQ_ROUTING_ID), to tell handlers apart in mongrel2's logs. Default a random UUID. */
  readonly senderId?: string;
  /** A node:http request listener: `(req, res) => ...`, as for `http.createServer()`. This or `onRequest` is required. */
  readonly listener?: RequestListener;
  /** Raw messages instead of `listener`. */
  readonly onRequest?: Mongrel2RequestHandler;
  /** Largest request message accepted, bytes; a larger one is answered 413 and dropped. Default 16 MiB. */
  readonly maxRequestSize?: number;
  /** Requests being answered at once. Default 100. */
  readonly maxInFlight?: number;
  /** Requests waiting for an in-flight slot; beyond it the newest is answered 503 and dropped. Default 1000. */
  readonly maxPending?: number;
  /** Requests queued behind the response a connection is getting (mongrel2 does not pipeline; a new request waits). Default 16. */
  readonly connectionQueueLimit?: number;
  /** Bytes one response may hold unsent; beyond it the response is aborted and its connection closed. Default 8 MiB. */
  readonly responseBufferLimit?: number;
  /** The directory mongrel2 writes upload temp files to, as this process sees it (`chroot` + the dir of `upload.temp_store`). Without it uploads are refused (413). */
  readonly uploadDir?: string;
  /** Largest upload accepted, bytes (checked on `content-length` at the start and on the file at the end). Default 100 MiB. */
  readonly maxUploadSize?: number;
  /** ms `close()` waits for the requests in flight to be answered before it aborts them. Default 10000. */
  readonly drainTimeout?: number;
  /** The PUB socket's send queue (overflow: the sender waits; see responseBufferLimit). Default 10000. */
  readonly sendQueueLimit?: number;
}

/** Why a request was dropped without running. */
export type RequestDropReason = "too-large" | "overflow" | "connection-queue" | "disconnected" | "closed";
/** Why an upload was refused: no `uploadDir`, over `maxUploadSize`, more uploads in progress than `maxPending`, a done notice without its start, a file that cannot be read. */
export type UploadRefusal = "no-upload-dir" | "too-large" | "busy" | "unknown" | "unreadable";
/** Why a response did not (fully) go out. */
export type ResponseDropReason = "disconnected" | "overflow" | "closed" | "unsent";

/** Events of {@link Mongrel2Handler} (beside the lifecycle's). */
export interface Mongrel2HandlerEvents {
  [event: string]: unknown[];
  /** A request arrived (not for notices). */
  "request:received": [{ uuid: string; id: number; method: string; path: string }];
  /** A request was dropped before its listener ran (it was answered 413/503 when the client was still there). */
  "request:dropped": [{ uuid: string; id: number; reason: RequestDropReason }];
  /** The listener threw or rejected (the client got a 500, or its connection was closed). */
  "request:failed": [{ uuid: string; id: number; error: unknown }];
  /** A response was cut short: its client left, it overflowed `responseBufferLimit`, the handler closed, or the socket refused it. */
  "response:dropped": [{ uuid: string; id: number; reason: ResponseDropReason }];
  /** Mongrel2 said a connection closed. */
  "connection:closed": [{ uuid: string; id: number; active: boolean }];
  /** An upload was refused (413 and close). */
  "upload:refused": [{ uuid: string; id: number; reason: UploadRefusal }];
  /** A message broke the Mongrel2 format: counted and dropped. */
  "message:malformed": [{ socket: "pull"; reason: string; frames: number }];
}

/** Counters of {@link Mongrel2Handler}. */
export interface Mongrel2HandlerStats {
  /** Requests received (uploads counted once, at their end). */
  requests: number;
  /** Responses that finished. */
  responses: number;
  /** Reply messages handed to the PUB socket. */
  messagesSent: number;
  /** Disconnect notices. */
  disconnects: number;
  /** Credit notices. */
  credits: number;
  /** Uploads started / read. */
  uploadsStarted: number;
  uploads: number;
  /** Uploads refused. */
  uploadsRefused: number;
  /** Listeners that threw or rejected. */
  failed: number;
  /** Requests dropped before running (`request:dropped`). */
  droppedRequests: number;
  /** Responses cut short (`response:dropped`). */
  droppedResponses: number;
  /** Reply messages the socket did not take. */
  droppedMessages: number;
  /** Malformed messages. */
  malformed: number;
  /** Requests in flight now. */
  inFlight: number;
  /** Requests waiting for a slot now. */
  pending: number;
  /** Connections with a response in progress now. */
  connections: number;
}

interface Job {
  readonly key: string;
  readonly msg: Mongrel2Request | Mongrel2UploadDone;
}

interface Conn {
  readonly uuid: string;
  readonly id: number;
  /** The exchange (or raw request) running for it. */
  active: boolean;
  exchange: HttpExchange | undefined;
  /** Requests waiting behind the active one. */
  readonly queue: Job[];
  /** Upload announced by a start notice: its file. */
  upload: string | undefined;
  /** Mongrel2 said the connection closed while its request waited in the backlog. */
  gone: boolean;
  /** Reply prefix. */
  prefix: Buffer | undefined;
}

const OWNER = "Mongrel2Handler";
/** The PUB socket's ZMQ_SNDHWM (messages). */
const PUB_HWM = 100_000;
/** ZMQ_ROUTING_ID (ZMQ_IDENTITY). */
const ZMQ_ROUTING_ID = 5;

/** Set ZMQ_ROUTING_ID, which zeromq.js types only on the socket types that route by it (libzmq takes it on any). */
function withIdentity<S extends zmq.Socket>(socket: S, id: string): S {
  (socket as unknown as { setStringOption(option: number, value: string): void }).setStringOption(ZMQ_ROUTING_ID, id);
  return socket;
}
const EMPTY = Buffer.alloc(0);

function status(code: number, text: string): Buffer {
  const body = `${text}\n`;
  return Buffer.from(`HTTP/1.1 ${code} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}
const TOO_LARGE = status(413, "Payload Too Large");
const UNAVAILABLE = status(503, "Service Unavailable");

/**
 * See the module documentation. Starts by itself (or `await handler.start()`, which resolves
 * once both sockets are connecting). `close()` drains: it stops taking requests (mongrel2
 * keeps new ones for the other handlers, or until one connects), waits up to `drainTimeout`
 * for the requests in flight, then closes.
 *
 * ```ts
 * const handler = await Mongrel2Handler.start({
 *   sendSpec: "tcp://127.0.0.1:9997", recvSpec: "tcp://127.0.0.1:9996",
 *   listener: (req, res) => res.end(`hello ${req.url}\n`),
 * });
 * ```
 */
export class Mongrel2Handler extends Lifecycle<Mongrel2HandlerEvents> {
  /** The endpoints. */
  readonly sendSpec: string;
  readonly recvSpec: string;
  /** Our sockets' identity. */
  readonly senderId: string;
  readonly #listener: RequestListener | undefined;
  readonly #onRequest: Mongrel2RequestHandler | undefined;
  readonly #maxRequestSize: number;
  readonly #maxInFlight: number;
  readonly #connectionQueueLimit: number;
  readonly #responseBufferLimit: number;
  readonly #uploadDir: string | undefined;
  readonly #maxUploadSize: number;
  readonly #drainTimeout: number;
  readonly #sendQueueLimit: number;
  readonly #backlog: BoundedQueue<Job>;
  readonly #backlogDisabled: boolean;
  readonly #conns = new Map<string, Conn>();
  #pull: SocketHandle<zmq.Pull> | undefined;
  #pub: SocketHandle<zmq.Publisher, "wait"> | undefined;
  #inFlight = 0;
  /** Connections between an upload start and its done (bounded by `maxPending`). */
  #uploading = 0;
  readonly #maxUploads: number;
  #idle: (() => void) | undefined;
  readonly #stats = {
    requests: 0,
    responses: 0,
    messagesSent: 0,
    disconnects: 0,
    credits: 0,
    uploadsStarted: 0,
    uploads: 0,
    uploadsRefused: 0,
    failed: 0,
    droppedRequests: 0,
    droppedResponses: 0,
    droppedMessages: 0,
    malformed: 0,
  };

  constructor(options: Mongrel2HandlerOptions) {
    const o = optionsObject(OWNER, options);
    const sendSpec = endpointOption(OWNER, o, "sendSpec");
    const recvSpec = endpointOption(OWNER, o, "recvSpec");
    const senderId = stringOption(OWNER, o, "senderId", randomUUID());
    if (Buffer.byteLength(senderId) > 255) throw new InvalidOptionError("senderId", `${OWNER}: expected \`senderId\` to be at most 255 bytes`);
    const listener = functionOption<RequestListener, undefined>(OWNER, o, "listener", undefined);
    const onRequest = functionOption<Mongrel2RequestHandler, undefined>(OWNER, o, "onRequest", undefined);
    if (!listener === !onRequest) throw new InvalidOptionError(listener ? "onRequest" : "listener", `${OWNER}: expected exactly one of \`listener\` (a node:http request listener) and \`onRequest\``);
    const maxRequestSize = intOption(OWNER, o, "maxRequestSize", 16 * 1024 * 1024, 64);
    const maxInFlight = intOption(OWNER, o, "maxInFlight", 100, 1);
    const maxPending = intOption(OWNER, o, "maxPending", 1000, 0);
    const connectionQueueLimit = intOption(OWNER, o, "connectionQueueLimit", 16, 0);
    const responseBufferLimit = intOption(OWNER, o, "responseBufferLimit", 8 * 1024 * 1024, 1);
    const uploadDir = stringOption(OWNER, o, "uploadDir", undefined);
    const maxUploadSize = intOption(OWNER, o, "maxUploadSize", 100 * 1024 * 1024, 0);
    const drainTimeout = intOption(OWNER, o, "drainTimeout", 10_000, 0);
    const sendQueueLimit = intOption(OWNER, o, "sendQueueLimit", 10_000, 1);
    super(OWNER, o);
    this.sendSpec = sendSpec;
    this.recvSpec = recvSpec;
    this.senderId = senderId;
    this.#listener = listener;
    this.#onRequest = onRequest;
    this.#maxRequestSize = maxRequestSize;
    this.#maxInFlight = maxInFlight;
    this.#connectionQueueLimit = connectionQueueLimit;
    this.#responseBufferLimit = responseBufferLimit;
    this.#uploadDir = uploadDir === undefined ? undefined : resolve(uploadDir);
    this.#maxUploadSize = maxUploadSize;
    this.#drainTimeout = drainTimeout;
    this.#sendQueueLimit = sendQueueLimit;
    this.#backlog = new BoundedQueue<Job>(Math.max(1, maxPending), "reject", `backlog of ${OWNER}`);
    this.#backlogDisabled = maxPending === 0;
    this.#maxUploads = Math.max(1, maxPending);
    this.startSoon();
  }

  /** Counters (see {@link Mongrel2HandlerStats}). */
  stats(): Mongrel2HandlerStats {
    return { ...this.#stats, inFlight: this.#inFlight, pending: this.#backlog.size, connections: this.#conns.size };
  }

  protected async onStart(): Promise<void> {
    // A PUB never blocks: at its high-water mark libzmq drops, unseen (see the README). Keep
    // that mark far above what ordinary responses need.
    const pub = withIdentity(new zmq.Publisher({ linger: 1000, sendHighWaterMark: PUB_HWM }), this.senderId);
    this.#pub = this.ownSocket(pub, { name: "mongrel2-pub", sendQueueLimit: this.#sendQueueLimit, overflow: "wait", linger: 1000 });
    const pull = withIdentity(new zmq.Pull({ linger: 0 }), this.senderId);
    this.#pull = this.ownSocket(pull, { name: "mongrel2-pull", onMessage: (frames) => this.#onMessage(frames) });
    pub.connect(this.recvSpec);
    pull.connect(this.sendSpec);
  }

  /**
   * Send `body` to connections `ids` of server `uuid` (batched by 128 ids); an empty body
   * closes them. Resolves true once the socket took every message. For raw `onRequest` use;
   * a listener's response goes out by itself. Rejects with `ClosedError` once the socket is closed
   * (not while `close()` drains).
   */
  reply(uuid: string, ids: number | readonly number[], body: Buffer | string = EMPTY): Promise<boolean> {
    // Allowed while closing: requests in flight are answered during the drain.
    if (!this.#pub || this.#pub.closed) return Promise.reject(this.closedError());
    return this.#sendAll(encodeReply(uuid, ids, body));
  }

  protected override async onClose(cause: CloseCause): Promise<void> {
    if (cause === "reactor" || !this.#pull) {
      this.#abortAll();
      return;
    }
    // Stop taking requests: mongrel2 pushes new ones to the other handlers (or keeps them until
    // one connects). Those already in our pipe are still read and answered.
    try {
      this.#pull.socket.disconnect(this.sendSpec);
    } catch {
      // never connected
    }
    if (this.#drainTimeout > 0) {
      let timedOut = false;
      const deadline = this.reactor.after(this.#drainTimeout, () => {
        timedOut = true;
        this.#idle?.();
      });
      while (!timedOut) {
        if (!this.#busy()) {
          // Twice round the event loop: messages still in the pipe reach the pump.
          await new Promise<void>((r) => setImmediate(r));
          await new Promise<void>((r) => setImmediate(r));
          if (!this.#busy()) break;
        }
        await new Promise<void>((r) => (this.#idle = r));
        this.#idle = undefined;
      }
      deadline.cancel();
    }
    this.#abortAll();
    await this.#pub?.flush();
  }

  #busy(): boolean {
    return this.#inFlight > 0 || this.#backlog.size > 0;
  }

  #abortAll(): void {
    for (const job of this.#backlog.drain()) this.#dropRequest(job.msg.uuid, job.msg.id, "closed", UNAVAILABLE);
    for (const conn of [...this.#conns.values()]) {
      for (const job of conn.queue.splice(0)) this.#dropRequest(job.msg.uuid, job.msg.id, "closed");
      if (conn.exchange && !conn.exchange.ended) conn.exchange.abort(true, "closed");
    }
  }

  #onMessage(frames: Buffer[]): void {
    if (frames.length !== 1) return this.#malformed(`expected 1 frame, got ${frames.length}`, frames.length);
    const frame = frames[0]!;
    if (frame.length > this.#maxRequestSize) return this.#tooLarge(frame);
    const msg = parseMessage(frame);
    switch (msg.type) {
      case "malformed":
        return this.#malformed(msg.reason, 1);
      case "disconnect":
        return this.#onDisconnect(msg.uuid, msg.id);
      case "credits":
        this.#stats.credits++;
        return;
      case "upload-start":
        return this.#onUploadStart(msg);
      case "upload-done":
      case "request":
        return this.#onRequestMessage(msg);
    }
  }

  #malformed(reason: string, frames: number): void {
    this.#stats.malformed++;
    if (this.listenerCount("message:malformed") > 0) this.emit("message:malformed", { socket: "pull", reason, frames });
  }

  /** Too large to parse in full: answer 413 when the envelope can be read, else count it malformed. */
  #tooLarge(frame: Buffer): void {
    const head = frame.subarray(0, 64).toString("latin1").split(" ");
    const uuid = head[0] ?? "";
    const id = Number(head[1]);
    if (head.length < 3 || !/^[A-Za-z0-9-]+$/.test(uuid) || !/^\d{1,10}$/.test(head[1] ?? "")) return this.#malformed(`larger than maxRequestSize (${this.#maxRequestSize} bytes)`, 1);
    this.#stats.requests++;
    this.#dropRequest(uuid, id, "too-large", TOO_LARGE);
  }

  #conn(uuid: string, id: number): Conn {
    const key = `${uuid} ${id}`;
    let conn = this.#conns.get(key);
    if (!conn) {
      conn = { uuid, id, active: false, exchange: undefined, queue: [], upload: undefined, gone: false, prefix: undefined };
      this.#conns.set(key, conn);
    }
    return conn;
  }

  #release(conn: Conn): void {
    if (!conn.active && conn.queue.length === 0 && conn.upload === undefined) this.#conns.delete(`${conn.uuid} ${conn.id}`);
  }

  #onUploadStart(msg: Mongrel2UploadStart): void {
    this.#stats.uploadsStarted++;
    const length = Number(msg.headers["content-length"] ?? "NaN");
    const reason = this.#uploadDir === undefined ? "no-upload-dir" : Number.isFinite(length) && length > this.#maxUploadSize ? "too-large" : this.#uploading >= this.#maxUploads ? "busy" : undefined;
    if (reason) return this.#refuseUpload(msg.uuid, msg.id, reason);
    const conn = this.#conn(msg.uuid, msg.id);
    if (conn.upload === undefined) this.#uploading++;
    conn.upload = msg.file;
  }

  #refuseUpload(uuid: string, id: number, reason: UploadRefusal): void {
    this.#stats.uploadsRefused++;
    if (this.listenerCount("upload:refused") > 0) this.emit("upload:refused", { uuid, id, reason });
    // A 413, then the kill message (an empty reply) cancels the upload.
    void this.#sendAll(encodeReply(uuid, id, TOO_LARGE));
    void this.#sendAll(encodeReply(uuid, id));
  }

  #onRequestMessage(msg: Mongrel2Request | Mongrel2UploadDone): void {
    if (msg.type === "upload-done") {
      const conn = this.#conns.get(`${msg.uuid} ${msg.id}`);
      // Only the file announced by this connection's start notice: a client could send both headers itself.
      if (!conn || conn.upload !== msg.file) return this.#refuseUpload(msg.uuid, msg.id, "unknown");
      conn.upload = undefined;
      this.#uploading--;
      this.#release(conn);
    }
    this.#stats.requests++;
    if (this.listenerCount("request:received") > 0) {
      const method = msg.headers.METHOD;
      this.emit("request:received", { uuid: msg.uuid, id: msg.id, method: Array.isArray(method) ? (method[0] ?? "") : (method ?? ""), path: msg.path });
    }
    const conn = this.#conn(msg.uuid, msg.id);
    const job: Job = { key: `${msg.uuid} ${msg.id}`, msg };
    if (conn.active || conn.queue.length > 0) {
      if (conn.queue.length >= this.#connectionQueueLimit) return this.#dropRequest(msg.uuid, msg.id, "connection-queue", UNAVAILABLE);
      conn.queue.push(job);
      return;
    }
    this.#admit(conn, job);
  }

  /** Run `job` now if a slot is free, else put it in the backlog. */
  #admit(conn: Conn, job: Job): void {
    conn.active = true;
    if (this.#inFlight < this.#maxInFlight) return void this.#run(conn, job);
    if (this.#backlogDisabled || this.#backlog.full) {
      conn.active = false;
      this.#dropRequest(job.msg.uuid, job.msg.id, "overflow", UNAVAILABLE);
      this.#next(conn);
      return;
    }
    this.#backlog.push(job);
  }

  async #run(conn: Conn, job: Job): Promise<void> {
    this.#inFlight++;
    const { msg } = job;
    let body: Buffer | Readable = msg.type === "request" ? msg.body : EMPTY;
    let file: string | undefined;
    if (msg.type === "upload-done") {
      file = join(this.#uploadDir!, basename(msg.file));
      try {
        const s = await stat(file);
        if (!s.isFile() || s.size > this.#maxUploadSize) throw new Error(s.isFile() ? "too large" : "not a file");
        body = createReadStream(file);
        this.#stats.uploads++;
      } catch {
        this.#refuseUpload(msg.uuid, msg.id, "unreadable");
        void unlink(file).catch(() => undefined);
        return this.#finish(conn);
      }
    }
    if (this.#onRequest) {
      try {
        await this.#onRequest(msg, this);
        this.#stats.responses++;
      } catch (error) {
        this.#failed(msg.uuid, msg.id, error);
      } finally {
        if (file) void unlink(file).catch(() => undefined);
        this.#finish(conn);
      }
      return;
    }
    const sink = this.#sink(conn);
    const exchange = new HttpExchange({ uuid: msg.uuid, id: msg.id, path: msg.path }, msg.headers, body, sink, this.#responseBufferLimit, (end: ExchangeEnd, ex) => {
      if (conn.exchange === ex) conn.exchange = undefined;
      if (end === "finished") this.#stats.responses++;
      else this.#dropResponse(conn, ex.abortReason ?? "unsent");
      if (file) void unlink(file).catch(() => undefined);
      this.#finish(conn);
    });
    conn.exchange = exchange;
    exchange.run(this.#listener!, (error) => this.#failed(msg.uuid, msg.id, error));
  }

  #finish(conn: Conn): void {
    this.#inFlight--;
    conn.active = false;
    this.#next(conn);
    // A slot is free: the oldest waiting request runs.
    while (this.#inFlight < this.#maxInFlight) {
      const job = this.#backlog.shift();
      if (!job) break;
      const c = this.#conns.get(job.key);
      if (c && !c.gone) void this.#run(c, job);
      else {
        this.#dropRequest(job.msg.uuid, job.msg.id, "disconnected");
        if (c) {
          c.active = false;
          this.#release(c);
        }
      }
    }
    if (!this.#busy()) this.#idle?.();
  }

  /** The connection's next queued request, if any. */
  #next(conn: Conn): void {
    const job = conn.queue.shift();
    if (job) this.#admit(conn, job);
    else this.#release(conn);
  }

  #sink(conn: Conn): ConnectionSink {
    conn.prefix ??= replyPrefix(conn.uuid, [conn.id]);
    const prefix = conn.prefix;
    return {
      write: (data) => this.#sendOne(Buffer.concat([prefix, data])),
      close: () => void this.#sendOne(prefix),
    };
  }

  #sendOne(message: Buffer): boolean | Promise<boolean> {
    const pub = this.#pub;
    if (!pub || pub.closed) {
      this.#stats.droppedMessages++;
      return false;
    }
    let queued: Promise<boolean>;
    try {
      queued = pub.send(message);
    } catch {
      // QueueFullError: the wait list is full too.
      this.#stats.droppedMessages++;
      return false;
    }
    return queued.then((ok) => {
      if (ok) this.#stats.messagesSent++;
      else this.#stats.droppedMessages++;
      return ok;
    });
  }

  async #sendAll(messages: Buffer[]): Promise<boolean> {
    let all = true;
    for (const m of messages) all = (await this.#sendOne(m)) && all;
    return all;
  }

  #onDisconnect(uuid: string, id: number): void {
    this.#stats.disconnects++;
    const conn = this.#conns.get(`${uuid} ${id}`);
    const active = conn?.exchange !== undefined && !conn.exchange.ended;
    if (this.listenerCount("connection:closed") > 0) this.emit("connection:closed", { uuid, id, active });
    if (!conn) return;
    if (conn.upload !== undefined) this.#uploading--;
    conn.upload = undefined;
    for (const _job of conn.queue.splice(0)) this.#dropRequest(uuid, id, "disconnected");
    if (conn.exchange && !conn.exchange.ended) conn.exchange.abort(false, "disconnected");
    else if (conn.active && !conn.exchange) {
      // Waiting in the backlog (or a raw onRequest running): dropped when its turn comes.
      conn.gone = true;
      return;
    }
    this.#release(conn);
  }

  #dropRequest(uuid: string, id: number, reason: RequestDropReason, answer?: Buffer): void {
    this.#stats.droppedRequests++;
    if (this.listenerCount("request:dropped") > 0) this.emit("request:dropped", { uuid, id, reason });
    if (answer && this.#pub && !this.#pub.closed) {
      void this.#sendAll(encodeReply(uuid, id, answer));
      void this.#sendAll(encodeReply(uuid, id));
    }
  }

  #dropResponse(conn: Conn, reason: ResponseDropReason): void {
    this.#stats.droppedResponses++;
    if (this.listenerCount("response:dropped") > 0) this.emit("response:dropped", { uuid: conn.uuid, id: conn.id, reason });
  }

  #failed(uuid: string, id: number, error: unknown): void {
    this.#stats.failed++;
    if (this.listenerCount("request:failed") > 0) this.emit("request:failed", { uuid, id, error });
  }
}
