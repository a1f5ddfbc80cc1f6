/**
 * Log collector recipe (after Message::Passing): many applications log with pino through the
 * zeromq transport (PUSH, never blocking), one pipe (PULL) collects everything into a file.
 * The same collector as a command: `zpatterns pipe --input zmq --socket-type pull --bind EP
 * --output file --file collected.log`.
 *
 * Run: node dist/examples/log-collector.js [APPS] [RECORDS]
 */
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { FileOutput, LogReceiver, Pipe, type PipeStats } from "../patterns/log-pipe/index.js";

/** What the example did. */
export interface CollectorSummary {
  apps: number;
  records: number;
  lines: number;
  stats: PipeStats;
}

/** Run `apps` applications logging `records` records each into one collector. */
export async function logCollector(apps = 3, records = 100, log: (line: string) => void = console.log): Promise<CollectorSummary> {
  const dir = mkdtempSync(join(tmpdir(), "log-collector-"));
  let keepalive: NodeJS.Timeout | undefined;
  try {
    const file = join(dir, "collected.log");
    const receiver = new LogReceiver({ type: "pull", bind: "tcp://127.0.0.1:*" });
    await receiver.start();
    const endpoint = receiver.endpoints[0]!;
    const pipe = new Pipe({ input: receiver, output: new FileOutput(file), count: apps * records });
    const running = pipe.run();
    log(`collector: ${endpoint} -> ${file}`);

    // Each "application": a pino logger whose transport runs in a worker thread. pino's worker
    // threads are unref'd: keep this process up until they have closed.
    keepalive = setInterval(() => {}, 1000);
    const target = new URL("../patterns/log-pipe/pino-transport.js", import.meta.url).href;
    await Promise.all(
      Array.from({ length: apps }, async (_, n) => {
        const transport = pino.transport({ target, options: { connect: endpoint, type: "push", linger: 2000 } });
        const logger = pino({ base: { app: `app-${n}` } }, transport);
        await once(transport, "ready");
        for (let i = 0; i < records; i++) logger.info({ seq: i }, "work done");
        const closed = once(transport, "close");
        transport.end();
        await closed;
      }),
    );
    const stats = await running;
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const perApp = new Map<string, number>();
    for (const line of lines) {
      const app = (JSON.parse(line) as { app: string }).app;
      perApp.set(app, (perApp.get(app) ?? 0) + 1);
    }
    log(`collected ${lines.length} records from ${perApp.size} applications (${[...perApp].map(([a, c]) => `${a}: ${c}`).join(", ")})`);
    log(`pipe: in=${stats.in} out=${stats.out} dropped=${stats.dropped} invalid=${stats.invalid}`);
    return { apps, records, lines: lines.length, stats };
  } finally {
    clearInterval(keepalive);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await logCollector(Number(process.argv[2] ?? 3), Number(process.argv[3] ?? 100));
}
