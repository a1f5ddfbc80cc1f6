"""Interop peer for `zpatterns pipe`: sends N JSON documents, one frame each.

usage: pipe_send.py pub|push bind|connect ENDPOINT N
A publisher is an XPUB so it can wait for the first subscription before sending.
"""
import json
import sys

import zmq

kind, mode, endpoint, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ctx = zmq.Context()
sock = ctx.socket(zmq.XPUB if kind == "pub" else zmq.PUSH)
sock.setsockopt(zmq.LINGER, 5000)
getattr(sock, mode)(endpoint)
print("ready", flush=True)
if kind == "pub":
    sock.recv()  # a subscription: someone listens
for i in range(count):
    sock.send(json.dumps({"from": "python", "seq": i, "msg": "hello %d" % i}).encode())
print("sent %d" % count, flush=True)
sock.close()
ctx.term()
