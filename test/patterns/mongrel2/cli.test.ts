/**
 * `zpatterns mongrel2` as processes behind the real mongrel2: two handler processes share the
 * load, SIGTERM drains a request in flight, usage errors exit 2.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { launchMongrel2, mongrel2Available, type RunningMongrel2 } from "../../../patterns/mongrel2/launch.js";
import { killAll, startCli } from "../../helpers/process.js";

const APP = "dist/examples/mongrel2/app.js";
const servers: RunningMongrel2[] = [];
afterEach(killAll);
afterAll(async () => {
  for (const m2 of servers) {
    m2.process.kill("SIGKILL");
    await m2.stop();
  }
});

async function mongrel2(): Promise<RunningMongrel2> {
  const m2 = await launchMongrel2();
  servers.push(m2);
  return m2;
}

function cliHandler(m2: RunningMongrel2, ...extra: string[]) {
  return startCli(["mongrel2", "--send-spec", m2.sendSpec, "--recv-spec", m2.recvSpec, "--handler", APP, ...extra]);
}

describe("zpatterns mongrel2: usage", () => {
  it("exits 2 without its required flags or with a handler that is no listener", async () => {
    expect(await startCli(["mongrel2", "--recv-spec", "tcp://127.0.0.1:1", "--handler", APP]).exited).toBe(2);
    const bad = startCli(["mongrel2", "--send-spec", "tcp://127.0.0.1:1", "--recv-spec", "tcp://127.0.0.1:2", "--handler", "package.json"]);
    expect(await bad.exited).toBe(2);
    const help = startCli(["mongrel2", "--help"]);
    expect(await help.exited).toBe(0);
    expect(help.lines.join("\n")).toMatch(/--send-spec EP/);
  });
});

describe.skipIf(!mongrel2Available())("zpatterns mongrel2 behind the real mongrel2", () => {
  it("two handler processes share the load; SIGTERM drains the request in flight", async () => {
    const m2 = await mongrel2();
    const a = cliHandler(m2, "--sender-id", "cli-a");
    const b = cliHandler(m2, "--sender-id", "cli-b");
    await a.waitLine(/^handler ready protocol=mongrel2 .* sender=cli-a /);
    await b.waitLine(/^handler ready protocol=mongrel2 .* sender=cli-b /);
    const pids = new Set<string>();
    for (let i = 0; i < 200 && pids.size < 2; i++) {
      pids.add(await (await fetch(`${m2.url}/whoami`)).text());
    }
    expect(pids).toEqual(new Set([`pid ${a.proc.pid}\n`, `pid ${b.proc.pid}\n`]));
    // streaming requests in flight (250 ms each) when b is told to stop: they still complete
    const streams = await Promise.all(Array.from({ length: 4 }, () => fetch(`${m2.url}/stream`)));
    const readers = streams.map((r) => r.body!.getReader());
    const firsts = await Promise.all(readers.map((r) => r.read()));
    b.kill("SIGTERM");
    const rest = await Promise.all(
      readers.map(async (r, i) => {
        let text = Buffer.from(firsts[i]!.value!).toString();
        for (;;) {
          const { done, value } = await r.read();
          if (done) return text;
          text += Buffer.from(value).toString();
        }
      }),
    );
    expect(rest).toEqual(Array(4).fill("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n"));
    expect(await b.exited).toBe(0);
    expect(b.lines.at(-1)).toMatch(/^handler stopped requests=\d+ responses=\d+ .*droppedResponses=0 /);
  });
});
