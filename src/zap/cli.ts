/**
 * `zpatterns keygen` (CURVE key pair files) and `zpatterns passwd` (PLAIN users file entries).
 * @module
 */
import { createInterface } from "node:readline";
import { EXIT, UsageError, strArg, type CliCommand, type CliContext } from "../cli/cli.js";
import { InvalidOptionError } from "../errors.js";
import { generateKeyPair, saveKeyPair } from "./keys.js";
import { setUserPassword } from "./passwords.js";

/** The first line of standard input ("" at end of input or on abort). */
async function readLine(signal: AbortSignal): Promise<string> {
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    const line = new Promise<string>((resolve) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
      signal.addEventListener("abort", () => resolve(""), { once: true });
    });
    return await line;
  } finally {
    rl.close();
  }
}

/** The ZAP commands, registered in the command registry (`commands.ts`). */
export const zapCommands: CliCommand[] = [
  {
    name: "keygen",
    summary: "Write a CURVE key pair (PREFIX.key, PREFIX.key_secret) and print the public key",
    usage: "[--out PREFIX] [--user-id ID] [--force]",
    help:
      "Options:\n" +
      "  --out PREFIX    file prefix (default \"curve\"): PREFIX.key holds the public key,\n" +
      "                  PREFIX.key_secret both keys (mode 0600)\n" +
      "  --user-id ID    user id the ZAP handler replies with when it loads this certificate\n" +
      "  --force         overwrite existing files",
    options: { out: { type: "string" }, "user-id": { type: "string" }, force: { type: "boolean" } },
    async run(ctx: CliContext) {
      const prefix = strArg(ctx.values, "out") ?? "curve";
      if (prefix === "") throw new UsageError("--out expects a non-empty prefix");
      const userId = strArg(ctx.values, "user-id");
      const pair = generateKeyPair();
      let files;
      try {
        files = await saveKeyPair(prefix, pair, { ...(userId !== undefined ? { userId } : {}), overwrite: ctx.values.force === true });
      } catch (error) {
        if (error instanceof InvalidOptionError) throw new UsageError(error.message);
        if ((error as NodeJS.ErrnoException).code === "EEXIST") {
          ctx.out.error(`${(error as NodeJS.ErrnoException).path ?? prefix} exists (use --force to overwrite)`);
          return EXIT.FAILURE;
        }
        throw error;
      }
      ctx.out.result(pair.publicKey, { publicKey: pair.publicKey, publicFile: files.publicFile, secretFile: files.secretFile });
      ctx.out.log(`wrote ${files.publicFile} and ${files.secretFile}`, { wrote: [files.publicFile, files.secretFile] });
      return EXIT.OK;
    },
  },
  {
    name: "passwd",
    summary: "Add or replace a user in a PLAIN users file (scrypt hash; password read from stdin)",
    usage: "--file FILE --user NAME",
    help:
      "Options:\n" +
      "  --file FILE     users file (JSON, created with mode 0600 if missing)\n" +
      "  --user NAME     username\n\n" +
      "The password is the first line of standard input; it is never stored, only its hash.",
    options: { file: { type: "string" }, user: { type: "string" } },
    async run(ctx: CliContext) {
      const file = strArg(ctx.values, "file", true);
      const user = strArg(ctx.values, "user", true);
      if (Buffer.byteLength(user, "utf8") > 255) throw new UsageError("--user must be at most 255 bytes (UTF-8): PLAIN cannot carry a longer name");
      const password = await readLine(ctx.signal);
      if (password === "") throw new UsageError("no password on standard input");
      await setUserPassword(file, user, password);
      ctx.out.result(`set password of ${user} in ${file}`, { file, user });
      return EXIT.OK;
    },
  },
];
