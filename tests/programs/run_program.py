#!/usr/bin/env python3
"""Runs one Quartz program through qzc and checks the `# expect-...` headers.

Headers (see tests/programs/README.md):
  # expect-exit: N                 exit status
  # expect-stdout: TEXT            one line of stdout; together, the whole stdout
  # expect-stderr-contains: TEXT   stderr contains TEXT
  # expect-compile-error: TEXT     compiling fails (exit 1) with FILE:L:C: error: TEXT...
  # expect-error-at: LINE:COL      ...at this place

Programs that need the concurrent runtime (tasks, channels, actors, usleep)
cannot run in the interpreter yet; for those the runner checks that they lower
to MIR that verifies, and says so in its output.
"""
import argparse
import re
import subprocess
import sys

CONCURRENCY = re.compile(r"^\s*actor\s|\bspawn\s|\bchannel\(|\busleep\(", re.M)


def headers(text):
    h = {"stdout": [], "stderr": []}
    for line in text.splitlines():
        m = re.match(r"#\s*expect-([a-z-]+):\s?(.*)$", line)
        if not m:
            continue
        key, val = m.group(1), m.group(2).rstrip()
        if key == "exit":
            h["exit"] = int(val)
        elif key == "stdout":
            h["stdout"].append(val)
        elif key == "stderr-contains":
            h["stderr"].append(val)
        elif key == "compile-error":
            h["compile_error"] = val
        elif key == "error-at":
            h["error_at"] = val
        else:
            raise SystemExit(f"unknown header 'expect-{key}'")
    return h


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", f"TIMEOUT after {timeout}s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qzc", required=True)
    ap.add_argument("--levels", default="0,1,2")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("program")
    args = ap.parse_args()
    text = open(args.program, encoding="utf-8", errors="replace").read()
    h = headers(text)
    failures = []

    if "compile_error" in h:
        code, out, err = run([args.qzc, "--run", args.program], args.timeout)
        m = re.search(r"^[^\n]*?:(\d+):(\d+): error: ([^\n]*)$", err, re.M)
        if code != 1:
            failures.append(f"expected exit 1 from the compiler, got {code}")
        if not m:
            failures.append("no 'FILE:LINE:COL: error: ...' diagnostic")
        else:
            if not m.group(3).startswith(h["compile_error"]):
                failures.append(f"first error is '{m.group(3)}', expected it to begin "
                                f"with '{h['compile_error']}'")
            if "error_at" in h and f"{m.group(1)}:{m.group(2)}" != h["error_at"]:
                failures.append(f"error at {m.group(1)}:{m.group(2)}, expected {h['error_at']}")
        report(args.program, "compile-error", failures, err)
        return

    if CONCURRENCY.search(text):
        code, out, err = run([args.qzc, "--emit=mir", args.program], args.timeout)
        if code != 0:
            failures.append(f"lowering to verified MIR failed (exit {code})")
        report(args.program, "lower-only (needs the task runtime)", failures, err)
        return

    for level in args.levels.split(","):
        code, out, err = run([args.qzc, "--run", f"-O{level}", args.program], args.timeout)
        where = f"-O{level}"
        if code is None:
            failures.append(f"{where}: timed out")
            continue
        if "exit" in h and code != h["exit"]:
            failures.append(f"{where}: exit status {code}, expected {h['exit']}")
        got = out.splitlines()
        if got != h["stdout"]:
            failures.append(f"{where}: stdout {got!r}, expected {h['stdout']!r}")
        for s in h["stderr"]:
            if s not in err:
                failures.append(f"{where}: stderr lacks {s!r}")
        if failures:
            failures.append(f"{where}: stderr was: {err.strip()[:2000]}")
    report(args.program, "run at -O" + args.levels, failures, "")


def report(program, mode, failures, err):
    if failures:
        print(f"FAIL {program} [{mode}]")
        for f in failures:
            print("  " + f)
        if err:
            print("  stderr:\n" + err[:4000])
        sys.exit(1)
    print(f"PASS {program} [{mode}]")


if __name__ == "__main__":
    main()
