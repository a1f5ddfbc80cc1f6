#!/usr/bin/env node
/**
 * Finds a Python 3 with pyzmq for the interop tests' peers (test/peers/*.py), and installs
 * pyzmq when none has it: `npm test`'s pretest runs `node test/helpers/find-python.mjs
 * --install` (through ensure-python-zmq.sh), and test/helpers/process.ts asks
 * {@link findPython} which interpreter to start the peers with.
 *
 * Order: a python3 that imports zmq (Debian's /usr/bin/python3 with python3-zmq, or any
 * python3 on PATH, user site included); else `python3 -m pip install --user pyzmq`; else
 * apt-get install python3-zmq (only as root or with passwordless sudo); else one line saying
 * what to run. The decision is {@link nextStep}, a pure function of what was probed, so that
 * it is tested without a network (test/unit/find-python.test.ts).
 */
import { spawnSync } from "node:child_process";
import { pathToFileURL } from "node:url";

/** Interpreters tried, in order (`python3` is looked up on PATH). */
export const CANDIDATES = ["/usr/bin/python3", "python3"];

/** Set it to an interpreter to skip the search. */
export const PYTHON_ENV = "ZMQP_PYTHON";

/**
 * What to do next, from what is known so far.
 * @param {{
 *   probes: { python: string, exists: boolean, zmq: boolean, executable?: string }[],
 *   pipTried: boolean, aptTried: boolean, root: boolean, sudo: boolean, apt: boolean,
 * }} state
 * @returns {{ action: "use", python: string } | { action: "pip", python: string }
 *   | { action: "apt", sudo: boolean } | { action: "fail", message: string }}
 */
export function nextStep(state) {
  const withZmq = state.probes.find((p) => p.exists && p.zmq);
  if (withZmq) return { action: "use", python: withZmq.executable ?? withZmq.python };
  const existing = state.probes.find((p) => p.exists);
  if (existing && !state.pipTried) return { action: "pip", python: existing.executable ?? existing.python };
  if (state.apt && (state.root || state.sudo) && !state.aptTried) return { action: "apt", sudo: !state.root };
  const python = existing ? existing.executable ?? existing.python : "python3";
  const message = existing
    ? `The interop tests need pyzmq: run \`${python} -m pip install --user pyzmq\` (or, as root, \`apt-get install python3-zmq\`), then npm test again.`
    : "The interop tests need Python 3 with pyzmq: install python3, then run `python3 -m pip install --user pyzmq` (Debian/Ubuntu, as root: `apt-get install python3-zmq`).";
  return { action: "fail", message };
}

/** Probe one interpreter: does it run, does it import zmq, where is it. */
export function probe(python) {
  const run = (code) => spawnSync(python, ["-c", code], { encoding: "utf8", timeout: 20_000 });
  const withZmq = run("import sys, zmq; print(sys.executable)");
  if (withZmq.status === 0) return { python, exists: true, zmq: true, executable: withZmq.stdout.trim() || python };
  const bare = run("import sys; print(sys.executable)");
  return bare.status === 0 ? { python, exists: true, zmq: false, executable: bare.stdout.trim() || python } : { python, exists: false, zmq: false };
}

const ok = (cmd, args) => spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 }).status === 0;

/** The interpreter the peers run with: $ZMQP_PYTHON, else the first candidate with zmq, else undefined. */
export function findPython(env = process.env) {
  if (env[PYTHON_ENV]) return env[PYTHON_ENV];
  for (const c of CANDIDATES) {
    const p = probe(c);
    if (p.zmq) return p.executable;
  }
  return undefined;
}

/** Find one, installing pyzmq as {@link nextStep} says; resolves with the interpreter or throws with the one line. */
export function ensurePython(log = (line) => process.stderr.write(line + "\n")) {
  if (process.env[PYTHON_ENV]) return process.env[PYTHON_ENV];
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const state = { probes: CANDIDATES.map(probe), pipTried: false, aptTried: false, root, sudo: !root && ok("sudo", ["-n", "true"]), apt: ok("apt-get", ["--version"]) };
  for (;;) {
    const step = nextStep(state);
    if (step.action === "use") return step.python;
    if (step.action === "fail") throw new Error(step.message);
    if (step.action === "pip") {
      log(`Installing pyzmq for the interop tests: ${step.python} -m pip install --user pyzmq`);
      spawnSync(step.python, ["-m", "pip", "install", "--user", "--quiet", "pyzmq"], { stdio: "inherit" });
      state.pipTried = true;
    } else {
      log(`Installing python3-zmq for the interop tests: ${step.sudo ? "sudo " : ""}apt-get install python3-zmq`);
      const pre = step.sudo ? ["sudo", "-n"] : [];
      const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
      const [cmd, ...args] = [...pre, "apt-get"];
      spawnSync(cmd, [...args, "update", "-qq"], { stdio: "inherit", env });
      spawnSync(cmd, [...args, "install", "-y", "-qq", "python3-zmq"], { stdio: "inherit", env });
      state.aptTried = true;
    }
    state.probes = CANDIDATES.map(probe);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  try {
    const python = process.argv.includes("--install") ? ensurePython() : findPython();
    if (!python) throw new Error(nextStep({ probes: CANDIDATES.map(probe), pipTried: true, aptTried: true, root: false, sudo: false, apt: false }).message);
    process.stdout.write(`${python}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
