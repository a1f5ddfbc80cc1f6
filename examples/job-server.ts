/**
 * Job server example (after Net::Server::ZMQ): a 6/PPP queue in this process, a pool of
 * forked worker processes running the built-in `upper` handler, and plain REQ clients. On the
 * way it adds a worker (what SIGTTIN does), restarts them all (SIGHUP) and drains (SIGTERM).
 * The same server as a command: `zpatterns serve --frontend tcp://*:5555 --handler upper`.
 *
 * Run: node dist/examples/job-server.js
 */
import * as zmq from "zeromq";
import { JobServer } from "../patterns/job-server/index.js";

/** Run the scene; resolves with how many requests were answered. */
export async function jobServer(clients = 5, requests = 20, log: (line: string) => void = console.log): Promise<{ answered: number; total: number }> {
  const server = new JobServer({ frontend: "tcp://127.0.0.1:*", backend: "tcp://127.0.0.1:*", handler: "upper", minWorkers: 2, maxWorkers: 4, heartbeatInterval: 250 });
  server.on("worker:ready", (e) => log(`worker ${e.id} ready (pid ${e.pid})`));
  server.on("worker:exited", (e) => log(`worker ${e.id} exited${e.expected ? "" : " unexpectedly"}`));
  server.on("pool:scaled", (e) => log(`pool ${e.direction} to ${e.workers}: ${e.reason}`));
  await server.start();
  const frontend = server.queue.endpoints.frontend[0]!;
  log(`job server on ${frontend}`);

  let answered = 0;
  const work = Array.from({ length: clients }, async (_, c) => {
    const req = new zmq.Request({ linger: 0, receiveTimeout: 10_000 });
    req.connect(frontend);
    try {
      for (let i = 0; i < requests; i++) {
        await req.send(`client ${c} request ${i}`);
        const [reply] = await req.receive();
        if (reply?.toString() === `CLIENT ${c} REQUEST ${i}`) answered++;
        if (c === 0 && i === 5) server.addWorker("example");
        if (c === 0 && i === 10) void server.restartWorkers();
      }
    } finally {
      req.close();
    }
  });
  await Promise.all(work);
  await server.close();
  const total = clients * requests;
  log(`answered ${answered} of ${total} requests; workers started ${server.status().counters.started}`);
  return { answered, total };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { answered, total } = await jobServer();
  process.exitCode = answered === total ? 0 : 1;
}
