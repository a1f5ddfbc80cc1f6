/**
 * Library code logs through its `logger` option (src/log.ts), never the console: no
 * `console.*` call in src/ or patterns/ outside the command-line files (cli.ts, the bin in
 * patterns/cli/). Comments (usage examples in TSDoc) are ignored.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function libraryFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs)) {
      const path = join(abs, name);
      const rel = relative(ROOT, path).split(sep).join("/");
      if (statSync(path).isDirectory()) {
        if (rel !== "patterns/cli") walk(path);
      } else if (name.endsWith(".ts") && name !== "cli.ts") out.push(rel);
    }
  };
  walk(join(ROOT, dir));
  return out;
}

/** The source without comments (block, line) and string contents left as they are. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

describe("library code and the console", () => {
  it("no console.* call in src/ or patterns/ outside the CLI files", () => {
    const files = [...libraryFiles("src"), ...libraryFiles("patterns")];
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((f) => /\bconsole\s*\.\s*(log|info|warn|error|debug|trace)\s*\(/.test(code(readFileSync(join(ROOT, f), "utf8"))));
    expect(offenders).toEqual([]);
    // The check sees a call when there is one.
    expect(/\bconsole\s*\.\s*(log|info|warn|error|debug|trace)\s*\(/.test(code('const x = 1; console.log("x"); // note'))).toBe(true);
    expect(/\bconsole\s*\.\s*log\(/.test(code('/**\n * console.log("in a doc comment")\n */\nconst y = 2;'))).toBe(false);
  });
});
