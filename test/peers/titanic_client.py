#!/usr/bin/env python3
"""Independent 9/TSP client over MDP/0.1 for interop tests.

usage: titanic_client.py ENDPOINT SERVICE POLL_MS [FRAME...]
Stores the request with titanic.request, polls titanic.reply every POLL_MS until 200,
closes it with titanic.close, prints "UUID <uuid>" then "REPLY <frames>" and exits 0.
Exits 1 on a 400 answer or after 200 unanswered calls.
"""
import sys
import time
import zmq

endpoint, service, poll_ms = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
body = [a.encode() for a in sys.argv[4:]] or [b""]
ctx = zmq.Context()


def call(name, frames):
    """One MDP/0.1 request with retries on a fresh REQ socket; returns the reply body."""
    for _ in range(200):
        s = ctx.socket(zmq.REQ)
        s.linger = 0
        s.connect(endpoint)
        s.send_multipart([b"MDPC01", name] + frames)
        if s.poll(1000):
            reply = s.recv_multipart()
            s.close()
            return reply[2:]
        s.close()
    print("NO ANSWER", flush=True)
    sys.exit(1)


while True:
    r = call(b"titanic.request", [service] + body)
    if r[0][:3] == b"200":
        uuid = r[1]
        break
    time.sleep(poll_ms / 1000.0)
print("UUID " + uuid.decode(), flush=True)
while True:
    r = call(b"titanic.reply", [uuid])
    code = r[0][:3]
    if code == b"200":
        break
    if code == b"400":
        print("UNKNOWN", flush=True)
        sys.exit(1)
    time.sleep(poll_ms / 1000.0)
call(b"titanic.close", [uuid])
print("REPLY " + " ".join(f.decode(errors="replace") for f in r[1:]), flush=True)
