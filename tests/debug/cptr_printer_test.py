#!/usr/bin/env python3
"""gdb pretty-printer test: stops mir-opt in Instruction::eraseFromParent while
`dce` removes an unused instruction, loads tools/gdb/qmir.py, and checks that
`p *this` shows the instruction's CPtr fields (mir/Cage.h) as the pointers they
stand for, and that `$cptr(...)` follows one to its object.

  cptr_printer_test.py --mir-opt build/bin/mir-opt [--gdb gdb]
Exit 0 on success; 77 (skipped) if gdb is missing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRINTERS = os.path.join(ROOT, "tools", "gdb", "qmir.py")
MIR = """fn @f(%x: i64) -> i64 {
entry:
  %a = add i64 %x, 1
  %dead = mul i64 %x, 2 !3:5
  ret %a
}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mir-opt", required=True)
    ap.add_argument("--gdb", default="gdb")
    args = ap.parse_args()
    gdb = shutil.which(args.gdb)
    if not gdb:
        print("SKIP: gdb not found")
        sys.exit(77)
    with tempfile.TemporaryDirectory(prefix="qmir-cptr-") as tmp:
        src = os.path.join(tmp, "dead.mir")
        with open(src, "w") as f:
            f.write(MIR)
        cmds = ["-ex", f"source {PRINTERS}",
                "-ex", "break qmir::Instruction::eraseFromParent",
                "-ex", "run",
                "-ex", "print *this",
                "-ex", "print $cptr(this->parent_)->id_",
                "-ex", "print *$cptr(this->parent_)"]
        p = subprocess.run([gdb, "--batch", "-nx"] + cmds +
                           ["--args", args.mir_opt, "-p", "dce", src, "-o", os.devnull],
                           capture_output=True, text=True, timeout=120)
    out = p.stdout
    failures = []
    expect = [
        (r'name = "dead"[,}]', "the instruction's name through its CPtr"),
        (r"type_ = \(const qmir::Type \*\) 0x[0-9a-f]+", "type_ as a Type pointer"),
        (r"parent_ = \(qmir::Block \*\) 0x[0-9a-f]+", "parent_ as a Block pointer"),
        (r"operands = 2\b", "the operand count"),
        (r"opcode = qmir::Opcode::Mul\b", "the opcode, without the location bit"),
        (r"loc = 1\b", "the location id, from the word after the instruction"),
        (r"operand\[0\] = \(qmir::Value \*\) 0x[0-9a-f]+", "the first operand, found before the instruction"),
        (r"operand\[1\] = \(qmir::Value \*\) 0x[0-9a-f]+", "the second operand"),
        (r"firstUse_ = \(qmir::Use \*\) 0x0\b", "a null CPtr as a null pointer"),
        (r"\$2 = 0\b", "$cptr() following parent_ to the block (id 0)"),
        (r'name = "entry"[,}]', "the block's name through its CPtr"),
    ]
    for pattern, what in expect:
        if not re.search(pattern, out):
            failures.append(f"missing {what}: /{pattern}/")
    if failures:
        print("gdb output:\n" + out + "\n" + p.stderr)
        print("\n".join("FAIL: " + f for f in failures))
        sys.exit(1)
    print("ok: CPtr fields print as pointers and $cptr() follows them")


if __name__ == "__main__":
    main()
