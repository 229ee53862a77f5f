# Shared by run.sh and run-actors.sh, sourced with the script's arguments
# after it sets HERE and DEFAULT_OUT: the options (--quick, --runs N, --help:
# the script's header comment), the output directory, installing the peers'
# toolchains, finding qzc, and table cells.
ROOT=$(cd "$HERE/../.." && pwd)
QUICK=0
RUNS=5
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --runs=*) RUNS=${1#--runs=} ;;
    -h|--help) sed -n '2,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$(basename "$0"): unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
OUT=${BENCH_OUT:-$DEFAULT_OUT}
TIMEOUT=${BENCH_TIMEOUT:-300}
mkdir -p "$OUT/bin" "$OUT/src" "$OUT/logs" "$OUT/erl"
log() { echo "$*" >&2; }

# ---------------------------------------------------------------- tools
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else return 1; fi
}
missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
{ command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1; } || missing+=(erlang)
if [ ${#missing[@]} -gt 0 ] && [ "${NO_INSTALL:-0}" != 1 ]; then
  log "installing ${missing[*]} with apt-get ..."
  if command -v apt-get >/dev/null 2>&1 &&
     as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$OUT/logs/apt.log" 2>&1 &&
     as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       "${missing[@]}" >>"$OUT/logs/apt.log" 2>&1; then
    log "installed ${missing[*]}"
  else
    log "could not install ${missing[*]} (see $OUT/logs/apt.log); those columns will say so"
  fi
fi

if [ -n "${QZC:-}" ]; then :
elif [ -x "$ROOT/build-rel/bin/qzc" ]; then QZC=$ROOT/build-rel/bin/qzc
elif [ -x "$ROOT/build/bin/qzc" ]; then QZC=$ROOT/build/bin/qzc
else QZC=""; fi

# A markdown-safe one-line cell text.
cell() {
  local s
  s=$(printf '%s' "$1" | tr '\n' ' ' | sed 's/|/\\|/g; s/  */ /g; s/ $//')
  if [ ${#s} -gt 150 ]; then s="${s:0:147}..."; fi
  printf '%s' "$s"
}
first_error() {  # first line naming an error in a log, else its first line
  local l
  l=$(grep -m1 -i 'error' "$1" 2>/dev/null) || l=$(head -n1 "$1" 2>/dev/null)
  cell "${l:-no output}"
}

commas() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
