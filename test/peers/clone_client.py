#!/usr/bin/env python3
"""Independent 12/CHP (Clustered Hashmap Protocol) client for interop tests, written from RFC 12.

usage: clone_client.py tcp://HOST:P [--subtree S] [--set KEY=VALUE[@TTL]]... [--updates N]
Subscribes first (SUB to P+1, the subtree and HUGZ), then sends ICANHAZ? on a DEALER to P and
reads KVSYNCs up to KTHXBAI. Prints "SNAPSHOT n=N seq=S", then "HAVE key=value" per key
sorted by key, "SYNCED". Then sends each --set as a KVSET (fresh UUID, ttl property when
@TTL is given) from a PUB connected to P+2, sending it again (same UUID) every second until
its KVPUB comes back (a PUB drops what it sends before the connection is up). Prints
"KVPUB key=value seq=S" per KVPUB applied (seq strictly above the last; others
"STALE key seq"), "HUGZ" for the first HUGZ, and exits after N KVPUBs (default: the number
of --set) or 20 s, printing "DONE".
"""
import struct
import sys
import time
import uuid as uuidlib
import zmq

args = sys.argv[1:]
endpoint = args.pop(0)
host, port = endpoint.rsplit(":", 1)
port = int(port)
subtree = b""
sets = []
updates = None
while args:
    flag = args.pop(0)
    if flag == "--subtree":
        subtree = args.pop(0).encode()
    elif flag == "--set":
        spec = args.pop(0)
        kv, _, ttl = spec.partition("@")
        key, _, value = kv.partition("=")
        sets.append((key.encode(), value.encode(), ttl))
    elif flag == "--updates":
        updates = int(args.pop(0))
if updates is None:
    updates = len(sets)

ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.linger = 0
sub.setsockopt(zmq.SUBSCRIBE, subtree)
if subtree:
    sub.setsockopt(zmq.SUBSCRIBE, b"HUGZ")
sub.connect("%s:%d" % (host, port + 1))
dealer = ctx.socket(zmq.DEALER)
dealer.linger = 0
dealer.connect("%s:%d" % (host, port))
pub = ctx.socket(zmq.PUB)
pub.linger = 1000
pub.connect("%s:%d" % (host, port + 2))

dealer.send_multipart([b"ICANHAZ?", subtree])
table = {}
while True:
    if not dealer.poll(10000):
        print("NO SNAPSHOT", flush=True)
        sys.exit(1)
    key, seq, _uuid, _props, value = dealer.recv_multipart()
    if key == b"KTHXBAI":
        last = struct.unpack(">Q", seq)[0]
        break
    table[key] = value
print("SNAPSHOT n=%d seq=%d" % (len(table), last), flush=True)
for key in sorted(table):
    print("HAVE %s=%s" % (key.decode(), table[key].decode()), flush=True)
print("SYNCED", flush=True)

outstanding = {}
for key, value, ttl in sets:
    uid = uuidlib.uuid4().bytes
    props = ("ttl=%s\n" % ttl).encode() if ttl else b""
    outstanding[uid] = [key, struct.pack(">Q", 0), uid, props, value]
resend_at = 0.0
seen = 0
hugz = False
deadline = time.monotonic() + 20
while time.monotonic() < deadline and (seen < updates or outstanding):
    now = time.monotonic()
    if outstanding and now >= resend_at:
        for frames in outstanding.values():
            pub.send_multipart(frames)
        resend_at = now + 1.0
    if not sub.poll(100):
        continue
    key, seq, uid, props, value = sub.recv_multipart()
    n = struct.unpack(">Q", seq)[0]
    if key == b"HUGZ":
        if not hugz:
            print("HUGZ", flush=True)
            hugz = True
        continue
    outstanding.pop(uid, None)
    if n <= last:
        print("STALE %s %d" % (key.decode(), n), flush=True)
        continue
    last = n
    print("KVPUB %s=%s seq=%d" % (key.decode(), value.decode(), n), flush=True)
    seen += 1
print("DONE", flush=True)
