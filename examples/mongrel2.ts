/**
 * Mongrel2 example: Debian's mongrel2 in front of a plain node:http app
 * (examples/mongrel2/app.ts) run by Mongrel2Handler. It starts a throwaway mongrel2 (a temp
 * chroot, a config loaded with m2sh, 127.0.0.1 on a free port), sends a few requests, then
 * restarts the handler while a browser is waiting: the request made with no handler running
 * is held by mongrel2 and answered by the next handler. No dead page.
 * Run: node dist/examples/mongrel2.js   (needs mongrel2-core; ends by itself)
 */
import { pathToFileURL } from "node:url";
import { Mongrel2Handler } from "../patterns/mongrel2/index.js";
import { launchMongrel2 } from "../patterns/mongrel2/launch.js";
import app from "./mongrel2/app.js";

async function get(url: string, init?: RequestInit): Promise<string> {
  const res = await fetch(url, init);
  return `${res.status} ${(await res.text()).trim().replace(/\n/g, " | ")}`;
}

/** Run the example. */
export async function main(log: (line: string) => void = console.log): Promise<void> {
  const m2 = await launchMongrel2({ settings: { "limits.content_length": 65536 } });
  log(`mongrel2 listening on ${m2.url} (chroot ${m2.dir})`);
  const handler = () => Mongrel2Handler.start({ sendSpec: m2.sendSpec, recvSpec: m2.recvSpec, uploadDir: m2.uploadDir, listener: app });
  let h = await handler();
  try {
    log(`GET /hello?name=mongrel2 -> ${await get(`${m2.url}/hello?name=mongrel2`)}`);
    log(`POST /echo -> ${await get(`${m2.url}/echo`, { method: "POST", body: "ping", headers: { "Content-Type": "text/plain" } })}`);
    log(`GET /stream -> ${await get(`${m2.url}/stream`)}`);
    log("restarting the handler (a request arrives while none runs)");
    await h.close();
    // Give mongrel2 a moment to see the handler's connection go: a request it PUSHes in the
    // instant before it notices is lost with the connection (PUSH has no acknowledgement).
    await new Promise((r) => setTimeout(r, 200));
    const waiting = get(`${m2.url}/hello?name=patient`);
    await new Promise((r) => setTimeout(r, 300));
    h = await handler();
    log(`GET /hello?name=patient -> ${await waiting}`);
    log(`handler stats: ${JSON.stringify(h.stats())}`);
  } finally {
    await h.close();
    await m2.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
