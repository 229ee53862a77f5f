// Aggressive dead code elimination (see DCE.cpp for the algorithm).
#pragma once

#include "passes/Pass.h"

namespace qmir {

struct DCEStats {
  unsigned instructions = 0; ///< dead instructions removed (dbg not counted)
  unsigned blockArgs = 0;    ///< dead block parameters removed
  unsigned dbgs = 0;         ///< dbg instructions dropped with their value
  bool changed() const { return instructions || blockArgs || dbgs; }
};

/// Removes every instruction and block parameter whose value cannot affect a
/// side effect, a terminator or the return value. O(instructions + operands),
/// except that each edge losing arguments rebuilds its terminator's operand
/// list.
DCEStats eliminateDeadCode(Function &f);

class DCEPass : public FunctionPass {
public:
  llvm::StringRef name() const override { return "dce"; }
  PreservedAnalyses run(Function &f, AnalysisManager &am) override;
  /// Totals over every function this pass object ran on.
  const DCEStats &stats() const { return stats_; }

private:
  DCEStats stats_;
};

} // namespace qmir
