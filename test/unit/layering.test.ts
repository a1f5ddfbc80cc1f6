/**
 * The layering rules of DESIGN.md, checked on the source tree:
 * - `src/` (the core) imports nothing from `patterns/`, `examples/` or `bench/`;
 * - a pattern reaches another pattern only through its `index.ts`. The one exception is the
 *   command registry, `patterns/cli/`, which gathers every pattern's `cli.ts`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Every `.ts` file under `dir` (relative to the repository root). */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const path = join(abs, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts")) out.push(relative(ROOT, path).split(sep).join("/"));
    }
  };
  walk(join(ROOT, dir));
  return out.sort();
}

/**
 * The relative module specifiers a source text refers to: static and dynamic imports,
 * re-exports, side-effect imports and `new URL("…", import.meta.url)`. Comments are ignored.
 */
export function relativeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const patterns = [
    /\b(?:import|export)\b[^"';]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\s+["']([^"']+)["']/g,
    /\bnew\s+URL\s*\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
  ];
  const found = new Set<string>();
  for (const re of patterns) for (const m of code.matchAll(re)) if (m[1]!.startsWith(".")) found.add(m[1]!);
  return [...found];
}

/** Where `specifier` in `file` points, relative to the root (a `.js` specifier names the `.ts` source). */
function target(file: string, specifier: string): string {
  return relative(ROOT, resolve(ROOT, dirname(file), specifier)).split(sep).join("/").replace(/\.js$/, ".ts");
}

/** Violations of "src/ knows no pattern, example or benchmark" in `file` (a path under src/). */
export function coreViolations(file: string, source: string): string[] {
  return relativeSpecifiers(source)
    .filter((s) => /^(patterns|examples|bench)(\/|$)/.test(target(file, s)))
    .map((s) => `${file} imports ${s}`);
}

/** Violations of "a pattern reaches another only through its index" in `file` (under patterns/). */
export function patternViolations(file: string, source: string): string[] {
  const own = file.split("/")[1];
  return relativeSpecifiers(source)
    .filter((s) => {
      const parts = target(file, s).split("/");
      if (parts[0] !== "patterns" || parts.length < 3 || parts[1] === own) return false;
      const rest = parts.slice(2).join("/");
      if (rest === "index.ts") return false;
      // The registry gathers each pattern's commands.
      return !(own === "cli" && rest === "cli.ts");
    })
    .map((s) => `${file} imports ${s}`);
}

describe("layering", () => {
  it("src/ imports nothing from patterns/, examples/ or bench/", () => {
    const violations = tsFiles("src").flatMap((f) => coreViolations(f, readFileSync(join(ROOT, f), "utf8")));
    expect(violations).toEqual([]);
  });

  it("a pattern imports another pattern only through its index.ts", () => {
    const violations = tsFiles("patterns").flatMap((f) => patternViolations(f, readFileSync(join(ROOT, f), "utf8")));
    expect(violations).toEqual([]);
  });

  it("the checks catch what they are meant to catch", () => {
    const bad = [
      'import { x } from "../../patterns/majordomo/index.js";',
      "import type { Y } from '../../examples/demo.js';",
      'export { z } from "../../bench/run.js";',
      'const m = await import("../../patterns/log-pipe/cli.js");',
      'const cli = new URL("../../patterns/cli/main.js", import.meta.url);',
    ].join("\n");
    expect(coreViolations("src/cli/thing.ts", bad)).toHaveLength(5);
    expect(coreViolations("src/thing.ts", 'import { a } from "./reactor.js";\n// import { b } from "../patterns/x/index.js";\n/** import { c } from "../bench/run.js" */')).toEqual([]);
    expect(patternViolations("patterns/titanic/server.ts", 'import { MajordomoWorker } from "../majordomo/worker.js";')).toHaveLength(1);
    expect(patternViolations("patterns/majordomo/cli.ts", 'import { titanicCommands } from "../titanic/cli.js";')).toHaveLength(1);
    expect(patternViolations("patterns/titanic/server.ts", 'import { MajordomoWorker } from "../majordomo/index.js";\nimport { Reactor } from "../../src/index.js";\nimport { a } from "./protocol.js";')).toEqual([]);
    expect(patternViolations("patterns/cli/commands.ts", 'import { c } from "../majordomo/cli.js";\nimport { d } from "../majordomo/index.js";')).toEqual([]);
    expect(patternViolations("patterns/cli/commands.ts", 'import { c } from "../majordomo/broker.js";')).toHaveLength(1);
  });
});
