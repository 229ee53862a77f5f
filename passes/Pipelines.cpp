// The -O levels. Each level is a pipeline string, so `mir-opt -p` can run the
// same passes one at a time when a level misbehaves.
#include "passes/Pipelines.h"

#include "passes/PassManager.h"
#include "passes/PassRegistry.h"

using namespace qmir;

llvm::StringRef qmir::pipelineForLevel(unsigned level) {
  switch (level) {
  case 0:
    return "";
  case 1:
    return "dce";
  default:
    return "dce";
  }
}

bool qmir::runOptimizationPipeline(Module &m, unsigned level, std::string &error) {
  registerAllPasses();
  PassManager pm;
  if (llvm::Error e = parsePassPipeline(pm, pipelineForLevel(level))) {
    error = llvm::toString(std::move(e));
    return false;
  }
  pm.run(m);
  return true;
}
