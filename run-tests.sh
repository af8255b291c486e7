#!/bin/sh
# Install everything the tests need, then run the whole trial suite (or the
# test modules given as arguments).
set -eu
cd "$(dirname "$0")"
# Real servers the tests start on loopback ports; a C compiler and Python's
# headers, so that the optional C accelerators are built and tested too;
# Graphviz's dot, which draws the docs' state diagram; Node.js and npm
# (Debian's, where the machine has none) for Toxiproxy's Node client.
node=""; command -v npm >/dev/null 2>&1 || node="nodejs npm"
DEBIAN_PACKAGES="redis-server memcached gcc python3-dev graphviz $node" scripts/ensure-venv.sh test
# Toxiproxy's Node client, from the npm registry as its lock file pins it,
# for tests/test_toxiproxy_clients.py.
if [ ! -d tests/toxiproxy_clients/node_modules/toxiproxy-node-client ]; then
    (cd tests/toxiproxy_clients && npm ci --silent --no-audit --no-fund)
fi
[ $# -gt 0 ] || set -- tests
exec .venv/bin/python -m twisted.trial "$@"
