#!/usr/bin/env python3
"""Independent 10/FLP (Freelance) client for interop tests, written from RFC 10.

usage: flp_client.py ENDPOINT PAYLOAD...
A ROUTER with no identity connected to ENDPOINT, addressing the server by its endpoint.
Pings until "PONG" comes back (prints "PONG"), then sends each PAYLOAD as a request whose
CCF is a sequence number ("ccf-1", "ccf-2", ...) and prints "REPLY <ccf> <body frames>" for
each reply (checking the CCF came back unmodified: "WRONG-CCF" otherwise). Exits 0 once
every reply arrived, 1 after 10 s without them.
"""
import sys
import time
import zmq

endpoint = sys.argv[1]
payloads = sys.argv[2:]
server = endpoint.encode()

ctx = zmq.Context()
sock = ctx.socket(zmq.ROUTER)
sock.linger = 0
sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
sock.connect(endpoint)

deadline = time.monotonic() + 10
# The connection and handshake take a moment: until then the ROUTER cannot route to the server.
while True:
    if time.monotonic() > deadline:
        sys.exit(1)
    try:
        sock.send_multipart([server, b"PING"])
    except zmq.ZMQError:
        time.sleep(0.05)
        continue
    if sock.poll(200):
        frames = sock.recv_multipart()
        if frames[0] == server and frames[1:] == [b"PONG"]:
            print("PONG", flush=True)
            break

expected = {}
for i, p in enumerate(payloads, 1):
    ccf = ("ccf-%d" % i).encode()
    expected[ccf] = p
    sock.send_multipart([server, ccf, p.encode()])

while expected:
    left = deadline - time.monotonic()
    if left <= 0 or not sock.poll(int(left * 1000)):
        sys.exit(1)
    frames = sock.recv_multipart()
    if frames[0] != server or len(frames) < 3:
        continue
    ccf, body = frames[1], frames[2:]
    if ccf not in expected:
        print("WRONG-CCF " + ccf.hex(), flush=True)
        continue
    del expected[ccf]
    print("REPLY " + ccf.decode() + " " + " ".join(f.decode(errors="replace") for f in body), flush=True)
sys.exit(0)
