#!/usr/bin/env bash
# Runs the runtime benchmarks: whole-process wall time and CPU time (user+sys),
# median of N runs after a warm-up, for QZ_WORKERS=2 and 1.
#   bash bench/runtime/run.sh [build-dir=build-runtime] [runs=5]
set -euo pipefail
B=${1:-build-runtime}
N=${2:-5}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() {  # name, command...: prints "median_wall median_cpu"
  local walls=() cpus=()
  "$@" >/dev/null  # warm-up
  for _ in $(seq "$N"); do
    local out
    out=$( { /usr/bin/time -f "%e %U %S" "$@" >/dev/null; } 2>&1 | tail -1)
    walls+=("$(echo "$out" | awk '{print $1}')")
    cpus+=("$(echo "$out" | awk '{printf "%.2f", $2 + $3}')")
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${cpus[@]}" | median)"
}
printf '%-28s %8s %12s %12s %14s\n' benchmark workers "wall (s)" "cpu (s)" "per unit"
for w in 2 1; do
  export QZ_WORKERS=$w
  read -r wall cpu < <(measure "$B/qz-bench-pingpong" 1000000 0)
  printf '%-28s %8s %12s %12s %11.0f ns\n' "ping-pong 1M round trips" $w "$wall" "$cpu" "$(echo "$wall*1000" | bc -l)"
  read -r wall cpu < <(measure "$B/qz-bench-skynet" 1000000)
  printf '%-28s %8s %12s %12s %14s\n' "skynet 1,111,111 tasks" $w "$wall" "$cpu" "-"
  read -r wall cpu < <(measure "$B/qz-bench-threadring" 10000000 503)
  printf '%-28s %8s %12s %12s %11.0f ns\n' "thread-ring 10M hops (503)" $w "$wall" "$cpu" "$(echo "$wall*100" | bc -l)"
done
