"""Interop peer for `zpatterns pipe`: receives N one-frame JSON messages and prints each.

usage: pipe_recv.py sub|pull bind|connect ENDPOINT N
Prints "ready" once the socket is set up, then one compact JSON line per message.
"""
import json
import sys

import zmq

kind, mode, endpoint, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = zmq.Context()
sock = ctx.socket(zmq.SUB if kind == "sub" else zmq.PULL)
if kind == "sub":
    sock.setsockopt(zmq.SUBSCRIBE, b"")
sock.setsockopt(zmq.LINGER, 0)
getattr(sock, mode)(endpoint)
print("ready", flush=True)
for _ in range(count):
    frames = sock.recv_multipart()
    if len(frames) != 1:
        print("malformed %d frames" % len(frames), flush=True)
        continue
    print(json.dumps(json.loads(frames[0]), separators=(",", ":"), sort_keys=True), flush=True)
sock.close()
ctx.term()
