#!/usr/bin/env python3
"""Loads a `mir-opt --dump-html` page in headless Chromium and checks it.

The page must work from disk with no network: Chromium runs with networking
features off, and the check reads the DOM *after* the page's script ran (the
script stamps data-columns on <body>), so a page whose script failed, or that
lacks its columns, fails here.

Usage: check-html.py [--mir-opt PATH] [--chromium PATH]
Prints PASS, or SKIP (status 77, which ctest reports as skipped) when Chromium is not installed (Debian
package `chromium`), or FAIL with the reason (status 1).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "..", "lit", "debug", "Inputs", "prog.mir")
# dce removes a line, test-miscompile changes one, the second dce does nothing.
PIPELINE = "dce,test-miscompile,dce"
TITLES = ["input", "#0 dce", "#3 test-miscompile", "#6 dce"]


def fail(msg):
    print("FAIL: " + msg)
    return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mir-opt", default=shutil.which("mir-opt"))
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    if not os.path.exists(args.chromium):
        print("SKIP: %s not found (install the Debian package 'chromium' to run "
              "this check)" % args.chromium)
        return 77  # ctest: SKIP_RETURN_CODE
    if not args.mir_opt or not os.path.exists(args.mir_opt):
        return fail("mir-opt not found (use --mir-opt)")

    tmp = tempfile.mkdtemp(prefix="check-html-")
    try:
        page = os.path.join(tmp, "sum.html")
        p = subprocess.run([args.mir_opt, "-p", PIPELINE, "--dump-func=sum",
                            "--dump-html=" + page, "-o", os.devnull, PROGRAM],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            return fail("mir-opt failed: " + p.stderr.decode(errors="replace"))
        profile = os.path.join(tmp, "profile")
        cmd = [args.chromium, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
               "--dump-dom", "file://" + page]
        try:
            c = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=120)
        except subprocess.TimeoutExpired:
            return fail("chromium timed out")
        dom = c.stdout.decode(errors="replace")
        if c.returncode != 0 or "<body" not in dom:
            return fail("chromium exited %d: %s" % (c.returncode,
                                                    c.stderr.decode(errors="replace")[-2000:]))
        m = re.search(r'<body[^>]*data-columns="(\d+)"', dom)
        if not m:
            return fail("the page's script did not run (no data-columns on <body>)")
        columns = re.findall(r'<div class="column[^"]*" data-index="\d+">\s*<h2 title="([^"]*)"', dom)
        if int(m.group(1)) != len(TITLES) or columns != TITLES:
            return fail("expected columns %s, the page has %s (script counted %s)"
                        % (TITLES, columns, m.group(1)))
        if 'class="line changed"' not in dom:
            return fail("no changed line is highlighted")
        if 'data-v="%t"' not in dom or 'data-b="body"' not in dom:
            return fail("values and blocks are not clickable spans")
        print("PASS: %d columns: %s" % (len(columns), ", ".join(columns)))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
