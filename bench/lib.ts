/**
 * Shared machinery for benchmarks: server processes, interleaved rounds, medians, tables.
 * Every figure is reported as a ratio against raw zeromq.js measured in the same run,
 * round by round, so a noisy shared machine affects both sides alike.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** One measured row. `ours` and `raw` are in `unit` (higher is better). */
export interface BenchRow {
  case: string;
  unit: string;
  ours: number;
  raw: number;
  ratio: number;
  rounds: number;
}

/** What a benchmark returns: its rows and one headline ratio (median of the rows' ratios). */
export interface BenchOutcome {
  ratio: number;
  results: BenchRow[];
  /** Extra lines (charts, notes) printed under the table. */
  notes?: string[];
}

export interface BenchContext {
  rounds: number;
  log(line: string): void;
}

export interface Benchmark {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A server process started for a benchmark; prints `READY <endpoint>` when bound. */
export interface ServerProcess {
  endpoint: string;
  proc: ChildProcess;
  /** Lines the server printed after READY. */
  lines: string[];
  stop(): Promise<void>;
}

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * Start `dist/bench/servers/<script>.js` with args; resolve when it prints READY. With
 * `BENCH_CPU_PROF=DIR` in the environment, each server writes a `node --cpu-prof` profile
 * into DIR when it stops (profile before optimising).
 */
export async function startServer(script: string, args: string[]): Promise<ServerProcess> {
  const prof = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${`${script}-${args.join("-") || "server"}`.replace(/[^A-Za-z0-9.-]+/g, "_")}-${process.pid}-${Date.now()}.cpuprofile`] : [];
  const proc = spawn(process.execPath, [...prof, `${here}servers/${script}.js`, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  const rl = createInterface({ input: proc.stdout! });
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 15_000);
    rl.on("line", (line) => {
      const m = /^READY (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      } else lines.push(line);
    });
    proc.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    endpoint,
    proc,
    lines,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await once(proc, "exit");
      clearTimeout(timer);
    },
  };
}

/**
 * Run `raw` and `ours` alternately for `rounds` rounds (which goes first alternates too) and
 * return medians plus the median of per-round ratios.
 */
export async function interleave(rounds: number, raw: () => Promise<number>, ours: () => Promise<number>): Promise<{ raw: number; ours: number; ratio: number }> {
  const r: number[] = [];
  const o: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let a: number;
    let b: number;
    if (i % 2 === 0) {
      a = await raw();
      b = await ours();
    } else {
      b = await ours();
      a = await raw();
    }
    r.push(a);
    o.push(b);
    ratios.push(b / a);
  }
  return { raw: median(r), ours: median(o), ratio: median(ratios) };
}

function fmt(n: number): string {
  if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  if (n >= 100) return n.toFixed(0);
  return n.toFixed(2);
}

/** A human table of rows. */
export function table(name: string, rows: BenchRow[]): string {
  const head = ["case", "ours", "raw zeromq.js", "ratio", "unit"];
  const body = rows.map((r) => [r.case, fmt(r.ours), fmt(r.raw), r.ratio.toFixed(3), r.unit]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [`== ${name}`, line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

/** A horizontal bar chart for the terminal. */
export function barChart(title: string, bars: { label: string; value: number; unit?: string }[], width = 40): string {
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const lw = Math.max(...bars.map((b) => b.label.length));
  return [title, ...bars.map((b) => `${b.label.padEnd(lw)} |${"#".repeat(Math.round((b.value / max) * width)).padEnd(width)}| ${fmt(b.value)}${b.unit ? " " + b.unit : ""}`)].join("\n");
}
