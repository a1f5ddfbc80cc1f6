/**
 * A pino transport that ships log records over ZeroMQ PUB or PUSH without ever blocking the
 * application (after Message::Passing's ZeroMQ output): one frame per record, holding the
 * JSON line pino wrote; a bounded queue; drops counted; zeromq reconnects by itself.
 *
 * ```ts
 * const transport = pino.transport({
 *   target: "zeromq-patterns/pino-transport",
 *   options: { connect: "tcp://127.0.0.1:5558", type: "push", hwm: 10000 },
 * });
 * const logger = pino(transport);
 * transport.on("zmq:stats", (stats) => console.log(stats)); // every statsInterval ms
 * ```
 * @module
 */
import { parentPort, isMainThread } from "node:worker_threads";
import build from "pino-abstract-transport";
import { intOption, optionsObject } from "../../src/index.js";
import { LogSender, type LogSenderOptions, type LogSenderStats } from "./sender.js";

/** Options of the pino transport: the {@link LogSender} options plus `statsInterval`. */
export interface PinoTransportOptions extends Omit<LogSenderOptions, "signal"> {
  /**
   * Every this many ms (and when the transport closes) the transport posts its counters to
   * the application as a `zmq:stats` event on the stream `pino.transport()` returned.
   * 0 turns it off. Default 1000.
   */
  readonly statsInterval?: number;
}

/** The event name under which the counters reach the application. */
export const STATS_EVENT = "zmq:stats";

/**
 * Message::Passing::Output::ZeroMQ for pino: the transport factory pino's worker thread calls
 * (`pino.transport({ target, options })`); usable in-process too (`pino(await zeromqTransport(opts))`).
 */
export default async function zeromqTransport(options: PinoTransportOptions): Promise<ReturnType<typeof build>> {
  const o = optionsObject("pino-transport", options);
  const statsInterval = intOption("pino-transport", o, "statsInterval", 1000, 0);
  const { statsInterval: _ignored, ...senderOptions } = o as PinoTransportOptions;
  const sender = new LogSender(senderOptions);
  try {
    await sender.start();
  } catch (error) {
    // Do not leave the endpoints bound so far (and the reactor) behind the failure.
    await sender.close();
    throw error;
  }
  const post = (stats: LogSenderStats) => {
    // thread-stream re-emits { code: "EVENT" } messages on the application's stream.
    if (!isMainThread) parentPort?.postMessage({ code: "EVENT", name: STATS_EVENT, args: [stats] });
  };
  const timer = statsInterval > 0 ? setInterval(() => post(sender.stats()), statsInterval).unref() : undefined;
  return build(
    (source) => {
      // Never await anything per record: send() is O(1) and drops (counted) when full.
      source.on("data", (line: string) => {
        if (line.length > 0) sender.send(line);
      });
    },
    {
      parse: "lines",
      async close() {
        clearInterval(timer);
        await sender.close();
        post(sender.stats());
      },
    },
  );
}

export { zeromqTransport };
