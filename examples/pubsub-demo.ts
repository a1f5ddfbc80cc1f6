/**
 * The pub-sub scene for the demo: an authorised subscriber receiving, a denied one, and one
 * that stops its keep-alive and is purged. Ends by itself in about three seconds.
 * Run alone: node dist/examples/pubsub-demo.js
 */
import * as zmq from "zeromq";
import { Output } from "../src/cli/cli.js";
import { AuthError } from "../src/index.js";
import { helloFrames, PubSubClient, PubSubServer, type Authenticator } from "../patterns/pubsub/index.js";

/** Run the scene; resolves with ok and a summary (also printed through `out.result`). */
export async function runPubSubScene(out: Output, signal?: AbortSignal): Promise<{ ok: boolean; summary: Record<string, unknown> }> {
  // A pluggable authenticator: here an in-memory table (production: a users file).
  const accounts = new Map([
    ["alice", { password: "wonderland", allow: ["prices."] }],
    ["ghost", { password: "boo", allow: ["prices."] }],
  ]);
  const authenticator: Authenticator = ({ user, secret }) => {
    const a = accounts.get(user);
    return a && secret.toString() === a.password ? { name: user, entitlements: a.allow } : { denied: "unknown user or wrong password" };
  };
  const server = await PubSubServer.start({ bind: "tcp://127.0.0.1:*", authenticator, expiry: 600, signal });
  server.on("client:authenticated", (e) => out.log(`  server: ${e.principal.name} authenticated, patterns ${e.patterns.join(", ")}`));
  server.on("client:denied", (e) => out.log(`  server: ${e.user} denied (${e.status} ${e.reason})`));
  server.on("client:expired", (e) => out.log(`  server: ${e.principal.name}'s keep-alive stopped: purged after 600 ms`));
  out.log(`Authenticated pub-sub (ZPS/1) on ${server.endpoint}`);

  // Keep-alives every 150 ms (the server expires sessions after 600 ms); a busy machine's
  // pauses must not look like a dead server to alice, hence the liveness of 10 intervals.
  const alice = new PubSubClient({ endpoint: server.endpoint, user: "alice", password: "wonderland", subscribe: ["prices."], heartbeatInterval: 150, heartbeatLiveness: 10, signal });
  let received = 0;
  let onCopy: (() => void) | undefined;
  alice.on("message", (m) => {
    received++;
    if (received % 5 === 1) out.log(`  alice got ${m.topic} = ${m.body.join(" ")}`);
    onCopy?.();
  });
  const mallory = new PubSubClient({ endpoint: server.endpoint, user: "mallory", password: "guess", subscribe: ["prices."], signal });
  let deniedStatus = 0;
  const denied = mallory.ready().catch((e: unknown) => {
    if (e instanceof AuthError) deniedStatus = e.status;
  });
  // A subscriber that authenticates once and never sends a keep-alive.
  const ghost = new zmq.Dealer({ linger: 0 });
  ghost.connect(server.endpoint);
  await ghost.send(helloFrames("ghost", "boo", ["prices."]));
  let expired = 0;
  server.on("client:expired", () => expired++);

  // Publish only once alice's subscription is confirmed: the server answers "201 HELLO" in
  // the same turn as it adds her patterns (ZPS/1 §4.1.2), so every copy published after
  // ready() is routed to her. (Publishing earlier is what loses a first message.)
  const subscribed = await alice.ready().then(
    () => true,
    () => false,
  );
  let published = 0;
  let copies = 0;
  const ticker = server.reactor.every(100, () => {
    published++;
    copies += server.publish(`prices.${published % 2 ? "gold" : "oil"}`, (100 + published).toFixed(2));
  });
  await Promise.race([
    new Promise<void>((resolve) => server.reactor.after(2500, resolve)),
    new Promise<void>((resolve) => signal?.addEventListener("abort", () => resolve(), { once: true })),
  ]);
  ticker.cancel();
  // The last copies may still be on the wire: wait for them (at most 2 s) before closing.
  if (received < published && !signal?.aborted) {
    await new Promise<void>((resolve) => {
      const give = server.reactor.after(2000, resolve);
      const stop = () => {
        give.cancel();
        resolve();
      };
      onCopy = () => received >= published && stop();
      signal?.addEventListener("abort", stop, { once: true });
    });
    onCopy = undefined;
  }
  await denied;
  const stats = server.stats();
  ghost.close();
  await Promise.all([alice.close(), mallory.close()]);
  await server.close();
  const summary = { published, copies, aliceReceived: received, deniedStatus, expired, drops: stats.dropped, malformed: stats.malformed };
  const ok = subscribed && received === published && deniedStatus === 401 && expired === 1;
  out.result(`Pub-sub: alice received ${received} of ${published}; mallory denied ${deniedStatus}; ${expired} silent subscriber purged`, summary);
  return { ok, summary };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ok } = await runPubSubScene(new Output(process.argv.includes("--json")));
  process.exitCode = ok ? 0 : 1;
}
