#!/usr/bin/env python3
"""Times bench/programs/*.qz (qzc -O2, native through the llvm backend) against
the same algorithms in C (clang-19 -O2), side by side in one run.

  run_programs.py --qzc BUILD/bin/qzc [--cc clang-19] [--reps 7] [--markdown]

Each program is compiled once per compiler (the compile time is recorded: the
median of 3 compilations), both executables must print the same output, and
then they are run alternately --reps times each; the table gives the median
wall time, the ratio Quartz/C (target: at most 1.10) and the compile times.
Exit 1 if an output differs or a compilation fails.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd, **kw):
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return time.perf_counter() - t, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qzc", required=True)
    ap.add_argument("--cc", default="clang-19")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    progs = sorted(glob.glob(os.path.join(HERE, "programs", "*.qz")))
    rows, bad = [], False
    with tempfile.TemporaryDirectory(prefix="qmir-bench-") as tmp:
        for qz in progs:
            name = os.path.splitext(os.path.basename(qz))[0]
            c = qz[:-3] + ".c"
            qexe, cexe = os.path.join(tmp, "q_" + name), os.path.join(tmp, "c_" + name)
            qct, cct = [], []
            for _ in range(3):
                t, p = timed([args.qzc, "-O2", qz, "-o", qexe])
                if p.returncode:
                    sys.exit(f"qzc failed on {qz}:\n{p.stderr}")
                qct.append(t)
                t, p = timed([args.cc, "-O2", c, "-o", cexe])
                if p.returncode:
                    sys.exit(f"{args.cc} failed on {c}:\n{p.stderr}")
                cct.append(t)
            qt, ct, qout, cout = [], [], None, None
            for _ in range(args.reps):
                t, p = timed([qexe])
                qt.append(t)
                qout = p.stdout
                t, p = timed([cexe])
                ct.append(t)
                cout = p.stdout
            if qout != cout:
                print(f"OUTPUT DIFFERS for {name}: quartz {qout!r} c {cout!r}")
                bad = True
            qm, cm = statistics.median(qt), statistics.median(ct)
            rows.append((name, qm, cm, qm / cm, statistics.median(qct), statistics.median(cct),
                         qout.strip()))
    if args.markdown:
        print("| program | Quartz (qzc -O2) | C (clang-19 -O2) | ratio | compile qzc | compile clang | output |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for r in rows:
            print(f"| {r[0]} | {r[1]*1000:.0f} ms | {r[2]*1000:.0f} ms | {r[3]:.2f}x | "
                  f"{r[4]*1000:.0f} ms | {r[5]*1000:.0f} ms | {r[6]} |")
    else:
        print(f"{'program':10} {'quartz':>9} {'c':>9} {'ratio':>6} {'qzc':>8} {'clang':>8}")
        for r in rows:
            print(f"{r[0]:10} {r[1]*1000:7.0f}ms {r[2]*1000:7.0f}ms {r[3]:5.2f}x "
                  f"{r[4]*1000:6.0f}ms {r[5]*1000:6.0f}ms")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
