#!/bin/sh
# Make .venv hold this project (with the extras given, e.g. "test"),
# installing Debian's python3-venv first where Python lacks ensurepip.
# Usage: scripts/ensure-venv.sh [EXTRAS]
set -eu
cd "$(dirname "$0")/.."

if ! python3 -c 'import ensurepip' 2>/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo apt-get install -y -q python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q ".${1:+[$1]}"
