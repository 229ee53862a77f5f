// Passes that exist only to test the pass infrastructure from lit tests, the
// way mlir-opt carries -test-* passes: the tools cannot otherwise show that
// --verify-each catches a pass that breaks the IR, that a crash names its pass
// and writes a reproducer, or that tools/bisect-passes finds a pass that
// silently miscompiles. They are registered as test-only, so
// `mir-opt --list-passes` keeps them apart.
#include "passes/PassManager.h"

#include <cstdlib>

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

/// Turns the first `add` of each function into a `sub`: valid IR with a
/// different meaning, the kind of bug only running the program reveals (and
/// what tools/bisect-passes is for).
class MiscompilePass : public FunctionPass {
public:
  llvm::StringRef name() const override { return "test-miscompile"; }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    for (Block &b : f.blocks())
      for (Instruction &i : b.insts())
        if (i.opcode() == Opcode::Add) {
          Instruction *sub = f.createInst(Opcode::Sub, i.type(), {i.operand(0), i.operand(1)});
          sub->setLoc(i.loc());
          sub->setName(i.name());
          sub->insertBefore(&i);
          i.replaceAllUsesWith(sub);
          i.eraseFromParent();
          return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
        }
    return PreservedAnalyses::all();
  }
};

/// Aborts when it reaches a function named `crash` (or, with `always`, any
/// function), to test that a crash inside a pass names the pass and function
/// and writes a reproducer.
class CrashPass : public FunctionPass {
public:
  explicit CrashPass(PassOptions &opts) : always_(opts.takeBool("always", false)) {}
  llvm::StringRef name() const override { return "test-crash"; }
  void printOptions(llvm::raw_ostream &os) const override {
    if (always_)
      os << "always";
  }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    if (always_ || f.name() == "crash")
      std::abort();
    return PreservedAnalyses::all();
  }

private:
  bool always_;
};

} // namespace

void registerTestPasses(PassRegistry &registry) {
  registry.add<BreakIRPass>(
      "test-break-ir",
      "removes the terminator of each function's last block (tests "
      "--verify-each)",
      /*testOnly=*/true);
  registry.add<MiscompilePass>(
      "test-miscompile",
      "turns the first add of each function into a sub (tests bisection)",
      /*testOnly=*/true);
  registry.add<CrashPass>(
      "test-crash",
      "aborts on a function named @crash, or on any with <always> (tests crash "
      "reports)",
      /*testOnly=*/true);
}

} // namespace qmir
