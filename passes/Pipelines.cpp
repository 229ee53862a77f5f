// The -O levels. Each level is a pipeline string, so `mir-opt -p` can run the
// same passes one at a time when a level misbehaves.
#include "passes/Pipelines.h"

#include "passes/PassManager.h"
#include "passes/PassRegistry.h"

using namespace qmir;

llvm::StringRef qmir::pipelineForLevel(unsigned level) {
  switch (level) {
  case 0:
    // Code generation wants actors' loops and stubs, decision trees, not
    // `match`, and poll state machines, not `await` (actor-lower and
    // coro-split leave a module without actors or tasks alone).
    return "actor-lower,match-lower,coro-split";
  case 1:
    // SSA, then the cheap clean-ups.
    return "actor-lower,match-lower,mem2reg,constfold,simplifycfg,dce,coro-split,simplifycfg";
  default:
    // Inline on frontend-style IR (callee allocas join the caller's and are
    // promoted with them), then SSA, propagation, redundancy and loop
    // clean-ups; coro-split once the functions are small and in SSA form (so
    // frames hold few values), and a final sweep over the state machines.
    return "actor-lower,inline,match-lower,mem2reg,sccp,constfold,simplifycfg,cse,licm,dce,"
           "coro-split,dce,simplifycfg";
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
