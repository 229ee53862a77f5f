// The pass manager: runs a sequence of passes over a module, keeps the
// AnalysisManager's cache honest after each pass, and calls instrumentation
// hooks around every pass application (IR dumps, --verify-each, and later
// --dump-changed, --bisect-limit and --time-passes hang off these hooks, so
// the manager itself never grows tool options).
//
// Pipelines are text:
//   pipeline ::= (pass (',' pass)*)?
//   pass     ::= NAME ('<' option (';' option)* '>')?
//   option   ::= KEY ('=' VALUE)?
// with NAME and KEY made of [A-Za-z0-9_.-], VALUE of anything but ';' '>' ',',
// and blanks allowed around every token.
#pragma once

#include "passes/AnalysisManager.h"
#include "passes/Pass.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace qmir {

/// One application of a pass: a function pass applied to one function, or a
/// module pass applied to the module.
struct PassRunInfo {
  const Pass &pass;
  Module &module;
  Function *function = nullptr; ///< null for a module pass
  /// 0-based count of pass applications before this one in the current
  /// PassManager::run (stable across runs of the same pipeline on the same
  /// input, so it can name "the 7th application" for bisection).
  unsigned index = 0;
  /// 0-based position of the pass in the pipeline.
  unsigned position = 0;

  llvm::StringRef passName() const { return pass.name(); }
};

/// Hooks around every pass application. All default to doing nothing.
class PassInstrumentation {
public:
  virtual ~PassInstrumentation();
  /// Return false to skip this application (the pass does not run and the
  /// before/after hooks are not called; passSkipped is).
  virtual bool shouldRun(const PassRunInfo &info) { return true; }
  virtual void passSkipped(const PassRunInfo &info) {}
  virtual void beforePass(const PassRunInfo &info) {}
  /// Called after the pass ran and the analyses it did not preserve were
  /// dropped. Return false to stop the pipeline (e.g. the IR is now invalid).
  virtual bool afterPass(const PassRunInfo &info, const PreservedAnalyses &pa) {
    return true;
  }
  /// Whether this hook depends on the order of pass applications (dumps,
  /// verification, counting). When no hook does, the manager may run a
  /// sequence of function passes function by function (see run()).
  virtual bool observesOrder() const { return true; }
};

class PassManager {
public:
  PassManager() = default;
  PassManager(PassManager &&) = default;
  PassManager &operator=(PassManager &&) = default;

  void addPass(std::unique_ptr<Pass> p) { passes_.push_back(std::move(p)); }
  size_t size() const { return passes_.size(); }
  bool empty() const { return passes_.empty(); }
  const Pass &pass(size_t i) const { return *passes_[i]; }

  /// Instrumentations are not owned and must outlive every run. They are
  /// called in the order they were added.
  void addInstrumentation(PassInstrumentation &pi) { instr_.push_back(&pi); }

  /// Runs the pipeline: function passes on each function with a body, in
  /// module order; module passes once. Returns false if an instrumentation
  /// stopped the pipeline.
  bool run(Module &m, AnalysisManager &am);
  /// Same, with a fresh AnalysisManager.
  bool run(Module &m);

  /// True if every pass is a function pass: then the pipeline can run on one
  /// function at a time, each as soon as it exists (mir-opt's streaming mode).
  bool onlyFunctionPasses() const;
  /// Runs a pipeline of function passes (onlyFunctionPasses()) on `f`, the
  /// body number `bodyIndex` of `numBodies` in its module: the same pass
  /// applications, with the same numbers, that run() makes on `f` when it
  /// goes function by function. Returns false if an instrumentation stopped
  /// the pipeline.
  bool runOnFunction(Function &f, AnalysisManager &am, unsigned bodyIndex,
                     unsigned numBodies);

  /// The pipeline in the syntax parsePassPipeline accepts.
  void printPipeline(llvm::raw_ostream &os) const;

private:
  /// One application through the hooks; false stops the pipeline.
  bool apply(const PassRunInfo &info, llvm::function_ref<PreservedAnalyses()> body);
  bool runFunctionPass(FunctionPass &fp, Function &f, AnalysisManager &am, unsigned index,
                       unsigned pos);

  std::vector<std::unique_ptr<Pass>> passes_;
  std::vector<PassInstrumentation *> instr_;
};

/// Appends the passes of `text` to `pm`. On error nothing is appended and the
/// error message names the problem and its 1-based column, followed by the
/// pipeline and a caret line (ready to print after "error: ").
llvm::Error parsePassPipeline(PassManager &pm, llvm::StringRef text,
                              const PassRegistry &registry = PassRegistry::global());

} // namespace qmir
