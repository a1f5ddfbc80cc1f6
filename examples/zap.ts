/**
 * ZAP example: a CURVE server whose ZAP handler admits one client key and refuses another.
 * Run: node dist/examples/zap.js   (prints what happened and exits 0 when it went as expected)
 */
import * as zmq from "zeromq";
import { Reactor } from "../src/index.js";
import { ZapHandler, generateKeyPair, zapServerOptions } from "../src/zap/index.js";

export interface ZapExampleResult {
  allowedReply: string | undefined;
  refusedStatus: number | undefined;
  stats: ReturnType<ZapHandler["stats"]>;
}

export async function zapExample(log: (line: string) => void = console.log): Promise<ZapExampleResult> {
  const serverKeys = generateKeyPair();
  const good = generateKeyPair();
  const bad = generateKeyPair();
  const zap = await ZapHandler.start({ curve: { keys: [good.publicKey] } });
  zap.on("auth:denied", (o) => log(`ZAP refused a client from ${o.address} (${o.reason})`));
  const reactor = new Reactor();
  try {
    const server = new zmq.Router({ curveServer: true, curveSecretKey: serverKeys.secretKey, ...zapServerOptions("example") });
    await server.bind("tcp://127.0.0.1:*");
    const endpoint = server.lastEndpoint!;
    reactor.add(server, { onMessage: ([id, ...body], h) => void h.send([id!, "hello " + body.map(String).join(" ")]) });

    // The refused client: its handshake fails with status 400 and nothing it sends arrives.
    const intruder = new zmq.Dealer({ curveServerKey: serverKeys.publicKey, curvePublicKey: bad.publicKey, curveSecretKey: bad.secretKey, linger: 0 });
    const refused = new Promise<number | undefined>((resolve) => {
      intruder.events.on("handshake:error:auth", (e) => resolve(e.error.status));
    });
    intruder.connect(endpoint);
    const refusedStatus = await refused;
    log(`intruder refused with status ${refusedStatus}`);
    intruder.close();

    // The admitted client.
    let allowedReply: string | undefined;
    const friend = new zmq.Dealer({ curveServerKey: serverKeys.publicKey, curvePublicKey: good.publicKey, curveSecretKey: good.secretKey, linger: 0 });
    friend.connect(endpoint);
    await new Promise<void>((resolve) => {
      const h = reactor.add(friend, {
        onMessage: ([reply]) => {
          allowedReply = String(reply);
          resolve();
        },
      });
      h.send("friend");
    });
    log(`friend got: ${allowedReply}`);
    return { allowedReply, refusedStatus, stats: zap.stats() };
  } finally {
    await reactor.close();
    await zap.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await zapExample();
  console.log(`ZAP: ${r.stats.allowed} allowed, ${r.stats.denied} denied`);
  process.exitCode = r.allowedReply === "hello friend" && r.refusedStatus === 400 ? 0 : 1;
}
