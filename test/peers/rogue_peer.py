#!/usr/bin/python3
"""Rogue peers for the brokers' trust tests (written for this project from the 6/PPP spec
and the Guide's Simple Pirate wire format; no code copied).

Modes (each prints one result line, then waits for SIGTERM):
  ppp-forger BACKEND VICTIM COUNT
      6/PPP worker: READY, heartbeats every 500 ms, prints "HELD" when it gets a request
      (which it never answers), then pushes COUNT forged replies
      [VICTIM, "", "FORGED"] naming client id VICTIM, one per ms; prints "SENT <n>".
  sp-unready BACKEND VICTIM COUNT
      Simple Pirate backend peer that never sends READY: COUNT forged replies
      [EMPTY, VICTIM, EMPTY, "FORGED"] through a DEALER; prints "SENT <n>".
  mdp-forger BROKER VICTIM COUNT
      7/MDP 0.1 worker for service "rogue": READY, then for each REQUEST it gets (a decoy
      client's, redelivered each time) a REPLY naming client VICTIM instead; after the
      broker's DISCONNECT it sends READY again; COUNT times; prints "FORGED <n> DISCONNECTS <d>".
  hijack ENDPOINT ID SECONDS
      A DEALER with routing id ID (a victim client's, or a worker's) that sends a request
      [EMPTY, "hijack"] and, for a worker id, a READY (0x01), every 10 ms for SECONDS;
      prints "GOT <messages received>".
  ppp-impostor BACKEND IDENTITY|- CLIENT_HEX|- [INTERVAL_MS]
      6/PPP worker with routing id IDENTITY (unless "-"): READY, prints "READY", heartbeats
      every INTERVAL_MS (default 200) and with each pushes a forged reply [CLIENT, "",
      "forged"] (unless "-"); answers any request with "hijacked", printing "GOT <n>" for
      each; exits on SIGTERM.
"""
import signal
import sys
import time

import zmq

EMPTY = b""


def wait_term():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(1)


def ppp_forger(ctx, backend, victim, count):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(backend)
    s.send(b"\x01")
    print("CONNECTED", flush=True)
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    next_beat = time.monotonic() + 0.5
    held = False
    sent = 0
    while True:
        now = time.monotonic()
        if now >= next_beat:
            s.send(b"\x02")
            next_beat = now + 0.5
        for sock, _ in poller.poll(1):
            frames = sock.recv_multipart()
            if len(frames) > 1 and not held:
                held = True
                print("HELD", flush=True)
        if held and sent < count:
            s.send_multipart([victim, EMPTY, b"FORGED"])
            sent += 1
            if sent == count:
                print("SENT", sent, flush=True)


def sp_unready(ctx, backend, victim, count):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(backend)
    for _ in range(count):
        s.send_multipart([EMPTY, victim, EMPTY, b"FORGED"])
        time.sleep(0.001)
    print("SENT", count, flush=True)
    wait_term()


def mdp_forger(ctx, broker, victim, count):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(broker)
    ready = [EMPTY, b"MDPW01", b"\x01", b"rogue"]
    s.send_multipart(ready)
    print("CONNECTED", flush=True)
    forged = 0
    disconnects = 0
    while forged < count:
        frames = s.recv_multipart()
        if len(frames) < 3 or frames[1] != b"MDPW01":
            continue
        command = frames[2]
        if command == b"\x02":
            s.send_multipart([EMPTY, b"MDPW01", b"\x03", victim, EMPTY, b"FORGED"])
            forged += 1
        elif command == b"\x05":
            disconnects += 1
            s.send_multipart(ready)
    while disconnects < forged and s.poll(5000, zmq.POLLIN):
        if s.recv_multipart()[2:3] == [b"\x05"]:
            disconnects += 1
    print("FORGED", forged, "DISCONNECTS", disconnects, flush=True)
    wait_term()


def hijack(ctx, endpoint, identity, seconds):
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.setsockopt(zmq.ROUTING_ID, identity)
    s.connect(endpoint)
    print("CONNECTED", flush=True)
    got = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            s.send_multipart([EMPTY, b"hijack"], zmq.NOBLOCK)
            s.send(b"\x01", zmq.NOBLOCK)
        except zmq.Again:
            pass
        while s.poll(10, zmq.POLLIN):
            s.recv_multipart()
            got += 1
    print("GOT", got, flush=True)
    wait_term()


def ppp_impostor(ctx, backend, identity, client, interval):
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    if identity != b"-":
        s.setsockopt(zmq.IDENTITY, identity)
    s.connect(backend)
    s.send(b"\x01")
    print("READY", flush=True)
    got = 0
    next_beat = time.monotonic()
    while running[0]:
        if s.poll(interval // 2 or 1):
            frames = s.recv_multipart()
            if frames != [b"\x02"] and EMPTY in frames:
                got += 1
                print("GOT %d" % got, flush=True)
                cut = frames.index(EMPTY)
                s.send_multipart(frames[: cut + 1] + [b"hijacked"])
        if time.monotonic() >= next_beat:
            s.send(b"\x02")
            if client is not None:
                s.send_multipart([client, EMPTY, b"forged"])
            next_beat = time.monotonic() + interval / 1000.0
    s.close()


def main():
    mode, endpoint, who = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    if mode == "ppp-impostor":
        client = None if sys.argv[4] == "-" else bytes.fromhex(sys.argv[4])
        ppp_impostor(zmq.Context(), endpoint, who, client, int(sys.argv[5]) if len(sys.argv) > 5 else 200)
        return
    ctx = zmq.Context()
    if mode == "ppp-forger":
        ppp_forger(ctx, endpoint, who, int(sys.argv[4]))
    elif mode == "sp-unready":
        sp_unready(ctx, endpoint, who, int(sys.argv[4]))
    elif mode == "mdp-forger":
        mdp_forger(ctx, endpoint, who, int(sys.argv[4]))
    elif mode == "hijack":
        hijack(ctx, endpoint, who, float(sys.argv[4]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
