/**
 * Child processes for failure and interop tests: every process started here is killed when
 * the test file ends (`killAll` in an afterEach/afterAll), and lines can be awaited.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { findPython } from "./find-python.mjs";

/** Path of the repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let python: string | undefined;
/**
 * The Python the peers run with: $ZMQP_PYTHON, else the first python3 that imports zmq
 * (Debian's /usr/bin/python3 with python3-zmq, or a user-site pyzmq; see find-python.mjs,
 * which `npm test`'s pretest runs to install it when missing).
 */
export function pythonPath(): string {
  python ??= findPython() ?? "/usr/bin/python3";
  return python;
}

export interface Child {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Every stderr line so far. */
  errLines: string[];
  /** Resolve with the first stdout line (past or future) matching `re`. */
  waitLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolve with the exit code (or signal name). */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

const children = new Set<Child>();

/** Start a process; stdout/stderr are captured line by line. */
export function start(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Child {
  const proc = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (options.stdin !== undefined) proc.stdin!.end(options.stdin);
  const lines: string[] = [];
  const errLines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: proc.stdout! }).on("line", (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  createInterface({ input: proc.stderr! }).on("line", (line) => errLines.push(line));
  const exited = once(proc, "exit").then(([code, signal]) => (code ?? signal) as number | string);
  const child: Child = {
    proc,
    lines,
    errLines,
    exited,
    waitLine(re, timeoutMs = 10_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} from ${command} ${args.join(" ")}\nstdout: ${lines.join("\n")}\nstderr: ${errLines.join("\n")}`)), timeoutMs);
        const waiter = {
          re,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        waiters.push(waiter);
        void exited.then((code) => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`${command} exited (${code}) before printing ${re}\nstdout: ${lines.join("\n")}\nstderr: ${errLines.join("\n")}`));
        });
      });
    },
    kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
  children.add(child);
  void exited.then(() => children.delete(child));
  return child;
}

/** Start a Python peer from test/peers with the Python that has pyzmq ({@link pythonPath}). */
export function startPython(script: string, args: string[] = []): Child {
  return start(pythonPath(), ["-u", `test/peers/${script}`, ...args]);
}

/** Run the built CLI (`dist/patterns/cli/main.js`). */
export function startCli(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  return start(process.execPath, ["dist/patterns/cli/main.js", ...args], options);
}

/** Kill every process started by this file and wait for them to exit. */
export async function killAll(): Promise<void> {
  const all = [...children];
  for (const c of all) c.kill("SIGKILL");
  await Promise.all(all.map((c) => c.exited));
}
