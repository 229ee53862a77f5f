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

# Builds the qmir and Go programs of $BENCHES with their N (the caller's N
# array), filling the caller's CMD (what to run) and FAIL (why not) arrays
# for the implementations qmir, go2 and go1.
build_qmir_and_go() {
  local b src
  # qmir: substitute N into the source's line marked "# N" (Quartz core has no argv).
  for b in $BENCHES; do
    src=$OUT/src/$b.qz
    if [ -z "$QZC" ] || [ ! -x "$QZC" ]; then
      FAIL[qmir:$b]="build failed: no qzc (set QZC, or build build-rel/ or build/)"; continue
    fi
    sed -E "s/^([[:space:]]*var n = )[0-9_]+([[:space:]]*# N)\$/\1${N[$b]}\2/" "$HERE/$b.qz" >"$src"
    if ! grep -Eq "^[[:space:]]*var n = ${N[$b]}[[:space:]]*# N\$" "$src"; then
      FAIL[qmir:$b]="build failed: no 'var n = ...  # N' line in $b.qz"; continue
    fi
    rm -f "$OUT/bin/$b-qmir"
    if "$QZC" "$src" --emit=exe -O2 -o "$OUT/bin/$b-qmir" >"$OUT/logs/$b-qmir-build.log" 2>&1 &&
       [ -x "$OUT/bin/$b-qmir" ]; then
      CMD[qmir:$b]="$OUT/bin/$b-qmir"
    else
      FAIL[qmir:$b]="build failed: $(first_error "$OUT/logs/$b-qmir-build.log")"
    fi
  done

  # Go: caches under /tmp, no network, no toolchain switching.
  export GOCACHE=${GOCACHE:-/tmp/qmir-bench-gocache} GOPATH=${GOPATH:-/tmp/qmir-bench-gopath}
  export GOFLAGS=${GOFLAGS:--buildvcs=false} GOTOOLCHAIN=local GOPROXY=off GO111MODULE=auto
  for b in $BENCHES; do
    if ! command -v go >/dev/null 2>&1; then
      FAIL[go2:$b]="not installed (golang-go)"; FAIL[go1:$b]=${FAIL[go2:$b]}; continue
    fi
    if (cd "$HERE" && go build -o "$OUT/bin/$b-go" "$b.go") >"$OUT/logs/$b-go-build.log" 2>&1; then
      CMD[go2:$b]="env GOMAXPROCS=2 $OUT/bin/$b-go ${N[$b]}"
      CMD[go1:$b]="env GOMAXPROCS=1 $OUT/bin/$b-go ${N[$b]}"
    else
      FAIL[go2:$b]="build failed: $(first_error "$OUT/logs/$b-go-build.log")"; FAIL[go1:$b]=${FAIL[go2:$b]}
    fi
  done
}
