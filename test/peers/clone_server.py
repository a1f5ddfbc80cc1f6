#!/usr/bin/env python3
"""Independent 12/CHP (Clustered Hashmap Protocol) server for interop tests, written from RFC 12.

usage: clone_server.py tcp://HOST:P
Binds a ROUTER (snapshot) on P, a PUB (publisher) on P+1, a SUB (collector) on P+2.
ICANHAZ? + subtree -> one KVSYNC per key under the subtree, then KTHXBAI with the current
sequence number and the subtree. Each KVSET gets the next sequence number and goes out as a
KVPUB (same key, uuid, properties, value); an empty value deletes; the "ttl" property
(seconds) makes the key expire, broadcast as a KVPUB with an empty value. HUGZ once a second
when nothing else went out. Prints "READY P" once bound, "SET key seq" per applied update,
"EXPIRED key seq", "BAD socket reason" per malformed message (dropped).
"""
import struct
import sys
import time
import uuid as uuidlib
import zmq

endpoint = sys.argv[1]
host, port = endpoint.rsplit(":", 1)
port = int(port)

ctx = zmq.Context()
snapshot = ctx.socket(zmq.ROUTER)
publisher = ctx.socket(zmq.PUB)
collector = ctx.socket(zmq.SUB)
for s in (snapshot, publisher, collector):
    s.linger = 0
snapshot.bind("%s:%d" % (host, port))
publisher.bind("%s:%d" % (host, port + 1))
collector.setsockopt(zmq.SUBSCRIBE, b"")
collector.bind("%s:%d" % (host, port + 2))
print("READY %d" % port, flush=True)

table = {}      # key -> (seq, value)
expiry = {}     # key -> (deadline, seq)
sequence = 0
last_out = time.monotonic()


def seqbytes(n):
    return struct.pack(">Q", n)


def parse_props(frame):
    if not frame:
        return {}
    text = frame.decode()
    if not text.endswith("\n"):
        raise ValueError("properties without a final newline")
    out = {}
    for line in text[:-1].split("\n"):
        name, sep, value = line.partition("=")
        if not sep or not name:
            raise ValueError("bad property line")
        out[name] = value
    return out


def publish(key, uuid, props, value):
    global sequence, last_out
    sequence += 1
    if value:
        table[key] = (sequence, value)
    else:
        table.pop(key, None)
        expiry.pop(key, None)
    publisher.send_multipart([key, seqbytes(sequence), uuid, props, value])
    last_out = time.monotonic()
    return sequence


poller = zmq.Poller()
poller.register(snapshot, zmq.POLLIN)
poller.register(collector, zmq.POLLIN)

while True:
    events = dict(poller.poll(100))
    now = time.monotonic()
    if snapshot in events:
        frames = snapshot.recv_multipart()
        ident, rest = frames[0], frames[1:]
        if len(rest) != 2 or rest[0] != b"ICANHAZ?":
            print("BAD snapshot frames=%d" % len(rest), flush=True)
        else:
            subtree = rest[1]
            for key, (seq, value) in list(table.items()):
                if key.startswith(subtree):
                    snapshot.send_multipart([ident, key, seqbytes(seq), b"", b"", value])
            snapshot.send_multipart([ident, b"KTHXBAI", seqbytes(sequence), b"", b"", subtree])
    if collector in events:
        frames = collector.recv_multipart()
        try:
            if len(frames) != 5:
                raise ValueError("frames=%d" % len(frames))
            key, seq, uuid, props, value = frames
            if len(seq) != 8 or len(uuid) not in (0, 16) or not key:
                raise ValueError("bad seq, uuid or key")
            properties = parse_props(props)
            ttl = float(properties.get("ttl", "0"))
        except (ValueError, UnicodeDecodeError) as e:
            print("BAD collector %s" % e, flush=True)
        else:
            n = publish(key, uuid, props, value)
            if value and ttl > 0:
                expiry[key] = (now + ttl, n)
            print("SET %s %d" % (key.decode(errors="replace"), n), flush=True)
    for key, (deadline, seq) in list(expiry.items()):
        if deadline <= now and table.get(key, (None,))[0] == seq:
            n = publish(key, uuidlib.uuid4().bytes, b"", b"")
            print("EXPIRED %s %d" % (key.decode(errors="replace"), n), flush=True)
    if now - last_out >= 1.0:
        publisher.send_multipart([b"HUGZ", seqbytes(0), b"", b"", b""])
        last_out = now
