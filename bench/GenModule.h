// Generator of "frontend-style" benchmark modules: many functions of 150-450
// instructions that keep every local in an alloca, loop with condbr, do
// arithmetic with foldable constants and call each other, plus a loop-heavy
// @main. The same pseudo-random decisions produce MIR text (docs/mir.md) or an
// equivalent LLVM IR module, so qmir can be compared with `opt` on the same
// program and `lli` can cross-check what qmir's interpreter computes.
#pragma once

#include <cstdint>
#include <string>

namespace qmir::bench {

enum class GenFormat { MIR, LLVM };

struct GenOptions {
  /// Stop adding functions once this many instructions were emitted.
  uint64_t instructions = 1000000;
  /// Iterations of @main's loop (each calls 8 functions spread over the module).
  uint64_t mainIterations = 20;
  /// Functions @f1..@fN are "very large": instructions/25 each (about 40,000
  /// in a 1M-instruction module), like the big functions frontends emit for
  /// generated code; the rest have 150-450.
  unsigned largeFunctions = 3;
  /// Emit `!LINE:COL` locations on MIR instructions, as a frontend would.
  bool locations = false;
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  GenFormat format = GenFormat::MIR;
};

struct GenResult {
  std::string text;
  uint64_t instructions = 0; ///< instructions in all bodies, terminators included
  uint64_t functions = 0;    ///< defined functions, @main included
};

GenResult generateModule(const GenOptions &opts);

} // namespace qmir::bench
