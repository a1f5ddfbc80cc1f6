#!/usr/bin/env python3
"""A ZPS/1 subscriber written from patterns/pubsub/PROTOCOL.md alone (pyzmq).

Usage: pubsub_client.py ENDPOINT USER PASSWORD COUNT PATTERN...
Prints "SESSION <code>" when the server answers HELLO, then "MESSAGE <topic>\t<body>" for
each of COUNT messages, and exits 0. Exits 3 on 401/403, 1 on a timeout (10 s).
"""
import sys
import time

import zmq

PROTOCOL = b"ZPS/1"
KEEPALIVE = 0.2  # seconds; well under the server's expiry (rule 5.2)


def main():
    endpoint, user, password, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    patterns = [p.encode() for p in sys.argv[5:]]
    hello = [PROTOCOL, b"HELLO", user.encode(), password.encode()] + patterns
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(endpoint)
    sock.send_multipart(hello)
    next_keepalive = time.monotonic() + KEEPALIVE
    deadline = time.monotonic() + 10
    received = 0
    while received < count:
        now = time.monotonic()
        if now > deadline:
            print("TIMEOUT", flush=True)
            return 1
        if now >= next_keepalive:
            sock.send_multipart(hello)
            next_keepalive = now + KEEPALIVE
        if not sock.poll(int(KEEPALIVE * 1000)):
            continue
        frames = sock.recv_multipart()
        if len(frames) < 2 or frames[0] != PROTOCOL:
            continue  # rule 6: not ZPS/1, drop it
        if frames[1] == b"STATUS" and len(frames) >= 5:
            code = int(frames[2])
            if frames[3] == b"HELLO" and code in (200, 201):
                if code == 201:
                    print("SESSION %d" % code, flush=True)
            elif code in (401, 403):
                print("DENIED %d %s" % (code, frames[4].decode("utf-8", "replace")), flush=True)
                return 3
            elif code == 404:
                sock.send_multipart(hello)  # rule 5.4: the server forgot us
        elif frames[1] == b"MESSAGE" and len(frames) >= 3:
            body = b"|".join(frames[3:])
            print("MESSAGE %s\t%s" % (frames[2].decode(), body.decode()), flush=True)
            received += 1
    sock.send_multipart([PROTOCOL, b"BYE"])
    time.sleep(0.1)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
