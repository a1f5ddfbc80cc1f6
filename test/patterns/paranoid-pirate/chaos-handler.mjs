// A request handler for the failure tests, loaded by `zpatterns worker --handler PATH`.
// PPP_CHAOS=hang: the first request blocks the event loop for good (no more heartbeats).
// PPP_CHAOS=stall: the first request never settles (the worker keeps heartbeating).
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
  first = false;
  return frames.map((f) => f.toString("utf8").toUpperCase());
}
