#!/usr/bin/env bash
# Actor benchmarks, side by side: qmir (Quartz core actors built with qzc -O2),
# Go (GOMAXPROCS=2 and 1; goroutines serving channels) and Erlang (gen_server,
# an OTP supervisor, and spawn_link + trap_exit). Whole-process wall time, a
# warm-up then the median of RUNS runs, each printed result checked; prints a
# markdown table. See the Actors section of README.md beside this file.
#
#   bash bench/concurrency/run-actors.sh [--quick] [--runs N]
#
#   --quick      sizes / 10 (a smoke test)
#   --runs N     timed runs per implementation after the warm-up (default 5)
# Environment:
#   QZC          the Quartz compiler (default: build-rel/bin/qzc, then build/bin/qzc)
#   BENCH_OUT    where binaries and logs go (default /tmp/qmir-bench-actors)
#   BENCH_TIMEOUT  seconds one run may take before it counts as hung (default 300)
#   NO_INSTALL=1 never call apt-get
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_OUT=/tmp/qmir-bench-actors
# Options, output directory, golang-go and erlang if missing, QZC, table cells.
. "$HERE/common.sh" "$@"

# ---------------------------------------------------------------- sizes
# actor_call: N synchronous calls; actor_cast: 4 senders x N async messages
# (+ 5 calls); actor_crash: N cycles of (async call that panics, restart,
# one synchronous call).
BENCHES="actor_call actor_cast actor_crash"
declare -A N LABEL OPS UNIT
N[actor_call]=1000000; N[actor_cast]=1000000; N[actor_crash]=100000
if [ "$QUICK" = 1 ]; then
  for b in $BENCHES; do N[$b]=$(( ${N[$b]} / 10 )); done
fi
OPS[actor_call]=${N[actor_call]}; UNIT[actor_call]=call
OPS[actor_cast]=$(( 4 * ${N[actor_cast]} )); UNIT[actor_cast]=msg
OPS[actor_crash]=${N[actor_crash]}; UNIT[actor_crash]=cycle
LABEL[actor_call]="request/reply, $(commas "${N[actor_call]}") synchronous calls"
LABEL[actor_cast]="4 senders x $(commas "${N[actor_cast]}") async messages to one actor, then 1 call"
LABEL[actor_crash]="crash + restart + one call, $(commas "${N[actor_crash]}") cycles (Go: recover(); Erlang: OTP supervisor)"
expected() {
  local n=${N[$1]}
  case "$1" in
    actor_call) echo $(( n * (n + 1) / 2 )) ;;
    actor_cast) echo $(( 4 * n )) ;;
    actor_crash) echo "$n" ;;
  esac
}
# Benchmarks whose programs print a line on stderr per crash: their timed runs
# send stderr to /dev/null (the warm-up keeps it, in $OUT/logs).
quiet() { [ "$1" = actor_crash ]; }

# ---------------------------------------------------------------- build
# CMD[impl:bench] = the command line (word-split, no quoting); FAIL[...] says why.
# erlang_link is the spawn_link + trap_exit variant of actor_crash only.
declare -A FAIL CMD
IMPLS="qmir go2 go1 erlang erlang_link"
has_impl() { [ "$1" != erlang_link ] || [ "$2" = actor_crash ]; }

build_qmir_and_go

# Erlang: compiled modules (a benchmark's own, plus B_sup.erl where there is
# one) run by erl -noshell (the JIT, default schedulers, i.e. 2 here).
for b in $BENCHES; do
  if ! command -v erlc >/dev/null 2>&1 || ! command -v erl >/dev/null 2>&1; then
    FAIL[erlang:$b]="not installed (erlang)"; FAIL[erlang_link:$b]=${FAIL[erlang:$b]}; continue
  fi
  mods=("$HERE/$b.erl")
  [ -f "$HERE/${b}_sup.erl" ] && mods+=("$HERE/${b}_sup.erl")
  if erlc -o "$OUT/erl" "${mods[@]}" >"$OUT/logs/$b-erlang-build.log" 2>&1; then
    if [ "$b" = actor_crash ]; then
      CMD[erlang:$b]="erl -noshell -pa $OUT/erl -run $b main ${N[$b]} sup"
      CMD[erlang_link:$b]="erl -noshell -pa $OUT/erl -run $b main ${N[$b]} link"
    else
      CMD[erlang:$b]="erl -noshell -pa $OUT/erl -run $b main ${N[$b]}"
    fi
  else
    FAIL[erlang:$b]="build failed: $(first_error "$OUT/logs/$b-erlang-build.log")"
    FAIL[erlang_link:$b]=${FAIL[erlang:$b]}
  fi
done

# ---------------------------------------------------------------- run
# run_once KEY [keep-stderr]: runs CMD[KEY] once and checks what it printed;
# sets LAST (wall seconds) or marks FAIL[KEY]. The exit status goes through a
# file, as the `time` keyword's report is captured from the same command
# substitution. For a quiet() benchmark stderr goes to /dev/null unless
# keep-stderr is given (the warm-up).
run_once() {
  local key=$1 b=${1#*:} t rc got err
  local log=$OUT/logs/${key/:/-}
  err=$log.err
  if quiet "$b" && [ -z "${2:-}" ]; then err=/dev/null; fi
  TIMEFORMAT=%3R
  t=$( { time { timeout "$TIMEOUT" ${CMD[$key]} >"$log.out" 2>"$err"; echo $? >"$log.rc"; } ; } 2>&1 )
  rc=$(cat "$log.rc")
  got=$(head -n1 "$log.out" | tr -d '[:space:]')
  if [ "$rc" = 124 ]; then FAIL[$key]="timeout (${TIMEOUT} s)"; return 1; fi
  if [ "$rc" != 0 ]; then
    if [ "$err" = /dev/null ]; then FAIL[$key]="exit $rc (in a timed run; its stderr was discarded)"
    else FAIL[$key]="exit $rc: $(cell "$(grep -v -m1 'panicked in crash()' "$log.err")")"; fi
    return 1
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
  for i in $IMPLS; do  # warm-up (checked too; keeps stderr)
    has_impl "$i" "$b" && [ -n "${CMD[$i:$b]:-}" ] && [ -z "${FAIL[$i:$b]:-}" ] &&
      run_once "$i:$b" keep-stderr && log "   warm-up $i: ${LAST} s"
  done
  for r in $(seq "$RUNS"); do  # interleaved, so drift in machine load hits all alike
    for i in $IMPLS; do
      if has_impl "$i" "$b" && [ -n "${CMD[$i:$b]:-}" ] && [ -z "${FAIL[$i:$b]:-}" ] &&
         run_once "$i:$b"; then
        TIMES[$i:$b]="${TIMES[$i:$b]:-} $LAST"
      fi
    done
  done
  for i in $IMPLS; do
    has_impl "$i" "$b" || continue
    if [ -z "${FAIL[$i:$b]:-}" ] && [ -n "${TIMES[$i:$b]:-}" ]; then
      MED[$i:$b]=$(printf '%s\n' ${TIMES[$i:$b]} | median)
      log "   $i:${TIMES[$i:$b]}  -> median ${MED[$i:$b]} s"
    else
      log "   $i: ${FAIL[$i:$b]:-not run}"
    fi
  done
done

# ---------------------------------------------------------------- table
per_op() {  # seconds ops -> "123 ns" / "4.56 µs" (whole process, start-up included)
  awk -v s="$1" -v n="$2" 'BEGIN {
    t = s / n
    if (t < 1e-6) printf "%.0f ns", t * 1e9
    else if (t < 1e-5) printf "%.2f µs", t * 1e6
    else if (t < 1e-4) printf "%.1f µs", t * 1e6
    else if (t < 1e-3) printf "%.0f µs", t * 1e6
    else printf "%.2f ms", t * 1e3 }'
}
show() {  # impl bench
  if [ -n "${MED[$1:$2]:-}" ]; then
    printf '%s s (%s/%s)' "${MED[$1:$2]}" "$(per_op "${MED[$1:$2]}" "${OPS[$2]}")" "${UNIT[$2]}"
  else printf '%s' "${FAIL[$1:$2]:-not run}"; fi
}
div() {  # a b -> a/b to 3 significant digits, or "-"
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3g", (b > 0 ? a / b : 0)}'
  else printf -- '-'; fi
}
ratio_go() {  # bench
  local q=${MED[qmir:$1]:-} r2 r1
  r2=$(div "$q" "${MED[go2:$1]:-}"); r1=$(div "$q" "${MED[go1:$1]:-}")
  if [ "$r2" = "-" ] && [ "$r1" = "-" ]; then printf -- '-'; else printf '%s / %s' "$r2" "$r1"; fi
}
echo
echo "Actor benchmarks$([ "$QUICK" = 1 ] && echo ' (--quick: sizes / 10)'): whole-process wall time, median of $RUNS after a warm-up, all implementations interleaved in one run; per-operation figures divide that time (start-up included) by the number of calls, messages or cycles."
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) CPUs; load average $(cut -d' ' -f1-3 /proc/loadavg); qzc: ${QZC:-none}; $(command -v go >/dev/null && go version | cut -d' ' -f3 || echo 'no go'); Erlang/OTP $(command -v erl >/dev/null && erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().' 2>/dev/null || echo 'none')"
echo
echo "| benchmark | qmir | Go GOMAXPROCS=2 | Go GOMAXPROCS=1 | Erlang | qmir/Go ratio (GOMAXPROCS=2 / 1) | qmir/Erlang ratio |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for b in $BENCHES; do
  echo "| ${LABEL[$b]} | $(show qmir "$b") | $(show go2 "$b") | $(show go1 "$b") | $(show erlang "$b") | $(ratio_go "$b") | $(div "${MED[qmir:$b]:-}" "${MED[erlang:$b]:-}") |"
  if [ "$b" = actor_crash ]; then
    echo "| the same, Erlang as spawn_link + trap_exit (main restarts a plain process; no log) | (as above) | - | - | $(show erlang_link "$b") | - | $(div "${MED[qmir:$b]:-}" "${MED[erlang_link:$b]:-}") |"
  fi
done
