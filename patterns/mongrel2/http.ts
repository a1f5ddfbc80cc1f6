/**
 * The node:http adapter: runs a plain request listener, the function a user hands to
 * `http.createServer()`, for one Mongrel2 request. The request is a real
 * `http.IncomingMessage` and the response a real `http.ServerResponse` (so Express, Koa and
 * Fastify-style apps, which set their own prototypes over these classes, work unchanged),
 * attached to a {@link Mongrel2Socket}: a duplex stream whose writes become Mongrel2 replies
 * to the request's connection. Node writes the status line, headers, chunked encoding and
 * `Connection` header itself, exactly as `http.createServer()` would; when Node would close
 * the socket after the response (HTTP/1.0 without keep-alive, `Connection: close`, a body
 * without a length), the connection is closed with an empty reply.
 * @module
 */
import * as http from "node:http";
import { Duplex, type Readable } from "node:stream";
import type { Mongrel2Headers } from "./protocol.js";

/** A node:http request listener (what `http.createServer()` takes). */
export type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;

/** Where an exchange's bytes go: the handler's reply path for one connection. */
export interface ConnectionSink {
  /** Queue `data` for the connection. Resolves (or returns) true once the socket took it, false when it was dropped. */
  write(data: Buffer): boolean | Promise<boolean>;
  /** Close the connection (an empty reply). */
  close(): void;
}

/** What mongrel2 told us about the request, beside the HTTP part (on `req.mongrel2`). */
export interface Mongrel2RequestInfo {
  /** The server's `send_ident`. */
  readonly uuid: string;
  /** The connection id. */
  readonly id: number;
  /** The route path that matched. */
  readonly path: string;
  /** Mongrel2's own (upper-case) headers: `METHOD`, `VERSION`, `URI`, `PATH`, `QUERY`, `PATTERN`, `URL_SCHEME`, `REMOTE_ADDR`... */
  readonly headers: Readonly<Record<string, string>>;
}

/** How an exchange ended. */
export type ExchangeEnd = "finished" | "aborted";

/**
 * The socket under one exchange: writes go to the connection through the sink (each write
 * completes when the handler's socket took it, so `res.write()` returns false and `drain`
 * follows like on a TCP socket); reads never produce data (the body is pushed into the
 * request directly). More than `bufferLimit` bytes waiting destroys it (`onOverflow`).
 */
export class Mongrel2Socket extends Duplex {
  /** The client's address: mongrel2's `x-forwarded-for` (or `REMOTE_ADDR`). */
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined = undefined;
  readonly remoteFamily: string | undefined;
  /** True for `URL_SCHEME` https (Express's `req.secure` reads it). */
  readonly encrypted: boolean;
  readonly #sink: ConnectionSink;
  readonly #limit: number;
  readonly #onOverflow: () => void;

  constructor(sink: ConnectionSink, remoteAddress: string | undefined, encrypted: boolean, bufferLimit: number, onOverflow: () => void) {
    super({ allowHalfOpen: true });
    this.#sink = sink;
    this.remoteAddress = remoteAddress;
    this.remoteFamily = remoteAddress === undefined ? undefined : remoteAddress.includes(":") ? "IPv6" : "IPv4";
    this.encrypted = encrypted;
    this.#limit = bufferLimit;
    this.#onOverflow = onOverflow;
  }

  /** Duplex `write`, then abort the response when more than `bufferLimit` bytes wait. */
  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const ok = (super.write as (...args: unknown[]) => boolean)(chunk, encoding, cb);
    if (this.writableLength > this.#limit && !this.destroyed) this.#onOverflow();
    return ok;
  }

  /** No data: the body is pushed into the request directly. */
  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.#send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  #send(data: Buffer, callback: (error?: Error | null) => void): void {
    const result = this.#sink.write(data);
    if (result === true) callback();
    else if (result === false) callback(new Error("the reply was dropped"));
    else result.then((ok) => callback(ok ? undefined : new Error("the reply was dropped")), callback);
  }

  // net.Socket methods apps and frameworks call.
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.once("timeout", cb);
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  address(): object {
    return {};
  }
}

function header(headers: Mongrel2Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** Is every letter upper case (a mongrel2 header, not a client's)? */
function isServerHeader(name: string): boolean {
  return name.toUpperCase() === name && name.toLowerCase() !== name;
}

/** Whether the connection stays open after the response, per the request's HTTP version and `Connection` header. */
export function keepAlive(version: string, connection: string | undefined): boolean {
  const tokens = (connection ?? "").toLowerCase().split(",").map((t) => t.trim());
  if (tokens.includes("close")) return false;
  if (version === "1.0") return tokens.includes("keep-alive");
  return version !== "0.9";
}

/** One request and its response; see the module documentation. */
export class HttpExchange {
  readonly socket: Mongrel2Socket;
  readonly req: http.IncomingMessage;
  readonly res: http.ServerResponse;
  #ended: ExchangeEnd | undefined;
  /** Why it was aborted by {@link abort} (undefined: the socket refused a write, or the app destroyed it). */
  abortReason: "disconnected" | "overflow" | "closed" | undefined;
  #onEnd: (end: ExchangeEnd) => void;
  readonly #sink: ConnectionSink;

  /**
   * @param info what mongrel2 sent
   * @param allHeaders every header of the request (mongrel2's and the client's)
   * @param body the body, or a stream of it (an upload read from its temp file)
   * @param sink the connection's reply path
   * @param bufferLimit bytes a response may hold unsent before it is aborted
   * @param onEnd called once, when the response finished (all of it queued) or was aborted
   */
  constructor(info: Omit<Mongrel2RequestInfo, "headers">, allHeaders: Mongrel2Headers, body: Buffer | Readable, sink: ConnectionSink, bufferLimit: number, onEnd: (end: ExchangeEnd, exchange: HttpExchange) => void) {
    this.#sink = sink;
    this.#onEnd = (end) => onEnd(end, this);
    const server: Record<string, string> = {};
    const headers: Record<string, string | string[]> = {};
    const rawHeaders: string[] = [];
    for (const [name, value] of Object.entries(allHeaders)) {
      if (isServerHeader(name)) {
        server[name] = Array.isArray(value) ? value.join(", ") : value;
        continue;
      }
      const key = name.toLowerCase();
      const values = Array.isArray(value) ? value : [value];
      for (const v of values) rawHeaders.push(name, v);
      // node:http joins repeated headers with ", ", but keeps set-cookie a list.
      headers[key] = key === "set-cookie" ? values : values.join(", ");
    }
    const forwarded = header(allHeaders, "x-forwarded-for")?.split(",")[0]?.trim();
    this.socket = new Mongrel2Socket(sink, forwarded || server.REMOTE_ADDR, server.URL_SCHEME === "https", bufferLimit, () => this.abort(true, "overflow"));
    const req = new http.IncomingMessage(this.socket as never);
    const version = /^HTTP\/(\d)\.(\d)$/.exec(server.VERSION ?? "") ?? ["", "1", "1"];
    req.httpVersionMajor = Number(version[1]);
    req.httpVersionMinor = Number(version[2]);
    req.httpVersion = `${version[1]}.${version[2]}`;
    req.method = server.METHOD ?? "GET";
    req.url = server.URI ?? (server.QUERY ? `${server.PATH ?? info.path}?${server.QUERY}` : (server.PATH ?? info.path));
    req.headers = headers;
    req.rawHeaders = rawHeaders;
    (req as { mongrel2?: Mongrel2RequestInfo }).mongrel2 = { ...info, headers: server };
    if (Buffer.isBuffer(body)) {
      if (body.length > 0) req.push(body);
      req.push(null);
      req.complete = true;
    } else {
      body.on("data", (chunk: Buffer) => {
        if (!req.push(chunk)) body.pause();
      });
      body.once("end", () => {
        req.complete = true;
        req.push(null);
      });
      body.once("error", (error) => req.destroy(error));
      req._read = () => void body.resume();
      // An aborted exchange (the client left) must not keep the file open.
      req.once("close", () => (body as Readable & { destroy(): void }).destroy());
    }
    this.req = req;
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = keepAlive(req.httpVersion, header(allHeaders, "connection"));
    res.assignSocket(this.socket as never);
    res.once("finish", () => {
      // node:http's server destroys the socket after a response it marked as the last one.
      if ((res as { _last?: boolean })._last || !res.shouldKeepAlive) this.#sink.close();
      this.#end("finished");
    });
    res.once("close", () => this.#end("aborted"));
    this.res = res;
  }

  /** How it ended, once it did. */
  get ended(): ExchangeEnd | undefined {
    return this.#ended;
  }

  /**
   * Run `listener`. A listener that throws (or rejects) gets a 500 when nothing was sent
   * yet, otherwise the connection is closed; `onError` is told either way.
   */
  run(listener: RequestListener, onError: (error: unknown) => void): void {
    const fail = (error: unknown): void => {
      onError(error);
      if (this.#ended) return;
      if (!this.res.headersSent) {
        this.res.statusCode = 500;
        this.res.setHeader("Content-Type", "text/plain");
        this.res.end("Internal Server Error\n");
      } else this.abort(true, undefined);
    };
    try {
      const result = listener(this.req, this.res);
      if (result && typeof (result as Promise<unknown>).then === "function") (result as Promise<unknown>).then(undefined, fail);
    } catch (error) {
      fail(error);
    }
  }

  /** Abort the response (the client left, the buffer overflowed, the handler closed); `close`: close the connection too. */
  abort(close: boolean, reason: HttpExchange["abortReason"]): void {
    if (this.#ended) return;
    this.abortReason = reason;
    if (close) this.#sink.close();
    this.#end("aborted");
    this.res.destroy();
    this.socket.destroy();
    if (!this.req.complete) this.req.destroy();
  }

  #end(end: ExchangeEnd): void {
    if (this.#ended) return;
    this.#ended = end;
    this.#onEnd(end);
  }
}
