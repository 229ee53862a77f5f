#!/usr/bin/env python3
"""Debug-info test: compiles tests/debug/locals.qz with `qzc -g` (at -O0, and
checks that -O2 -g still gives line tables), runs it under `gdb --batch`,
stops at the line marked `# BREAK`, and checks the stop location (FILE:LINE of
the .qz source), the values of a local variable and of a parameter, and the
backtrace through @main.

  gdb_test.py --qzc build/bin/qzc [--gdb gdb]
Exit 0 on success; 77 (skipped) if gdb is missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "locals.qz")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qzc", required=True)
    ap.add_argument("--gdb", default="gdb")
    args = ap.parse_args()
    gdb = shutil.which(args.gdb)
    if not gdb:
        print("SKIP: gdb not found")
        sys.exit(77)
    lines = open(PROGRAM).read().splitlines()
    bline = next(i + 1 for i, l in enumerate(lines) if "# BREAK" in l)
    failures = []
    with tempfile.TemporaryDirectory(prefix="qmir-gdb-") as tmp:
        for level in ("0", "2"):
            exe = os.path.join(tmp, f"locals-O{level}")
            p = subprocess.run([args.qzc, "-g", f"-O{level}", PROGRAM, "-o", exe],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                failures.append(f"-O{level}: qzc -g failed: {p.stderr}")
                continue
            cmds = ["-ex", f"break locals.qz:{bline}", "-ex", "run"]
            if level == "0":
                cmds += ["-ex", "print total", "-ex", "print n", "-ex", "bt"]
            p = subprocess.run([gdb, "--batch", "-nx"] + cmds + [exe],
                               capture_output=True, text=True, timeout=120)
            out = p.stdout
            where = f"-O{level}"
            if level == "2":
                # LLVM folds the whole computation at -O2; the line table must
                # still map the breakpoint to a line of the .qz file.
                if not re.search(r"Breakpoint 1, .* at .*locals\.qz:\d+", out):
                    failures.append(f"{where}: did not stop at a line of locals.qz")
            else:
                if not re.search(rf"Breakpoint 1 at .*: file .*locals\.qz, line {bline}\.", out):
                    failures.append(f"{where}: no breakpoint at locals.qz:{bline}")
                if not re.search(rf"Breakpoint 1, triangle .* at .*locals\.qz:{bline}", out):
                    failures.append(f"{where}: did not stop in triangle at locals.qz:{bline}")
            if level == "0":
                if not re.search(r"^\$1 = 55$", out, re.M):
                    failures.append(f"{where}: 'print total' did not give 55")
                if not re.search(r"^\$2 = 10$", out, re.M):
                    failures.append(f"{where}: 'print n' did not give 10")
                if not re.search(r"#1 .* in (qz\.)?main .*locals\.qz:\d+", out):
                    failures.append(f"{where}: the backtrace does not reach main in locals.qz")
            if failures:
                failures.append(f"{where}: gdb said:\n{out}\n{p.stderr}")
                break
    if failures:
        print("FAIL tests/debug/gdb_test.py")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print(f"PASS tests/debug/gdb_test.py (break at locals.qz:{bline}, locals printed)")


if __name__ == "__main__":
    main()
