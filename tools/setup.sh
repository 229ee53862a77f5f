#!/usr/bin/env bash
# Sets up a fresh Debian 12 (bookworm) machine for qmir and builds it: installs
# the Debian packages that are missing, configures build/ with CMake + Ninja
# (RelWithDebInfo, warnings as errors) and builds with both cores. Safe to run
# again: installed packages are skipped and the build is incremental.
#
#   tools/setup.sh [build]   set up and build
#   tools/setup.sh test      set up, build, run every test (ctest), then build
#                            everything with clang++-19 -Werror in build-clang/
#   tools/setup.sh demo      set up, build, run the demo (Quartz programs through
#                            qzc and mir-opt, natively and interpreted)
#   tools/setup.sh demo-only the demo alone, on an existing build (ctest readme/demo)
#
# Environment: QMIR_BUILD_DIR (default: build, relative to the repo root),
# QMIR_JOBS (default: 2, the number of cores the build may use).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${QMIR_BUILD_DIR:-build}
[[ $build_dir = /* ]] || build_dir=$root/$build_dir
jobs=${QMIR_JOBS:-2}

usage() {
  sed -n '7,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

log() { printf '\n==> %s\n' "$*"; }

# llvm-19 is in bookworm's main archive (19.1.7 since Debian 12.10), so the
# default apt sources suffice. llvm-19-tools carries lit and FileCheck.
# gdb runs the -g debug-info test; chromium loads mir-opt's --dump-html page
# headless; graphviz renders --dump-dot graphs; libclang-rt-19-dev is clang's
# AddressSanitizer runtime (the clang build links tests/asan with it).
packages=(cmake ninja-build g++ ccache python3 llvm-19-dev llvm-19-tools
          clang-19 libclang-rt-19-dev librange-v3-dev libgtest-dev libgmock-dev
          libbenchmark-dev gdb chromium graphviz)

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    if [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) != ii* ]]; then
      missing+=("$p")
    fi
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "all required Debian packages are installed"
    return
  fi
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "setup.sh: missing packages (${missing[*]}) and not root, no sudo" >&2
      exit 1
    fi
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

configure() {
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  log "configuring $build_dir"
  cmake -S "$root" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQMIR_WERROR=ON "${launcher[@]}"
}

build() {
  log "building with $jobs jobs"
  cmake --build "$build_dir" -j "$jobs"
}

run_tests() {
  log "running every test"
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
}

# qmir must build warning-free with clang-19 as well as with g++: the test
# command also builds everything with clang++-19 and -Werror in build-clang/
# (the tests themselves run once, in build/).
build_with_clang() {
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  log "building with clang++-19 (-Werror) in $root/build-clang"
  cmake -S "$root" -B "$root/build-clang" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_COMPILER=clang++-19 -DQMIR_WERROR=ON \
    "${launcher[@]}"
  cmake --build "$root/build-clang" -j "$jobs"
}

demo() {
  # The main job: a Quartz program (the seed's unwrap-in-loop case) through
  # the frontend, the passes (with dumps around one of them), the interpreter
  # and native code.
  local prog=$root/tests/programs/unwrap_in_loop.qz
  local bin=$build_dir/bin
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  run() { echo "\$ ${*//$root\//}"; "$@"; }

  log "demo 1/6: compile $(basename "$prog") to frontend-style MIR (no passes)"
  echo "\$ qzc --emit=mir --passes= ${prog#$root/}"
  "$bin/qzc" --emit=mir --passes= "$prog" >"$work/prog.mir"
  head -n 30 "$work/prog.mir"
  echo "  ... ($(wc -l <"$work/prog.mir") lines in all)"

  log "demo 2/6: -O2 with the MIR dumped before and after constfold, then interpret @main"
  run "$bin/mir-opt" -O2 --dump-func=main --dump-before=constfold \
    --dump-after=constfold --run "$work/prog.mir"
  echo "exit status: $?"

  log "demo 3/6: compile natively with qzc -O2 and run"
  run "$bin/qzc" -O2 "$prog" -o "$work/prog"
  status=0
  "$work/prog" || status=$?
  echo "native exit status: $status (0 means sum == 211)"

  log "demo 4/6: what changed where: --dump-changed over -O1"
  run "$bin/mir-opt" -O1 --dump-changed --dump-func=main "$work/prog.mir" -o /dev/null

  # The seed's other failure: an actor that panics, restarts and is stopped.
  local actors=$root/tests/programs/actor_crash_restart_stop.qz
  log "demo 5/6: an actor program's state machine: main after coro-split"
  "$bin/qzc" --emit=mir --passes= "$actors" >"$work/actors.mir"
  echo "\$ mir-opt -O2 --dump-after=coro-split --dump-func='main*' ${actors#$root/}.mir"
  # Into a file first: `| head` would cut mir-opt off mid-dump (EPIPE, and
  # with pipefail the demo would stop there).
  "$bin/mir-opt" -O2 --dump-after=coro-split --dump-func='main*' "$work/actors.mir" \
    -o /dev/null 2>"$work/actors.dump"
  head -n 40 "$work/actors.dump"
  echo "  ... ($(wc -l <"$work/actors.dump") lines in all)"

  log "demo 6/6: run it natively (worker threads), then on the seeded scheduler"
  run "$bin/qzc" -O2 "$actors" -o "$work/actors"
  status=0
  "$work/actors" || status=$?
  echo "native exit status: $status (0: restarted, handled later messages, stopped)"
  status=0
  QMIR_SEED=7 "$work/actors" || status=$?
  echo "QMIR_SEED=7 exit status: $status"
}

cmd=${1:-build}
case $cmd in
  build | test | demo) ;;
  # The demo alone, on an existing build (QMIR_BUILD_DIR): what ctest's
  # readme/demo runs, so that the README's first command keeps working.
  demo-only) demo; exit ;;
  -h | --help | help) usage; exit 0 ;;
  *) echo "setup.sh: unknown command '$cmd'" >&2; usage >&2; exit 2 ;;
esac
if [[ $# -gt 1 ]]; then
  echo "setup.sh: too many arguments" >&2
  usage >&2
  exit 2
fi

install_packages
configure
build
case $cmd in
  test) run_tests && build_with_clang ;;
  demo) demo ;;
esac
