/**
 * Small raw zeromq.js peers for the 6/PPP tests: a Lazy Pirate style REQ client with
 * retries, and a hand-driven worker that speaks the wire format directly.
 */
import * as zmq from "zeromq";

/** The answer of {@link lazyRequest}. */
export interface LazyAnswer {
  reply: string[];
  /** Sends, including the first (1 = answered at once). */
  attempts: number;
}

/**
 * Lazy Pirate on a raw REQ: send, wait `timeout` ms, on silence close (linger 0), reopen and
 * resend, up to `retries` resends. Rejects when out of retries.
 */
export async function lazyRequest(endpoint: string, payload: string, options: { timeout?: number; retries?: number } = {}): Promise<LazyAnswer> {
  const { timeout = 1000, retries = 10 } = options;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const req = new zmq.Request({ linger: 0, receiveTimeout: timeout });
    req.connect(endpoint);
    try {
      await req.send(payload);
      const reply = await req.receive();
      return { reply: reply.map(String), attempts: attempt };
    } catch (error) {
      if ((error as { code?: string }).code !== "EAGAIN") throw error;
    } finally {
      req.close();
    }
  }
  throw new Error(`no reply to ${payload} after ${retries + 1} attempts`);
}

/**
 * A Lazy Pirate client on a raw REQ that keeps its socket between requests and replaces it
 * (linger 0) only after a timeout.
 */
export class RawLazyClient {
  #req: zmq.Request | undefined;
  constructor(
    readonly endpoint: string,
    readonly timeout = 1000,
    readonly retries = 10,
  ) {}

  async request(payload: string): Promise<LazyAnswer> {
    for (let attempt = 1; attempt <= this.retries + 1; attempt++) {
      if (!this.#req) {
        this.#req = new zmq.Request({ linger: 0, receiveTimeout: this.timeout });
        this.#req.connect(this.endpoint);
      }
      try {
        await this.#req.send(payload);
        const reply = await this.#req.receive();
        return { reply: reply.map(String), attempts: attempt };
      } catch (error) {
        if ((error as { code?: string }).code !== "EAGAIN") throw error;
        this.#req.close();
        this.#req = undefined;
      }
    }
    throw new Error(`no reply to ${payload} after ${this.retries + 1} attempts`);
  }

  close(): void {
    this.#req?.close();
    this.#req = undefined;
  }
}

/**
 * Run `total` requests from `clients` concurrent Lazy Pirate clients; resolves with every
 * request's attempts (all answered, or it rejects). Each reply is checked against `expect`.
 */
export async function runClients(endpoint: string, clients: number, total: number, expect: (payload: string) => string, options: { timeout?: number; retries?: number; onAnswer?: (n: number) => void } = {}): Promise<{ answered: number; retried: number; resends: number }> {
  let next = 0;
  let answered = 0;
  let retried = 0;
  let resends = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const client = new RawLazyClient(endpoint, options.timeout, options.retries);
      try {
      while (next < total) {
        const payload = `c${c}-r${next++}`;
        const { reply, attempts } = await client.request(payload);
        if (reply.length !== 1 || reply[0] !== expect(payload)) throw new Error(`wrong reply to ${payload}: ${JSON.stringify(reply)}`);
        answered++;
        if (attempts > 1) {
          retried++;
          resends += attempts - 1;
        }
        options.onAnswer?.(answered);
      }
      } finally {
        client.close();
      }
    }),
  );
  return { answered, retried, resends };
}

/** A worker driven by hand: every message it gets is kept in `messages`. */
export class RawWorker {
  readonly socket: zmq.Dealer;
  readonly messages: Buffer[][] = [];
  #closed = false;
  readonly #pump: Promise<void>;

  constructor(endpoint: string, routingId?: string) {
    const socket = new zmq.Dealer({ linger: 0, ...(routingId ? { routingId } : {}) });
    this.socket = socket;
    socket.connect(endpoint);
    this.#pump = (async () => {
      try {
        for (;;) this.messages.push((await socket.receive()) as Buffer[]);
      } catch {
        // closed
      }
    })();
  }

  send(frames: (string | Buffer)[]): Promise<void> {
    return this.socket.send(frames);
  }

  /** Requests received (anything but a 1-frame heartbeat). */
  requests(): Buffer[][] {
    return this.messages.filter((m) => !(m.length === 1 && m[0]!.length === 1 && m[0]![0] === 0x02));
  }

  heartbeats(): number {
    return this.messages.length - this.requests().length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.close();
    await this.#pump;
  }
}

/** Reply to a request as a worker would: same address stack, new content. */
export function replyTo(request: Buffer[], ...content: string[]): Buffer[] {
  const at = request.findIndex((f) => f.length === 0);
  return [...request.slice(0, at + 1), ...content.map((c) => Buffer.from(c))];
}
