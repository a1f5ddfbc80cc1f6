/**
 * Server for the Binary Star failover measurement: one BinaryStarServer (echo).
 * Usage: node bstar.js primary|backup FRONTEND LOCAL REMOTE HEARTBEAT_MS
 * (prints READY <frontend>; stops on SIGTERM)
 */
import { BinaryStarServer } from "../../patterns/binary-star/index.js";

const [role, frontend, local, remote, heartbeat] = process.argv.slice(2);
const server = new BinaryStarServer({ role: role as "primary" | "backup", frontend: frontend!, local: local!, remote: remote!, heartbeatInterval: Number(heartbeat) });
await server.start();
process.stdout.write(`READY ${frontend}\n`);
const keepAlive = setInterval(() => undefined, 1 << 30);
process.on("SIGTERM", () => {
  clearInterval(keepAlive);
  void server.close();
});
