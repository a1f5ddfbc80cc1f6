/**
 * Shared set-up for the Majordomo tests: every broker, worker and client made here is closed
 * by `closeAll()` (call it in afterEach), and intervals are short so tests are fast.
 */
import { MajordomoBroker, MajordomoClient, MajordomoWorker, type MajordomoBrokerOptions, type MajordomoClientOptions, type MajordomoWorkerOptions } from "../../../patterns/majordomo/index.js";

/** Heartbeat interval used by the tests, ms. */
export const HB = 100;
/** Heartbeat liveness used by the tests: generous, as the machine may be loaded. */
export const LIVENESS = 5;
/**
 * Heartbeat interval for tests that assert that nothing expires: with LIVENESS it tolerates
 * a one-second stall of a loaded machine.
 */
export const STEADY_HB = 200;

const open: { close(): Promise<void> }[] = [];

export function track<T extends { close(): Promise<void> }>(x: T): T {
  open.push(x);
  return x;
}

export async function closeAll(): Promise<void> {
  await Promise.all(open.splice(0).map((x) => x.close()));
}

export async function broker(options: Omit<MajordomoBrokerOptions, "bind"> = {}, endpoint = "tcp://127.0.0.1:*"): Promise<{ broker: MajordomoBroker; endpoint: string }> {
  const b = track(new MajordomoBroker({ bind: endpoint, heartbeatInterval: HB, heartbeatLiveness: LIVENESS, ...options }));
  await b.start();
  return { broker: b, endpoint: b.endpoints[0]! };
}

export function worker(endpoint: string, service: string, options: Partial<MajordomoWorkerOptions> = {}): MajordomoWorker {
  return track(new MajordomoWorker({ endpoint, service, handler: (f) => f, heartbeatInterval: HB, heartbeatLiveness: LIVENESS, reconnectInterval: 50, reconnectMaxInterval: 200, ...options }));
}

export function client(endpoint: string | string[], options: Partial<MajordomoClientOptions> = {}): MajordomoClient {
  return track(new MajordomoClient({ endpoint, requestTimeout: 1000, retries: 3, ...options }));
}

export const text = (frames: Buffer[]): string[] => frames.map((f) => f.toString());
