#!/usr/bin/env python3
"""Compiles one Quartz program natively once and runs it N times in a row,
each run under a timeout, checking every run against the program's
`# expect-...` headers (see run_program.py). Counts hangs (timeouts) and wrong
results separately, prints a one-line summary, and exits 1 if any run failed.

  stress.py --qzc build/bin/qzc --runs 500 --timeout 10 PROGRAM.qz [--seeded]

--seeded runs each time on the deterministic scheduler with QMIR_SEED=run
number instead of the multi-threaded one (so a failure names its seed).
Used by the CI gate (500 runs of actor_crash_restart_stop.qz) and by
bench/actor_stress.sh (10,000 runs, recorded in bench/RESULTS.md).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_program import headers  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qzc", required=True)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--level", default="2")
    ap.add_argument("--seeded", action="store_true")
    ap.add_argument("program")
    args = ap.parse_args()
    h = headers(open(args.program, encoding="utf-8").read())
    with tempfile.TemporaryDirectory(prefix="qmir-stress-") as tmp:
        exe = os.path.join(tmp, "prog")
        c = subprocess.run([args.qzc, f"-O{args.level}", "-o", exe, args.program],
                           capture_output=True, text=True)
        if c.returncode != 0:
            print(f"FAIL: compiling {args.program}: {c.stderr.strip()}")
            sys.exit(1)
        hangs, wrong, first = 0, 0, None
        start = time.monotonic()
        for i in range(1, args.runs + 1):
            env = dict(os.environ)
            env.pop("QMIR_SEED", None)
            if args.seeded:
                env["QMIR_SEED"] = str(i)
            try:
                p = subprocess.run([exe], capture_output=True, text=True,
                                   timeout=args.timeout, env=env)
            except subprocess.TimeoutExpired:
                hangs += 1
                first = first or f"run {i}: hung (no exit within {args.timeout}s)"
                continue
            bad = []
            if "exit" in h and p.returncode != h["exit"]:
                bad.append(f"exit {p.returncode}, expected {h['exit']}")
            if p.stdout.splitlines() != h["stdout"]:
                bad.append(f"stdout {p.stdout.splitlines()!r}, expected {h['stdout']!r}")
            for s in h["stderr"]:
                if s not in p.stderr:
                    bad.append(f"stderr lacks {s!r}")
            if bad:
                wrong += 1
                first = first or f"run {i}: " + "; ".join(bad) + f"; stderr: {p.stderr[:500]!r}"
        took = time.monotonic() - start
    mode = "deterministic seeds 1.." + str(args.runs) if args.seeded else "worker threads"
    print(f"{os.path.basename(args.program)}: {args.runs} native runs ({mode}), "
          f"{hangs} hangs, {wrong} wrong results, {took:.1f} s")
    if first:
        print("first failure: " + first)
    sys.exit(1 if hangs or wrong else 0)


if __name__ == "__main__":
    main()
