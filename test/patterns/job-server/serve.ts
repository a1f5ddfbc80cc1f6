/**
 * `zpatterns serve` test helpers: start the built CLI's job server, ask its control endpoint,
 * run plain REQ clients that check every answer is their own request echoed.
 */
import { expect } from "vitest";
import * as zmq from "zeromq";
import { requestStatus, type JobServerStatus } from "../../../patterns/job-server/index.js";
import { uniqAddress } from "../../helpers/addresses.js";
import { startCli, type Child } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";

/** The fixture handler: replies [pid, ...request]; "sleep:MS", "hang", "block" requests. */
export const HANDLER = "test/patterns/job-server/fixtures/handler-job.mjs";

/** Start `zpatterns serve` with the fixture handler, a control endpoint and `extra` flags. */
export async function startServe(extra: string[]): Promise<{ server: Child; frontend: string; control: string }> {
  const frontend = await uniqAddress("tcp");
  const control = await uniqAddress("tcp");
  const server = startCli(["serve", "--frontend", frontend, "--control", control, "--handler", HANDLER, "--heartbeat-interval", "200", ...extra]);
  await server.waitLine(/^serve: frontend|"event":"serve:started"/, 20_000);
  return { server, frontend, control };
}

/** The server's status, from its control endpoint. */
export const status = (control: string) => requestStatus(control, 5000) as Promise<JobServerStatus>;

/** A plain REQ client sending until `stop()` (or `limit` requests); every request must get its own answer back. */
export function reqClient(frontend: string, name: string, body = "job", options: { limit?: number; routingId?: string } = {}) {
  let stopping = false;
  let sent = 0;
  let answered = 0;
  const sock = new zmq.Request({ linger: 0, receiveTimeout: 20_000, ...(options.routingId === undefined ? {} : { routingId: options.routingId }) });
  sock.connect(frontend);
  const done = (async () => {
    try {
      while (!stopping && sent < (options.limit ?? Infinity)) {
        const request = `${body}:${name}:${sent}`;
        sent++;
        await sock.send(request);
        const [pid, echoed] = await sock.receive();
        expect(echoed?.toString()).toBe(request);
        expect(Number(pid!.toString())).toBeGreaterThan(0);
        answered++;
      }
    } finally {
      sock.close();
    }
  })();
  return {
    done,
    stop: () => {
      stopping = true;
      return done;
    },
    get answered() {
      return answered;
    },
    get sent() {
      return sent;
    },
  };
}

/** Poll the status until `check` holds; resolves with that status. */
export function statusWhen(control: string, check: (s: JobServerStatus) => boolean, what: string, timeout = 20_000): Promise<JobServerStatus> {
  return waitFor(async () => {
    const s = await status(control);
    return check(s) && s;
  }, { timeout, what });
}
