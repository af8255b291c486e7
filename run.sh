#!/bin/sh
# Install Vaurien and run it; with no backend it starts the demo.
set -eu
cd "$(dirname "$0")"
scripts/ensure-venv.sh
exec .venv/bin/vaurien "$@"
