#!/usr/bin/env python3
"""A REP echo server that drops requests on purpose (Lazy Pirate interop peer).

Usage: rep_flaky.py --bind EP [--drop-every N] [--seed S --drop-rate P] [--max N] [--delay MS]

Every dropped request is received and never answered: the server closes its REP socket
(linger 0) and binds a fresh one on the same endpoint, so the client must time out, reopen
and resend. Drops are deterministic: every Nth request (--drop-every), or a seeded random
choice (--seed/--drop-rate). The server prints "READY <endpoint>" once bound, "DROP n" and
"ECHO n" per request, and exits after --max requests or when stdin says "exit" (or closes).
"""
import argparse
import random
import sys
import time

import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--drop-every", type=int, default=0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--drop-rate", type=float, default=0.0)
    ap.add_argument("--max", type=int, default=0)
    ap.add_argument("--delay", type=int, default=0, help="ms of work per request")
    args = ap.parse_args()

    rng = random.Random(args.seed)
    ctx = zmq.Context()

    def open_socket(endpoint):
        deadline = time.monotonic() + 5
        while True:
            s = ctx.socket(zmq.REP)
            s.setsockopt(zmq.LINGER, 0)
            try:
                s.bind(endpoint)
                return s
            except zmq.ZMQError:
                s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    sock = open_socket(args.bind)
    endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    print("READY " + endpoint, flush=True)

    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(sys.stdin, zmq.POLLIN)
    count = 0
    while args.max == 0 or count < args.max:
        events = dict(poller.poll(1000))
        if sys.stdin.fileno() in events or sys.stdin in events:
            line = sys.stdin.readline()
            if line == "" or line.strip() == "exit":
                break
        if sock not in events:
            continue
        frames = sock.recv_multipart()
        count += 1
        drop = (args.drop_every > 0 and count % args.drop_every == 0) or (
            args.seed is not None and rng.random() < args.drop_rate)
        if drop:
            print("DROP %d" % count, flush=True)
            poller.unregister(sock)
            sock.close(linger=0)
            sock = open_socket(endpoint)
            poller.register(sock, zmq.POLLIN)
            continue
        if args.delay:
            time.sleep(args.delay / 1000.0)
        sock.send_multipart(frames)
        print("ECHO %d" % count, flush=True)
    sock.close(linger=0)
    ctx.term()
    print("EXIT %d" % count, flush=True)


if __name__ == "__main__":
    main()
