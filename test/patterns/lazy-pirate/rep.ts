/**
 * In-process REP servers for the Lazy Pirate tests (raw zeromq.js, like any user's REP).
 */
import * as zmq from "zeromq";

export interface RepServer {
  endpoint: string;
  /** Requests received (including ignored ones). */
  received: number;
  close(): void;
}

/**
 * A REP echo server. `ignore(n)` returns true for request n (1-based) that must go
 * unanswered: the server then closes its socket and binds a fresh one on the same endpoint.
 */
export async function repEcho(endpoint: string, options: { ignore?: (n: number, frames: Buffer[]) => boolean; transform?: (frames: Buffer[]) => Buffer[] } = {}): Promise<RepServer> {
  let socket = new zmq.Reply({ linger: 0 });
  await socket.bind(endpoint);
  const server: RepServer = {
    endpoint: socket.lastEndpoint!,
    received: 0,
    close: () => {
      closed = true;
      socket.close();
    },
  };
  let closed = false;
  void (async () => {
    while (!closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        if (closed) return;
        continue;
      }
      const n = ++server.received;
      if (options.ignore?.(n, frames)) {
        socket.close();
        socket = new zmq.Reply({ linger: 0 });
        for (;;) {
          try {
            await socket.bind(server.endpoint);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 10));
          }
        }
        continue;
      }
      try {
        await socket.send(options.transform ? options.transform(frames) : frames);
      } catch {
        // closed
      }
    }
  })();
  return server;
}
