/**
 * test/helpers/find-python.mjs: which Python the interop peers run with, and what the pretest
 * does when none has pyzmq (nextStep is pure: no network, no installs here). Plus one real
 * probe of a missing interpreter and of this machine's.
 */
import { describe, expect, it } from "vitest";
import { CANDIDATES, findPython, nextStep, probe, type PythonProbe, type PythonState } from "../helpers/find-python.mjs";

const sys = (zmq: boolean): PythonProbe => ({ python: "/usr/bin/python3", exists: true, zmq, executable: "/usr/bin/python3" });
const path = (zmq: boolean, exists = true): PythonProbe => ({ python: "python3", exists, zmq, ...(exists ? { executable: "/home/me/.pyenv/bin/python3" } : {}) });
const none: PythonProbe = { python: "/usr/bin/python3", exists: false, zmq: false };
const state = (probes: PythonProbe[], extra: Partial<PythonState> = {}): PythonState => ({ probes, pipTried: false, aptTried: false, root: false, sudo: false, apt: true, ...extra });

describe("find-python nextStep", () => {
  it("uses the first interpreter that imports zmq: the system one, else the one on PATH (by its real path)", () => {
    expect(nextStep(state([sys(true), path(true)]))).toEqual({ action: "use", python: "/usr/bin/python3" });
    expect(nextStep(state([sys(false), path(true)]))).toEqual({ action: "use", python: "/home/me/.pyenv/bin/python3" });
    expect(nextStep(state([none, path(true)]))).toEqual({ action: "use", python: "/home/me/.pyenv/bin/python3" });
    // Found: nothing is installed, whatever the privileges.
    expect(nextStep(state([sys(true)], { root: true })).action).toBe("use");
  });

  it("without zmq: pip --user first (no root needed), with the first interpreter that runs", () => {
    expect(nextStep(state([sys(false), path(false)]))).toEqual({ action: "pip", python: "/usr/bin/python3" });
    expect(nextStep(state([none, path(false)]))).toEqual({ action: "pip", python: "/home/me/.pyenv/bin/python3" });
    expect(nextStep(state([sys(false)], { root: true }))).toEqual({ action: "pip", python: "/usr/bin/python3" });
  });

  it("pip failed: apt-get only as root or with passwordless sudo, and only once", () => {
    expect(nextStep(state([sys(false)], { pipTried: true, root: true }))).toEqual({ action: "apt", sudo: false });
    expect(nextStep(state([sys(false)], { pipTried: true, sudo: true }))).toEqual({ action: "apt", sudo: true });
    expect(nextStep(state([sys(false)], { pipTried: true })).action).toBe("fail");
    expect(nextStep(state([sys(false)], { pipTried: true, root: true, apt: false })).action).toBe("fail");
    expect(nextStep(state([sys(false)], { pipTried: true, aptTried: true, root: true })).action).toBe("fail");
    // No Python at all: nothing for pip to run with; apt may still install python3-zmq.
    expect(nextStep(state([none, path(false, false)], { root: true }))).toEqual({ action: "apt", sudo: false });
  });

  it("gives up with one line that says what to run", () => {
    const some = nextStep(state([sys(false)], { pipTried: true }));
    expect(some).toEqual({ action: "fail", message: expect.stringContaining("/usr/bin/python3 -m pip install --user pyzmq") });
    const nothing = nextStep(state([none, path(false, false)], { pipTried: true, aptTried: true }));
    expect(nothing.action).toBe("fail");
    for (const step of [some, nothing]) if (step.action === "fail") expect(step.message).not.toContain("\n");
    if (nothing.action === "fail") expect(nothing.message).toMatch(/install python3/);
  });

  it("probe: a missing interpreter does not exist; $ZMQP_PYTHON overrides the search", () => {
    expect(probe("/nonexistent/python3")).toEqual({ python: "/nonexistent/python3", exists: false, zmq: false });
    expect(findPython({ ZMQP_PYTHON: "/opt/py/bin/python3" })).toBe("/opt/py/bin/python3");
    expect(CANDIDATES[0]).toBe("/usr/bin/python3");
    // This machine runs the interop tests, so one of the candidates has zmq.
    const found = findPython({});
    expect(found).toBeDefined();
    expect(probe(found!).zmq).toBe(true);
  });
});
