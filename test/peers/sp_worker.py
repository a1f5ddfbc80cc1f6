#!/usr/bin/env python3
"""A Simple Pirate worker (Guide ch4), written from the chapter's description.

Usage: sp_worker.py --connect EP [--identity ID] [--max N] [--delay MS]

A REQ socket with a random "%04X-%04X" identity (or --identity) sends the one-byte READY
0x01, then (after --delay ms of "work") answers each request [address..., "", body...] with [address..., "", "py", body...].
Prints "READY <identity>" once connected and "WORK n" per request; exits after --max
requests (0 = never) or when stdin closes / says "exit".
"""
import argparse
import random
import sys
import time

import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--identity", default=None)
    ap.add_argument("--max", type=int, default=0)
    ap.add_argument("--delay", type=int, default=0)
    args = ap.parse_args()
    identity = args.identity or "%04X-%04X" % (random.randint(0, 0x10000), random.randint(0, 0x10000))

    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.IDENTITY, identity.encode())
    sock.connect(args.connect)
    sock.send(b"\x01")
    print("READY " + identity, flush=True)

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
        split = frames.index(b"")
        count += 1
        print("WORK %d" % count, flush=True)
        if args.delay:
            time.sleep(args.delay / 1000.0)
        sock.send_multipart(frames[:split + 1] + [b"py"] + frames[split + 1:])
    sock.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
