/** TitanicStore: the file format and crash-safe writes. */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { TitanicStore, decodeFrames, encodeFrames } from "../../../patterns/titanic/index.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "titanic-store-"));
  dirs.push(d);
  return d;
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("TitanicStore", () => {
  it("the store writes whole files and reports corrupt ones", async () => {
    const dir = tempDir();
    const store = new TitanicStore(dir);
    writeFileSync(join(dir, ".tmp-leftover"), "half");
    await store.init();
    expect(readdirSync(dir)).toEqual([]);
    const uuid = "a".repeat(32);
    const frames = [Buffer.from("svc"), Buffer.alloc(0), Buffer.from([0, 1, 2])];
    await store.put(uuid, "req", frames);
    expect(await store.get(uuid, "req")).toEqual(frames);
    expect(await store.pending()).toEqual([uuid]);
    expect(decodeFrames(encodeFrames(frames))).toEqual(frames);
    expect(decodeFrames(encodeFrames(frames).subarray(0, 10))).toBeUndefined();
    writeFileSync(join(dir, `${uuid}.rep`), "garbage");
    expect(await store.get(uuid, "rep")).toBeUndefined();
    expect(store.corrupt).toBe(1);
    // read() tells a corrupt file from an absent one, in one read.
    expect(await store.read(uuid, "rep")).toBe("corrupt");
    expect(store.corrupt).toBe(2);
    expect(await store.read("b".repeat(32), "rep")).toBeUndefined();
    expect(await store.read(uuid, "req")).toEqual(frames);
    expect(() => new TitanicStore("")).toThrow(TypeError);
  });
});
