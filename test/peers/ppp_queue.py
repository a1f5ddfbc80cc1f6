"""A 6/PPP queue written from the spec alone, for interop tests.

usage: ppp_queue.py FRONTEND BACKEND [INTERVAL_MS] [LIVENESS]
Binds two ROUTERs, keeps ready workers in LRU order,
heartbeats every known worker, forgets workers silent for INTERVAL*LIVENESS. Prints
"READY" when bound and "EXPIRED n" when it forgets workers. Exits on SIGTERM.
"""
import collections
import signal
import sys
import time

import zmq

frontend_ep, backend_ep = sys.argv[1], sys.argv[2]
interval = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
liveness = int(sys.argv[4]) if len(sys.argv) > 4 else 3
expiry = interval * liveness / 1000.0

READY, HEARTBEAT = b"\x01", b"\x02"
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
ctx = zmq.Context()
frontend = ctx.socket(zmq.ROUTER)
backend = ctx.socket(zmq.ROUTER)
for s in (frontend, backend):
    s.setsockopt(zmq.LINGER, 0)
frontend.bind(frontend_ep)
backend.bind(backend_ep)
print("READY", flush=True)

seen = {}  # worker id -> monotonic time it was last heard
ready = collections.OrderedDict()  # idle worker ids, least recently used first
expired = 0
next_beat = time.monotonic() + interval / 1000.0

while running:
    poller = zmq.Poller()
    poller.register(backend, zmq.POLLIN)
    if ready:  # take client requests only while a worker can have them
        poller.register(frontend, zmq.POLLIN)
    events = dict(poller.poll(interval))
    now = time.monotonic()
    if events.get(backend):
        frames = backend.recv_multipart()
        wid, rest = frames[0], frames[1:]
        if rest == [READY]:
            seen[wid] = now
            ready.pop(wid, None)
            ready[wid] = True
        elif wid in seen:
            seen[wid] = now
            if rest != [HEARTBEAT]:
                ready[wid] = True
                frontend.send_multipart(rest)
    if events.get(frontend) and ready:
        frames = frontend.recv_multipart()
        wid, _ = ready.popitem(last=False)
        backend.send_multipart([wid] + frames)
    if now >= next_beat:
        for wid in list(seen):
            backend.send_multipart([wid, HEARTBEAT])
        next_beat = now + interval / 1000.0
    for wid, last in list(seen.items()):
        if now - last > expiry:
            del seen[wid]
            ready.pop(wid, None)
            expired += 1
            print("EXPIRED %d" % expired, flush=True)

frontend.close()
backend.close()
ctx.term()
