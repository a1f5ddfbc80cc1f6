#!/usr/bin/env node
/**
 * The `zpatterns` binary.
 * @module
 */
import { runCli } from "../../src/cli/cli.js";
import { commands } from "./commands.js";

process.exitCode = await runCli(process.argv.slice(2), commands);
