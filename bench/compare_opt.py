#!/usr/bin/env python3
"""Side by side: qmir's mir-opt against LLVM 19's opt on the same work.

For each module size, qmir-gen-module writes one frontend-style module twice,
as MIR and as the equivalent LLVM IR (same generator decisions; the ctest
bench-gen-vs-lli checks they compute the same result). Both tools then run
   mem2reg,sccp,dce,simplifycfg
as whole processes, parsing and verification included, neither printing its
result (--disable-output / -disable-output), measured in one run, alternating,
median of N repetitions: wall time, user CPU time and peak RSS. mir-opt runs
as it does by default (streaming: one function body in memory at a time,
docs/passes.md) and with --stream=false (the whole module in memory, which
is what the IR layout costs). It then runs qmir's -O2 with --time-passes on
the largest module for the per-pass table.

Usage: bench/compare_opt.py --bin build-rel/bin [--sizes 100000,1000000] [--reps 3]
Prints Markdown for bench/RESULTS.md.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

PIPELINE = "mem2reg,sccp,dce,simplifycfg"


def measure(cmd):
    """Runs cmd; returns (wall seconds, user+sys CPU seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"command failed ({code}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="directory with mir-opt and qmir-gen-module")
    ap.add_argument("--opt", default="/usr/lib/llvm-19/bin/opt")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    mir_opt = os.path.join(args.bin, "mir-opt")
    gen = os.path.join(args.bin, "qmir-gen-module")
    sizes = [int(s) for s in args.sizes.split(",")]

    tmp = tempfile.mkdtemp(prefix="qmir-compare-")
    rows = []
    try:
        for n in sizes:
            mir = os.path.join(tmp, f"m{n}.mir")
            ll = os.path.join(tmp, f"m{n}.ll")
            subprocess.run([gen, f"--instructions={n}", "-o", mir], check=True,
                           stderr=subprocess.DEVNULL)
            subprocess.run([gen, f"--instructions={n}", "--format=ll", "-o", ll],
                           check=True, stderr=subprocess.DEVNULL)
            q, w, o = [], [], []
            for _ in range(args.reps):  # alternate, so all see the same noise
                q.append(measure([mir_opt, mir, "-p", PIPELINE, "--disable-output"]))
                w.append(measure([mir_opt, mir, "-p", PIPELINE, "--disable-output",
                                  "--stream=false"]))
                o.append(measure([args.opt, f"-passes={PIPELINE}", "-disable-output", ll]))
            med = lambda xs, i: statistics.median(x[i] for x in xs)
            rows.append((n, [med(q, i) for i in range(3)], [med(o, i) for i in range(3)],
                         [med(w, i) for i in range(3)]))

        print(f"Pipeline `{PIPELINE}`, whole process including parsing, median of "
              f"{args.reps}.\n")
        print("| instructions | qmir wall | qmir CPU | qmir peak RSS | opt wall | opt CPU "
              "| opt peak RSS | opt/qmir (CPU) | qmir/opt (RSS) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, q, o, _ in rows:
            print(f"| {n:,} | {q[0]:.2f} s | {q[1]:.2f} s | {q[2]:.0f} MiB | {o[0]:.2f} s "
                  f"| {o[1]:.2f} s | {o[2]:.0f} MiB | {o[1] / q[1]:.2f}x | {q[2] / o[2]:.2f} |")
        print("\nThe same with `mir-opt --stream=false` (the whole module in memory):\n")
        print("| instructions | qmir wall | qmir CPU | qmir peak RSS | opt/qmir (CPU) "
              "| qmir/opt (RSS) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for n, _, o, w in rows:
            print(f"| {n:,} | {w[0]:.2f} s | {w[1]:.2f} s | {w[2]:.0f} MiB "
                  f"| {o[1] / w[1]:.2f}x | {w[2] / o[2]:.2f} |")
        if len(rows) >= 2:
            (n0, q0, o0, w0), (n1, q1, o1, w1) = rows[0], rows[-1]
            print(f"\nGrowth from {n0:,} to {n1:,} instructions ({n1 / n0:.0f}x more): "
                  f"qmir CPU {q1[1] / q0[1]:.1f}x (--stream=false {w1[1] / w0[1]:.1f}x), "
                  f"opt CPU {o1[1] / o0[1]:.1f}x.")

        # Per pass, -O2, on the largest module.
        n = sizes[-1]
        mir = os.path.join(tmp, f"m{n}.mir")
        p = subprocess.run([mir_opt, mir, "-O2", "--time-passes", "--disable-output"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("mir-opt -O2 failed:\n" + p.stderr)
        print(f"\n`mir-opt -O2 --time-passes` on the {n:,}-instruction module:\n")
        print("```")
        print(p.stderr.strip())
        print("```")
    finally:
        for f in os.listdir(tmp):
            os.remove(os.path.join(tmp, f))
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
