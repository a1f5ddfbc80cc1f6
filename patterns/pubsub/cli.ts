/**
 * `zpatterns pubsub ...`: serve, subscribe, publish (to the ingest socket) and adduser.
 * @module
 */
import { readFileSync } from "node:fs";
import * as zmq from "zeromq";
import { aborted, choiceArg, EXIT, intArg, listArg, observe, strArg, UsageError, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { METRICS_FLAG } from "../../src/cli/flags.js";
import { AuthError, describeId } from "../../src/index.js";
import { isZ85Key, parseCertificate } from "../../src/zap/index.js";
import { addUser, AUTH_LIMIT_DEFAULTS, DEFAULT_SCRYPT_COST } from "./auth.js";
import { PubSubClient, SlowSubscriberError } from "./client.js";
import { PROTOCOL, PROTOCOL_1_1, type ProtocolVersion } from "./protocol.js";
import { PubSubServer } from "./server.js";

/** Exit code of `pubsub subscribe` when the server refuses the credentials or a pattern. */
export const EXIT_DENIED = 3;
/** Exit code of `pubsub subscribe --close-on-lag` when it closed itself for lagging. */
export const EXIT_SLOW = 4;

/** Read a Z85 key from a key file (`zpatterns keygen` certificate, or a bare 40-character key). */
export function readKeyFile(path: string, kind: "public" | "secret"): string {
  const text = readFileSync(path, "utf8");
  if (isZ85Key(text.trim())) return text.trim();
  const cert = parseCertificate(text, path);
  const key = typeof cert === "string" ? undefined : kind === "public" ? cert.publicKey : cert.secretKey;
  if (!key) throw new UsageError(`${path}: no ${kind} key found${typeof cert === "string" ? ` (${cert})` : ""}`);
  return key;
}

/** A key given on the command line, or read from the file it names. */
function keyArg(value: string, kind: "public" | "secret"): string {
  return value.length === 40 && !/[/\\]/.test(value) ? value : readKeyFile(value, kind);
}

/** §4.1.1 login limits: flag, option, minimum, placeholder, help. */
const AUTH_LIMIT_FLAGS = [
  ["max-auth-checks", "maxAuthChecks", 1, "N", "credential checks (scrypt) running at once"],
  ["max-queued-auth-checks", "maxQueuedAuthChecks", 0, "N", "checks waiting for a slot; beyond, 429"],
  ["auth-failure-limit", "authFailureLimit", 1, "N", "failed logins for one user name before it backs off"],
  ["auth-backoff", "authBackoff", 1, "MS", "first back-off of that name (doubles per failure)"],
  ["auth-backoff-max", "authBackoffMax", 1, "MS", "back-off cap"],
  ["max-auth-names", "maxAuthNames", 1, "N", "user names whose failures are remembered"],
] as const;

const serve: CliCommand = {
  name: "pubsub serve",
  summary: "Run an authenticated pub-sub server (ZPS/1) until interrupted",
  usage: "--bind EP [--ingest EP] (--users FILE | --allow-any) [--expiry MS] [--subscriber-hwm N] [--send-queue-limit N] [--stats-interval MS] [--curve-secret-key FILE --curve-allow KEYFILE...] [--max-auth-checks N] [--max-queued-auth-checks N] [--auth-failure-limit N] [--auth-backoff MS] [--auth-backoff-max MS] [--max-auth-names N]",
  help: `Options:
  --bind EP               ROUTER endpoint for subscribers (repeatable; tcp://127.0.0.1:* picks a port)
  --ingest EP             PULL endpoint taking [topic, body...] messages to publish (repeatable)
  --users FILE            users file (see "pubsub adduser"): scrypt hashes and entitlements
  --allow-any             accept any credentials, every topic (development only)
  --expiry MS             session expiry without keep-alive (default 5000)
  --subscriber-hwm N      per-subscriber high-water mark (default 1000)
  --send-queue-limit N    reactor send-queue limit of the ROUTER (default 10000; drops counted)
  --congestion-backoff MS after a drop at a subscriber's HWM, drop its copies untried this long (default 10)
  --stats-interval MS     print a stats line (drops per subscriber included) this often, 0 = never (default 0)
  --curve-secret-key FILE server CURVE secret key (file or 40-char Z85); enables CURVE
  --curve-allow KEYFILE   client public key allowed to connect (file or Z85; repeatable)
${AUTH_LIMIT_FLAGS.map(([flag, option, , arg, text]) => `${`  --${flag} ${arg}`.padEnd(25)} ${text} (default ${AUTH_LIMIT_DEFAULTS[option]})`).join("\n")}
${METRICS_FLAG.help(26)}

Prints "listening <router-endpoint> [ingest <endpoint>]" once bound, then one log line per
client event on stderr (refused logins and subscriptions: the first of each interval, then
a summary line with the count).`,
  options: {
    bind: { type: "string", multiple: true },
    ingest: { type: "string", multiple: true },
    users: { type: "string" },
    "allow-any": { type: "boolean" },
    expiry: { type: "string" },
    "subscriber-hwm": { type: "string" },
    "send-queue-limit": { type: "string" },
    "congestion-backoff": { type: "string" },
    "stats-interval": { type: "string" },
    "curve-secret-key": { type: "string" },
    "curve-allow": { type: "string", multiple: true },
    ...Object.fromEntries(AUTH_LIMIT_FLAGS.map(([flag]) => [flag, { type: "string" as const }])),
    ...METRICS_FLAG.options,
  },
  async run(ctx) {
    const bind = listArg(ctx.values, "bind");
    if (bind.length === 0) throw new UsageError("--bind is required");
    const users = strArg(ctx.values, "users");
    const allowAny = ctx.values["allow-any"] === true;
    if ((users ? 1 : 0) + (allowAny ? 1 : 0) !== 1) throw new UsageError("give exactly one of --users FILE and --allow-any");
    const secret = strArg(ctx.values, "curve-secret-key");
    const allow = listArg(ctx.values, "curve-allow").map((k) => keyArg(k, "public"));
    if (allow.length > 0 && !secret) throw new UsageError("--curve-allow needs --curve-secret-key");
    if (secret && allow.length === 0) throw new UsageError("--curve-secret-key needs at least one --curve-allow KEYFILE");
    const ingest = listArg(ctx.values, "ingest");
    const server = new PubSubServer({
      bind,
      ...(ingest.length ? { ingest } : {}),
      ...(users ? { users } : { allowAny: true }),
      expiry: intArg(ctx.values, "expiry", 5000, 1),
      subscriberHwm: intArg(ctx.values, "subscriber-hwm", 1000, 0),
      sendQueueLimit: intArg(ctx.values, "send-queue-limit", 10_000, 1),
      congestionBackoff: intArg(ctx.values, "congestion-backoff", 10, 0),
      ...(secret ? { curveSecretKey: keyArg(secret, "secret"), curveAllow: allow } : {}),
      ...Object.fromEntries(AUTH_LIMIT_FLAGS.map(([flag, option, min]) => [option, intArg(ctx.values, flag, AUTH_LIMIT_DEFAULTS[option], min)])),
      logger: ctx.logger,
    });
    observe(ctx, "pubsub_server", server, [], { table: { gauges: ["authChecksRunning", "authChecksQueued", "authNamesBackingOff"] } });
    const id = (b: Buffer) => describeId(b);
    server.on("client:authenticated", (e) => ctx.out.log(`authenticated ${e.principal.name} (${id(e.identity)})`, { event: "client:authenticated", user: e.principal.name, identity: id(e.identity) }));
    // A refused login can come once per connection: summarised, never one line each.
    server.on("client:denied", (e) => ctx.out.logSummarised("client:denied", `denied ${e.user} ${e.status} ${e.reason}`, { event: "client:denied", user: e.user, status: e.status }, String(e.status)));
    server.on("client:expired", (e) => ctx.out.log(`expired ${e.principal.name}`, { event: "client:expired", user: e.principal.name }));
    server.on("client:evicted", (e) => ctx.out.log(`evicted ${e.principal.name}`, { event: "client:evicted", user: e.principal.name }));
    server.on("subscription:denied", (e) => ctx.out.logSummarised("subscription:denied", `denied patterns ${e.patterns.join(", ")} for ${e.principal.name}`, { event: "subscription:denied", user: e.principal.name, status: e.status }, String(e.status)));
    const statsInterval = intArg(ctx.values, "stats-interval", 0, 0);
    const printStats = () => ctx.out.log(`stats ${JSON.stringify(server.stats())}`, { event: "stats", ...server.stats() });
    let timer: NodeJS.Timeout | undefined;
    try {
      await server.start();
      const ing = server.ingestEndpoint;
      ctx.out.result(`listening ${server.endpoint}${ing ? ` ingest ${ing}` : ""}`, { event: "listening", endpoint: server.endpoint, ingest: ing ?? null });
      if (statsInterval > 0) timer = setInterval(printStats, statsInterval);
      await aborted(ctx.signal);
      printStats();
      return EXIT.OK;
    } finally {
      clearInterval(timer);
      await server.close();
    }
  },
};

const subscribe: CliCommand = {
  name: "pubsub subscribe",
  summary: "Subscribe to topics on a ZPS/1 server and print topic<TAB>body per message",
  usage: "--connect EP --user U --password P [--count N] [--max-lag MS [--close-on-lag]] [--protocol ZPS/1|ZPS/1.1] [--heartbeat-interval MS] [--heartbeat-liveness N] [--curve-server-key KEY] TOPIC...",
  help: `Arguments:
  TOPIC                   subscription patterns (prefix match; "" for everything)

Options:
  --connect EP            server endpoint
  --user U                user name
  --password P            password ("-" reads it from stdin)
  --count N               exit 0 after N messages (default: run until interrupted)
  --max-lag MS            report a message that arrives more than MS after the server sent it
                          (lag:exceeded; ZPS/1.1; default 0 = never)
  --close-on-lag          exit 4 instead, on the first such message (the Guide's Suicidal Snail)
  --protocol V            ZPS/1.1 (default: sequence numbers, gaps counted) or ZPS/1
  --heartbeat-interval MS keep-alive (HELLO) interval (default 1000)
  --heartbeat-liveness N  silent intervals before the server is taken as gone (default 3)
  --curve-server-key KEY  server public key (file or Z85): connect with CURVE
  --curve-public-key KEY  this client's public key (file or Z85; default: a fresh pair)
  --curve-secret-key KEY  this client's secret key (file or Z85)

Prints one line per message: topic, TAB, body frames separated by TAB (--json: {topic, body,
seq, lag}). Gaps in the sequence (messages the server dropped for us) and late messages are
logged on stderr (messages:missed, lag:exceeded), and the counters at exit (missed, lagged, ...).
Exit codes: 0 after N messages (or when interrupted), 3 when the server refuses the
credentials (401) or a subscription (403/429), 4 after --close-on-lag, 1 on other failures,
2 on usage errors.`,
  options: {
    connect: { type: "string" },
    user: { type: "string" },
    password: { type: "string" },
    count: { type: "string" },
    "max-lag": { type: "string" },
    "close-on-lag": { type: "boolean" },
    protocol: { type: "string" },
    "heartbeat-interval": { type: "string" },
    "heartbeat-liveness": { type: "string" },
    "curve-server-key": { type: "string" },
    "curve-public-key": { type: "string" },
    "curve-secret-key": { type: "string" },
  },
  allowPositionals: true,
  async run(ctx) {
    const endpoint = strArg(ctx.values, "connect", true);
    const user = strArg(ctx.values, "user", true);
    let password = strArg(ctx.values, "password", true);
    if (password === "-") password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
    const count = intArg(ctx.values, "count", 0, 0);
    if (ctx.positionals.length === 0) throw new UsageError("give at least one TOPIC pattern");
    const serverKey = strArg(ctx.values, "curve-server-key");
    const pub = strArg(ctx.values, "curve-public-key");
    const sec = strArg(ctx.values, "curve-secret-key");
    const maxLag = intArg(ctx.values, "max-lag", 0, 0);
    const closeOnLag = ctx.values["close-on-lag"] === true;
    if (closeOnLag && maxLag === 0) throw new UsageError("--close-on-lag needs --max-lag MS");
    const c = new PubSubClient({
      endpoint,
      user,
      password,
      subscribe: ctx.positionals,
      maxLag,
      closeOnLag,
      protocol: choiceArg<ProtocolVersion>(ctx.values, "protocol", [PROTOCOL_1_1, PROTOCOL], PROTOCOL_1_1),
      heartbeatInterval: intArg(ctx.values, "heartbeat-interval", 1000, 1),
      heartbeatLiveness: intArg(ctx.values, "heartbeat-liveness", 3, 1),
      ...(serverKey ? { curveServerKey: keyArg(serverKey, "public") } : {}),
      ...(pub && sec ? { curvePublicKey: keyArg(pub, "public"), curveSecretKey: keyArg(sec, "secret") } : {}),
      signal: ctx.signal,
    });
    return runSubscriber(ctx, c, count);
  },
};

async function runSubscriber(ctx: CliContext, c: PubSubClient, count: number): Promise<number> {
  let denied: AuthError | undefined;
  const stop = new AbortController();
  c.on("subscription:denied", (e) => {
    denied = e.error;
    stop.abort();
  });
  c.on("session:started", (e) => ctx.out.log(e.resumed ? "session resumed" : "session started", { event: "session:started", resumed: e.resumed }));
  c.on("messages:missed", (e) => ctx.out.log(`missed ${e.count} messages before seq ${e.seq} (${e.total} in all)`, { event: "messages:missed", ...e }));
  c.on("lag:exceeded", (e) => ctx.out.log(`lagging: a message came ${e.lag} ms after it was sent (max ${e.maxLag})`, { event: "lag:exceeded", lag: e.lag, maxLag: e.maxLag, seq: e.seq }));
  c.on("protocol:downgraded", (e) => ctx.out.log(`server speaks ${e.to} only`, { event: "protocol:downgraded", ...e }));
  let slow: SlowSubscriberError | undefined;
  let n = 0;
  try {
    const iter = c[Symbol.asyncIterator]();
    const stopped = new Promise<IteratorResult<never>>((resolve) => stop.signal.addEventListener("abort", () => resolve({ done: true, value: undefined }), { once: true }));
    while (count === 0 || n < count) {
      const r = await Promise.race([iter.next(), stopped]);
      if (r.done) break;
      const m = r.value;
      n++;
      ctx.out.result(`${m.topic.toString()}\t${m.body.map(String).join("\t")}`, { topic: m.topic.toString(), body: m.body.map(String), ...(m.seq === undefined ? {} : { seq: m.seq, lag: Date.now() - m.sent! }) });
    }
  } catch (error) {
    if (error instanceof AuthError) denied = error;
    else if (error instanceof SlowSubscriberError) slow = error;
    else throw error;
  } finally {
    await c.close();
    ctx.out.log(`stats ${JSON.stringify(c.stats())}`, { event: "stats", protocol: c.protocol, ...c.stats() });
  }
  if (slow) {
    ctx.out.error(slow.message);
    return EXIT_SLOW;
  }
  if (denied) {
    ctx.out.error(`denied: ${denied.message}`);
    return EXIT_DENIED;
  }
  return EXIT.OK;
}

const publish: CliCommand = {
  name: "pubsub publish",
  summary: "Send one message to a ZPS/1 server's ingest socket",
  usage: "--connect INGEST_EP TOPIC BODY...",
  help: `Arguments:
  TOPIC        topic
  BODY         body frames (at least one)

Options:
  --connect EP the server's --ingest endpoint

Exit codes: 0 once the message is handed to a connection to the server, 1 when no server
accepted a connection within 5 s, 2 on usage errors.`,
  options: { connect: { type: "string" } },
  allowPositionals: true,
  async run(ctx) {
    const endpoint = strArg(ctx.values, "connect", true);
    if (ctx.positionals.length < 2) throw new UsageError("give TOPIC and at least one BODY frame");
    // immediate: the send waits (up to sendTimeout) for a connected server instead of
    // queueing towards none, so "sent" (exit 0) means the message reached a connection.
    const push = new zmq.Push({ linger: 2000, sendTimeout: 5000, immediate: true });
    try {
      push.connect(endpoint);
      await push.send(ctx.positionals);
      ctx.out.result(`sent ${ctx.positionals[0]}`, { sent: ctx.positionals[0] });
      return EXIT.OK;
    } finally {
      push.close();
    }
  },
};

const adduser: CliCommand = {
  name: "pubsub adduser",
  summary: "Add or replace a user in a pub-sub users file (scrypt hash, entitlements)",
  usage: "--users FILE --user U --password P --allow PATTERN...",
  help: `Options:
  --users FILE      users file (created with mode 0600 when missing)
  --user U          user name
  --password P      password ("-" reads it from stdin); only its scrypt hash is stored
  --allow PATTERN   topic prefix the user may subscribe to (repeatable; "" = everything)
  --cost N          scrypt N, a power of two from 1024 to 1048576 (default ${DEFAULT_SCRYPT_COST})`,
  options: { users: { type: "string" }, user: { type: "string" }, password: { type: "string" }, allow: { type: "string", multiple: true }, cost: { type: "string" } },
  async run(ctx) {
    const file = strArg(ctx.values, "users", true);
    const user = strArg(ctx.values, "user", true);
    let password = strArg(ctx.values, "password", true);
    if (password === "-") password = readFileSync(0, "utf8").replace(/\r?\n$/, "");
    const allow = listArg(ctx.values, "allow");
    if (allow.length === 0) throw new UsageError("give at least one --allow PATTERN");
    const cost = intArg(ctx.values, "cost", DEFAULT_SCRYPT_COST, 1024);
    if (cost > 1 << 20 || (cost & (cost - 1)) !== 0) throw new UsageError("--cost must be a power of two from 1024 to 1048576");
    await addUser(file, user, password, allow, cost);
    ctx.out.result(`${user}: allowed ${allow.map((a) => JSON.stringify(a)).join(", ")}`, { user, allow });
    return EXIT.OK;
  },
};

/** The `pubsub` commands. */
export const pubsubCommands: CliCommand[] = [serve, subscribe, publish, adduser];
