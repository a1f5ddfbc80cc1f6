/**
 * A plain node:http request listener, the kind you would give http.createServer(): the
 * handler the Mongrel2 example and `zpatterns mongrel2 --handler` run. Nothing in it knows
 * about Mongrel2 or ZeroMQ.
 *   GET  /hello?name=x   a greeting
 *   POST /echo           the body back
 *   GET  /stream         five chunks, 50 ms apart (chunked encoding)
 *   GET  /whoami         the process that answered (to watch several handlers share the load)
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export default async function app(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/hello") {
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.end(`hello, ${url.searchParams.get("name") ?? "world"}\n`);
  } else if (url.pathname === "/echo" && req.method === "POST") {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    res.writeHead(200, { "Content-Type": req.headers["content-type"] ?? "application/octet-stream" });
    res.end(Buffer.concat(parts));
  } else if (url.pathname === "/stream") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    for (let i = 1; i <= 5; i++) {
      res.write(`tick ${i}\n`);
      await new Promise((r) => setTimeout(r, 50));
    }
    res.end();
  } else if (url.pathname === "/whoami") {
    res.end(`pid ${process.pid}\n`);
  } else {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found\n");
  }
}
