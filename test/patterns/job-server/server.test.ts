/**
 * JobServer as a library: options, lifecycle (start idempotent, a failed start leaves
 * nothing bound, close before start), and the job-server example end to end.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import { ClosedError, InvalidOptionError } from "../../../src/index.js";
import { JOB_HANDLER_TIMEOUT, JobServer, requestStatus, type JobServerOptions, type JobServerStatus } from "../../../patterns/job-server/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { ROOT, killAll, start } from "../../helpers/process.js";
import { within } from "../../helpers/wait.js";
import { expectReleasedAfterFailedStart } from "../log-pipe/release.js";

afterEach(killAll);

const base = { frontend: "tcp://127.0.0.1:1", backend: "tcp://127.0.0.1:2", handler: "echo" } as const;

function optionError(options: unknown): InvalidOptionError {
  try {
    new JobServer(options as JobServerOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    return error as InvalidOptionError;
  }
  throw new Error("no error");
}

describe("JobServer", () => {
  it("validates its options with InvalidOptionErrors naming the option", () => {
    expect(optionError({ frontend: base.frontend, backend: base.backend }).option).toBe("handler");
    expect(optionError({ backend: base.backend, handler: "echo" }).option).toBe("frontend");
    expect(optionError({ ...base, backend: undefined }).option).toBe("backend");
    expect(optionError({ ...base, minWorkers: 3, maxWorkers: 2 }).option).toBe("maxWorkers");
    expect(optionError({ ...base, frontend: "nope" }).option).toBe("frontend");
    expect(optionError({ ...base, pendingOverflow: "sideways" as never }).option).toBe("pendingOverflow");
    expect(optionError({ ...base, maxPending: 0 }).option).toBe("maxPending");
    expect(optionError({ ...base, drainTimeout: -1 }).option).toBe("drainTimeout");
    expect(optionError({ ...base, control: "nowhere" }).option).toBe("control");
    expect(optionError({ ...base, control: "tcp://*:5557" }).option).toBe("control");
    expect(optionError({ ...base, control: "tcp://*:5557", controlRemote: 1 as never }).option).toBe("controlRemote");
    expect(optionError({ ...base, handlerTimeout: -1 }).option).toBe("handlerTimeout");
    expect(optionError({ ...base, maxRedeliveries: 1.5 }).option).toBe("maxRedeliveries");
    expect(optionError({ ...base, maxKills: 0 }).option).toBe("maxKills");
    expect(optionError({ ...base, quarantineTimeout: -1 }).option).toBe("quarantineTimeout");
  });

  it("has a finite handler timeout by default, enforced by its queue; 0 turns it off", () => {
    expect(JOB_HANDLER_TIMEOUT).toBe(30_000);
    const server = new JobServer(base);
    expect(server.handlerTimeout).toBe(30_000);
    expect(server.queue.settings.busyTimeout).toBe(30_000);
    expect(server.status()).toMatchObject({ handlerTimeout: 30_000, bounds: { minWorkers: 1, maxWorkers: 4 } });
    expect(new JobServer({ ...base, handlerTimeout: 0 }).queue.settings.busyTimeout).toBe(0);
    expect(new JobServer({ ...base, maxRedeliveries: 2 }).queue.settings.maxRedeliveries).toBe(2);
    expect(new JobServer({ ...base, control: "tcp://*:5557", controlRemote: true }).status().draining).toBe(false);
  });

  it("start() is idempotent: a second call neither re-binds the control endpoint nor closes the server", async () => {
    // A fixed control port: the old second start() re-bound it, failed, and closed the server.
    const control = await uniqAddress("tcp");
    const server = new JobServer({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", handler: "echo", minWorkers: 0, control });
    try {
      const a = server.start();
      expect(server.start()).toBe(a);
      await within(a, 10_000, "start");
      await within(server.start(), 10_000, "second start");
      expect(server.state).toBe("running");
      expect(server.closed).toBe(false);
      expect(server.controlEndpoint).toBe(control);
      const status = (await requestStatus(server.controlEndpoint!, 5000)) as JobServerStatus;
      expect(status).toMatchObject({ workers: 0, draining: false });
      expect(status.control.requests).toBe(1);
    } finally {
      await server.close();
    }
    expect(server.state).toBe("closed");
    await expect(server.start()).rejects.toBeInstanceOf(ClosedError);
  });

  it("a start that fails on the control endpoint binds no queue endpoint and forks nothing", async () => {
    let server: JobServer | undefined;
    await expectReleasedAfterFailedStart(async (free, taken) => {
      server = new JobServer({ frontend: free, backend: await uniqAddress("inproc"), handler: "echo", minWorkers: 1, control: taken });
      return server.start();
    });
    expect(server!.workers).toBe(0);
    await server!.close();
    expect(server!.status().counters.started).toBe(0);
  });

  it("a start that fails on the frontend releases the control endpoint it had bound", async () => {
    let server: JobServer | undefined;
    await expectReleasedAfterFailedStart(async (free, taken) => {
      server = new JobServer({ frontend: taken, backend: await uniqAddress("inproc"), handler: "echo", minWorkers: 1, control: free });
      return server.start();
    });
    expect(server!.workers).toBe(0);
    await server!.close();
  });

  it("close() before start() forks nothing and emits lifecycle:closed; signals are ignored unless running", async () => {
    const server = new JobServer({ ...base, minWorkers: 2 });
    const events: string[] = [];
    server.on("server:draining", () => void events.push("draining"));
    server.on("lifecycle:closed", ({ cause }) => void events.push(`closed:${cause}`));
    server.addWorker();
    expect(server.removeWorker()).toBe(false);
    await server.restartWorkers();
    await server.close();
    expect(events).toEqual(["closed:close"]);
    expect(server.status().counters.started).toBe(0);
  });

  it("serves REQ clients through forked workers and drains on close", async () => {
    // From source the default worker script (serve-worker.js beside server.js) is not built: use dist's.
    const workerScript = join(ROOT, "dist/patterns/job-server/serve-worker.js");
    const server = new JobServer({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", handler: "upper", minWorkers: 1, heartbeatInterval: 250, workerScript });
    const req = new zmq.Request({ linger: 0, receiveTimeout: 20_000 });
    try {
      await server.start();
      req.connect(server.queue.endpoints.frontend[0]!);
      await req.send("hello");
      expect(String((await req.receive())[0])).toBe("HELLO");
    } finally {
      req.close();
      await within(server.close(), 20_000, "close");
    }
    expect(server.workers).toBe(0);
    expect(server.status().counters.exited).toBe(1);
  }, 30_000);

  it("the job-server example runs to the end", async () => {
    const example = start(process.execPath, ["dist/examples/job-server.js"]);
    const line = await example.waitLine(/^answered/, 50_000);
    expect(await example.exited).toBe(0);
    expect(line).toMatch(/^answered 100 of 100 requests/);
  }, 60_000);
});
