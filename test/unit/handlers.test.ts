import { describe, it, expect, afterAll } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BUILTIN_HANDLERS, echoHandler, loadHandler, toFrames, upperHandler } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "zmqp-handlers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadHandler", () => {
  it("echo returns the frames; upper upper-cases each frame as UTF-8", async () => {
    const frames = [Buffer.from("abc"), Buffer.from("héllo")];
    expect(await loadHandler("echo")).toBe(echoHandler);
    expect(await loadHandler("upper")).toBe(upperHandler);
    expect(toFrames(await echoHandler(frames))).toEqual(frames);
    expect(toFrames(await upperHandler(frames)).map(String)).toEqual(["ABC", "HÉLLO"]);
    expect(Object.keys(BUILTIN_HANDLERS).sort()).toEqual(["echo", "upper"]);
  });

  it("loads a module's default export by absolute or relative path", async () => {
    const file = join(dir, "reverse.mjs");
    writeFileSync(file, "export default async (frames) => frames.map((f) => Buffer.from(f).reverse());\n");
    const handler = await loadHandler(file);
    expect(toFrames(await handler([Buffer.from("abc")])).map(String)).toEqual(["cba"]);
    const again = await loadHandler(relative(process.cwd(), file));
    expect(toFrames(await again([Buffer.from("xy")])).map(String)).toEqual(["yx"]);
  });

  it("a module without a default function export is a TypeError", async () => {
    const file = join(dir, "named.mjs");
    writeFileSync(file, "export const handler = (f) => f;\n");
    await expect(loadHandler(file)).rejects.toThrow(TypeError);
    await expect(loadHandler(file)).rejects.toThrow(/default export/);
    const notFn = join(dir, "object.mjs");
    writeFileSync(notFn, "export default { reply: 1 };\n");
    await expect(loadHandler(notFn)).rejects.toThrow(TypeError);
  });

  it("a missing module rejects", async () => {
    await expect(loadHandler(join(dir, "nope.mjs"))).rejects.toThrow();
  });
});
