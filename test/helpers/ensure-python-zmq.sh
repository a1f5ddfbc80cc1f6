#!/usr/bin/env bash
# Run before the tests (npm "pretest"): the interop tests talk to small Python peers written
# with Debian's python3-zmq. Install it when it is missing and we may (root or sudo).
set -euo pipefail
if /usr/bin/python3 -c 'import zmq' >/dev/null 2>&1; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "The interop tests need pyzmq for /usr/bin/python3 (Debian/Ubuntu: apt-get install python3-zmq)." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "The interop tests need python3-zmq: run 'apt-get install -y python3-zmq' as root." >&2
    exit 1
  fi
fi
echo "Installing python3-zmq for the interop tests..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq python3-zmq >/dev/null
