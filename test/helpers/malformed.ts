/**
 * Sends random and malformed multipart messages at an endpoint: the foundation's fuzzing
 * helper for every pattern's "malformed frames are counted and dropped" tests.
 *
 * It mixes pure noise (random frame counts and sizes, empty frames, a 64 KiB frame, many
 * frames) with mutations of valid `templates` the caller supplies (one frame replaced,
 * truncated, extended, frames dropped or duplicated), which reach deeper into a parser than
 * noise does. Seeded, so a failure can be replayed.
 */
import * as zmq from "zeromq";

/**
 * Socket type to send from. ZeroMQ only connects compatible types: `dealer`, `req` and `router`
 * reach a ROUTER (or DEALER/REP), `push` reaches only a PULL and `pub` only a SUB. A `push`
 * aimed at a ROUTER "sends" fine but the handshake fails and nothing arrives.
 */
export type GarbageSocketType = "dealer" | "req" | "router" | "push" | "pub";

export interface MalformedOptions {
  /** Socket type to connect with. Default `dealer`. */
  type?: GarbageSocketType;
  /** Messages to send. Default 200. */
  count?: number;
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Valid messages to mutate (as the peer would send them, without any envelope). */
  templates?: Buffer[][];
  /** Routing id to set on the socket. */
  routingId?: string;
  /** For `router`: the peer routing id to address. */
  peerId?: Buffer;
  /** Close linger, ms. Default 1000 (so the messages do leave). */
  linger?: number;
  /**
   * Send timeout per message, ms. Default 5000: a peer that never connects (wrong endpoint)
   * makes `sendMalformed` reject with EAGAIN instead of hanging the test.
   */
  sendTimeout?: number;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generate `count` malformed messages (deterministic for a seed). */
export function malformedMessages(count: number, seed = 1, templates: Buffer[][] = []): Buffer[][] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const out: Buffer[][] = [];
  const fixed: Buffer[][] = [
    [Buffer.alloc(0)],
    [Buffer.alloc(0), Buffer.alloc(0)],
    [Buffer.from([0x00])],
    [Buffer.from([0xff])],
    [Buffer.from([0x01]), Buffer.from("extra")],
    [Buffer.from([0x02]), Buffer.alloc(0), Buffer.alloc(0)],
    [bytes(65536)],
    Array.from({ length: 64 }, () => bytes(int(4))),
    [Buffer.from("\u0000\u0001\u0002")],
  ];
  for (let i = 0; i < count; i++) {
    const pick = rnd();
    if (i < fixed.length) {
      out.push(fixed[i]!);
    } else if (templates.length > 0 && pick < 0.6) {
      const msg = templates[int(templates.length)]!.map((f) => Buffer.from(f));
      const at = int(msg.length);
      switch (int(6)) {
        case 0:
          msg[at] = bytes(int(8));
          break;
        case 1:
          msg[at] = msg[at]!.subarray(0, Math.max(0, msg[at]!.length - 1));
          break;
        case 2:
          msg.push(bytes(int(16)));
          break;
        case 3:
          msg.splice(at, 1);
          break;
        case 4:
          msg.splice(at, 0, Buffer.from(msg[at]!));
          break;
        default:
          msg[at] = Buffer.concat([msg[at]!, bytes(1 + int(4))]);
      }
      out.push(msg.length > 0 ? msg : [Buffer.alloc(0)]);
    } else {
      const frames = 1 + int(8);
      out.push(Array.from({ length: frames }, () => (rnd() < 0.2 ? Buffer.alloc(0) : bytes(int(40)))));
    }
  }
  return out;
}

/**
 * Connect to `endpoint`, send `count` malformed messages, close. For `req` the socket is
 * recreated after each message (a REQ cannot send twice without a reply). Resolves with the
 * number sent.
 */
export async function sendMalformed(endpoint: string, options: MalformedOptions = {}): Promise<number> {
  const { type = "dealer", count = 200, seed = 1, templates = [], linger = 1000, sendTimeout = 5000 } = options;
  const messages = malformedMessages(count, seed, templates);
  const make = (): zmq.Socket & zmq.Writable => {
    const base = { linger, sendTimeout, ...(options.routingId ? { routingId: options.routingId } : {}) };
    switch (type) {
      case "req":
        return new zmq.Request(base);
      case "router":
        return new zmq.Router(base);
      case "push":
        return new zmq.Push(base);
      case "pub":
        return new zmq.Publisher(base);
      default:
        return new zmq.Dealer(base);
    }
  };
  let socket = make();
  socket.connect(endpoint);
  let sent = 0;
  try {
    for (const msg of messages) {
      if (type === "req" && sent > 0) {
        socket.close();
        socket = make();
        socket.connect(endpoint);
      }
      await socket.send(type === "router" && options.peerId ? [options.peerId, ...msg] : msg);
      sent++;
    }
  } finally {
    socket.close();
  }
  return sent;
}
