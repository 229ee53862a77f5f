// The pass interface: function and module passes, the PreservedAnalyses a pass
// returns, and the options a pass accepts in a textual pipeline
// (`inline<threshold=50>`). Passes are created by name through the
// PassRegistry and run by the PassManager; both live in their own headers so
// that a pass only needs this one.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qmir {

class AnalysisManager;

/// Identity of an analysis or of a set of analyses: the address of a static
/// object, so ids are unique without a central enum.
struct AnalysisKey {
  const char *name;
};

/// What a pass promises it did not invalidate. A pass that changed nothing
/// returns all(); one that changed instructions but not the block graph
/// returns none().preserveSet<CFGAnalyses>().
class PreservedAnalyses {
public:
  static PreservedAnalyses all() {
    PreservedAnalyses pa;
    pa.all_ = true;
    return pa;
  }
  static PreservedAnalyses none() { return PreservedAnalyses(); }

  PreservedAnalyses &preserve(const AnalysisKey *k) {
    preserved_.insert(k);
    return *this;
  }
  template <typename A> PreservedAnalyses &preserve() { return preserve(A::key()); }
  /// Sets (such as CFGAnalyses) are keys too; an analysis declares membership.
  template <typename S> PreservedAnalyses &preserveSet() { return preserve(S::key()); }

  bool areAllPreserved() const { return all_; }
  bool isPreserved(const AnalysisKey *k) const {
    return all_ || preserved_.count(k) != 0;
  }
  template <typename A> bool isPreserved() const { return isPreserved(A::key()); }

  /// Keeps only what both preserve (combining the results of several runs).
  void intersect(const PreservedAnalyses &o);

private:
  bool all_ = false;
  llvm::SmallPtrSet<const AnalysisKey *, 4> preserved_;
};

/// The set of analyses computed from the block graph alone (blocks and the
/// targets of terminators), such as dominators. Preserved by a pass that adds,
/// removes or rewrites instructions and block arguments but never blocks or
/// edges.
struct CFGAnalyses {
  static const AnalysisKey *key();
};

/// Options given to a pass in a pipeline, `name<key=value;flag>`. A pass's
/// constructor takes the ones it understands; whatever is left over, or
/// malformed, becomes a pipeline error that names the option.
class PassOptions {
public:
  struct Entry {
    std::string key;
    std::string value;
    bool hasValue = false;
    unsigned column = 0; ///< 1-based column in the pipeline text (0: unknown)
    bool consumed = false;
  };

  void add(llvm::StringRef key, std::optional<llvm::StringRef> value,
           unsigned column = 0);
  bool empty() const { return entries_.empty(); }
  bool has(llvm::StringRef key) const;

  /// An integer option (decimal, optional '-'); `def` when absent.
  int64_t takeInt(llvm::StringRef key, int64_t def);
  /// `key`, `key=true` or `key=false`; `def` when absent.
  bool takeBool(llvm::StringRef key, bool def);
  std::string takeString(llvm::StringRef key, llvm::StringRef def);

  /// First problem found: a malformed value or an option nobody took.
  struct Problem {
    std::string message;
    unsigned column = 0;
  };
  std::optional<Problem> problem(llvm::StringRef passName) const;

  llvm::ArrayRef<Entry> entries() const { return entries_; }

private:
  Entry *find(llvm::StringRef key);
  std::vector<Entry> entries_;
  std::optional<Problem> bad_;
};

class Pass {
public:
  enum class Kind { Function, Module };
  virtual ~Pass();
  Kind kind() const { return kind_; }
  /// The name used in pipelines, dumps and diagnostics ("dce").
  virtual llvm::StringRef name() const = 0;
  /// Options in pipeline syntax, without the brackets; empty when the pass
  /// has none or all are at their defaults.
  virtual void printOptions(llvm::raw_ostream &os) const {}

protected:
  explicit Pass(Kind k) : kind_(k) {}

private:
  Kind kind_;
};

/// A pass that looks at one function at a time. The pass manager runs it on
/// every function with a body, in module order.
class FunctionPass : public Pass {
public:
  FunctionPass() : Pass(Kind::Function) {}
  virtual PreservedAnalyses run(Function &f, AnalysisManager &am) = 0;
};

/// A pass over the whole module (inlining, removing functions, ...).
class ModulePass : public Pass {
public:
  ModulePass() : Pass(Kind::Module) {}
  virtual PreservedAnalyses run(Module &m, AnalysisManager &am) = 0;
};

} // namespace qmir
