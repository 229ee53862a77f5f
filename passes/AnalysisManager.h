// Caches per-function analysis results between passes and drops them when a
// pass reports (through PreservedAnalyses) that it may have invalidated them.
//
// An analysis is a type with:
//   using Result = ...;                       // what passes query
//   static const AnalysisKey *key();          // its identity
//   static Result run(Function &f, AnalysisManager &am);
// and optionally `static constexpr bool cfgOnly = true;` when the result
// depends only on the block graph, so that it survives passes that preserve
// CFGAnalyses. Results are built in place (no copy or move is required).
#pragma once

#include "passes/Pass.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <memory>
#include <type_traits>
#include <utility>

namespace qmir {

class AnalysisManager {
public:
  AnalysisManager() = default;
  AnalysisManager(const AnalysisManager &) = delete;
  AnalysisManager &operator=(const AnalysisManager &) = delete;
  ~AnalysisManager();

  /// The result of analysis A on f, computed now if not cached. The reference
  /// stays valid until the result is invalidated.
  template <typename A> typename A::Result &getResult(Function &f) {
    auto k = std::make_pair(static_cast<const Function *>(&f), A::key());
    auto it = cache_.find(k);
    if (it != cache_.end())
      return static_cast<Model<A> *>(it->second.get())->result;
    // A::run may ask for other analyses, which inserts into cache_: build the
    // result before taking a slot.
    auto model = std::make_unique<Model<A>>(f, *this);
    ++computations_[A::key()];
    auto &slot = cache_[k];
    slot = std::move(model);
    keysOf_[&f].push_back(A::key());
    return static_cast<Model<A> *>(slot.get())->result;
  }

  /// The cached result, or nullptr (never computes).
  template <typename A>
  typename A::Result *getCachedResult(const Function &f) const {
    auto it = cache_.find(std::make_pair(&f, A::key()));
    if (it == cache_.end())
      return nullptr;
    return &static_cast<Model<A> *>(it->second.get())->result;
  }

  /// Drops f's results that `pa` does not preserve.
  void invalidate(const Function &f, const PreservedAnalyses &pa);
  /// Drops every function's results that `pa` does not preserve (after a
  /// module pass, which may have changed or erased any function).
  void invalidateAll(const PreservedAnalyses &pa);
  void clear() {
    cache_.clear();
    keysOf_.clear();
  }

  /// Number of times analysis `k` was computed (for tests and statistics).
  unsigned numComputations(const AnalysisKey *k) const {
    auto it = computations_.find(k);
    return it == computations_.end() ? 0 : it->second;
  }
  size_t numCachedResults() const { return cache_.size(); }

private:
  struct Concept {
    virtual ~Concept() = default;
    virtual bool invalidatedBy(const PreservedAnalyses &pa) const = 0;
  };

  template <typename A, typename = void> struct IsCFGOnly : std::false_type {};
  template <typename A>
  struct IsCFGOnly<A, std::void_t<decltype(A::cfgOnly)>>
      : std::bool_constant<A::cfgOnly> {};

  template <typename A> struct Model final : Concept {
    Model(Function &f, AnalysisManager &am) : result(A::run(f, am)) {}
    bool invalidatedBy(const PreservedAnalyses &pa) const override {
      if (pa.isPreserved(A::key()))
        return false;
      return !(IsCFGOnly<A>::value && pa.isPreserved(CFGAnalyses::key()));
    }
    typename A::Result result;
  };

  using Key = std::pair<const Function *, const AnalysisKey *>;
  llvm::DenseMap<Key, std::unique_ptr<Concept>> cache_;
  // The analyses cached for each function, so that invalidating one
  // function's results does not walk every function's (which made a
  // function pipeline over many functions quadratic).
  llvm::DenseMap<const Function *, llvm::SmallVector<const AnalysisKey *, 4>>
      keysOf_;
  llvm::DenseMap<const AnalysisKey *, unsigned> computations_;
};

} // namespace qmir
