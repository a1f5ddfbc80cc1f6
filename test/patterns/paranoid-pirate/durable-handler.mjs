// A handler whose effect survives its process, for the exactly-once tests, loaded by
// `zpatterns worker --exactly-once --handler PATH`: the effect is one line appended to the
// file XO_STORE, and that same line records the reply under the request's stamp (one write:
// effect and record cannot part). A request whose stamp is already in the file is answered
// with the recorded reply, without a second effect. XO_DIE=1: the process kills itself
// (SIGKILL) right after the effect, before its reply can go out.
import { appendFileSync, existsSync, readFileSync } from "node:fs";

export default function durable(frames, ctx) {
  const file = process.env.XO_STORE;
  const key = ctx.stamp ? `${ctx.stamp.clientId}/${ctx.stamp.seq}` : undefined;
  if (key && existsSync(file)) {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (!line) continue;
      const record = JSON.parse(line);
      if (record.key === key) return record.reply;
    }
  }
  const reply = `done:${frames.map(String).join()}`;
  appendFileSync(file, JSON.stringify({ key, reply }) + "\n");
  if (process.env.XO_DIE === "1") process.kill(process.pid, "SIGKILL");
  return reply;
}
