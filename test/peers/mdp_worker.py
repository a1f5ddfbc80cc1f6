#!/usr/bin/env python3
"""Independent MDP/0.1 worker (7/MDP) for interop tests.

usage: mdp_worker.py ENDPOINT SERVICE HEARTBEAT_MS [MODE] [LIVENESS]
MODE: echo (default) replies with the request body; upper upper-cases it;
      hang never replies (keeps heartbeating); bad sends a REQUEST command to the broker
      after READY (a valid but unexpected command) and reports the DISCONNECT it gets.
Prints READY on each registration, REQUEST <frames> per request, DISCONNECT when told to.
"""
import sys
import time
import zmq

endpoint, service, hb_ms = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
mode = sys.argv[4] if len(sys.argv) > 4 else "echo"
LIVENESS = int(sys.argv[5]) if len(sys.argv) > 5 else 3
HEADER = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"

ctx = zmq.Context()


def connect():
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(endpoint)
    s.send_multipart([b"", HEADER, READY, service])
    print("READY", flush=True)
    if mode == "bad":
        s.send_multipart([b"", HEADER, REQUEST, b"someone", b"", b"body"])
    return s


sock = connect()
liveness = LIVENESS
next_hb = time.monotonic() + hb_ms / 1000.0
while True:
    if sock.poll(hb_ms):
        frames = sock.recv_multipart()
        liveness = LIVENESS
        if len(frames) < 3 or frames[0] != b"" or frames[1] != HEADER:
            continue
        cmd = frames[2]
        if cmd == REQUEST:
            client, body = frames[3], frames[5:]
            print("REQUEST " + " ".join(f.decode(errors="replace") for f in body), flush=True)
            if mode == "hang":
                continue
            if mode == "upper":
                body = [f.upper() for f in body]
            sock.send_multipart([b"", HEADER, REPLY, client, b""] + body)
            next_hb = time.monotonic() + hb_ms / 1000.0
        elif cmd == DISCONNECT:
            print("DISCONNECT", flush=True)
            sock.close()
            time.sleep(hb_ms / 1000.0)
            sock = connect()
            liveness = LIVENESS
    else:
        liveness -= 1
        if liveness == 0:
            print("RECONNECT", flush=True)
            sock.close()
            time.sleep(hb_ms / 1000.0)
            sock = connect()
            liveness = LIVENESS
    if time.monotonic() >= next_hb:
        sock.send_multipart([b"", HEADER, HEARTBEAT])
        next_hb = time.monotonic() + hb_ms / 1000.0
