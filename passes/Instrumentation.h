// Pass instrumentations used by tools: IR dumps around passes (the
// --dump-before/--dump-after family) and verification after every pass
// (--verify-each). They only use the PassInstrumentation hooks, so tools can
// stack them with others.
#pragma once

#include "mir/Printer.h"
#include "passes/DebugInstrumentation.h"
#include "passes/PassManager.h"

#include <string>
#include <vector>

namespace qmir {

struct IRDumpOptions {
  std::vector<std::string> before; ///< pass names to dump before
  std::vector<std::string> after;  ///< pass names to dump after
  bool beforeAll = false;
  bool afterAll = false;
  /// Only dump these functions (names or globs); empty means all.
  FunctionFilter functions;
  /// Print the whole module, not just the function the pass ran on.
  bool moduleScope = false;
  PrintOptions print;
};

/// Prints `*** IR Dump Before|After PASS on @FN ***` and the function (or
/// `on [module]` and the module, restricted to `functions`, for a module pass).
/// With moduleScope, every dump is the whole module.
class PrintIRInstrumentation : public PassInstrumentation {
public:
  PrintIRInstrumentation(llvm::raw_ostream &os, IRDumpOptions opts)
      : os_(os), opts_(std::move(opts)) {}
  void beforePass(const PassRunInfo &info) override;
  bool afterPass(const PassRunInfo &info, const PreservedAnalyses &pa) override;

private:
  bool wantsFunction(const Function &f) const;
  void dump(llvm::StringRef when, const PassRunInfo &info);

  llvm::raw_ostream &os_;
  IRDumpOptions opts_;
};

/// Runs the verifier after every pass application and stops the pipeline at
/// the first one that leaves invalid IR, reporting the pass, the function and
/// every error.
class VerifyInstrumentation : public PassInstrumentation {
public:
  explicit VerifyInstrumentation(llvm::raw_ostream &errs) : errs_(errs) {}
  bool afterPass(const PassRunInfo &info, const PreservedAnalyses &pa) override;
  bool failed() const { return failed_; }

private:
  llvm::raw_ostream &errs_;
  bool failed_ = false;
};

} // namespace qmir
