#!/usr/bin/env bash
# Differential check of the benchmark generator: for a few seeds, the MIR module
# run by qmir's interpreter and its LLVM IR twin run by lli must exit with the
# same status (@main's result modulo 64), also after `-p dce`, and
# `opt -passes=verify` must accept the LLVM IR.
#
# usage: check-gen.sh QMIR_GEN_MODULE MIR_OPT LLI OPT
set -euo pipefail
if [[ $# -ne 4 ]]; then
  echo "usage: $0 QMIR_GEN_MODULE MIR_OPT LLI OPT" >&2
  exit 2
fi
gen=$1 mir_opt=$2 lli=$3 opt=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/qmir-check-gen.XXXXXX")
trap 'rm -rf "$work"' EXIT

status() { set +e; "$@"; local s=$?; set -e; echo "$s"; }

for seed in 1 2 3 42; do
  "$gen" --seed=$seed --instructions=30000 --main-iterations=3 --locations \
    -o "$work/m.mir" 2>/dev/null
  "$gen" --seed=$seed --instructions=30000 --main-iterations=3 --format=ll \
    -o "$work/m.ll" 2>/dev/null
  "$opt" -passes=verify -disable-output "$work/m.ll"
  want=$(status "$lli" "$work/m.ll")
  got=$(status "$mir_opt" "$work/m.mir" --run -o /dev/null)
  dce=$(status "$mir_opt" "$work/m.mir" -p dce --run -o /dev/null)
  echo "seed $seed: lli exit $want, mir-opt --run exit $got, with -p dce $dce"
  if [[ $want != "$got" || $want != "$dce" ]]; then
    echo "check-gen: MIR and LLVM IR disagree for seed $seed" >&2
    exit 1
  fi
done
