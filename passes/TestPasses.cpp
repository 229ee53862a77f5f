// Passes that exist only to test the pass infrastructure from lit tests, the
// way mlir-opt carries -test-* passes: the tools cannot otherwise show that
// --verify-each catches a pass that breaks the IR. They are registered as
// test-only, so `mir-opt --list-passes` keeps them apart.
#include "passes/PassManager.h"

namespace qmir {

namespace {

/// Erases the terminator of each function's last block, which every verifier
/// must reject.
class BreakIRPass : public FunctionPass {
public:
  llvm::StringRef name() const override { return "test-break-ir"; }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    Block &last = f.blocks().back();
    Instruction *t = last.terminator();
    if (!t)
      return PreservedAnalyses::all();
    t->eraseFromParent();
    return PreservedAnalyses::none();
  }
};

} // namespace

void registerTestPasses(PassRegistry &registry) {
  registry.add<BreakIRPass>(
      "test-break-ir",
      "removes the terminator of each function's last block (tests "
      "--verify-each)",
      /*testOnly=*/true);
}

} // namespace qmir
