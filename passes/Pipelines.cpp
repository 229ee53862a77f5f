// The -O levels. Each level is a pipeline string, so `mir-opt -p` can run the
// same passes one at a time when a level misbehaves.
#include "passes/Pipelines.h"

#include "passes/PassManager.h"
#include "passes/PassRegistry.h"

using namespace qmir;

llvm::StringRef qmir::pipelineForLevel(unsigned level) {
  switch (level) {
  case 0:
    // Code generation wants decision trees, not `match`.
    return "match-lower";
  case 1:
    // SSA, then the cheap clean-ups.
    return "match-lower,mem2reg,constfold,simplifycfg,dce";
  default:
    // Inline on frontend-style IR (callee allocas join the caller's and are
    // promoted with them), then SSA, propagation, redundancy and loop
    // clean-ups, and a final sweep.
    return "inline,match-lower,mem2reg,sccp,constfold,simplifycfg,cse,licm,dce,"
           "simplifycfg";
  }
}

bool qmir::runPipeline(Module &m, llvm::StringRef text, std::string &error) {
  registerAllPasses();
  PassManager pm;
  if (llvm::Error e = parsePassPipeline(pm, text)) {
    error = llvm::toString(std::move(e));
    return false;
  }
  pm.run(m);
  return true;
}

bool qmir::runOptimizationPipeline(Module &m, unsigned level, std::string &error) {
  return runPipeline(m, pipelineForLevel(level), error);
}
