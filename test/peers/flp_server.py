#!/usr/bin/env python3
"""Independent 10/FLP (Freelance) server for interop tests, written from RFC 10.

usage: flp_server.py ENDPOINT [MODE]
A ROUTER whose identity is ENDPOINT (its public endpoint), bound at ENDPOINT.
A one-frame "PING" is answered with "PONG"; a request (CCF + body) with the CCF unmodified
followed by the reply body: MODE echo (default) returns the body, upper upper-cases it.
Prints "READY ENDPOINT" once bound, "PING" per ping, "REQUEST <ccf hex> <body>" per request,
"BAD <n>" per message that breaks the protocol (dropped).
"""
import sys
import zmq

endpoint = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "echo"

ctx = zmq.Context()
sock = ctx.socket(zmq.ROUTER)
sock.linger = 0
sock.setsockopt(zmq.IDENTITY, endpoint.encode())
sock.bind(endpoint)
print("READY " + endpoint, flush=True)

while True:
    frames = sock.recv_multipart()
    client, rest = frames[0], frames[1:]
    if len(rest) == 1 and rest[0] == b"PING":
        print("PING", flush=True)
        sock.send_multipart([client, b"PONG"])
    elif len(rest) >= 2:
        ccf, body = rest[0], rest[1:]
        print("REQUEST " + ccf.hex() + " " + " ".join(f.decode(errors="replace") for f in body), flush=True)
        if mode == "upper":
            body = [f.upper() for f in body]
        sock.send_multipart([client, ccf] + body)
    else:
        print("BAD %d" % len(rest), flush=True)
