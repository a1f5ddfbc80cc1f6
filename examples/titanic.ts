/**
 * Titanic example: a Majordomo broker, a Titanic server with its store in a temporary
 * directory, and a client that stores requests before any worker exists. The worker comes
 * later; the Titanic dispatcher delivers the stored requests and the client collects the
 * replies (9/TSP: titanic.request, titanic.reply, titanic.close).
 * Run: node dist/examples/titanic.js (ends by itself).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MajordomoBroker, MajordomoWorker } from "../patterns/majordomo/index.js";
import { TitanicClient, TitanicServer } from "../patterns/titanic/index.js";

const dir = mkdtempSync(join(tmpdir(), "titanic-example-"));
const hb = { heartbeatInterval: 250 };
const broker = new MajordomoBroker({ bind: "tcp://127.0.0.1:*", ...hb, pendingTimeout: 300 });
await broker.start();
const endpoint = broker.endpoints[0]!;
const titanic = await TitanicServer.start({ endpoint, dir, ...hb, dispatchInterval: 100 });
const client = new TitanicClient({ endpoint, pollInterval: 50 });

const uuids: string[] = [];
for (const word of ["disconnected", "persistent", "messaging"]) {
  const answer = await client.request("shout", [word]);
  console.log(`titanic.request shout ${word} -> ${answer.status} ${String(answer.body[0])}`);
  uuids.push(String(answer.body[0]));
}
console.log(`titanic.reply ${uuids[0]} -> ${(await client.reply(uuids[0]!)).status} (pending: no worker yet)`);

const worker = new MajordomoWorker({ endpoint, service: "shout", ...hb, handler: (f) => f.map((x) => x.toString().toUpperCase() + "!") });
for (const uuid of uuids) {
  for (;;) {
    const answer = await client.reply(uuid);
    if (answer.status === "200") {
      console.log(`titanic.reply ${uuid} -> 200 ${answer.body.map(String).join(" ")}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await client.closeRequest(uuid);
}
console.log(`call() in one go -> ${(await client.call("shout", ["done"])).map(String).join(" ")}`);
console.log(`titanic: ${JSON.stringify(titanic.stats())}`);

await Promise.all([client.close(), worker.close(), titanic.close()]);
await broker.close();
rmSync(dir, { recursive: true, force: true });
