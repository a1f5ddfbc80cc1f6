/** Types of find-python.mjs (see there). */
export interface PythonProbe {
  python: string;
  exists: boolean;
  zmq: boolean;
  executable?: string;
}
export interface PythonState {
  probes: PythonProbe[];
  pipTried: boolean;
  aptTried: boolean;
  root: boolean;
  sudo: boolean;
  apt: boolean;
}
export type PythonStep = { action: "use"; python: string } | { action: "pip"; python: string } | { action: "apt"; sudo: boolean } | { action: "fail"; message: string };
export const CANDIDATES: string[];
export const PYTHON_ENV: string;
export function nextStep(state: PythonState): PythonStep;
export function probe(python: string): PythonProbe;
export function findPython(env?: NodeJS.ProcessEnv): string | undefined;
export function ensurePython(log?: (line: string) => void): string;
