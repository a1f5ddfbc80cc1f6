/**
 * Run a throwaway mongrel2 (Debian's `mongrel2-core`) for tests, the bench and the example:
 * a temp directory that is its chroot (`run/`, `logs/`, `tmp/`), an `m2sh load`ed config
 * bound to 127.0.0.1, one route to one handler, `server.daemonize` 0 so the process stays
 * ours. Run as root, mongrel2 chroots into the directory and keeps the directory owner's uid
 * (root here); run as another user, the chroot fails and mongrel2 runs in "test mode" from
 * its working directory, which is the same directory: paths below work either way.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "../../src/index.js";
import type { Mongrel2Protocol } from "./protocol.js";

/** The mongrel2 binary (Debian: /usr/bin/mongrel2). */
export const MONGREL2 = process.env.MONGREL2 ?? "mongrel2";
/** The m2sh binary. */
export const M2SH = process.env.M2SH ?? "m2sh";

/** True when mongrel2 and m2sh can be run. */
export function mongrel2Available(): boolean {
  return spawnSync(M2SH, [], { stdio: "ignore" }).error === undefined && spawnSync(MONGREL2, [], { stdio: "ignore" }).error === undefined;
}

/** Options of {@link launchMongrel2}. */
export interface LaunchOptions {
  /** The route to the handler. Default `/`. */
  readonly route?: string;
  /** The handler's header encoding. Default `json`. */
  readonly protocol?: Mongrel2Protocol;
  /** Extra mongrel2 settings (`limits.content_length`, ...). */
  readonly settings?: Readonly<Record<string, string | number>>;
}

/** A running mongrel2. */
export interface RunningMongrel2 {
  /** Its chroot and working directory. */
  readonly dir: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Where handlers connect a PULL. */
  readonly sendSpec: string;
  /** Where handlers connect a PUB. */
  readonly recvSpec: string;
  /** Where uploads land, as this process sees it (pass as `uploadDir`). */
  readonly uploadDir: string;
  /** The server's `send_ident`. */
  readonly sendIdent: string;
  readonly process: ChildProcess;
  /** Its stderr so far (startup messages; as root, the rest goes to logs/error.log). */
  readonly output: string[];
  /** SIGTERM, then SIGKILL after 5 s; removes the directory. Idempotent. */
  stop(): Promise<void>;
}

/** A single-quoted m2sh string. */
const str = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** The m2sh config text (exported for the example and the README). */
export function mongrel2Config(o: { port: number; sendSpec: string; recvSpec: string; sendIdent: string; serverUuid: string; route: string; protocol: Mongrel2Protocol; chroot: string; settings: Readonly<Record<string, string | number>> }): string {
  const settings = Object.entries(o.settings)
    .map(([k, v]) => `    ${str(k)}: ${typeof v === "number" ? v : str(v)}`)
    .join(",\n");
  return `handler = Handler(send_spec=${str(o.sendSpec)},
    send_ident=${str(o.sendIdent)},
    recv_spec=${str(o.recvSpec)}, recv_ident='', protocol=${str(o.protocol)})

main = Server(
    uuid=${str(o.serverUuid)},
    chroot=${str(o.chroot)},
    access_log="/logs/access.log",
    error_log="/logs/error.log",
    pid_file="/run/mongrel2.pid",
    default_host="localhost",
    name="zpatterns",
    bind_addr="127.0.0.1",
    port=${o.port},
    hosts=[Host(name="localhost", routes={ ${str(o.route)}: handler })]
)

settings = {
${settings}
}

servers = [main]
`;
}

async function waitListening(port: number, proc: ChildProcess, output: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`mongrel2 exited (${proc.exitCode ?? proc.signalCode}) before listening:\n${output.join("")}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`mongrel2 did not listen on ${port} within ${timeoutMs} ms:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Start a mongrel2 as described in the module documentation. */
export async function launchMongrel2(options: LaunchOptions = {}): Promise<RunningMongrel2> {
  const dir = await mkdtemp(join(tmpdir(), "zpatterns-m2-"));
  for (const d of ["run", "logs", "tmp"]) await mkdir(join(dir, d));
  const [port, sendPort, recvPort] = [await freeTcpPort(), await freeTcpPort(), await freeTcpPort()];
  const sendSpec = `tcp://127.0.0.1:${sendPort}`;
  const recvSpec = `tcp://127.0.0.1:${recvPort}`;
  const serverUuid = randomUUID();
  const sendIdent = randomUUID();
  const settings = { "server.daemonize": 0, "upload.temp_store": "tmp/upload.XXXXXX", ...options.settings };
  const config = mongrel2Config({ port, sendSpec, recvSpec, sendIdent, serverUuid, route: options.route ?? "/", protocol: options.protocol ?? "json", chroot: dir, settings });
  await writeFile(join(dir, "mongrel2.conf"), config);
  const env = { ...process.env, LOGNAME: process.env.LOGNAME ?? "zpatterns" };
  const load = spawnSync(M2SH, ["load", "-config", "mongrel2.conf", "-db", "config.sqlite"], { cwd: dir, env, encoding: "utf8" });
  if (load.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`m2sh load failed (${load.status ?? load.error?.message}): ${load.stderr}`);
  }
  const proc = spawn(MONGREL2, ["config.sqlite", serverUuid], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  proc.stdout!.setEncoding("utf8").on("data", (d: string) => output.push(d));
  proc.stderr!.setEncoding("utf8").on("data", (d: string) => output.push(d));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.once("error", (e) => output.push(String(e)));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill("SIGTERM");
        const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    await waitListening(port, proc, output, 10_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { dir, url: `http://127.0.0.1:${port}`, port, sendSpec, recvSpec, uploadDir: join(dir, "tmp"), sendIdent, process: proc, output, stop };
}
