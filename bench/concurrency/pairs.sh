#!/usr/bin/env bash
# One benchmark, qmir against Go (GOMAXPROCS=2), in alternating pairs: for
# benchmarks whose time depends on the machine's phase. These VMs have slow
# phases of seconds to minutes in which every transfer between the two cores
# costs about three times as much (Go's GOMAXPROCS=2 actor_cast goes from
# 0.12 s to 0.20 s while GOMAXPROCS=1 does not move); a median of 5 runs can
# fall in either phase. Running the two back to back, many times, compares
# them in the same phase. Prints every pair, then a summary: the medians, the
# pairs in which Go was slow (above 1.3x its own median: a slow phase) and how
# qmir did in those, and the pairs in which qmir was behind.
#
#   bash bench/concurrency/pairs.sh [BENCH] [PAIRS]
#
#   BENCH   a program of this directory with a Go twin (default actor_cast)
#   PAIRS   how many pairs (default 200)
# Environment: QZC, BENCH_OUT (default /tmp/qmir-bench-pairs), NO_INSTALL=1,
# as for run-actors.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEFAULT_OUT=/tmp/qmir-bench-pairs
BENCH=${1:-actor_cast}
PAIRS=${2:-200}
case "$BENCH" in -h|--help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ -f "$HERE/$BENCH.qz" ] && [ -f "$HERE/$BENCH.go" ] ||
  { echo "pairs.sh: no $BENCH.qz and $BENCH.go in $HERE" >&2; exit 2; }
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || { echo "pairs.sh: PAIRS must be a positive number" >&2; exit 2; }
set --
# shellcheck source=common.sh
source "$HERE/common.sh"

# The size is the program's own (its line marked "# N").
n=$(sed -nE 's/^[[:space:]]*var n = ([0-9_]+)[[:space:]]*# N$/\1/p' "$HERE/$BENCH.qz" | tr -d _)
[ -n "$n" ] || { echo "pairs.sh: no 'var n = ...  # N' line in $BENCH.qz" >&2; exit 2; }
BENCHES=$BENCH
declare -A N=([$BENCH]=$n) CMD=() FAIL=()
build_qmir_and_go
for impl in qmir go2; do
  if [ -n "${FAIL[$impl:$BENCH]:-}" ]; then
    echo "pairs.sh: $impl: ${FAIL[$impl:$BENCH]}" >&2; exit 1
  fi
done

# Runs a command once; prints its wall time in seconds (3 decimals) and
# leaves its output in $OUT/logs/last.out.
timed() {
  local t0 t1
  t0=$(date +%s%N)
  timeout "$TIMEOUT" $1 >"$OUT/logs/last.out" 2>&1 || { echo "pairs.sh: '$1' failed or hung" >&2; exit 1; }
  t1=$(date +%s%N)
  awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f", d / 1e9 }'
}

expect=""
: >"$OUT/logs/pairs.txt"
echo "pair  qmir     go2"
for ((i = 1; i <= PAIRS; i++)); do
  q=$(timed "${CMD[qmir:$BENCH]}")
  qout=$(cat "$OUT/logs/last.out")
  g=$(timed "${CMD[go2:$BENCH]}")
  gout=$(cat "$OUT/logs/last.out")
  [ -n "$expect" ] || expect=$gout
  if [ "$qout" != "$expect" ] || [ "$gout" != "$expect" ]; then
    echo "pairs.sh: pair $i: outputs differ (qmir '$qout', go '$gout', expected '$expect')" >&2; exit 1
  fi
  printf '%4d  %.3f s  %.3f s\n' "$i" "$q" "$g"
  echo "$q $g" >>"$OUT/logs/pairs.txt"
done

awk -v bench="$BENCH" '
  { q[NR] = $1; g[NR] = $2 }
  function median(a, n,   s, i, j, t) {
    for (i = 1; i <= n; i++) s[i] = a[i]
    for (i = 2; i <= n; i++) { t = s[i]; for (j = i - 1; j >= 1 && s[j] > t; j--) s[j + 1] = s[j]; s[j + 1] = t }
    return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
  }
  END {
    n = NR; mq = median(q, n); mg = median(g, n)
    slow = 0; behind = 0; behind_slow = 0
    for (i = 1; i <= n; i++) {
      if (q[i] > g[i]) behind++
      if (g[i] > 1.3 * mg) { slow++; sq[slow] = q[i]; sg[slow] = g[i]; if (q[i] > g[i]) behind_slow++ }
    }
    printf "\n%s, %d pairs: median qmir %.3f s, Go GOMAXPROCS=2 %.3f s (ratio %.2f)\n", bench, n, mq, mg, mq / mg
    if (slow)
      printf "pairs with Go slow (> 1.3x its median): %d; in them median qmir %.3f s, Go %.3f s; qmir behind in %d of them\n", slow, median(sq, slow), median(sg, slow), behind_slow
    else
      printf "pairs with Go slow (> 1.3x its median): none\n"
    printf "pairs with qmir behind Go: %d of %d\n", behind, n
  }' "$OUT/logs/pairs.txt"
