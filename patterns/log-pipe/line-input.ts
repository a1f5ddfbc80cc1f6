/**
 * A {@link PipeInput} over the lines of a readable stream (stdin, a file).
 * @module
 */
import { createInterface, type Interface } from "node:readline";
import { InvalidOptionError, Lifecycle, optionsObject, type LifecycleOptions } from "../../src/index.js";
import type { PipeInput } from "./pipe.js";

/**
 * Input: the lines of a readable stream (stdin, a file). Blank lines are skipped. Waits (the
 * stream is paused while the pipe is busy), never drops. Closing it destroys the stream.
 */
export class LineInput extends Lifecycle implements PipeInput {
  readonly #stream: NodeJS.ReadableStream & { destroy?: () => void };
  #lines: Interface | undefined;

  constructor(stream: NodeJS.ReadableStream, options?: LifecycleOptions) {
    if (typeof stream !== "object" || stream === null || typeof stream.on !== "function") throw new InvalidOptionError("stream", "LineInput: expected `stream` to be a readable stream");
    super("LineInput", optionsObject("LineInput", options));
    this.#stream = stream;
  }

  protected onStart(): void {
    // Nothing to open: the stream is read by run().
  }

  /** Deliver every non-blank line to `sink`; resolves at the end of the stream or on close. Starts the input. */
  async run(sink: (text: string) => void | Promise<void>): Promise<void> {
    if (this.closed) return;
    await this.start();
    if (this.closed) return;
    if (this.#lines) throw new TypeError("LineInput.run: already running");
    const lines = (this.#lines = createInterface({ input: this.#stream, crlfDelay: Infinity }));
    for await (const line of lines) {
      if (this.closed) break;
      if (line.trim() === "") continue;
      const pending = sink(line);
      if (pending) await pending;
    }
  }

  protected override onClose(): void {
    this.#lines?.close();
    this.#stream.destroy?.();
  }
}
