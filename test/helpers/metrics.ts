/**
 * Reading a command's `--metrics` endpoint in tests: where it listens, and the Prometheus
 * text format 0.0.4 parsed into samples.
 */
import type { Child } from "./process.js";
import { waitFor } from "./wait.js";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the Prometheus text format 0.0.4 (samples, and the TYPE of each family). */
export function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

/** The value of the sample `name` with (at least) `labels`. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** The URL a child's `--metrics` server listens on (its `metrics URL` line, JSON or human). */
export async function metricsUrl(child: Child): Promise<string> {
  const line = await waitFor(() => child.errLines.find((l) => l.includes("metrics:listening") || l.startsWith("metrics http")), { timeout: 10_000, what: "metrics:listening" });
  return line.startsWith("{") ? (JSON.parse(line) as { url: string }).url : line.slice("metrics ".length).trim();
}

/** One scrape of `url`, parsed. */
export async function scrape(url: string): Promise<Sample[]> {
  return parseExposition(await (await fetch(url)).text()).samples;
}
