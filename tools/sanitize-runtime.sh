#!/usr/bin/env bash
# Builds the runtime on its own with a sanitizer and runs qmir-runtime-tests
# under it; fails on any sanitizer report (in the test binary or in the
# child processes some tests fork) and on any failing test.
#
#   tools/sanitize-runtime.sh MODE BUILD_DIR
#     MODE  tsan   ThreadSanitizer            (-DQZ_SANITIZE=thread)
#           asan   AddressSanitizer + UBSan, leak checking on
#                                             (-DQZ_SANITIZE=address,undefined)
#
# Environment: QMIR_JOBS (build jobs, default 2); QZ_TEST_SCALE (0 < s <= 1,
# multiplies the iteration counts of the heavier new tests; default 1: at
# full scale each run takes ~10-15 s of testing on 2 cores, plus the build).
# Extra gtest arguments can follow BUILD_DIR (e.g. --gtest_filter=...).
set -euo pipefail

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

if [[ $# -lt 2 ]]; then
  usage >&2
  exit 2
fi
mode=$1
build_dir=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $build_dir = /* ]] || build_dir=$PWD/$build_dir
jobs=${QMIR_JOBS:-2}
scale=${QZ_TEST_SCALE:-1}

case $mode in
  tsan)
    sanitize=thread
    ;;
  asan)
    sanitize=address,undefined
    ;;
  *)
    echo "sanitize-runtime.sh: unknown mode '$mode' (tsan or asan)" >&2
    usage >&2
    exit 2
    ;;
esac

generator=()
if command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi

start=$SECONDS
echo "==> configuring $build_dir (QZ_SANITIZE=$sanitize)"
cmake -S "$root/runtime" -B "$build_dir" "${generator[@]}" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQZ_SANITIZE="$sanitize" \
  -DQMIR_BUILD_TESTS=ON -DQMIR_BUILD_BENCH=OFF >/dev/null
echo "==> building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs"

# Reports go to files (one per process, so that a report in a forked child
# whose stderr a test captures is not lost), and are printed below.
logs=$build_dir/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
export QZ_TEST_SCALE=$scale
if [[ $mode = tsan ]]; then
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$logs/report"
else
  export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:log_path=$logs/report"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/report"
fi

echo "==> running qmir-runtime-tests under $mode (QZ_TEST_SCALE=$scale)"
status=0
"$build_dir/qmir-runtime-tests" "$@" || status=$?

reports=("$logs"/report*)
if [[ -e ${reports[0]} ]]; then
  for r in "${reports[@]}"; do
    echo "==> sanitizer report $(basename "$r"):"
    cat "$r"
  done
  echo "sanitize-runtime.sh: $mode: ${#reports[@]} sanitizer report(s)" >&2
  exit 1
fi
if [[ $status -ne 0 ]]; then
  echo "sanitize-runtime.sh: $mode: qmir-runtime-tests failed (status $status)" >&2
  exit "$status"
fi
echo "==> $mode: clean, $((SECONDS - start)) s"
