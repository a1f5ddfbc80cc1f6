// A request handler for the failure tests, loaded by `zpatterns worker --handler PATH`.
// PPP_CHAOS=hang: the first request blocks the event loop for good (no more heartbeats).
// PPP_CHAOS=stall: the first request never settles (the worker keeps heartbeating).
// PPP_CHAOS=slow: the first request is answered after PPP_SLOW_MS ms (default 1500).
// Otherwise (and for every later request) it answers with the content upper-cased.
let first = true;
export default function chaos(frames) {
  const mode = process.env.PPP_CHAOS;
  if (first && mode === "hang") {
    first = false;
    for (;;) {
      // spin: a hung process
    }
  }
  if (first && mode === "stall") {
    first = false;
    return new Promise(() => undefined);
  }
  if (first && mode === "slow") {
    first = false;
    const reply = frames.map((f) => f.toString("utf8").toUpperCase());
    return new Promise((resolve) => setTimeout(() => resolve(reply), Number(process.env.PPP_SLOW_MS ?? 1500)));
  }
  first = false;
  return frames.map((f) => f.toString("utf8").toUpperCase());
}
