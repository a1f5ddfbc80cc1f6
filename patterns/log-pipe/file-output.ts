/**
 * A {@link PipeOutput} appending one line per message to a file, reopened for log rotation.
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { InvalidOptionError, Lifecycle, optionsObject, type LifecycleOptions } from "../../src/index.js";
import type { PipeOutput } from "./pipe.js";

/**
 * Output: a file, appended to, one message per line. `start()` opens it (`send()` starts it
 * when it was not started); {@link reopen} closes and reopens it by name, so after a log
 * rotation (rename, then SIGHUP) new lines go to a new file; `close()` closes it.
 */
export class FileOutput extends Lifecycle implements PipeOutput {
  /** The file's path. */
  readonly path: string;
  #fd: number | undefined;
  #sent = 0;
  #dropped = 0;
  #reopened = 0;

  constructor(path: string, options?: LifecycleOptions) {
    if (typeof path !== "string" || path === "") throw new InvalidOptionError("path", "FileOutput: expected `path` to be a non-empty string");
    super("FileOutput", optionsObject("FileOutput", options));
    this.path = path;
  }

  protected onStart(): void {
    this.#fd = openSync(this.path, "a");
    this.own(() => this.#closeFd());
  }

  send(text: string): boolean {
    // onStart is synchronous: the file is open when start() returns (or it failed: dropped).
    this.startOnUse();
    if (this.#fd === undefined || this.closed) {
      this.#dropped++;
      return false;
    }
    try {
      writeSync(this.#fd, text + "\n");
      this.#sent++;
      return true;
    } catch {
      this.#dropped++;
      return false;
    }
  }

  /**
   * Close and reopen the file by name (log rotation). Never throws: when the file cannot be
   * opened (its directory is gone, no permission) it returns false, and lines are dropped
   * and counted until a later reopen succeeds. False when not started or closed.
   */
  reopen(): boolean {
    if (this.closed || this.state === "new") return false;
    this.#closeFd();
    try {
      this.#fd = openSync(this.path, "a");
    } catch {
      return false;
    }
    this.#reopened++;
    return true;
  }

  stats(): { sent: number; dropped: number; reopened: number } {
    return { sent: this.#sent, dropped: this.#dropped, reopened: this.#reopened };
  }

  #closeFd(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) closeSync(fd);
  }
}
