/**
 * Slow-subscriber detection (the Guide's "Suicidal Snail", ch5), socket-free: a
 * {@link SequenceTracker} reads the sequence number and send time of each `ZPS/1.1` MESSAGE
 * (PROTOCOL.md §3.7) and tells how many messages were missed before it and how late it came.
 * {@link PubSubClient} feeds it; tests feed it times by hand.
 * @module
 */

/** What one message told the tracker. */
export interface Observation {
  /** Messages missed just before this one (the server dropped them for us). */
  readonly missed: number;
  /** ms between the server's send time and now (negative if the clocks disagree). */
  readonly lag: number;
  /** This message started a lagging episode: the first over `maxLag` after one that was not. */
  readonly exceeded: boolean;
  /** This message is over `maxLag`. */
  readonly lagging: boolean;
}

/** Counters of a {@link SequenceTracker}. */
export interface SequenceStats {
  /** Messages missed in all (sum of the gaps). */
  missed: number;
  /** Gaps seen (each one `messages:missed`). */
  gaps: number;
  /** Messages that arrived more than `maxLag` ms after they were sent. */
  lagged: number;
  /** Lagging episodes (each one `lag:exceeded`). */
  lagExceeded: number;
  /** Lag of the last stamped message, ms. */
  lastLag: number;
  /** Largest lag seen, ms. */
  worstLag: number;
  /** Sequence number of the last stamped message (0 before the first of a session). */
  seq: number;
}

/**
 * Follows one session's sequence numbers (they start at 1 and grow by one per copy the server
 * meant for us, delivered or dropped) and the lag of each message against `maxLag` (ms; 0 =
 * lag is measured but never exceeded).
 */
export class SequenceTracker {
  readonly maxLag: number;
  #expected = 1;
  #lagging = false;
  readonly #s: SequenceStats = { missed: 0, gaps: 0, lagged: 0, lagExceeded: 0, lastLag: 0, worstLag: 0, seq: 0 };

  constructor(maxLag: number) {
    this.maxLag = maxLag;
  }

  /** Counters. */
  stats(): SequenceStats {
    return { ...this.#s };
  }

  /** A new session started: its first message is number 1. */
  reset(): void {
    this.#expected = 1;
    this.#s.seq = 0;
    this.#lagging = false;
  }

  /** Message `seq`, sent at `sent` (ms since the epoch), arrived at `now`. */
  observe(seq: number, sent: number, now: number): Observation {
    // Numbers below the expected one cannot come on one connection; start over from it.
    const missed = seq > this.#expected ? seq - this.#expected : 0;
    this.#expected = seq + 1;
    this.#s.seq = seq;
    if (missed > 0) {
      this.#s.missed += missed;
      this.#s.gaps++;
    }
    const lag = now - sent;
    this.#s.lastLag = lag;
    if (lag > this.#s.worstLag) this.#s.worstLag = lag;
    const lagging = this.maxLag > 0 && lag > this.maxLag;
    const exceeded = lagging && !this.#lagging;
    this.#lagging = lagging;
    if (lagging) this.#s.lagged++;
    if (exceeded) this.#s.lagExceeded++;
    return { missed, lag, exceeded, lagging };
  }
}
