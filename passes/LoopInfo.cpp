// Natural loops from back edges and their nesting (see LoopInfo.h for the
// algorithm).
#include "passes/LoopInfo.h"

#include "passes/Analyses.h"

#include <algorithm>

using namespace llvm;

namespace qmir {

LoopInfo::LoopInfo(Function &f, const DominatorTree &dt) {
  innermost_.assign(f.numBlockIds(), nullptr);
  ArrayRef<const Block *> rpo = dt.rpo();
  if (rpo.empty())
    return;

  // Predecessors of every reachable block, from reachable blocks only, in
  // CSR form indexed by block id.
  const unsigned nb = f.numBlockIds();
  std::vector<uint32_t> rpoIndex(nb, ~0u);
  for (unsigned k = 0; k < rpo.size(); ++k)
    rpoIndex[rpo[k]->id()] = k;
  std::vector<uint32_t> predBegin(nb + 1, 0);
  auto forEachSucc = [&](const Block *b, auto fn) {
    const Instruction *t = b->terminator();
    if (!t)
      return;
    for (const Successor &s : t->successors())
      if (s.block && s.block->parent() == &f && s.block->id() < nb &&
          rpoIndex[s.block->id()] != ~0u)
        fn(s.block);
  };
  for (const Block *b : rpo)
    forEachSucc(b, [&](Block *s) { ++predBegin[s->id() + 1]; });
  for (unsigned k = 0; k < nb; ++k)
    predBegin[k + 1] += predBegin[k];
  std::vector<Block *> preds(predBegin[nb]);
  {
    std::vector<uint32_t> fill(predBegin.begin(), predBegin.end() - 1);
    for (const Block *b : rpo)
      forEachSucc(b, [&](Block *s) {
        preds[fill[s->id()]++] = const_cast<Block *>(b);
      });
  }
  auto predsOf = [&](const Block *b) {
    return ArrayRef<Block *>(preds).slice(predBegin[b->id()],
                                          predBegin[b->id() + 1] -
                                              predBegin[b->id()]);
  };

  // Headers in reverse RPO: a header dominating another comes later, so
  // inner loops exist before the walk of an outer loop reaches them.
  std::vector<Block *> work;
  for (size_t k = rpo.size(); k-- > 0;) {
    Block *h = const_cast<Block *>(rpo[k]);
    SmallVector<Block *, 2> latches;
    for (Block *p : predsOf(h))
      if (dt.dominates(h, p) && !is_contained(latches, p))
        latches.push_back(p);
    if (latches.empty())
      continue;
    loops_.push_back(std::make_unique<Loop>());
    Loop *l = loops_.back().get();
    l->latches_ = latches;
    // No earlier walk claimed h: those walks only reach blocks their headers
    // dominate, and those headers come after h in RPO.
    innermost_[h->id()] = l;
    work.assign(latches.begin(), latches.end());
    while (!work.empty()) {
      Block *b = work.back();
      work.pop_back();
      Loop *sub = innermost_[b->id()];
      if (!sub) {
        innermost_[b->id()] = l;
        for (Block *p : predsOf(b))
          work.push_back(p);
        continue;
      }
      while (sub->parent_)
        sub = sub->parent_;
      if (sub == l)
        continue;
      sub->parent_ = l;
      l->subLoops_.push_back(sub);
      for (Block *p : predsOf(sub->blocks_.front()))
        work.push_back(p);
    }
    // Remember the header as the first block now; the full list is filled
    // below in RPO (the header is first there too, as it dominates the rest).
    l->blocks_.push_back(h);
  }
  if (loops_.empty())
    return;

  // Block lists in RPO: each block joins its innermost loop and every loop
  // around it. Headers were pushed already.
  for (const Block *cb : rpo) {
    Block *b = const_cast<Block *>(cb);
    Loop *l = innermost_[b->id()];
    for (; l; l = l->parent_)
      if (l->blocks_.front() != b)
        l->blocks_.push_back(b);
  }

  auto headerOrder = [&](const Loop *a, const Loop *b) {
    return rpoIndex[a->header()->id()] < rpoIndex[b->header()->id()];
  };
  for (auto &lp : loops_) {
    std::sort(lp->subLoops_.begin(), lp->subLoops_.end(), headerOrder);
    if (!lp->parent_)
      topLevel_.push_back(lp.get());
  }
  std::sort(topLevel_.begin(), topLevel_.end(), headerOrder);

  // Depths top-down and the innermost-first order, with an explicit stack.
  std::vector<std::pair<Loop *, unsigned>> stack;
  for (auto it = topLevel_.rbegin(); it != topLevel_.rend(); ++it)
    stack.push_back({*it, 0});
  while (!stack.empty()) {
    auto &[l, next] = stack.back();
    if (next == 0)
      l->depth_ = l->parent_ ? l->parent_->depth_ + 1 : 1;
    if (next < l->subLoops_.size()) {
      Loop *c = l->subLoops_[next++];
      stack.push_back({c, 0});
    } else {
      postOrder_.push_back(l);
      stack.pop_back();
    }
  }
}

bool LoopInfo::contains(const Loop *l, const Block *b) const {
  const Loop *in = loopFor(b);
  while (in && in->depth() > l->depth())
    in = in->parent();
  return in == l;
}

bool LoopInfo::contains(const Loop *outer, const Loop *inner) {
  while (inner && inner->depth() > outer->depth())
    inner = inner->parent();
  return inner == outer;
}

void LoopInfo::addBlock(Block *b, Loop *l, const Block *before) {
  if (b->id() >= innermost_.size())
    innermost_.resize(b->parent()->numBlockIds(), nullptr);
  innermost_[b->id()] = l;
  for (; l; l = l->parent_) {
    auto pos = before ? std::find(l->blocks_.begin(), l->blocks_.end(), before)
                      : l->blocks_.end();
    // Never in front of the header: it stays the first block.
    if (pos == l->blocks_.begin())
      ++pos;
    l->blocks_.insert(pos, b);
  }
}

void LoopInfo::printLoop(raw_ostream &os, const Loop *l) const {
  os.indent(2 * (l->depth() - 1)) << "loop header=" << l->header()->name()
                                  << " depth=" << l->depth() << " blocks=[";
  for (size_t k = 0; k < l->blocks().size(); ++k)
    os << (k ? ", " : "") << l->blocks()[k]->name();
  os << "] latches=[";
  for (size_t k = 0; k < l->latches().size(); ++k)
    os << (k ? ", " : "") << l->latches()[k]->name();
  os << "]\n";
  for (const Loop *c : l->subLoops())
    printLoop(os, c);
}

void LoopInfo::print(raw_ostream &os) const {
  for (const Loop *l : topLevel_)
    printLoop(os, l);
}

const AnalysisKey *LoopInfoAnalysis::key() {
  static const AnalysisKey k{"loop-info"};
  return &k;
}

LoopInfo LoopInfoAnalysis::run(Function &f, AnalysisManager &am) {
  return LoopInfo(f, am.getResult<DominatorTreeAnalysis>(f));
}

} // namespace qmir
