// SSA construction: promotes non-escaping allocas to SSA values carried in
// block arguments (see Mem2Reg.cpp for the algorithm).
#pragma once

#include "passes/Pass.h"

namespace qmir {

struct Mem2RegStats {
  unsigned promoted = 0;   ///< allocas removed
  unsigned blockArgs = 0;  ///< block parameters created
  unsigned loads = 0;      ///< loads replaced by SSA values
  unsigned stores = 0;     ///< stores removed
  unsigned splitEdges = 0; ///< match-arm edges split to make room for parameters
  bool changed() const { return promoted != 0; }
};

/// Promotes every alloca of `f` whose address does not escape (used only as
/// the pointer of loads and stores of its own type, directly or through
/// struct.addr chains, or by dbg). Near-linear in the size of the function
/// plus the size of the dominance frontiers.
Mem2RegStats promoteMemoryToRegisters(Function &f);

class Mem2RegPass : public FunctionPass {
public:
  llvm::StringRef name() const override { return "mem2reg"; }
  PreservedAnalyses run(Function &f, AnalysisManager &am) override;
  const Mem2RegStats &stats() const { return stats_; }

private:
  Mem2RegStats stats_;
};

} // namespace qmir
