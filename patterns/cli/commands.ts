/**
 * Every `zpatterns` subcommand. Each pattern contributes its own list from
 * `patterns/<name>/cli.ts`; add it here. This registry (and the bin, `main.ts`) lives outside
 * `src/`, which knows no pattern: `src/cli/cli.ts` is only the framework.
 * @module
 */
import type { CliCommand } from "../../src/cli/cli.js";
import { coreCommands } from "./core-commands.js";
import { zapCommands } from "../../src/zap/cli.js";
import { lazyPirateCommands } from "../lazy-pirate/cli.js";
import { pubsubCommands } from "../pubsub/cli.js";
import { mdpCommands } from "../majordomo/cli.js";
import { titanicCommands } from "../titanic/cli.js";
import { pirateCommands } from "../paranoid-pirate/cli.js";
import { simplePirateCommands } from "../simple-pirate/cli.js";
import { logPipeCommands } from "../log-pipe/cli.js";
import { jobServerCommands } from "../job-server/cli.js";
import { freelanceCommands } from "../freelance/cli.js";
import { bstarCommands } from "../binary-star/cli.js";
import { mongrel2Commands } from "../mongrel2/cli.js";
import { cloneCommands } from "../clone/cli.js";

/** All commands, in the order `--help` lists them. */
export const commands: readonly CliCommand[] = [...coreCommands, ...zapCommands, ...lazyPirateCommands, ...pubsubCommands, ...mdpCommands, ...titanicCommands, ...pirateCommands, ...bstarCommands, ...simplePirateCommands, ...logPipeCommands, ...jobServerCommands, ...freelanceCommands, ...cloneCommands, ...mongrel2Commands];
