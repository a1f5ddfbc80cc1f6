"""A 6/PPP worker written from the spec alone, for interop tests.

usage: ppp_worker.py ENDPOINT [INTERVAL_MS] [LIVENESS]
Replies to each request with its content frames upper-cased. Prints "CONNECTED n" each
time it (re)connects, and "REPLIED n" every 10 replies. Exits on SIGTERM.
"""
import signal
import sys
import time

import zmq

endpoint = sys.argv[1]
interval = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
liveness_max = int(sys.argv[3]) if len(sys.argv) > 3 else 3

READY, HEARTBEAT = b"\x01", b"\x02"
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
ctx = zmq.Context()
connects = 0
replies = 0
backoff = interval


def open_socket():
    global connects
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    s.send(READY)
    connects += 1
    print("CONNECTED %d" % connects, flush=True)
    return s


sock = open_socket()
poller = zmq.Poller()
poller.register(sock, zmq.POLLIN)
liveness = liveness_max
next_beat = time.monotonic() + interval / 1000.0

while running:
    events = dict(poller.poll(interval))
    if events.get(sock):
        frames = sock.recv_multipart()
        liveness = liveness_max
        backoff = interval
        if frames == [HEARTBEAT]:
            pass
        elif b"" in frames and frames.index(b"") < len(frames) - 1:
            cut = frames.index(b"")
            reply = frames[: cut + 1] + [f.upper() for f in frames[cut + 1:]]
            sock.send_multipart(reply)
            replies += 1
            if replies % 10 == 0:
                print("REPLIED %d" % replies, flush=True)
        else:
            print("MALFORMED %r" % (frames,), flush=True)
    else:
        liveness -= 1
        if liveness == 0:
            poller.unregister(sock)
            sock.close()
            time.sleep(backoff / 1000.0)
            backoff = min(backoff * 2, 32 * interval)
            sock = open_socket()
            poller.register(sock, zmq.POLLIN)
            liveness = liveness_max
    if time.monotonic() >= next_beat:
        sock.send(HEARTBEAT)
        next_beat = time.monotonic() + interval / 1000.0

sock.close()
ctx.term()
