import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import * as zmq from "zeromq";
import zeromqTransport from "../../../patterns/tools/pino-transport.js";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileOutput, JobServer, LogReceiver, LogSender, Pipe, type PipeInput, type PipeOutput } from "../../../patterns/tools/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { waitFor } from "../../helpers/wait.js";

/**
 * Bind `taken` elsewhere, let `start(free, taken)` fail on it, then check that `free`, which
 * it bound before failing, is released (libzmq frees it a moment after the socket closes,
 * hence the bounded wait).
 */
async function expectReleasedAfterFailedStart(start: (free: string, taken: string) => Promise<unknown>): Promise<void> {
  const taken = await uniqAddress("inproc");
  const free = await uniqAddress("inproc");
  const holder = new zmq.Pull({ linger: 0 });
  await holder.bind(taken);
  const probe = new zmq.Router({ linger: 0 });
  try {
    await expect(start(free, taken)).rejects.toThrow();
    await waitFor(() => probe.bind(free).then(() => true, () => false), { timeout: 3000, what: `${free} to be released` });
  } finally {
    holder.close();
    probe.close();
  }
}

describe("review: tools", () => {
  it("pino transport: a failed bind closes the sender (no socket left bound behind the rejection)", async () => {
    await expectReleasedAfterFailedStart((free, taken) => zeromqTransport({ type: "push", bind: [free, taken], statsInterval: 0 }));
  });

  it("Pipe: a filter result that cannot be encoded is counted as a filter error; the pipe keeps going", async () => {
    const lines = ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}', '{"n":5}'];
    const input: PipeInput = {
      async run(sink) {
        for (const line of lines) await sink(line);
      },
      async close() {},
    };
    const sent: string[] = [];
    const output: PipeOutput = { send: (text) => (sent.push(text), true), close: async () => {}, stats: () => ({ sent: sent.length, dropped: 0 }) };
    const errors: unknown[] = [];
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const filter = (m: unknown) => {
      const n = (m as { n: number }).n;
      if (n === 2) return BigInt(2); // sync, JSON.stringify throws
      if (n === 3) return Promise.resolve(circular); // async, JSON.stringify throws
      if (n === 4) return () => 4; // JSON.stringify gives undefined: nothing to send
      return m;
    };
    const pipe = new Pipe({ input, output, filters: [filter], onFilterError: (e) => errors.push(e) });
    const stats = await pipe.run();
    expect(sent).toEqual(['{"n":1}', '{"n":5}']);
    expect(stats).toMatchObject({ in: 5, out: 2, errors: 3 });
    expect(errors).toHaveLength(3);
  });

  it("FileOutput: a reopen that fails (directory gone) does not throw nor keep the closed descriptor; lines are dropped and counted until a reopen succeeds", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "zp-rv-")), "logs");
    mkdirSync(dir);
    const path = join(dir, "out.log");
    const out = new FileOutput(path);
    try {
      expect(out.send("one")).toBe(true);
      rmSync(dir, { recursive: true });
      expect(() => out.reopen()).not.toThrow();
      expect(out.send("lost")).toBe(false);
      expect(out.stats()).toMatchObject({ sent: 1, dropped: 1 });
      mkdirSync(dir);
      out.reopen();
      expect(out.send("two")).toBe(true);
      expect(readFileSync(path, "utf8")).toBe("two\n");
    } finally {
      await out.close();
    }
    expect(out.send("after close")).toBe(false);
  });

  for (const [name, make] of [["LogSender", (bind: string[]) => new LogSender({ type: "push", bind })], ["LogReceiver", (bind: string[]) => new LogReceiver({ type: "pull", bind })]] as const) {
    it(`${name}: start() that fails closes what it had bound (\`await new X().start()\` leaves nothing to close)`, async () => {
      await expectReleasedAfterFailedStart((free, taken) => make([free, taken]).start());
    });
  }

  it("JobServer: start() that fails (control endpoint in use) releases the queue's endpoints", async () => {
    let server: JobServer | undefined;
    await expectReleasedAfterFailedStart(async (free, taken) => {
      server = new JobServer({ frontend: free, backend: await uniqAddress("inproc"), handler: "echo", minWorkers: 0, control: taken });
      return server.start();
    });
    expect(server!.workers).toBe(0);
  });

  it("LogReceiver and LogSender leave no listener on a shared AbortSignal once closed", async () => {
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) {
      const receiver = await new LogReceiver({ type: "pull", bind: await uniqAddress("inproc"), signal: ac.signal }).start();
      await receiver.close();
      const sender = await new LogSender({ type: "push", bind: await uniqAddress("inproc"), signal: ac.signal }).start();
      await sender.close();
    }
    expect(getEventListeners(ac.signal, "abort")).toHaveLength(0);
  });
});
