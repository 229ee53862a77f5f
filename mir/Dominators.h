// Dominator trees. DomTreeBase is a generic Cooper-Harvey-Kennedy ("A Simple,
// Fast Dominance Algorithm") implementation over any graph described by a
// small traits struct, so the same code computes post-dominators by handing it
// the reverse CFG (with a virtual exit node). DominatorTree is the instance for
// a Function's CFG.
//
// Why CHK rather than Lengauer-Tarjan: MIR functions are small and reducible
// in practice, where CHK converges in two or three passes over flat arrays,
// is short enough to trust, and allocates nothing but a handful of vectors.
// Queries are O(1): dominance is answered with DFS intervals of the tree.
//
// The tree is a snapshot: after a pass changes the CFG, build a new one.
// Nodes the tree does not know (unreachable, or created after it was built)
// are reported as unreachable and are dominated by nothing but themselves.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <utility>
#include <vector>

namespace qmir {

/// DomTreeBase<Traits> needs from Traits:
///   using GraphRef = ...;   // cheap to copy, e.g. `const Function *`
///   using NodeRef = ...;    // cheap to copy and default-constructible; the
///                           // default value means "no node" (idom of root)
///   static NodeRef entry(GraphRef g);
///   static unsigned numIndices(GraphRef g);   // every index(n) < this
///   static unsigned index(GraphRef g, NodeRef n);
///   template <typename Fn> static void forEachSuccessor(GraphRef g, NodeRef n, Fn fn);
///       // calls fn(NodeRef) once per edge; must only yield valid nodes
template <typename Traits> class DomTreeBase {
public:
  using GraphRef = typename Traits::GraphRef;
  using NodeRef = typename Traits::NodeRef;

  DomTreeBase() = default;
  explicit DomTreeBase(GraphRef g) { recalculate(g); }

  void recalculate(GraphRef g);

  bool isReachable(NodeRef n) const { return num(n) != kNone; }
  /// Reflexive: every node the tree knows dominates itself; an unreachable
  /// node is dominated only by itself.
  bool dominates(NodeRef a, NodeRef b) const {
    if (a == b)
      return true;
    uint32_t na = num(a), nb = num(b);
    if (na == kNone || nb == kNone)
      return false;
    return in_[na] <= in_[nb] && out_[nb] <= out_[na];
  }
  bool properlyDominates(NodeRef a, NodeRef b) const {
    return a != b && dominates(a, b);
  }
  /// Immediate dominator; NodeRef{} for the root and unreachable nodes.
  NodeRef idom(NodeRef n) const {
    uint32_t k = num(n);
    if (k == kNone || k == 0)
      return NodeRef{};
    return rpo_[idom_[k]];
  }
  /// Depth in the tree (root: 0). Only meaningful for reachable nodes.
  unsigned level(NodeRef n) const {
    uint32_t k = num(n);
    return k == kNone ? 0 : level_[k];
  }
  /// The deepest node dominating both (both must be reachable), else NodeRef{}.
  NodeRef nearestCommonDominator(NodeRef a, NodeRef b) const {
    uint32_t x = num(a), y = num(b);
    if (x == kNone || y == kNone)
      return NodeRef{};
    while (x != y) {
      while (x > y)
        x = idom_[x];
      while (y > x)
        y = idom_[y];
    }
    return rpo_[x];
  }
  NodeRef root() const { return rpo_.empty() ? NodeRef{} : rpo_[0]; }
  /// Reachable nodes in reverse post-order (the root first).
  llvm::ArrayRef<NodeRef> rpo() const { return rpo_; }
  /// Position of a reachable node in rpo() (undefined for unreachable ones).
  unsigned rpoNumber(NodeRef n) const { return num(n); }
  /// Dominator-tree children, in reverse post-order.
  llvm::ArrayRef<NodeRef> children(NodeRef n) const {
    uint32_t k = num(n);
    if (k == kNone)
      return {};
    return llvm::ArrayRef<NodeRef>(children_).slice(
        childBegin_[k], childBegin_[k + 1] - childBegin_[k]);
  }

private:
  static constexpr uint32_t kNone = ~uint32_t(0);
  uint32_t num(NodeRef n) const {
    if (n == NodeRef{})
      return kNone;
    unsigned i = Traits::index(g_, n);
    return i < num_.size() ? num_[i] : kNone;
  }

  GraphRef g_{};
  std::vector<uint32_t> num_;        // node index -> rpo number, or kNone
  std::vector<NodeRef> rpo_;         // rpo number -> node
  std::vector<uint32_t> idom_;       // rpo number -> rpo number of idom
  std::vector<uint32_t> level_;      // rpo number -> depth
  std::vector<uint32_t> childBegin_; // rpo number -> first child (CSR)
  std::vector<NodeRef> children_;
  std::vector<uint32_t> in_, out_;   // rpo number -> DFS interval in the tree
};

template <typename Traits> void DomTreeBase<Traits>::recalculate(GraphRef g) {
  g_ = g;
  const unsigned numIdx = Traits::numIndices(g);
  num_.assign(numIdx, kNone);
  rpo_.clear();
  NodeRef entry = Traits::entry(g);
  if (entry == NodeRef{}) {
    idom_.clear();
    level_.clear();
    childBegin_.assign(1, 0);
    children_.clear();
    in_.clear();
    out_.clear();
    return;
  }

  // 1. Iterative DFS from the entry. Each node's successors are appended to
  // `succs` in one go when the node is discovered, so every node owns one
  // contiguous slice; the same slices later give the predecessor lists. While
  // the DFS runs, num_ holds the discovery (pre-order) number.
  std::vector<NodeRef> preNodes;    // pre-order number -> node
  std::vector<uint32_t> succBegin;  // pre-order number -> slice start
  std::vector<NodeRef> succs;
  std::vector<uint32_t> postOrder;  // pre-order numbers in post-order
  struct Frame {
    uint32_t pre;
    uint32_t next; // next position in succs to look at
  };
  std::vector<Frame> stack;
  preNodes.reserve(numIdx);
  succBegin.reserve(numIdx + 1);
  succs.reserve(2 * size_t(numIdx));
  postOrder.reserve(numIdx);
  auto discover = [&](NodeRef n) {
    uint32_t pre = static_cast<uint32_t>(preNodes.size());
    num_[Traits::index(g, n)] = pre;
    preNodes.push_back(n);
    succBegin.push_back(static_cast<uint32_t>(succs.size()));
    Traits::forEachSuccessor(g, n, [&](NodeRef s) { succs.push_back(s); });
    stack.push_back({pre, succBegin.back()});
  };
  discover(entry);
  while (!stack.empty()) {
    Frame &fr = stack.back();
    uint32_t end = fr.pre + 1 < succBegin.size()
                       ? succBegin[fr.pre + 1]
                       : static_cast<uint32_t>(succs.size());
    // Slices of nodes discovered later come after this one, so `end` is the
    // start of the next pre-order node's slice.
    bool descended = false;
    while (fr.next < end) {
      NodeRef s = succs[fr.next++];
      if (num_[Traits::index(g, s)] == kNone) {
        discover(s); // invalidates `fr`
        descended = true;
        break;
      }
    }
    if (!descended) {
      postOrder.push_back(stack.back().pre);
      stack.pop_back();
    }
  }
  succBegin.push_back(static_cast<uint32_t>(succs.size()));

  // 2. Renumber in reverse post-order.
  const uint32_t n = static_cast<uint32_t>(preNodes.size());
  std::vector<uint32_t> preToRpo(n);
  rpo_.resize(n);
  for (uint32_t k = 0; k < n; ++k) {
    uint32_t pre = postOrder[n - 1 - k];
    preToRpo[pre] = k;
    rpo_[k] = preNodes[pre];
  }
  for (uint32_t k = 0; k < n; ++k)
    num_[Traits::index(g, rpo_[k])] = k;

  // 3. Predecessors (by rpo number) in CSR form.
  std::vector<uint32_t> predBegin(n + 1, 0);
  for (NodeRef s : succs)
    ++predBegin[num_[Traits::index(g, s)] + 1];
  for (uint32_t k = 0; k < n; ++k)
    predBegin[k + 1] += predBegin[k];
  std::vector<uint32_t> preds(succs.size());
  {
    std::vector<uint32_t> fill(predBegin.begin(), predBegin.end() - 1);
    for (uint32_t pre = 0; pre < n; ++pre) {
      uint32_t from = preToRpo[pre];
      for (uint32_t e = succBegin[pre]; e < succBegin[pre + 1]; ++e)
        preds[fill[num_[Traits::index(g, succs[e])]]++] = from;
    }
  }

  // 4. Cooper-Harvey-Kennedy: iterate idom(b) = meet of processed preds until
  // nothing changes. With rpo numbers a dominator always has the smaller one.
  idom_.assign(n, kNone);
  idom_[0] = 0;
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t b = 1; b < n; ++b) {
      uint32_t newIdom = kNone;
      for (uint32_t e = predBegin[b]; e < predBegin[b + 1]; ++e) {
        uint32_t p = preds[e];
        if (idom_[p] == kNone)
          continue;
        if (newIdom == kNone) {
          newIdom = p;
          continue;
        }
        uint32_t x = p, y = newIdom;
        while (x != y) {
          while (x > y)
            x = idom_[x];
          while (y > x)
            y = idom_[y];
        }
        newIdom = x;
      }
      if (idom_[b] != newIdom) {
        idom_[b] = newIdom;
        changed = true;
      }
    }
  }

  // 5. Levels, children (CSR, in rpo order) and DFS intervals for O(1)
  // dominance queries.
  level_.assign(n, 0);
  childBegin_.assign(n + 1, 0);
  for (uint32_t b = 1; b < n; ++b) {
    level_[b] = level_[idom_[b]] + 1;
    ++childBegin_[idom_[b] + 1];
  }
  for (uint32_t k = 0; k < n; ++k)
    childBegin_[k + 1] += childBegin_[k];
  children_.assign(n ? n - 1 : 0, NodeRef{});
  std::vector<uint32_t> childNums(children_.size());
  {
    std::vector<uint32_t> fill(childBegin_.begin(), childBegin_.end() - 1);
    for (uint32_t b = 1; b < n; ++b) {
      uint32_t slot = fill[idom_[b]]++;
      children_[slot] = rpo_[b];
      childNums[slot] = b;
    }
  }
  in_.assign(n, 0);
  out_.assign(n, 0);
  uint32_t clock = 0;
  std::vector<std::pair<uint32_t, uint32_t>> walk; // (node, next child slot)
  walk.push_back({0, childBegin_[0]});
  in_[0] = clock++;
  while (!walk.empty()) {
    auto &[node, next] = walk.back();
    if (next < childBegin_[node + 1]) {
      uint32_t c = childNums[next++];
      in_[c] = clock++;
      walk.push_back({c, childBegin_[c]});
    } else {
      out_[node] = clock++;
      walk.pop_back();
    }
  }
}

/// Graph traits for a Function's CFG. Edges to null blocks or to blocks of
/// another function are skipped, so a broken CFG still yields a well-defined
/// tree (the verifier reports those edges separately).
struct FunctionCFGTraits {
  using GraphRef = const Function *;
  using NodeRef = const Block *;
  static NodeRef entry(GraphRef f) { return f->entry(); }
  static unsigned numIndices(GraphRef f) { return f->numBlockIds(); }
  static unsigned index(GraphRef, NodeRef b) { return b->id(); }
  template <typename Fn> static void forEachSuccessor(GraphRef f, NodeRef b, Fn fn) {
    if (b->empty())
      return;
    const Instruction &last = b->insts().back();
    if (!last.isTerminator())
      return;
    for (const Successor &s : last.successors())
      if (const Block *sb = s.block;
          sb && sb->parent() == f && sb->id() < f->numBlockIds())
        fn(sb);
  }
};

/// The dominator tree of a function's CFG.
class DominatorTree {
public:
  explicit DominatorTree(const Function &f) : base_(&f) {}

  /// Reflexive. Unreachable blocks are dominated only by themselves.
  bool dominates(const Block *a, const Block *b) const {
    return base_.dominates(a, b);
  }
  bool properlyDominates(const Block *a, const Block *b) const {
    return base_.properlyDominates(a, b);
  }
  bool isReachable(const Block *b) const { return base_.isReachable(b); }
  /// nullptr for the entry block and for unreachable blocks.
  const Block *idom(const Block *b) const { return base_.idom(b); }
  unsigned level(const Block *b) const { return base_.level(b); }
  const Block *nearestCommonDominator(const Block *a, const Block *b) const {
    return base_.nearestCommonDominator(a, b);
  }
  /// Reachable blocks in reverse post-order.
  llvm::ArrayRef<const Block *> rpo() const { return base_.rpo(); }
  llvm::ArrayRef<const Block *> children(const Block *b) const {
    return base_.children(b);
  }

  /// Instruction-level dominance: `def` dominates `user` if def's block
  /// properly dominates user's block, or both are in one block and `def` comes
  /// strictly before `user`. An instruction does not dominate itself. The
  /// same-block case walks the block (the IR keeps no instruction order
  /// numbers that could go stale).
  bool dominates(const Instruction *def, const Instruction *user) const;
  /// Whether the value `def` is available at `user`: constants and function
  /// arguments always are; a block parameter when its block dominates user's
  /// block; an instruction as above.
  bool valueDominates(const Value *def, const Instruction *user) const;

private:
  DomTreeBase<FunctionCFGTraits> base_;
};

} // namespace qmir
