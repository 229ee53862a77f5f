#!/usr/bin/env python3
"""mir-opt's streaming mode must not change anything a user can see.

With a pipeline of function passes, mir-opt optimizes, verifies and prints
each function as soon as it is parsed and then frees its body (--stream, on by
default). This runs mir-opt twice on every .mir file of the lit suite and on
generated benchmark modules, streaming and with --stream=false, for several
function-pass pipelines, and fails on any difference in exit status, stdout
or stderr (parse errors, verifier errors and invalid-IR reports included).

Usage: stream-equivalence.py --mir-opt PATH --gen-module PATH --lit-dir DIR
"""
import argparse
import os
import subprocess
import sys
import tempfile

PIPELINES = [
    "",  # parse, verify, print
    "mem2reg,sccp,dce,simplifycfg",
    "match-lower,mem2reg,sccp,constfold,simplifycfg,cse,licm,dce,simplifycfg",
]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def compare(mir_opt, path, pipeline, extra, label):
    base = [mir_opt, path, "-p", pipeline] + extra
    streamed = run(base)
    batch = run(base + ["--stream=false"])
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
    print(f"compared {compared} runs over {len(inputs)} inputs: {failed} differ")
    return 1 if failed or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
