/**
 * Raw zeromq.js REP echo server for the `lazy-pirate` benchmark: the loop a user would write.
 * Both the raw REQ baseline and the LazyPirateClient talk to this one process.
 * Usage: node rep-echo.js  (prints READY <endpoint>)
 */
import * as zmq from "zeromq";

const rep = new zmq.Reply();
await rep.bind("tcp://127.0.0.1:*");
process.stdout.write(`READY ${rep.lastEndpoint}\n`);
process.on("SIGTERM", () => rep.close());
try {
  for (;;) await rep.send(await rep.receive());
} catch {
  // closed
}
