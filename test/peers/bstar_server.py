#!/usr/bin/env python3
"""A Binary Star server (Guide ch4 "High-Availability Pair"), written from the chapter's
description, to check our pair members against an independent implementation.

Usage: bstar_server.py --role primary|backup --frontend EP --local EP --remote EP [--heartbeat MS]

States 1 primary, 2 backup, 3 active, 4 passive, published as one decimal frame on a PUB
bound at --local every --heartbeat ms; the peer's come in on a SUB connected to --remote.
The peer expires 2 x --heartbeat after its last state. A ROUTER bound at --frontend takes
REQ requests and answers them upper-cased, only while active; a passive server becomes
active on a client request once the peer has expired; a backup never does before it saw
its primary. Prints "READY" once bound, "STATE <name> <event>" on each change, "FATAL
<reason>" (and exits 1) when both are active or both passive. Stops on SIGTERM.
"""
import argparse
import signal
import sys
import time

import zmq

PRIMARY, BACKUP, ACTIVE, PASSIVE = 1, 2, 3, 4
NAMES = {1: "primary", 2: "backup", 3: "active", 4: "passive"}
CLIENT = 5


def now_ms():
    return time.monotonic() * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role", choices=["primary", "backup"], required=True)
    ap.add_argument("--frontend", required=True)
    ap.add_argument("--local", required=True)
    ap.add_argument("--remote", required=True)
    ap.add_argument("--heartbeat", type=int, default=1000)
    args = ap.parse_args()

    ctx = zmq.Context()
    front = ctx.socket(zmq.ROUTER)
    front.linger = 0
    front.bind(args.frontend)
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    pub.bind(args.local)
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(args.remote)

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("now", True))

    state = PRIMARY if args.role == "primary" else BACKUP
    expiry = now_ms() + 2 * args.heartbeat
    print("READY", flush=True)

    def step(event):
        """Apply one event; returns (accept, fatal reason or None)."""
        nonlocal state, expiry
        if event != CLIENT:
            expiry = now_ms() + 2 * args.heartbeat
        new = state
        fatal = None
        if state == PRIMARY:
            if event == BACKUP:
                new = ACTIVE
            elif event == ACTIVE:
                new = PASSIVE
            elif event == CLIENT and now_ms() >= expiry:
                new = ACTIVE
        elif state == BACKUP:
            if event == ACTIVE:
                new = PASSIVE
        elif state == ACTIVE:
            if event == ACTIVE:
                fatal = "both-active"
        elif state == PASSIVE:
            if event in (PRIMARY, BACKUP):
                new = ACTIVE
            elif event == PASSIVE:
                fatal = "both-passive"
            elif event == CLIENT and now_ms() >= expiry:
                new = ACTIVE
        if fatal:
            return False, fatal
        if new != state:
            state = new
            print("STATE %s %s" % (NAMES[state], "client" if event == CLIENT else "peer-" + NAMES[event]), flush=True)
            pub.send(str(state).encode())
        return event == CLIENT and state == ACTIVE, None

    poller = zmq.Poller()
    poller.register(front, zmq.POLLIN)
    poller.register(sub, zmq.POLLIN)
    next_beat = now_ms()
    while not stop["now"]:
        if now_ms() >= next_beat:
            pub.send(str(state).encode())
            next_beat += args.heartbeat
        try:
            ready = dict(poller.poll(max(0, int(next_beat - now_ms()))))
        except zmq.ZMQError:
            continue
        if sub in ready:
            frames = sub.recv_multipart()
            if len(frames) == 1 and frames[0] in (b"1", b"2", b"3", b"4"):
                _, fatal = step(int(frames[0]))
                if fatal:
                    print("FATAL %s" % fatal, flush=True)
                    sys.exit(1)
        if front in ready:
            frames = front.recv_multipart()
            if b"" not in frames[1:]:
                continue
            accept, _ = step(CLIENT)
            if accept:
                i = frames.index(b"", 1)
                front.send_multipart(frames[: i + 1] + [f.upper() for f in frames[i + 1:]])
    ctx.destroy(linger=0)


if __name__ == "__main__":
    main()
