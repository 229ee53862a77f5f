// A seeded generator of random, terminating MIR modules for the
// pass-verification suite (tools/pass-harness and unit tests).
//
// The modules look like what frontends produce and what passes must survive:
// variables in allocas with binding records (including a user `v` and a
// macro-gensym `v` side by side), loops that carry values through memory and
// through block arguments, `match` over an Option with nested literal
// patterns, struct fields written through `struct.addr`, divisions whose
// divisor may be zero (so some runs panic), conditional `panic`s, prints, and
// calls between functions, and optionally suspension points (awaits, for
// coro-split). Every loop is bounded and the call graph is
// acyclic, so every module terminates; @main returns an i64 that mixes the
// variables, so a miscompiled value changes the exit status or the output.
// The same seed and options give the same module on every platform.
#pragma once

#include "mir/IR.h"

#include <cstdint>
#include <memory>

namespace qmir::testing {

struct RandomMIROptions {
  unsigned numHelpers = 2;    ///< functions @h0.. callable from later ones
  unsigned numVars = 4;       ///< i64 variables per function
  unsigned stmtsPerBlock = 5; ///< statements per statement list
  unsigned maxDepth = 3;      ///< nesting of if / loop / match
  unsigned maxTrip = 4;       ///< loop trip counts are in [0, maxTrip]
  unsigned panicPercent = 3;  ///< chance a statement is a conditional panic
  /// Chance a statement is a suspension point, `await @qz_yield_poll()`
  /// (the task yields once and goes on): functions that await, and their
  /// callers, become state machines under coro-split. 0 keeps the modules of
  /// earlier versions exactly (no random number is drawn for it).
  unsigned awaitPercent = 0;
};

std::unique_ptr<Module> generateRandomModule(uint64_t seed,
                                             const RandomMIROptions &opts = {});

} // namespace qmir::testing
