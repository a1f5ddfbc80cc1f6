/**
 * Request handlers: what a worker runs for each request. Shared by every worker pattern and
 * by the CLI's `--handler echo|upper|PATH`.
 * @module
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import type { MessageLike } from "./frames.js";

/** Turns request frames into reply frames; may be async. */
export type RequestHandler = (frames: Buffer[]) => MessageLike | Promise<MessageLike>;

/** Replies with the request frames unchanged. */
export const echoHandler: RequestHandler = (frames) => frames;

/** Replies with each frame upper-cased (as UTF-8 text). */
export const upperHandler: RequestHandler = (frames) => frames.map((f) => f.toString("utf8").toUpperCase());

/** Built-in handlers by name. */
export const BUILTIN_HANDLERS: Readonly<Record<string, RequestHandler>> = { echo: echoHandler, upper: upperHandler };

/**
 * `echo`, `upper`, or a path to a JS module whose default export is a {@link RequestHandler}.
 * Throws a `TypeError` when the module has no function as its default export.
 */
export async function loadHandler(spec: string): Promise<RequestHandler> {
  const builtin = BUILTIN_HANDLERS[spec];
  if (builtin) return builtin;
  const mod = (await import(pathToFileURL(resolve(spec)).href)) as { default?: unknown };
  if (typeof mod.default !== "function") throw new TypeError(`handler module ${spec} must export a function as its default export`);
  return mod.default as RequestHandler;
}
