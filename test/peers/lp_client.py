#!/usr/bin/env python3
"""A Lazy Pirate client (Guide ch4), written from the chapter's description.

Usage: lp_client.py --connect EP [--count N] [--timeout MS] [--retries N]

Sends "request-1" .. "request-N" on a REQ socket. For each: wait --timeout ms for a reply;
on timeout close the socket with linger 0, open a new one, resend the same request; after
--retries resends give up. Prints "REPLY <frames joined by a tab>" per reply, "RETRY n"
per resend, "ABANDON n" when it gives up, and "DONE ok=K" at the end (exit 0 if all were
answered, 1 otherwise). A reply must echo the request's body to count; others are printed
as "DISCARD" and the attempt keeps waiting.
"""
import argparse
import sys

import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connect", required=True)
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--timeout", type=int, default=2500)
    ap.add_argument("--retries", type=int, default=3)
    args = ap.parse_args()

    ctx = zmq.Context()

    def fresh():
        s = ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(args.connect)
        return s

    sock = fresh()
    ok = 0
    for n in range(1, args.count + 1):
        body = ("request-%d" % n).encode()
        sock.send(body)
        left = args.retries
        answered = False
        while not answered:
            if sock.poll(args.timeout, zmq.POLLIN):
                reply = sock.recv_multipart()
                if reply and reply[-1] == body:
                    print("REPLY " + "\t".join(f.decode("utf-8", "replace") for f in reply), flush=True)
                    answered = True
                    ok += 1
                else:
                    print("DISCARD", flush=True)
                continue
            sock.close(linger=0)
            sock = fresh()
            if left == 0:
                print("ABANDON %d" % n, flush=True)
                break
            left -= 1
            print("RETRY %d" % n, flush=True)
            sock.send(body)
        if not answered:
            break
    sock.close(linger=0)
    ctx.term()
    print("DONE ok=%d" % ok, flush=True)
    sys.exit(0 if ok == args.count else 1)


if __name__ == "__main__":
    main()
