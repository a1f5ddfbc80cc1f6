#!/usr/bin/env python3
"""Independent minimal MDP/0.1 broker (7/MDP + mmi.service) for interop tests.

usage: mdp_broker.py BIND_ENDPOINT HEARTBEAT_MS [LIVENESS]
Prints "READY <endpoint>" once bound. One ROUTER for clients and workers; idle workers
are heartbeated and purged after LIVENESS (default 3) silent intervals; a command from an unknown worker
(other than READY) gets DISCONNECT.
"""
import collections
import sys
import time
import zmq

bind, hb_ms = sys.argv[1], int(sys.argv[2])
EXPIRY = (int(sys.argv[3]) if len(sys.argv) > 3 else 3) * hb_ms / 1000.0
C, W = b"MDPC01", b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"

ctx = zmq.Context()
router = ctx.socket(zmq.ROUTER)
router.linger = 0
router.bind(bind)
print("READY " + router.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)

workers = {}  # id -> {"service": name, "expires": t}
queues = collections.defaultdict(collections.deque)  # service -> pending (client, body)
idle = collections.defaultdict(list)  # service -> [worker id]


def dispatch(name):
    while queues[name] and idle[name]:
        wid = idle[name].pop(0)
        client, body = queues[name].popleft()
        router.send_multipart([wid, b"", W, REQUEST, client, b""] + body)


def drop(wid):
    w = workers.pop(wid, None)
    if w and wid in idle[w["service"]]:
        idle[w["service"]].remove(wid)


next_hb = time.monotonic() + hb_ms / 1000.0
while True:
    if router.poll(hb_ms):
        msg = router.recv_multipart()
        if len(msg) < 3 or msg[1] != b"":
            continue
        sender, header = msg[0], msg[2]
        if header == C and len(msg) >= 5:
            name, body = msg[3], msg[4:]
            if name.startswith(b"mmi."):
                code = b"501"
                if name == b"mmi.service":
                    code = b"200" if any(w["service"] == body[0] for w in workers.values()) else b"404"
                router.send_multipart([sender, b"", C, name, code])
            else:
                queues[name].append((sender, body))
                dispatch(name)
        elif header == W and len(msg) >= 4:
            cmd = msg[3]
            known = sender in workers
            if cmd == READY and not known and len(msg) == 5 and not msg[4].startswith(b"mmi."):
                workers[sender] = {"service": msg[4], "expires": time.monotonic() + EXPIRY}
                idle[msg[4]].append(sender)
                dispatch(msg[4])
            elif cmd == REPLY and known and len(msg) >= 7:
                w = workers[sender]
                w["expires"] = time.monotonic() + EXPIRY
                router.send_multipart([msg[4], b"", C, w["service"]] + msg[6:])
                idle[w["service"]].append(sender)
                dispatch(w["service"])
            elif cmd == HEARTBEAT and known:
                workers[sender]["expires"] = time.monotonic() + EXPIRY
            elif cmd == DISCONNECT:
                drop(sender)
            else:
                drop(sender)
                router.send_multipart([sender, b"", W, DISCONNECT])
    now = time.monotonic()
    if now >= next_hb:
        for wid, w in list(workers.items()):
            if w["expires"] < now:
                drop(wid)
        for ids in idle.values():
            for wid in ids:
                router.send_multipart([wid, b"", W, HEARTBEAT])
        next_hb = now + hb_ms / 1000.0
