// Loop info: the natural loops of a function and how they nest. A natural loop
// is found from its back edges: an edge P -> H whose target H (the header)
// dominates its source P (a latch). Its body is H plus every block that reaches
// a latch without passing through H. Back edges sharing a header make one loop.
// A cycle whose entry does not dominate the rest (an irreducible region) has
// no back edge in this sense and is not a loop; passes must treat its blocks
// as loop-free code, which is always safe for them.
//
// Algorithm (the one LLVM's LoopInfo uses): visit the headers bottom-up over
// the dominator tree (post-order), so that inner loops are built before the
// loops around them. For each header, walk predecessors backwards from its
// latches; a block that already belongs to a loop stands for its outermost
// enclosing loop built so far, which becomes a child of the new loop, and the
// walk continues from that child's header. Every block is claimed once per
// nesting level, so construction is O(edges * depth). Only reachable blocks
// are part of loops.
#pragma once

#include "mir/Dominators.h"
#include "mir/IR.h"
#include "passes/AnalysisManager.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <vector>

namespace qmir {

class LoopInfo;

class Loop {
public:
  Block *header() const { return blocks_.front(); }
  /// The loop around this one, or null for a top-level loop.
  Loop *parent() const { return parent_; }
  /// Loops nested directly inside this one, in the order they were found.
  llvm::ArrayRef<Loop *> subLoops() const { return subLoops_; }
  /// Every block of the loop, nested loops included; the header comes first,
  /// the rest in reverse post-order of the function (unless a pass added
  /// blocks through LoopInfo::addBlock).
  llvm::ArrayRef<Block *> blocks() const { return blocks_; }
  /// Sources of the back edges (blocks inside the loop branching to the
  /// header), each once, in reverse post-order.
  llvm::ArrayRef<Block *> latches() const { return latches_; }
  /// 1 for a top-level loop, 2 for a loop inside it, ...
  unsigned depth() const { return depth_; }
  bool isInnermost() const { return subLoops_.empty(); }

private:
  friend class LoopInfo;
  Loop *parent_ = nullptr;
  unsigned depth_ = 1;
  llvm::SmallVector<Loop *, 2> subLoops_;
  std::vector<Block *> blocks_;
  llvm::SmallVector<Block *, 2> latches_;
};

class LoopInfo {
public:
  LoopInfo(Function &f, const DominatorTree &dt);
  LoopInfo(LoopInfo &&) = default;
  LoopInfo &operator=(LoopInfo &&) = default;

  /// The innermost loop containing b, or null.
  Loop *loopFor(const Block *b) const {
    return b->id() < innermost_.size() ? innermost_[b->id()] : nullptr;
  }
  /// Nesting depth of b (0: in no loop).
  unsigned loopDepth(const Block *b) const {
    Loop *l = loopFor(b);
    return l ? l->depth() : 0;
  }
  bool isLoopHeader(const Block *b) const {
    Loop *l = loopFor(b);
    return l && l->header() == b;
  }
  /// Whether b is in l (or in a loop nested in l). O(depth).
  bool contains(const Loop *l, const Block *b) const;
  /// Whether `inner` is `outer` or nested inside it.
  static bool contains(const Loop *outer, const Loop *inner);

  llvm::ArrayRef<Loop *> topLevelLoops() const { return topLevel_; }
  /// Every loop, each after all the loops nested in it (innermost first).
  llvm::ArrayRef<Loop *> loopsInnermostFirst() const { return postOrder_; }
  size_t numLoops() const { return loops_.size(); }
  bool empty() const { return loops_.empty(); }

  /// Records a block a pass created as part of `l` and of every loop around
  /// it (null: of no loop). It is placed in each block list right before
  /// `before` when that block is in the list, else at the end.
  void addBlock(Block *b, Loop *l, const Block *before = nullptr);

  /// One line per loop, nested loops indented: "loop header=B depth=D
  /// blocks=[...] latches=[...]". Block names are those stored in the IR.
  void print(llvm::raw_ostream &os) const;

private:
  void printLoop(llvm::raw_ostream &os, const Loop *l) const;

  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<Loop *> topLevel_;
  std::vector<Loop *> postOrder_;
  std::vector<Loop *> innermost_; // block id -> innermost loop
};

/// LoopInfo for the AnalysisManager; depends only on the block graph.
struct LoopInfoAnalysis {
  using Result = LoopInfo;
  static constexpr bool cfgOnly = true;
  static const AnalysisKey *key();
  static Result run(Function &f, AnalysisManager &am);
};

} // namespace qmir
