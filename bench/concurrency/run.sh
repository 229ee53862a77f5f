#!/usr/bin/env bash
# Concurrency benchmarks, side by side: qmir (Quartz core built with qzc -O2),
# Go (GOMAXPROCS=2 and 1) and Erlang. Whole-process wall time, a warm-up then
# the median of RUNS runs, each printed result checked; prints a markdown
# table. See README.md beside this file.
#
#   bash bench/concurrency/run.sh [--quick] [--runs N]
#
#   --quick      sizes / 10 (a smoke test)
#   --runs N     timed runs per implementation after the warm-up (default 5)
# Environment:
#   QZC          the Quartz compiler (default: build-rel/bin/qzc, then build/bin/qzc)
#   BENCH_OUT    where binaries and logs go (default /tmp/qmir-bench-concurrency)
#   BENCH_TIMEOUT  seconds one run may take before it counts as hung (default 300)
#   NO_INSTALL=1 never call apt-get
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_OUT=/tmp/qmir-bench-concurrency
# Options, output directory, golang-go and erlang if missing, QZC, table cells.
. "$HERE/common.sh" "$@"

# ---------------------------------------------------------------- sizes
BENCHES="pingpong skynet threadring"
declare -A N LABEL
N[pingpong]=1000000; N[skynet]=1000000; N[threadring]=10000000
if [ "$QUICK" = 1 ]; then
  for b in $BENCHES; do N[$b]=$(( ${N[$b]} / 10 )); done
fi
LABEL[pingpong]="ping-pong, $(commas "${N[pingpong]}") round trips"
LABEL[skynet]="skynet, $(commas "${N[skynet]}") leaves"
LABEL[threadring]="thread-ring, 503 tasks, $(commas "${N[threadring]}") hops"
expected() {
  local n=${N[$1]}
  case "$1" in
    pingpong) echo $(( n * (n + 1) / 2 )) ;;
    skynet) echo $(( n * (n - 1) / 2 )) ;;
    threadring) echo $(( n % 503 + 1 )) ;;
  esac
}

# ---------------------------------------------------------------- build
# BIN[impl:bench] = a command (as a bash array literal) or empty; FAIL[...] says why.
declare -A FAIL CMD
IMPLS="qmir go2 go1 erlang"

build_qmir_and_go

# Erlang: compiled modules run by erl -noshell (the JIT, default schedulers);
# +P raised for skynet's 1,111,111 processes.
for b in $BENCHES; do
  if ! command -v erlc >/dev/null 2>&1 || ! command -v erl >/dev/null 2>&1; then
    FAIL[erlang:$b]="not installed (erlang)"; continue
  fi
  if erlc -o "$OUT/erl" "$HERE/$b.erl" >"$OUT/logs/$b-erlang-build.log" 2>&1; then
    CMD[erlang:$b]="erl -noshell +P 2097152 -pa $OUT/erl -run $b main ${N[$b]}"
  else
    FAIL[erlang:$b]="build failed: $(first_error "$OUT/logs/$b-erlang-build.log")"
  fi
done

# ---------------------------------------------------------------- run
# run_once KEY: runs CMD[KEY] once and checks what it printed; sets LAST (wall
# seconds) or marks FAIL[KEY]. The exit status goes through a file, as the
# `time` keyword's report is captured from the same command substitution.
run_once() {
  local key=$1 b=${1#*:} t rc got
  local log=$OUT/logs/${key/:/-}
  TIMEFORMAT=%3R
  t=$( { time { timeout "$TIMEOUT" ${CMD[$key]} >"$log.out" 2>"$log.err"; echo $? >"$log.rc"; } ; } 2>&1 )
  rc=$(cat "$log.rc")
  got=$(head -n1 "$log.out" | tr -d '[:space:]')
  if [ "$rc" = 124 ]; then FAIL[$key]="timeout (${TIMEOUT} s)"; return 1; fi
  if [ "$rc" != 0 ]; then
    FAIL[$key]="exit $rc: $(cell "$(head -n1 "$log.err")")"; return 1
  fi
  if [ "$got" != "$(expected "$b")" ]; then
    FAIL[$key]="wrong result '$(cell "$got")', expected $(expected "$b")"; return 1
  fi
  LAST=$t
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }

declare -A TIMES MED
for b in $BENCHES; do
  log "== ${LABEL[$b]} (expect $(expected "$b"))"
  for i in $IMPLS; do  # warm-up (checked too)
    [ -n "${CMD[$i:$b]:-}" ] && [ -z "${FAIL[$i:$b]:-}" ] && run_once "$i:$b" &&
      log "   warm-up $i: ${LAST} s"
  done
  for r in $(seq "$RUNS"); do  # interleaved, so drift in machine load hits all alike
    for i in $IMPLS; do
      if [ -n "${CMD[$i:$b]:-}" ] && [ -z "${FAIL[$i:$b]:-}" ] && run_once "$i:$b"; then
        TIMES[$i:$b]="${TIMES[$i:$b]:-} $LAST"
      fi
    done
  done
  for i in $IMPLS; do
    if [ -z "${FAIL[$i:$b]:-}" ] && [ -n "${TIMES[$i:$b]:-}" ]; then
      MED[$i:$b]=$(printf '%s\n' ${TIMES[$i:$b]} | median)
      log "   $i:${TIMES[$i:$b]}  -> median ${MED[$i:$b]} s"
    else
      log "   $i: ${FAIL[$i:$b]:-not run}"
    fi
  done
done

# ---------------------------------------------------------------- table
show() {  # impl bench
  if [ -n "${MED[$1:$2]:-}" ]; then printf '%s s' "${MED[$1:$2]}"
  else printf '%s' "${FAIL[$1:$2]:-not run}"; fi
}
ratio() {  # bench
  local q=${MED[qmir:$1]:-} g2=${MED[go2:$1]:-} g1=${MED[go1:$1]:-} r2="-" r1="-"
  [ -n "$q" ] && [ -n "$g2" ] && r2=$(awk -v a="$q" -v b="$g2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  [ -n "$q" ] && [ -n "$g1" ] && r1=$(awk -v a="$q" -v b="$g1" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
  if [ "$r2" = "-" ] && [ "$r1" = "-" ]; then printf -- '-'; else printf '%s / %s' "$r2" "$r1"; fi
}
echo
echo "Concurrency benchmarks$([ "$QUICK" = 1 ] && echo ' (--quick: sizes / 10)'): whole-process wall time, median of $RUNS after a warm-up, all implementations interleaved in one run."
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); qzc: ${QZC:-none}; $(command -v go >/dev/null && go version | cut -d' ' -f3 || echo 'no go'); Erlang/OTP $(command -v erl >/dev/null && erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null || echo 'none')"
echo
echo "| benchmark | qmir | Go GOMAXPROCS=2 | Go GOMAXPROCS=1 | Erlang | qmir/Go ratio (GOMAXPROCS=2 / 1) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for b in $BENCHES; do
  echo "| ${LABEL[$b]} | $(show qmir "$b") | $(show go2 "$b") | $(show go1 "$b") | $(show erlang "$b") | $(ratio "$b") |"
done
