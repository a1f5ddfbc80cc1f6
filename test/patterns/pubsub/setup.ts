/**
 * Shared fixtures for the pub-sub tests: a users file with a cheap scrypt cost, servers and
 * clients that are closed after each test, and a raw DEALER that speaks ZPS/1 by hand.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { addUser, PubSubClient, PubSubServer, type PubSubClientOptions, type PubSubServerOptions } from "../../../patterns/pubsub/index.js";

/** scrypt N for tests (the default 16384 is for production). */
export const TEST_COST = 1024;

const closers: (() => Promise<void> | void)[] = [];

/** Close everything made through this module (afterEach). */
export async function closeAll(): Promise<void> {
  for (const c of closers.splice(0).reverse()) await c();
}

/** A users file: alice (news., weather.), bob (sports.), admin (everything). */
export async function usersFile(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "zps-"));
  const file = join(dir, "users.json");
  await addUser(file, "alice", "alice-pw", ["news.", "weather."], TEST_COST);
  await addUser(file, "bob", "bob-pw", ["sports."], TEST_COST);
  await addUser(file, "admin", "admin-pw", [""], TEST_COST);
  return file;
}

/** A started server on tcp://127.0.0.1:* (closed after the test). */
export async function server(options: Partial<PubSubServerOptions> = {}): Promise<PubSubServer> {
  const s = new PubSubServer({ bind: "tcp://127.0.0.1:*", ...(options.authenticator || options.allowAny ? {} : { users: options.users ?? (await usersFile()) }), ...options } as PubSubServerOptions);
  closers.push(() => s.close());
  await s.start();
  return s;
}

/** A client with test timings (closed after the test). */
export function client(endpoint: string, user: string, password: string, options: Partial<PubSubClientOptions> = {}): PubSubClient {
  const c = new PubSubClient({ endpoint, user, password, heartbeatInterval: 100, heartbeatLiveness: 10, reconnectInterval: 100, reconnectMaxInterval: 500, ...options });
  closers.push(() => c.close());
  return c;
}

/** Collect a client's messages as `topic=body` strings. */
export function collect(c: PubSubClient): string[] {
  const got: string[] = [];
  c.on("message", (m) => got.push(`${m.topic.toString()}=${m.body.map(String).join("|")}`));
  return got;
}

/** A raw DEALER (closed after the test): send frames by hand, read replies. */
export function rawDealer(endpoint: string, options: zmq.SocketOptions<zmq.Dealer> = {}): zmq.Dealer {
  const d = new zmq.Dealer({ linger: 0, receiveTimeout: 5000, ...options });
  d.connect(endpoint);
  closers.push(() => d.close());
  return d;
}

/** Receive until a message whose frames (as text) satisfy `pred`. */
export async function receiveUntil(d: zmq.Dealer, pred: (frames: string[]) => boolean): Promise<string[]> {
  for (;;) {
    const frames = (await d.receive()).map((f) => f.toString());
    if (pred(frames)) return frames;
  }
}
