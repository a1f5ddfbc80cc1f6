/**
 * Every `zpatterns` subcommand. Each pattern contributes its own list from
 * `patterns/<name>/cli.ts`; add it here.
 * @module
 */
import type { CliCommand } from "./cli.js";
import { coreCommands } from "./core-commands.js";
import { lazyPirateCommands } from "../../patterns/lazy-pirate/cli.js";
import { pirateCommands } from "../../patterns/paranoid-pirate/cli.js";
import { toolsCommands } from "../../patterns/tools/cli.js";

/** All commands, in the order `--help` lists them. */
export const commands: readonly CliCommand[] = [...coreCommands, ...lazyPirateCommands, ...pirateCommands, ...toolsCommands];
