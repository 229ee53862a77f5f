#!/usr/bin/env python3
"""Runs one Quartz program through qzc and checks the `# expect-...` headers.

Headers (see tests/programs/README.md):
  # expect-exit: N                 exit status
  # expect-stdout: TEXT            one line of stdout; together, the whole stdout
  # expect-stderr-contains: TEXT   stderr contains TEXT
  # expect-compile-error: TEXT     compiling fails (exit 1) with FILE:L:C: error: TEXT...
  # expect-error-at: LINE:COL      ...at this place

Concurrent programs (tasks, channels, actors, usleep) run like the others on
every backend and level, and then again under the deterministic scheduler for
--seeds=K seeds (QMIR_SEED=1..K, at the last level, on every backend): each
run must meet the headers, and all runs must agree on the exit status and
stdout (stderr only has to contain the expected text: a deadlock report may
list the waiting tasks in another order).

--backends=interp,llvm runs the program through each backend at each level
(interp: `qzc --run`; llvm: `qzc -o EXE` in a temporary directory, then EXE),
checks each run against the headers, and demands that all runs agree exactly
(stdout, stderr, exit status). The default is --backends=interp.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

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


def run(cmd, timeout, env=None):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, "", f"TIMEOUT after {timeout}s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qzc", required=True)
    ap.add_argument("--levels", default="0,1,2")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--backends", default="interp",
                    help="comma-separated backends to run through (interp, llvm)")
    ap.add_argument("--seeds", type=int, default=0,
                    help="concurrent programs: also run under QMIR_SEED=1..N")
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

    backends = [b for b in args.backends.split(",") if b]
    for b in backends:
        if b not in ("interp", "llvm"):
            raise SystemExit(f"unknown backend '{b}' (known: interp, llvm)")

    concurrent = bool(CONCURRENCY.search(text))
    tmpdir = tempfile.mkdtemp(prefix="qmir-prog-") if "llvm" in backends else None
    try:
        check_runs(args, h, backends, tmpdir, failures, concurrent)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    mode = "run at -O" + args.levels
    if backends != ["interp"]:
        mode += " on " + ",".join(backends)
    if concurrent and args.seeds:
        mode += f", and {args.seeds} scheduler seeds"
    report(args.program, mode, failures, "")


def run_one(args, backend, level, tmpdir, seed=None):
    """One run of the program: (exit status or None on timeout, stdout, stderr).
    With a seed, the program runs on the deterministic scheduler."""
    env = dict(os.environ)
    env.pop("QMIR_SEED", None)
    if seed is not None:
        env["QMIR_SEED"] = str(seed)
    if backend == "interp":
        return run([args.qzc, "--run", f"-O{level}", args.program], args.timeout, env)
    exe = os.path.join(tmpdir, f"prog-O{level}")
    if not os.path.exists(exe):
        code, out, err = run([args.qzc, f"-O{level}", "-o", exe, args.program],
                             args.timeout * 6)
        if code != 0:
            return code, out, "compiling with the llvm backend failed: " + err
    return run([exe], args.timeout, env)


def check_runs(args, h, backends, tmpdir, failures, concurrent):
    first = None
    levels = args.levels.split(",")
    runs = [(level, backend, None) for level in levels for backend in backends]
    if concurrent:
        runs += [(levels[-1], backend, seed) for seed in range(1, args.seeds + 1)
                 for backend in backends]
    for level, backend, seed in runs:
        code, out, err = run_one(args, backend, level, tmpdir, seed)
        before = len(failures)
        where = f"-O{level}" if backends == ["interp"] else f"{backend} -O{level}"
        if seed is not None:
            where += f" QMIR_SEED={seed}"
        if first is None:
            first = (where, code, out, err)
        elif len(backends) > 1 or seed is not None:
            same = (code, out) == first[1:3] and (concurrent or err == first[3])
            if not same:
                failures.append(f"{where} disagrees with {first[0]}: exit {code} vs {first[1]}, "
                                f"stdout {out!r} vs {first[2]!r}, stderr {err!r} vs {first[3]!r}")
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
        if len(failures) > before:
            failures.append(f"{where}: stderr was: {err.strip()[:2000]}")
            if len(failures) > 40:
                failures.append("(stopping after 40 failures)")
                return


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
