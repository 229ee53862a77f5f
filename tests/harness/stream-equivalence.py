#!/usr/bin/env python3
"""mir-opt's streaming mode must not change anything a user can see.

With a pipeline of function passes, mir-opt optimizes, verifies and prints
each function as soon as it is parsed and then frees its body (--stream, on by
default). This runs mir-opt twice on every .mir file of the lit suite and on
generated benchmark modules, streaming and with --stream=false, for several
function-pass pipelines, and fails on any difference in exit status, stdout
or stderr (parse errors, verifier errors and invalid-IR reports included).
It also covers inputs made for the edges (a type that contains itself, an
error after good functions, a pass that breaks the IR), standard input, an
-o file that exists before the run, and checks that streaming does happen:
on a 200,000-instruction module its peak memory must be clearly lower.

Usage: stream-equivalence.py --mir-opt PATH --gen-module PATH --lit-dir DIR
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

PIPELINES = [
    "",  # parse, verify, print
    "mem2reg,sccp,dce,simplifycfg",
    "match-lower,mem2reg,sccp,constfold,simplifycfg,cse,licm,dce,simplifycfg",
]


EDGE_INPUTS = {
    # Passes must never see it: mem2reg would recurse forever on T.
    "type-cycle.mir": "type T = {i64, T}\nfn @f() -> i64 {\nentry:\n  %a = alloca T\n  ret 0\n}\n",
    # Good functions first, then a parse error / a verifier error.
    "late-parse-error.mir": "fn @f(%x: i64) -> i64 {\nentry:\n  %y = add i64 %x, 1\n  ret %y\n}\n"
                            "fn @g() -> i64 {\nentry:\n  %z = frob i64 1\n  ret %z\n}\n",
    "late-verifier-error.mir": "fn @f(%x: i64) -> i64 {\nentry:\n  %y = add i64 %x, 1\n  ret %y\n}\n"
                               "fn @g() -> i64 {\nentry:\n  ret %q\n}\n",
    "two-functions.mir": "fn @f(%x: i64) -> i64 {\nentry:\n  %y = add i64 %x, 1\n  ret %y\n}\n"
                         "fn @g() -> i64 {\nentry:\n  %r = call @f(2)\n  ret %r\n}\n",
}
EDGE_PIPELINES = ["mem2reg", "test-break-ir", "mem2reg,test-break-ir,dce"]


def normalize(data):
    # Reproducer files get random names.
    return re.sub(rb"mir-opt-reproducer-[A-Za-z0-9]+", b"mir-opt-reproducer-X", data)


def run(cmd, stdin=None):
    p = subprocess.run(cmd, capture_output=True, timeout=300, stdin=stdin)
    return p.returncode, normalize(p.stdout), normalize(p.stderr)


def compare(mir_opt, path, pipeline, extra, label, stdin_path=None):
    base = [mir_opt, path, "-p", pipeline] + extra
    def go(cmd):
        if stdin_path is None:
            return run(cmd)
        with open(stdin_path, "rb") as f:
            return run(cmd, stdin=f)
    streamed = go(base)
    batch = go(base + ["--stream=false"])
    if streamed == batch:
        return True
    what = ["exit status", "stdout", "stderr"]
    diffs = [w for w, a, b in zip(what, streamed, batch) if a != b]
    print(f"DIFFERENT ({', '.join(diffs)}): {label} -p '{pipeline}' {' '.join(extra)}")
    for w, a, b in zip(what, streamed, batch):
        if a != b:
            a = a if isinstance(a, int) else a.decode(errors="replace")[:2000]
            b = b if isinstance(b, int) else b.decode(errors="replace")[:2000]
            print(f"--- {w} streaming:\n{a}\n--- {w} --stream=false:\n{b}")
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mir-opt", required=True)
    ap.add_argument("--gen-module", required=True)
    ap.add_argument("--lit-dir", required=True)
    args = ap.parse_args()

    inputs = []
    for root, _, files in os.walk(args.lit_dir):
        for f in sorted(files):
            if f.endswith(".mir"):
                inputs.append(os.path.join(root, f))
    inputs.sort()
    compared = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for n, locs in ((3000, False), (40000, True)):
            out = os.path.join(tmp, f"gen{n}.mir")
            cmd = [args.gen_module, f"--instructions={n}", "-o", out]
            if locs:
                cmd.append("--locations")
            subprocess.run(cmd, check=True, capture_output=True)
            inputs.append(out)
        for path in inputs:
            label = os.path.relpath(path, args.lit_dir) if path.startswith(args.lit_dir) else os.path.basename(path)
            for pipeline in PIPELINES:
                for extra in ([], ["--print-locs"], ["--disable-output"]):
                    compared += 1
                    failed += not compare(args.mir_opt, path, pipeline, extra, label)

        edges = []
        for name, text in EDGE_INPUTS.items():
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            edges.append(path)
        for path in edges + [inputs[-2]]:
            for pipeline in EDGE_PIPELINES:
                compared += 1
                failed += not compare(args.mir_opt, path, pipeline, [], os.path.basename(path))
            compared += 1  # standard input
            failed += not compare(args.mir_opt, "-", "mem2reg,dce", [], "stdin " +
                                  os.path.basename(path), stdin_path=path)
            # An -o file that exists before the run: replaced on success,
            # removed on failure, either way.
            results = []
            for mode in ([], ["--stream=false"]):
                out = os.path.join(tmp, "out.mir")
                with open(out, "w") as f:
                    f.write("old\n")
                rc, _, err = run([args.mir_opt, path, "-p", "mem2reg", "-o", out] + mode)
                body = open(out, "rb").read() if os.path.exists(out) else None
                results.append((rc, err, body))
            compared += 1
            if results[0] != results[1]:
                failed += 1
                print(f"DIFFERENT: -o on {os.path.basename(path)}: streaming {results[0]!r:.300}"
                      f" / --stream=false {results[1]!r:.300}")

        # Streaming must actually happen (the comparisons above would also
        # pass if it were always off).
        big = os.path.join(tmp, "gen200k.mir")
        subprocess.run([args.gen_module, "--instructions=200000", "-o", big], check=True,
                       capture_output=True)
        def peak(extra):
            proc = subprocess.Popen([args.mir_opt, big, "-p", PIPELINES[1], "--disable-output"]
                                    + extra, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("mir-opt failed on the generated 200,000-instruction module")
            return usage.ru_maxrss
        streamed, whole = peak([]), peak(["--stream=false"])
        print(f"peak RSS on 200,000 instructions: {streamed // 1024} MiB streaming, "
              f"{whole // 1024} MiB with --stream=false")
        if streamed > 0.85 * whole:
            failed += 1
            print("FAIL: streaming does not lower peak memory: is it on?")
    print(f"compared {compared} runs over {len(inputs) + len(EDGE_INPUTS)} inputs: {failed} differ")
    return 1 if failed or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
