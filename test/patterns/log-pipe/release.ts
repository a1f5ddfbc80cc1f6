/**
 * Shared by the log pipe tests: a start that fails half-way must release what it bound.
 */
import * as zmq from "zeromq";
import { expect } from "vitest";
import { uniqAddress } from "../../helpers/addresses.js";
import { waitFor } from "../../helpers/wait.js";

/**
 * Bind `taken` elsewhere, let `start(free, taken)` fail on it, then check that `free`, which
 * it bound before failing, is released (libzmq frees it a moment after the socket closes,
 * hence the bounded wait).
 */
export async function expectReleasedAfterFailedStart(start: (free: string, taken: string) => Promise<unknown>): Promise<void> {
  const taken = await uniqAddress("inproc");
  const free = await uniqAddress("inproc");
  const holder = new zmq.Pull({ linger: 0 });
  await holder.bind(taken);
  const probe = new zmq.Router({ linger: 0 });
  try {
    await expect(start(free, taken)).rejects.toThrow();
    await waitFor(() => probe.bind(free).then(() => true, () => false), { timeout: 3000, what: `${free} to be released` });
  } finally {
    holder.close();
    probe.close();
  }
}
