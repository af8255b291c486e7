#!/bin/sh
# The C accelerators under AddressSanitizer and UBSan: built in a copy of
# this tree (the extensions built here stay as they are), then the tests
# that touch them (hypothesis derandomized) and the differential fuzzers
# (seeded, bounded in time) run there with PYTHONMALLOC=malloc and the
# sanitizers' runtime preloaded. Any report fails the run.
# Usage: scripts/sanitize.sh [FUZZ_SECONDS [SEED]]   (default: 60 17)
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
seed=${2:-17}
python=$(pwd)/.venv/bin/python
copy=$(mktemp -d "${TMPDIR:-/tmp}/vaurien-sanitize.XXXXXX")
trap 'rm -rf "$copy"' EXIT

git ls-files -z --cached --others --exclude-standard \
    | xargs -0 -I{} cp --parents {} "$copy" 2>/dev/null || true
cd "$copy"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" \
    "$python" setup.py -q build_ext --inplace --force

# Python is not built with ASan: its runtime must come first. Leaks are
# not checked (the interpreter keeps memory until it exits).
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONMALLOC=malloc PYTHONPATH="$copy"
unset VAURIEN_NO_EXTENSIONS VAURIEN_NO_FAST_PATH

"$python" -c '
import sys
from hypothesis import settings
settings.register_profile("sanitize", derandomize=True, database=None)
settings.load_profile("sanitize")
from twisted.scripts.trial import run
sys.argv[0] = "trial"
run()' --temp-directory="$copy/_trial_temp" \
    tests.test_pump tests.test_pump_guards tests.test_resp_skim tests.test_http_skim \
    tests.test_follower_limits tests.test_http_skimming_proxy tests.test_redis_hostile_peers \
    tests.test_lane
"$python" scripts/fuzz_extensions.py --seed "$seed" --seconds "$seconds"
echo "sanitize: clean"
