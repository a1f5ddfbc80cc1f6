#!/usr/bin/env python3
"""Independent MDP/0.1 client (7/MDP) with Lazy Pirate retries, for interop tests.

usage: mdp_client.py ENDPOINT SERVICE TIMEOUT_MS RETRIES [FRAME...]
Prints "REPLY <frames joined by spaces>" and exits 0, or prints ABANDON and exits 1.
"""
import sys
import zmq

endpoint, service = sys.argv[1], sys.argv[2].encode()
timeout, retries = int(sys.argv[3]), int(sys.argv[4])
body = [a.encode() for a in sys.argv[5:]] or [b""]

ctx = zmq.Context()
for attempt in range(retries + 1):
    s = ctx.socket(zmq.REQ)
    s.linger = 0
    s.connect(endpoint)
    s.send_multipart([b"MDPC01", service] + body)
    if s.poll(timeout):
        reply = s.recv_multipart()
        s.close()
        if len(reply) < 3 or reply[0] != b"MDPC01" or reply[1] != service:
            print("BAD " + repr(reply), flush=True)
            sys.exit(3)
        print("REPLY " + " ".join(f.decode(errors="replace") for f in reply[2:]), flush=True)
        sys.exit(0)
    s.close()
    print("RETRY", flush=True)
print("ABANDON", flush=True)
sys.exit(1)
