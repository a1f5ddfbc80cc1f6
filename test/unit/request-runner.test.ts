/** RequestRunner (src/worker.ts): the workers' request engine, socket-free, on a ManualClock. */
import { describe, expect, it } from "vitest";
import { ManualClock, RequestRunner, Scheduler, TimeoutError, type MessageLike, type RequestContext, type WorkerEvents, type WorkerJob } from "../../src/index.js";

type Outcome = MessageLike | Promise<MessageLike> | Error;

function setup(options: { maxPending?: number; handlerTimeout?: number; errorReply?: (error: unknown, request: Buffer[]) => MessageLike; handler?: (job: WorkerJob, ctx: RequestContext) => Outcome; sendOk?: boolean } = {}) {
  const clock = new ManualClock();
  const timers = new Scheduler(clock, (error) => {
    throw error;
  });
  const events: string[] = [];
  const sent: string[] = [];
  const recovered: string[] = [];
  const contexts: RequestContext[] = [];
  const deferred: { resolve: (m: MessageLike) => void; reject: (e: unknown) => void }[] = [];
  const handler =
    options.handler ??
    ((job: WorkerJob) => {
      const text = String(job.body[0]);
      if (text === "async") return new Promise<MessageLike>((resolve, reject) => deferred.push({ resolve, reject }));
      if (text === "throw") throw new Error("boom");
      return [text.toUpperCase()];
    });
  const runner = new RequestRunner<WorkerJob>(
    { maxPending: options.maxPending ?? 2, handlerTimeout: options.handlerTimeout ?? 0, errorReply: options.errorReply, timers },
    {
      run: (job, ctx) => {
        contexts.push(ctx);
        const out = handler(job, ctx);
        if (out instanceof Error) throw out;
        return out;
      },
      send: (job, reply) => {
        sent.push(`${String(job.client)}:${reply.map(String).join(",")}`);
        return options.sendOk ?? true;
      },
      recover: (job, reason) => void recovered.push(`${String(job.client)}:${reason}`),
      emit: <K extends keyof WorkerEvents & string>(event: K, ...args: WorkerEvents[K]) => {
        const p = args[0] as { client?: Buffer; reason?: string };
        events.push(`${event}${p.client ? ` ${String(p.client)}` : ""}${p.reason ? ` ${p.reason}` : ""}`);
      },
    },
  );
  const job = (client: string, body: string): WorkerJob => ({ client: Buffer.from(client), body: [Buffer.from(body)] });
  return { clock, runner, events, sent, recovered, contexts, deferred, job };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("RequestRunner", () => {
  it("runs a synchronous handler at once and counts the reply", () => {
    const { runner, sent, events, job } = setup();
    runner.accept(job("a", "hi"));
    expect(sent).toEqual(["a:HI"]);
    expect(events).toEqual(["request:received a", "reply:sent a"]);
    expect(runner.stats()).toMatchObject({ requests: 1, replies: 1, running: 0, pending: 0 });
  });

  it("runs one request at a time; the backlog is bounded, the newest dropped and counted", async () => {
    const { runner, sent, events, deferred, job } = setup({ maxPending: 1 });
    runner.accept(job("a", "async"));
    runner.accept(job("b", "x"));
    runner.accept(job("c", "y"));
    expect(runner.stats()).toMatchObject({ requests: 3, running: 1, pending: 1, droppedRequests: 1 });
    expect(events).toContain("request:dropped c overflow");
    deferred[0]!.resolve(["A"]);
    await tick();
    expect(sent).toEqual(["a:A", "b:X"]);
    expect(runner.stats()).toMatchObject({ replies: 2, running: 0, pending: 0 });
  });

  it("a failure with no errorReply asks the pattern to recover; with one, the error reply goes out", () => {
    const plain = setup();
    plain.runner.accept(plain.job("a", "throw"));
    expect(plain.recovered).toEqual(["a:error"]);
    expect(plain.events).toContain("request:failed a error");
    expect(plain.runner.stats()).toMatchObject({ failed: 1, replies: 0 });

    const answered = setup({ errorReply: (error, request) => ["ERR", (error as Error).message, ...request] });
    answered.runner.accept(answered.job("a", "throw"));
    expect(answered.sent).toEqual(["a:ERR,boom,throw"]);
    expect(answered.recovered).toEqual([]);
    expect(answered.runner.stats()).toMatchObject({ failed: 1, replies: 1 });
  });

  it("a result that is no message is a failure, not a wedged worker", () => {
    const { runner, recovered, sent, job } = setup({ handler: (j) => (String(j.body[0]) === "bad" ? (undefined as never) : ["ok"]) });
    runner.accept(job("a", "bad"));
    runner.accept(job("b", "good"));
    expect(recovered).toEqual(["a:error"]);
    expect(sent).toEqual(["b:ok"]);
    expect(runner.stats()).toMatchObject({ failed: 1, replies: 1, running: 0 });
  });

  it("handlerTimeout gives a handler up to the millisecond: signal aborted, next request runs, late result dropped", async () => {
    const { clock, runner, recovered, events, contexts, deferred, sent, job } = setup({ handlerTimeout: 100 });
    runner.accept(job("a", "async"));
    runner.accept(job("b", "x"));
    const signal = contexts[0]!.signal;
    clock.advance(99);
    expect(recovered).toEqual([]);
    expect(signal.aborted).toBe(false);
    clock.advance(1);
    expect(recovered).toEqual(["a:timeout"]);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(TimeoutError);
    expect(sent).toEqual(["b:X"]); // the slot was freed
    deferred[0]!.resolve(["late"]);
    await tick();
    expect(sent).toEqual(["b:X"]);
    expect(events).toContain("reply:dropped a abandoned");
    expect(runner.stats()).toMatchObject({ failed: 1, timedOut: 1, droppedReplies: 1, replies: 1 });
  });

  it("reset(): the backlog is dropped, the running handler's signal aborts and its reply is dropped, no recovery", async () => {
    const { runner, events, contexts, deferred, sent, recovered, job } = setup();
    runner.accept(job("a", "async"));
    runner.accept(job("b", "x"));
    runner.reset();
    expect(contexts[0]!.signal.aborted).toBe(true);
    expect(events).toContain("request:dropped b reconnected");
    deferred[0]!.reject(new Error("late failure"));
    await tick();
    expect(recovered).toEqual([]); // that connection is gone: nothing to tell it
    runner.accept(job("c", "y")); // the next connection's requests run
    expect(sent).toEqual(["c:Y"]);
  });

  it("close(): backlog dropped (closed), timers cancelled, later results and requests dropped", async () => {
    const { clock, runner, events, deferred, sent, recovered, job } = setup({ handlerTimeout: 50 });
    runner.accept(job("a", "async"));
    runner.accept(job("b", "x"));
    runner.close();
    clock.advance(1000);
    expect(recovered).toEqual([]); // the timeout timer was cancelled
    deferred[0]!.resolve(["A"]);
    await tick();
    runner.accept(job("c", "y"));
    expect(sent).toEqual([]);
    expect(events.filter((e) => e.includes("dropped"))).toEqual(["request:dropped b closed", "reply:dropped a closed", "request:dropped c closed"]);
    expect(runner.stats()).toMatchObject({ droppedRequests: 2, droppedReplies: 1, running: 0, pending: 0 });
  });

  it("a reply the socket refuses is dropped and counted (unsent)", () => {
    const { runner, events, job } = setup({ sendOk: false });
    runner.accept(job("a", "x"));
    expect(events).toContain("reply:dropped a unsent");
    expect(runner.stats()).toMatchObject({ replies: 0, droppedReplies: 1 });
  });

  it("runs a long backlog of synchronous handlers without recursing", async () => {
    const { runner, deferred, sent, job } = setup({ maxPending: 5000 });
    runner.accept(job("first", "async"));
    for (let i = 0; i < 5000; i++) runner.accept(job(`c${i}`, "x"));
    deferred[0]!.resolve(["done"]);
    await tick();
    expect(sent).toHaveLength(5001);
    expect(runner.stats()).toMatchObject({ replies: 5001, pending: 0, running: 0 });
  });
});
