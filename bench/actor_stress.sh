#!/usr/bin/env bash
# Runs actor_crash_restart_stop.qz natively 10,000 times in a row (10 s timeout
# each) and reports hangs and wrong results; the count of hangs must be 0.
# Record the summary line in bench/RESULTS.md.
#   bench/actor_stress.sh [RUNS] [QZC]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-10000}"
qzc="${2:-${QZC:-}}"
if [[ -z "$qzc" ]]; then
  for c in "$here/build-rel/bin/qzc" "$here/build/bin/qzc"; do
    [[ -x "$c" ]] && { qzc="$c"; break; }
  done
fi
[[ -x "$qzc" ]] || { echo "no qzc found: build first or pass its path" >&2; exit 2; }
python3 "$here/tests/programs/stress.py" --qzc "$qzc" --runs "$runs" --timeout 10 \
  "$here/tests/programs/actor_crash_restart_stop.qz"
