#!/bin/sh
# Install everything the tests need (Debian packages where missing, a
# virtualenv with the project and its test extras), then run the whole
# trial suite, or the test modules given as arguments.
set -eu
cd "$(dirname "$0")"

debian_packages=""
python3 -c 'import ensurepip' 2>/dev/null || debian_packages="python3-venv"
if [ -n "$debian_packages" ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo apt-get install -y -q $debian_packages
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q '.[test]'
[ $# -gt 0 ] || set -- tests
exec .venv/bin/python -m twisted.trial "$@"
