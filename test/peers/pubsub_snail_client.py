#!/usr/bin/env python3
"""A ZPS/1.1 subscriber written from patterns/pubsub/PROTOCOL.md §3.7 alone (pyzmq).

Usage: pubsub_snail_client.py ENDPOINT USER PASSWORD STALL_MS PATTERN...
Sends its HELLO with frame 0 "ZPS/1.1" and prints "SESSION 201" when the session opens.
On the first MESSAGE it prints "FIRST <seq>", then stalls (reads nothing) for STALL_MS ms
and prints "AWAKE". From then on it prints "MSG <seq> <lag-ms>" for every MESSAGE and
"GAP <n>" before a message whose sequence number skips n numbers. Runs until killed.
"""
import struct
import sys
import time

import zmq

V11 = b"ZPS/1.1"
KEEPALIVE = 0.2  # seconds, well under the server's expiry (rule 5.2)


def main():
    endpoint, user, password, stall_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    hello = [V11, b"HELLO", user.encode(), password.encode()] + [p.encode() for p in sys.argv[5:]]
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart(hello)
    next_keepalive = time.monotonic() + KEEPALIVE
    expected = 1  # rule 3.7.2: a new session's first copy is number 1
    stalled = False
    while True:
        now = time.monotonic()
        if now >= next_keepalive:
            sock.send_multipart(hello)
            next_keepalive = now + KEEPALIVE
        if not sock.poll(int(KEEPALIVE * 1000)):
            continue
        frames = sock.recv_multipart()
        if len(frames) >= 5 and frames[0] == b"ZPS/1" and frames[1] == b"STATUS":
            if frames[2] == b"201":
                expected = 1
                print("SESSION 201", flush=True)
            continue
        if len(frames) < 5 or frames[0] != V11 or frames[1] != b"MESSAGE" or len(frames[2]) != 8 or len(frames[3]) != 8:
            continue  # not a ZPS/1.1 MESSAGE: ignored here
        (seq,) = struct.unpack(">Q", frames[2])
        (sent,) = struct.unpack(">Q", frames[3])
        if seq > expected:
            print("GAP %d" % (seq - expected), flush=True)
        expected = seq + 1
        if not stalled:
            stalled = True
            print("FIRST %d" % seq, flush=True)
            time.sleep(stall_ms / 1000.0)
            print("AWAKE", flush=True)
            continue
        print("MSG %d %d" % (seq, int(time.time() * 1000) - sent), flush=True)


if __name__ == "__main__":
    sys.exit(main())
