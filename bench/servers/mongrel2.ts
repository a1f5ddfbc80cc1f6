/**
 * Handler for the `mongrel2` bench, in its own process (the load generator has the bench's).
 * Usage: node mongrel2.js ours|ours-raw|raw SEND_SPEC RECV_SPEC    (prints READY <send_spec>)
 *        node mongrel2.js http                            (prints READY http://127.0.0.1:PORT)
 * `ours`: Mongrel2Handler running the listener; `ours-raw`: Mongrel2Handler with a raw
 * `onRequest` answering the fixed bytes (no node:http adapter); `raw`: a plain zeromq.js PULL/PUB loop that
 * answers every request with the same bytes; `http`: the listener on http.createServer().
 * Stops on SIGTERM.
 */
import * as http from "node:http";
import * as zmq from "zeromq";
import { Mongrel2Handler } from "../../patterns/mongrel2/index.js";

/** The listener measured: a fixed 12-byte text response. */
const listener = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
  res.setHeader("Content-Type", "text/plain");
  res.end("hello world\n");
};

const RESPONSE = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\nhello world\n";
const [mode, sendSpec, recvSpec] = process.argv.slice(2);
let stop: () => Promise<void>;
if (mode === "ours-raw") {
  const handler = await Mongrel2Handler.start({ sendSpec: sendSpec!, recvSpec: recvSpec!, onRequest: (r, h) => h.reply(r.uuid, r.id, RESPONSE), maxInFlight: 1000 });
  stop = () => handler.close();
  process.stdout.write(`READY ${sendSpec}\n`);
} else if (mode === "ours") {
  const handler = await Mongrel2Handler.start({ sendSpec: sendSpec!, recvSpec: recvSpec!, listener, maxInFlight: 1000 });
  stop = () => handler.close();
  process.stdout.write(`READY ${sendSpec}\n`);
} else if (mode === "raw") {
  const pull = new zmq.Pull({ linger: 0 });
  const pub = new zmq.Publisher({ linger: 0 });
  pull.connect(sendSpec!);
  pub.connect(recvSpec!);
  const response = Buffer.from(RESPONSE);
  const loop = (async () => {
    try {
      for await (const [msg] of pull) {
        // UUID SP CONN_ID SP ...: reply UUID SP LEN:CONN_ID, SP response
        const s1 = msg!.indexOf(0x20);
        const s2 = msg!.indexOf(0x20, s1 + 1);
        const id = msg!.subarray(s1 + 1, s2);
        await pub.send(Buffer.concat([msg!.subarray(0, s1 + 1), Buffer.from(`${id.length}:`), id, Buffer.from(", "), response]));
      }
    } catch {
      // closed
    }
  })();
  stop = async () => {
    pull.close();
    pub.close();
    await loop;
  };
  process.stdout.write(`READY ${sendSpec}\n`);
} else {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  server.on("listening", () => undefined);
  process.stdout.write(`READY http://127.0.0.1:${port}\n`);
  process.on("SIGTERM", () => server.closeAllConnections());
}
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on("SIGTERM", () => {
  clearInterval(keepAlive);
  void stop();
});
