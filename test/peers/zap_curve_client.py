#!/usr/bin/env python3
"""CURVE client for the ZAP interop test (pyzmq, independent of our code).

Usage: zap_curve_client.py ENDPOINT SERVER_PUBLIC_KEY (--secret-file FILE | PUBLIC SECRET)

Connects a DEALER with CURVE, sends "hello" and prints one line:
  REPLY <text>        the server echoed the message (the ZAP handler allowed the key)
  REFUSED <status>    the handshake failed authentication (monitor event)
  TIMEOUT             nothing happened within 5 s
--secret-file reads a key pair file written by zeromq-patterns ("public-key = ..." lines).
"""
import sys

import zmq
from zmq.utils.monitor import recv_monitor_message


def read_key_file(path):
    fields = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, value = line.partition("=")
            fields[name.strip()] = value.strip()
    return fields["public-key"], fields["secret-key"]


def main():
    args = sys.argv[1:]
    endpoint, server_key = args[0], args[1]
    if args[2] == "--secret-file":
        public, secret = read_key_file(args[3])
    else:
        public, secret = args[2], args[3]
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.curve_serverkey = server_key.encode()
    sock.curve_publickey = public.encode()
    sock.curve_secretkey = secret.encode()
    monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    sock.connect(endpoint)
    sock.send(b"hello")
    poller = zmq.Poller()
    poller.register(sock, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    result = "TIMEOUT"
    for sock_ready, _ in poller.poll(5000):
        if sock_ready is sock:
            result = "REPLY " + sock.recv().decode()
            break
        event = recv_monitor_message(monitor)
        if event["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            result = "REFUSED %d" % event["value"]
            break
    print(result, flush=True)
    sock.disable_monitor()
    monitor.close(0)
    sock.close(0)
    ctx.term()


if __name__ == "__main__":
    main()
