// Liveness of SSA values: for every block, the values live on entry and on
// exit, as bit vectors over a dense numbering of the function's values
// (arguments, block parameters and instructions with a result). Used by
// register-pressure-minded passes and by coro-split, which must save exactly
// the values live across a suspension point.
//
// Conventions (block-argument SSA):
// - A block's parameters are defined at its top: they are never in its own
//   live-in set. Function arguments are defined at the top of the entry block.
// - A value passed along an edge (`br L(%v)`) is used at the end of the
//   predecessor: it is live-out there, not live-in at L.
// - A match arm's bindings are parts of the scrutinee (an ordinary operand).
// - By default a `dbg` operand counts as a use (the dbg must still see its
//   value); `ignoreDbgUses` leaves them out for clients that drop such dbgs.
//
// Algorithm: path exploration per value (Brandner et al., "Computing
// Liveness Sets for SSA-Form Programs"): from every use, walk predecessor
// edges backwards marking live-in/live-out until reaching the defining block
// or a block already marked. The work is proportional to the total size of
// the live sets, with no iteration to a fixed point. The sets are
// llvm::SparseBitVector, so memory also scales with the live sets rather than
// blocks x values (1M-instruction modules stay cheap). Values are numbered in
// increasing order and each block's bits are set in that order, which makes
// every insertion an append.
#pragma once

#include "mir/IR.h"
#include "passes/AnalysisManager.h"

#include "llvm/ADT/SparseBitVector.h"

#include <cstdint>
#include <vector>

namespace qmir {

class Liveness {
public:
  using Set = llvm::SparseBitVector<128>;
  struct Options {
    bool ignoreDbgUses = false;
  };

  explicit Liveness(const Function &f) : Liveness(f, Options{}) {}
  Liveness(const Function &f, Options opts);

  /// Size of the dense numbering.
  unsigned numValues() const { return static_cast<unsigned>(values_.size()); }
  /// Dense number of an argument, block parameter or instruction with a
  /// result of this function; -1 for anything else (constants, void results,
  /// values created after the analysis ran).
  int index(const Value *v) const {
    if (!v || v->isConstant() || v->id() >= index_.size())
      return -1;
    uint32_t k = index_[v->id()];
    return k == kNone || values_[k] != v ? -1 : static_cast<int>(k);
  }
  const Value *value(unsigned index) const { return values_[index]; }

  /// Values live on entry to / exit from `b` (empty for unknown blocks).
  const Set &liveIn(const Block *b) const { return get(liveIn_, b); }
  const Set &liveOut(const Block *b) const { return get(liveOut_, b); }
  bool isLiveIn(const Value *v, const Block *b) const {
    int k = index(v);
    return k >= 0 && liveIn(b).test(k);
  }
  bool isLiveOut(const Value *v, const Block *b) const {
    int k = index(v);
    return k >= 0 && liveOut(b).test(k);
  }

private:
  static constexpr uint32_t kNone = ~uint32_t(0);
  const Set &get(const std::vector<Set> &sets, const Block *b) const {
    return b && b->id() < sets.size() ? sets[b->id()] : empty_;
  }

  std::vector<const Value *> values_; // dense number -> value
  std::vector<uint32_t> index_;       // value id -> dense number
  std::vector<Set> liveIn_, liveOut_; // by block id
  Set empty_;
};

/// Liveness for the AnalysisManager. Depends on instructions, not only on the
/// block graph, so any change invalidates it.
struct LivenessAnalysis {
  using Result = Liveness;
  static const AnalysisKey *key();
  static Result run(Function &f, AnalysisManager &) { return Liveness(f); }
};

} // namespace qmir
