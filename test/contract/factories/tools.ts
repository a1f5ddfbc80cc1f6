/**
 * The log pipe's and the job server's long-lived classes under the lifecycle contract.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { FileOutput, LineInput, LogReceiver, LogSender, Pipe, StreamOutput } from "../../../patterns/log-pipe/index.js";
import { ControlServer, JobServer } from "../../../patterns/job-server/index.js";
import type { FactoryContext, LifecycleFactory } from "../harness.js";

function tempFile(ctx: FactoryContext): string {
  const dir = mkdtempSync(join(tmpdir(), "zp-contract-"));
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, "out.log");
}

export const toolsFactories: LifecycleFactory[] = [
  {
    name: "LogSender",
    make: async (ctx, extras) => new LogSender({ type: "push", bind: await ctx.endpoint(), ...extras }),
    failing: (_ctx, free, taken, extras) => new LogSender({ type: "pub", bind: [free, taken], ...extras }),
  },
  {
    name: "LogReceiver",
    make: async (ctx, extras) => new LogReceiver({ type: "pull", bind: await ctx.endpoint(), ...extras }),
    failing: (_ctx, free, taken, extras) => new LogReceiver({ type: "sub", bind: [free, taken], ...extras }),
  },
  {
    name: "Pipe",
    make: async (ctx, extras) => new Pipe({ input: new LogReceiver({ type: "pull", bind: await ctx.endpoint() }), output: new StreamOutput(new PassThrough()), ...extras }),
    failing: (_ctx, free, taken, extras) => new Pipe({ input: new LogReceiver({ type: "pull", bind: [free, taken] }), output: new StreamOutput(new PassThrough()), ...extras }),
  },
  {
    name: "LineInput",
    make: (_ctx, extras) => new LineInput(new PassThrough(), extras),
  },
  {
    name: "StreamOutput",
    make: (_ctx, extras) => new StreamOutput(new PassThrough(), extras),
  },
  {
    name: "FileOutput",
    make: (ctx, extras) => new FileOutput(tempFile(ctx), extras),
  },
  {
    name: "ControlServer",
    make: async (ctx, extras) => new ControlServer({ bind: await ctx.endpoint(), status: () => ({}), ...extras }),
    failing: (_ctx, _free, taken, extras) => new ControlServer({ bind: taken, status: () => ({}), ...extras }),
  },
  {
    name: "JobServer",
    make: async (ctx, extras) => new JobServer({ frontend: await ctx.endpoint(), backend: await ctx.endpoint(), control: await ctx.endpoint(), handler: "echo", minWorkers: 0, ...extras }),
    // The control endpoint binds first, then the queue's frontend fails.
    failing: async (ctx, free, taken, extras) => new JobServer({ frontend: taken, backend: await ctx.endpoint(), control: free, handler: "echo", minWorkers: 0, ...extras }),
  },
];
