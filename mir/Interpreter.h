// The MIR interpreter: the reference semantics of every instruction. Passes are
// checked against it (a program must print and return the same before and after
// optimisation), so it favours being exactly right and never crashing the host
// on bad IR, and is still fast enough to run real test programs: each function
// is translated once into a compact register-machine form, and MIR calls push
// frames on an explicit stack instead of recursing in C++.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <memory>
#include <string>

namespace qmir {

struct InterpResult {
  enum Kind { Returned, Panicked, Trapped } kind = Returned;
  /// Returned: the i64/i32/i8/i1 result (sign-extended; i1 is 0 or 1), 0 for
  /// void and for non-integer results.
  int64_t value = 0;
  /// Panicked: the panic message. Trapped: what went wrong.
  std::string message;
  /// Panicked/Trapped: the instruction that panicked or trapped, and the
  /// function it belongs to. Null when the failure is not tied to one (bad
  /// arguments to run()).
  const Instruction *inst = nullptr;
  const Function *function = nullptr;
};

struct InterpOptions {
  /// 0 = unlimited; exceeding it traps "instruction limit exceeded".
  uint64_t instructionLimit = 0;
  /// Frames alive at once (the entry function counts as one); a call beyond
  /// it traps "call depth limit exceeded".
  unsigned maxCallDepth = 10000;
};

class Interpreter {
public:
  /// Program output (qz_print_*) goes to `out`. `err` is kept for diagnostics
  /// of the interpreter itself; run() reports failures in its result and
  /// prints nothing there.
  Interpreter(const Module &m, llvm::raw_ostream &out, llvm::raw_ostream &err,
              InterpOptions opts = {});
  ~Interpreter();
  Interpreter(const Interpreter &) = delete;
  Interpreter &operator=(const Interpreter &) = delete;

  /// Runs f with integer arguments (normalised to each parameter's width).
  /// Functions are translated on first use and cached: call invalidate()
  /// after changing the module.
  InterpResult run(const Function &f, llvm::ArrayRef<int64_t> args = {});
  /// Instructions executed by the last run() (dbg instructions are not
  /// executed and not counted).
  uint64_t instructionsExecuted() const;
  /// Drops the cached translations.
  void invalidate();

private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// "FILE:LINE:COL" for a location of `m` ("<unknown>" for a file index with no
/// `source` line); the empty string for LocId 0.
std::string formatSourceLoc(const Module &m, LocId loc);

/// Runs @main and returns the process exit status: main's result (0 for void
/// main; taken modulo 256 like a process status), 101 after a panic (prints
/// "panic: MSG at FILE:LINE:COL" or "panic: MSG" to err), 70 after a trap
/// (prints "error: interpreter: ..." to err), 1 if there is no @main.
int runMain(const Module &m, llvm::raw_ostream &out, llvm::raw_ostream &err,
            InterpOptions opts = {});

} // namespace qmir
