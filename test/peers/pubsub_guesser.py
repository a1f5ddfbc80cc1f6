#!/usr/bin/env python3
"""A password-guessing run against a ZPS/1 server (patterns/pubsub/PROTOCOL.md), one guess
per fresh connection, written from the protocol text for the login-limit tests.

usage: pubsub_guesser.py ENDPOINT USER GUESSES CONCURRENCY SECONDS

Keeps CONCURRENCY connections in flight, each a new DEALER that sends one
HELLO(USER, random password) and waits for its STATUS (10 s at most), then is closed and
replaced. USER "*" uses a fresh random user name per guess (spraying). Stops after GUESSES
answers, SECONDS seconds, or at SIGTERM. Prints "started", "progress N denied D" every 100 answers (D: the 401s so far), and at the
end one line "RESULT {json}" with the count of answers per status code, the guesses
without an answer ("timeout") and the number sent.
"""
import json
import os
import signal
import sys
import time

import zmq

PROTOCOL = b"ZPS/1"


def main() -> int:
    endpoint, user, guesses, concurrency, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    ctx = zmq.Context()
    poller = zmq.Poller()
    in_flight = {}  # socket -> time sent
    counts = {}
    sent = 0
    answered = 0
    start = time.monotonic()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    def launch() -> None:
        nonlocal sent
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(endpoint)
        name = os.urandom(6).hex() if user == "*" else user
        s.send_multipart([PROTOCOL, b"HELLO", name.encode(), os.urandom(8).hex().encode()])
        poller.register(s, zmq.POLLIN)
        in_flight[s] = time.monotonic()
        sent += 1

    def retire(s) -> None:
        poller.unregister(s)
        del in_flight[s]
        s.close(0)

    print("started", flush=True)
    while not stop and answered < guesses and time.monotonic() - start < seconds:
        while len(in_flight) < concurrency and sent < guesses:
            launch()
        for s, _ in poller.poll(100):
            frames = s.recv_multipart()
            # STATUS = protocol "STATUS" code about reason *pattern
            if len(frames) >= 5 and frames[0] == PROTOCOL and frames[1] == b"STATUS":
                code = frames[2].decode("ascii", "replace")
            else:
                code = "malformed"
            counts[code] = counts.get(code, 0) + 1
            answered += 1
            if answered % 100 == 0:
                print(f"progress {answered} denied {counts.get('401', 0)}", flush=True)
            retire(s)
        now = time.monotonic()
        for s, at in list(in_flight.items()):
            if now - at > 10:
                counts["timeout"] = counts.get("timeout", 0) + 1
                retire(s)
    for s in list(in_flight):
        retire(s)
    counts["sent"] = sent
    counts["seconds"] = round(time.monotonic() - start, 3)
    print("RESULT " + json.dumps(counts), flush=True)
    ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
