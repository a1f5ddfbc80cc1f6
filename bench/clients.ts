/**
 * Load generators written with raw zeromq.js, shared by the benchmarks so that ours and the
 * baseline are driven by the same client code.
 */
import * as zmq from "zeromq";

/**
 * Pipelined DEALER: keeps `inFlight` requests outstanding, `total` in all. Returns req/s.
 * `frames(i)` builds request i; every received message counts as one reply.
 */
export async function pipelinedDealer(endpoint: string, total: number, inFlight: number, frames: (i: number) => zmq.MessageLike[]): Promise<number> {
  const dealer = new zmq.Dealer({ sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000, linger: 0 });
  dealer.connect(endpoint);
  try {
    // Warm-up: one round trip so connection set-up is not timed.
    await dealer.send(frames(-1));
    await dealer.receive();
    const t0 = performance.now();
    let sent = 0;
    for (; sent < Math.min(inFlight, total); sent++) await dealer.send(frames(sent));
    for (let received = 0; received < total; received++) {
      await dealer.receive();
      if (sent < total) await dealer.send(frames(sent++));
    }
    return total / ((performance.now() - t0) / 1000);
  } finally {
    dealer.close();
  }
}
