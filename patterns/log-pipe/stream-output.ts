/**
 * A {@link PipeOutput} writing one line per message to a writable stream (stdout).
 * @module
 */
import { InvalidOptionError, Lifecycle, optionsObject, type LifecycleOptions } from "../../src/index.js";
import type { PipeOutput } from "./pipe.js";

/**
 * Output: one line per message on a writable stream (stdout). Once the stream reports an
 * error (EPIPE: the reader went away) or the output is closed, messages are dropped and
 * counted. `send()` starts it when it was not started.
 */
export class StreamOutput extends Lifecycle implements PipeOutput {
  readonly #stream: NodeJS.WritableStream;
  #sent = 0;
  #dropped = 0;
  #broken = false;

  constructor(stream: NodeJS.WritableStream, options?: LifecycleOptions) {
    if (typeof stream !== "object" || stream === null || typeof stream.write !== "function") throw new InvalidOptionError("stream", "StreamOutput: expected `stream` to be a writable stream");
    super("StreamOutput", optionsObject("StreamOutput", options));
    this.#stream = stream;
  }

  protected onStart(): void {
    // Kept after close on purpose: a write still in flight may fail (EPIPE) after the pipe
    // closed, and an "error" event without a listener would crash the process.
    this.#stream.on("error", () => (this.#broken = true));
  }

  send(text: string): boolean {
    if (this.state === "new") void this.start().catch(() => undefined); // onStart is synchronous
    if (this.#broken || this.closed) {
      this.#dropped++;
      return false;
    }
    this.#stream.write(text + "\n");
    this.#sent++;
    return true;
  }

  stats(): { sent: number; dropped: number } {
    return { sent: this.#sent, dropped: this.#dropped };
  }
}
