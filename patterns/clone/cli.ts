/**
 * `zpatterns clone server|set|get|watch`: 12/CHP on the command line.
 * @module
 */
import { EXIT, UsageError, aborted, choiceArg, intArg, kv, listArg, logEvents, observe, startOrReport, strArg, usage, type CliCommand, type CliContext } from "../../src/cli/cli.js";
import { FLAGS, FlagGroup, METRICS_FLAG, type Flag } from "../../src/cli/flags.js";
import { BINARY_STAR_ROLES, BSTAR_HEARTBEAT_INTERVAL } from "../binary-star/index.js";
import { CloneClient } from "./client.js";
import { HUGZ_INTERVAL, SERVER_TTL } from "./protocol.js";
import { CloneServer } from "./server.js";
import { CLONE_MAX_KEYS, CLONE_MAX_VALUE_SIZE } from "./store.js";

const SERVER_FLAGS = new FlagGroup([
  { ...FLAGS.heartbeatInterval, def: HUGZ_INTERVAL, text: "ms between HUGZ when idle (default {default})" },
  { name: "max-keys", option: "maxKeys", arg: "N", text: "most keys held; KVSETs of new keys beyond are refused (default {default})", def: CLONE_MAX_KEYS, min: 1 },
  { name: "max-value-size", option: "maxValueSize", arg: "N", text: "largest value in bytes; bigger KVSETs are refused (default {default})", def: CLONE_MAX_VALUE_SIZE, min: 1 },
  { name: "max-clients", option: "maxClients", arg: "N", text: "snapshots sent at once (default {default})", def: 16, min: 1 },
  { ...FLAGS.maxPending, text: "snapshot requests waiting; with --role, also the passive's pending KVSETs (default {default})", def: 1000 },
  FLAGS.sendQueueLimit,
]);
const serverTtl: Flag = { name: "server-ttl", option: "serverTtl", arg: "MS", text: "a server is gone after this long without HUGZ or an update, and the longest wait for a snapshot (default {default})", def: SERVER_TTL, min: 1 };
const CLIENT_FLAGS = new FlagGroup([serverTtl]);

const serverCommand: CliCommand = {
  name: "clone server",
  summary: "Run a Clone (12/CHP) server: snapshot ROUTER on P, PUB on P+1, collector on P+2",
  usage: "--bind tcp://HOST:P [--role primary|backup --local EP --remote EP --peer tcp://HOST:P] [options]",
  help: `Options:
  --bind tcp://HOST:P       binds P (snapshot), P+1 (publisher) and P+2 (collector)
${SERVER_FLAGS.help(28)}
${METRICS_FLAG.help(28)}

Binary Star HA pair (the Guide's model 6; give all four, on both servers):
  --role R                  primary or backup
  --local EP                this server's Binary Star state PUB (bound)
  --remote EP               the peer's state PUB (connected)
  --peer tcp://HOST:P       the peer Clone server (its snapshot port and publisher)
  --ha-heartbeat-interval MS  ms between state messages (default ${BSTAR_HEARTBEAT_INTERVAL})

Prints "clone ready bind=EP snapshot=EP publisher=EP collector=EP" once bound, logs refused
and expired keys, malformed messages and (with --role) state changes on stderr; runs until
SIGINT/SIGTERM, then prints "clone stopped k=v...".`,
  options: {
    bind: { type: "string" },
    role: { type: "string" },
    local: { type: "string" },
    remote: { type: "string" },
    peer: { type: "string" },
    "ha-heartbeat-interval": { type: "string" },
    ...SERVER_FLAGS.options,
    ...METRICS_FLAG.options,
  },
  async run(ctx) {
    const bind = strArg(ctx.values, "bind", true);
    const haFlags = ["role", "local", "remote", "peer"].filter((f) => ctx.values[f] !== undefined);
    if (haFlags.length > 0 && haFlags.length < 4) throw new UsageError("--role, --local, --remote and --peer go together");
    const ha =
      haFlags.length === 4
        ? {
            role: choiceArg(ctx.values, "role", BINARY_STAR_ROLES),
            local: strArg(ctx.values, "local", true),
            remote: strArg(ctx.values, "remote", true),
            peer: strArg(ctx.values, "peer", true),
            heartbeatInterval: intArg(ctx.values, "ha-heartbeat-interval", BSTAR_HEARTBEAT_INTERVAL, 1),
          }
        : undefined;
    const server = usage(() => new CloneServer({ bind, ...SERVER_FLAGS.read(ctx.values), ...(ha ? { ha } : {}), logger: ctx.logger }));
    observe(ctx, "clone_server", server, ["kv:refused", "kv:expired", "snapshot:refused", "snapshot:aborted", "message:malformed", "bstar:state", "bstar:fatal", "pending:applied", "peer:synced"]);
    if (!(await startOrReport(ctx, server))) return EXIT.FAILURE;
    const { base, snapshot, publisher, collector } = server.endpoints;
    const line = { bind: base, snapshot, publisher, collector, ...(ha ? { role: ha.role, state: server.haState } : {}) };
    ctx.out.result(`clone ready ${Object.entries(line).map(([k, v]) => `${k}=${v}`).join(" ")}`, { event: "ready", role: "server", protocol: "clone", ...line });
    await aborted(ctx.signal);
    await server.close();
    const { ha: _star, ...stats } = server.stats();
    ctx.out.result(`clone stopped ${kv(stats)}`, { event: "stopped", ...stats });
    return EXIT.OK;
  },
};

const CONNECT_HELP = `  --connect tcp://HOST:P    a server (repeat for an HA pair, primary first)
${CLIENT_FLAGS.help(28)}`;

/** A client synced within `serverTtl` (exit 1 otherwise, with a message). */
async function syncedClient(ctx: CliContext, subtree?: string): Promise<CloneClient | undefined> {
  const endpoint = listArg(ctx.values, "connect");
  if (endpoint.length === 0) throw new UsageError("--connect is required");
  const flags = CLIENT_FLAGS.read(ctx.values);
  const client = usage(() => new CloneClient({ endpoint, ...flags, ...(subtree !== undefined ? { subtree } : {}), signal: ctx.signal }));
  logEvents(ctx, client, ["server:lost", "endpoint:failover", "message:malformed"]);
  const ms = Number(flags.serverTtl) * Math.max(2, endpoint.length + 1);
  try {
    await Promise.race([client.synced(), aborted(AbortSignal.timeout(ms)).then(() => Promise.reject(new Error(`no snapshot from ${endpoint.join(", ")} within ${ms} ms`)))]);
    return client;
  } catch (error) {
    await client.close();
    if (ctx.signal.aborted) return undefined;
    ctx.out.error(error instanceof Error ? error.message : String(error));
    return undefined;
  }
}

const setCommand: CliCommand = {
  name: "clone set",
  summary: "Set a key of a Clone server (an empty VALUE deletes it); waits until it is published",
  usage: "--connect tcp://HOST:P KEY VALUE [--ttl S]",
  help: `Sends one KVSET to the server's collector (again, same UUID, until it comes back) and
waits until the server publishes it; exits 1 when it did not within 3 x --server-ttl (the
server refused it: see its log).

Options:
${CONNECT_HELP}
  --ttl S                   the server deletes the key after S seconds`,
  options: { connect: { type: "string", multiple: true }, ttl: { type: "string" }, ...CLIENT_FLAGS.options },
  allowPositionals: true,
  async run(ctx) {
    if (ctx.positionals.length !== 2) throw new UsageError("expected KEY VALUE");
    const [key, value] = ctx.positionals as [string, string];
    const ttlRaw = strArg(ctx.values, "ttl");
    const ttl = ttlRaw === undefined ? undefined : Number(ttlRaw);
    if (ttl !== undefined && !(/^\d+(\.\d+)?$/.test(ttlRaw!) && Number.isFinite(ttl))) throw new UsageError(`--ttl expects a number of seconds, got ${JSON.stringify(ttlRaw)}`);
    const client = await syncedClient(ctx);
    if (!client) return EXIT.FAILURE;
    try {
      let seq: number | undefined;
      client.on("kv:changed", (c) => {
        if (c.key === key) seq = c.seq;
      });
      // set() resolves once the server published it, and rejects when it did not (refused).
      await client.set(key, value, ttl ? { ttl } : {}).catch((error: unknown) => {
        throw new Error(`${key}: ${error instanceof Error ? error.message : String(error)}`);
      });
      ctx.out.result(`${key}=${value} seq=${seq ?? client.stats().seq}`, { key, value, seq: seq ?? client.stats().seq, ...(ttl ? { ttl } : {}) });
      return EXIT.OK;
    } finally {
      await client.close();
    }
  },
};

const subtreeOption = { subtree: { type: "string" as const } };
const SUBTREE_HELP = `  --subtree /a/             only keys under this subtree`;

const getCommand: CliCommand = {
  name: "clone get",
  summary: "Print a Clone server's snapshot as KEY=VALUE lines sorted by key",
  usage: "--connect tcp://HOST:P [--subtree /a/]",
  help: `Asks for the snapshot and prints it on stdout, one KEY=VALUE line per key sorted by key
(with --json, {"key","value"} lines), then exits 0; exits 1 when no snapshot came.

Options:
${CONNECT_HELP}
${SUBTREE_HELP}`,
  options: { connect: { type: "string", multiple: true }, ...subtreeOption, ...CLIENT_FLAGS.options },
  async run(ctx) {
    const client = await syncedClient(ctx, strArg(ctx.values, "subtree"));
    if (!client) return EXIT.FAILURE;
    for (const [key, value] of client.entries()) ctx.out.result(`${key}=${value.toString()}`, { key, value: value.toString() });
    await client.close();
    return EXIT.OK;
  },
};

const watchCommand: CliCommand = {
  name: "clone watch",
  summary: "Print the changes of a Clone server's map as they come",
  usage: "--connect tcp://HOST:P [--subtree /a/]",
  help: `Prints the snapshot, then every change, one line each: "KEY=VALUE" for a set, "KEY" with
"deleted" for a delete (with --json, {"key","value","deleted","seq","cause"} lines). A lost
server is logged on stderr and the map resynchronised (changes it makes are printed).
Runs until SIGINT/SIGTERM.

Options:
${CONNECT_HELP}
${SUBTREE_HELP}`,
  options: { connect: { type: "string", multiple: true }, ...subtreeOption, ...CLIENT_FLAGS.options },
  async run(ctx) {
    const endpoint = listArg(ctx.values, "connect");
    if (endpoint.length === 0) throw new UsageError("--connect is required");
    const subtree = strArg(ctx.values, "subtree");
    const client = usage(() => new CloneClient({ endpoint, ...CLIENT_FLAGS.read(ctx.values), ...(subtree !== undefined ? { subtree } : {}) }));
    logEvents(ctx, client, ["server:lost", "endpoint:failover", "message:malformed", "kv:synced"]);
    client.on("kv:changed", (c) => {
      const value = c.value?.toString();
      ctx.out.result(value === undefined ? `${c.key} deleted` : `${c.key}=${value}`, { key: c.key, value: value ?? null, deleted: value === undefined, seq: c.seq, cause: c.cause });
    });
    await client.start();
    await aborted(ctx.signal);
    await client.close();
    return EXIT.OK;
  },
};

/** The commands this pattern adds to `zpatterns`. */
export const cloneCommands: CliCommand[] = [serverCommand, setCommand, getCommand, watchCommand];
