/**
 * Shared pieces of the ZAP tests: a server socket with a read pump that echoes and records,
 * clients that report whether they got through or were refused (`handshake:error:auth`).
 */
import * as zmq from "zeromq";
import { Reactor } from "../../src/index.js";
import { uniqAddress, type Transport } from "../helpers/addresses.js";
import { within } from "../helpers/wait.js";

export interface EchoServer {
  socket: zmq.Router;
  endpoint: string;
  received: Buffer[][];
  reactor: Reactor;
}

/** A ROUTER server (options decide the mechanism) that echoes, on `transport`. */
export async function echoServer(transport: Transport, options: zmq.SocketOptions<zmq.Router>): Promise<EchoServer> {
  const socket = new zmq.Router({ linger: 0, ...options });
  const ep = transport === "tcp" ? "tcp://127.0.0.1:*" : await uniqAddress(transport);
  await socket.bind(ep);
  const reactor = new Reactor();
  const received: Buffer[][] = [];
  const handle = reactor.add(socket, {
    onMessage: (msg) => {
      received.push(msg);
      handle.send(msg);
    },
  });
  return { socket, endpoint: socket.lastEndpoint!, received, reactor };
}

export interface Attempt {
  client: zmq.Dealer;
  /** Resolves with the echoed reply. */
  reply: Promise<string>;
  /** Resolves with the status of the first `handshake:error:auth` the client sees. */
  refused: Promise<number>;
}

/** Connect a DEALER client with `options` and send `text` once. */
export function attempt(endpoint: string, options: zmq.SocketOptions<zmq.Dealer>, text = "hello"): Attempt {
  const client = new zmq.Dealer({ linger: 0, ...options });
  const refused = new Promise<number>((resolve) => {
    client.events.on("handshake:error:auth", (event) => resolve(event.error.status));
  });
  client.connect(endpoint);
  const reply = (async () => {
    await client.send(text);
    const [frame] = await client.receive();
    return frame!.toString();
  })();
  reply.catch(() => undefined);
  return { client, reply, refused };
}

/** Expect the attempt to get its echo within the bound. */
export async function expectReply(a: Attempt, text = "hello"): Promise<void> {
  const got = await within(a.reply, 10_000, "echo reply");
  if (got !== text) throw new Error(`expected ${text}, got ${got}`);
}

/** Expect the client to be refused (status 400 by default) and return the status. */
export async function expectRefused(a: Attempt): Promise<number> {
  return within(a.refused, 10_000, "handshake:error:auth on the client");
}

/** CURVE options for a server and a client of it. */
export function curveOptions(server: { publicKey: string; secretKey: string }, client: { publicKey: string; secretKey: string }) {
  return {
    server: { curveServer: true, curveSecretKey: server.secretKey } satisfies zmq.SocketOptions<zmq.Router>,
    client: { curveServerKey: server.publicKey, curvePublicKey: client.publicKey, curveSecretKey: client.secretKey } satisfies zmq.SocketOptions<zmq.Dealer>,
  };
}
