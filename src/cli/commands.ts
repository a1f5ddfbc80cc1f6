/**
 * Every `zpatterns` subcommand. Each pattern contributes its own list from
 * `patterns/<name>/cli.ts`; add it here.
 * @module
 */
import type { CliCommand } from "./cli.js";
import { coreCommands } from "./core-commands.js";
import { zapCommands } from "../zap/cli.js";
import { lazyPirateCommands } from "../../patterns/lazy-pirate/cli.js";
import { pubsubCommands } from "../../patterns/pubsub/cli.js";
import { mdpCommands } from "../../patterns/majordomo/cli.js";
import { pirateCommands } from "../../patterns/paranoid-pirate/cli.js";
import { simplePirateCommands } from "../../patterns/simple-pirate/cli.js";
import { toolsCommands } from "../../patterns/tools/cli.js";

/** All commands, in the order `--help` lists them. */


/** All commands, in the order `--help` lists them. */
export const commands: readonly CliCommand[] = [...coreCommands, ...zapCommands, ...lazyPirateCommands, ...pubsubCommands, ...mdpCommands, ...pirateCommands, ...simplePirateCommands, ...toolsCommands];
