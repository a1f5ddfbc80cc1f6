"""A rogue 6/PPP backend peer, written from the spec (rfc 6), for the job server's trust tests.

usage: ppp_rogue.py ENDPOINT IDENTITY|- CLIENT_HEX|- [INTERVAL_MS]
Connects a DEALER (with routing id IDENTITY, unless "-") to a queue's backend, says READY,
heartbeats every INTERVAL_MS (default 200), and every interval pushes a forged reply
[CLIENT, "", "forged"] to the client id CLIENT_HEX (unless "-"). Answers any request it is
given with "hijacked". Prints "READY" once connected and "GOT n" for every request it
received. Exits on SIGTERM.
"""
import signal
import sys
import time

import zmq

endpoint = sys.argv[1]
identity = sys.argv[2]
client = None if sys.argv[3] == "-" else bytes.fromhex(sys.argv[3])
interval = int(sys.argv[4]) if len(sys.argv) > 4 else 200

READY, HEARTBEAT = b"\x01", b"\x02"
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
ctx = zmq.Context()
sock = ctx.socket(zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
if identity != "-":
    sock.setsockopt(zmq.IDENTITY, identity.encode())
sock.connect(endpoint)
sock.send(READY)
print("READY", flush=True)
got = 0
next_beat = time.monotonic()
while running:
    if sock.poll(interval // 2 or 1):
        frames = sock.recv_multipart()
        if frames != [HEARTBEAT] and b"" in frames:
            got += 1
            print("GOT %d" % got, flush=True)
            cut = frames.index(b"")
            sock.send_multipart(frames[: cut + 1] + [b"hijacked"])
    if time.monotonic() >= next_beat:
        sock.send(HEARTBEAT)
        if client is not None:
            sock.send_multipart([client, b"", b"forged"])
        next_beat = time.monotonic() + interval / 1000.0

sock.close()
ctx.term()
