#!/bin/sh
# Make .venv hold this project (with the extras given, e.g. "test"),
# installing Debian's python3-venv first where Python lacks ensurepip, and
# the Debian packages named in DEBIAN_PACKAGES where they are missing.
# Usage: [DEBIAN_PACKAGES="..."] scripts/ensure-venv.sh [EXTRAS]
set -eu
cd "$(dirname "$0")/.."

missing=""
python3 -c 'import ensurepip' 2>/dev/null || missing="python3-venv"
for package in ${DEBIAN_PACKAGES:-}; do
    dpkg -s "$package" >/dev/null 2>&1 || missing="$missing $package"
done
if [ -n "$missing" ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q $missing
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q ".${1:+[$1]}"
# The optional C accelerator, built beside the sources too, for what runs
# from this tree (the tests, bench): skipped quietly without a compiler.
.venv/bin/python setup.py -q build_ext --inplace >/dev/null 2>&1 || true
