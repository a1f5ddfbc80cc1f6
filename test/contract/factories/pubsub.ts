/**
 * The pub-sub, ZAP and Titanic classes under the lifecycle contract: PubSubServer (plain and
 * with its own ZAP handler), PubSubClient, ZapHandler and TitanicServer.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import type { Lifecycle } from "../../../src/index.js";
import { ZapHandler } from "../../../src/zap/index.js";
import { PubSubClient, PubSubServer } from "../../../patterns/pubsub/index.js";
import { MajordomoBroker } from "../../../patterns/majordomo/index.js";
import { TitanicServer } from "../../../patterns/titanic/index.js";
import type { FactoryContext, LifecycleFactory } from "../harness.js";

const curve = () => {
  const server = zmq.curveKeyPair();
  return { curveSecretKey: server.secretKey, curveAllow: [zmq.curveKeyPair().publicKey] };
};

/** A bare ROUTER that never answers: a PubSubClient on it waits for its session for ever. */
async function silentServer(ctx: FactoryContext): Promise<string> {
  const endpoint = await ctx.endpoint();
  const router = new zmq.Router({ linger: 0 });
  await router.bind(endpoint);
  ctx.defer(() => router.close());
  return endpoint;
}

/** A ZAP handler on a context of its own, so that it never meets another handler of the process. */
function zapContext(): zmq.Context {
  return new zmq.Context();
}

function tempDir(ctx: FactoryContext): string {
  const dir = mkdtempSync(join(tmpdir(), "contract-titanic-"));
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const pubsubFactories: LifecycleFactory[] = [
  {
    name: "PubSubServer",
    make: async (ctx, extras) => new PubSubServer({ bind: await ctx.endpoint(), ingest: await ctx.endpoint(), allowAny: true, ...extras }),
    // The ROUTER binds `free`, then the ingest bind fails on `taken`.
    failing: (_ctx, free, taken, extras) => new PubSubServer({ bind: free, ingest: taken, allowAny: true, ...extras }),
  },
  {
    name: "PubSubServer (CURVE, own ZAP handler)",
    make: async (ctx, extras) => new PubSubServer({ bind: await ctx.endpoint(), allowAny: true, ...curve(), ...extras }),
    // The ZAP handler starts, the ROUTER binds `free`, then its second bind fails on `taken`.
    failing: (_ctx, free, taken, extras) => new PubSubServer({ bind: [free, taken], allowAny: true, ...curve(), ...extras }),
  },
  {
    name: "PubSubClient",
    make: async (ctx, extras) => new PubSubClient({ endpoint: await silentServer(ctx), user: "u", password: "p", heartbeatInterval: 100, ...extras }),
    pending: (client) => (client as PubSubClient).ready(),
  },
  {
    name: "ZapHandler",
    make: (ctx, extras) => new ZapHandler({ context: zapContext(), allowNull: true, ...extras }),
    // Its one bind is inproc://zeromq.zap.01: its start fails when another handler holds it.
    failing: async (ctx, _free, _taken, extras) => {
      const context = zapContext();
      const holder = await ZapHandler.start({ context });
      ctx.defer(() => holder.close());
      return new ZapHandler({ context, ...extras });
    },
  },
  {
    name: "TitanicServer",
    make: async (ctx, extras): Promise<Lifecycle> => {
      const broker = new MajordomoBroker({ bind: await ctx.endpoint(), heartbeatInterval: 100 });
      ctx.defer(() => broker.close());
      await broker.start();
      const endpoint = broker.endpoints[0]!;
      return new TitanicServer({ endpoint, dir: tempDir(ctx), heartbeatInterval: 100, reconnectInterval: 50, dispatchInterval: 50, ...extras });
    },
  },
];
