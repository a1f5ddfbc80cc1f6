#!/usr/bin/env bash
# Run before the tests (npm "pretest"): the interop tests talk to small Python peers written
# with pyzmq. Finds a python3 that has it (Debian's python3-zmq, or a user-site pyzmq), else
# installs pyzmq for the user (pip --user), else apt-get (root or passwordless sudo only),
# else stops with one line saying what to run. The logic: test/helpers/find-python.mjs.
set -euo pipefail
exec node "$(dirname "$0")/find-python.mjs" --install
