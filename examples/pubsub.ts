/**
 * Authenticated pub-sub in a few lines: a server with a users file and an ingest socket, a
 * subscriber with entitlements, a publisher pushing to the ingest socket. Ends by itself.
 * Run: node dist/examples/pubsub.js
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as zmq from "zeromq";
import { addUser, PubSubClient, PubSubServer } from "../patterns/pubsub/index.js";

const dir = mkdtempSync(join(tmpdir(), "zps-example-"));
const users = join(dir, "users.json");
await addUser(users, "ops", "s3cret", ["alerts.", "metrics.cpu"]);

const server = await PubSubServer.start({ bind: "tcp://127.0.0.1:*", ingest: "tcp://127.0.0.1:*", users });
const ops = new PubSubClient({ endpoint: server.endpoint, user: "ops", password: "s3cret", subscribe: ["alerts.", "metrics.cpu", "payroll."] });
ops.on("subscription:denied", ({ error }) => console.log(`denied: ${error.message}`));
await ops.ready();

const push = new zmq.Push({ linger: 1000 });
push.connect(server.ingestEndpoint!);
for (const [topic, body] of [["alerts.disk", "95% full"], ["payroll.march", "secret"], ["metrics.cpu.host1", "0.93"]]) await push.send([topic!, body!]);

let n = 0;
for await (const m of ops) {
  console.log(`${m.topic}\t${m.body.join(" ")}`);
  if (++n === 2) break;
}
console.log(`listeners of alerts.disk: ${server.listeners("alerts.disk").map((l) => l.principal.name).join(", ")}`);
push.close();
await ops.close();
await server.close();
rmSync(dir, { recursive: true });
