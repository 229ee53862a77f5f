// Liveness of SSA values by per-value path exploration (see Liveness.h).
#include "passes/Liveness.h"

#include "llvm/ADT/SmallVector.h"

namespace qmir {

const AnalysisKey *LivenessAnalysis::key() {
  static const AnalysisKey k{"liveness"};
  return &k;
}

Liveness::Liveness(const Function &f, Options opts) {
  if (f.isDeclaration())
    return;
  const uint32_t nb = f.numBlockIds();
  index_.assign(f.numValueIds(), kNone);
  liveIn_.resize(nb);
  liveOut_.resize(nb);

  // Dense numbering in definition order, with each value's defining block.
  std::vector<uint32_t> defBlock;
  auto number = [&](const Value *v, uint32_t bid) {
    if (v->id() >= index_.size())
      return;
    index_[v->id()] = static_cast<uint32_t>(values_.size());
    values_.push_back(v);
    defBlock.push_back(bid);
  };
  const uint32_t entryId = f.entry()->id();
  for (const Argument *a : f.args())
    number(a, entryId);
  for (const Block &b : f.blocks()) {
    for (const BlockArg *a : b.args())
      number(a, b.id());
    for (const Instruction &i : b.insts())
      if (i.type() && !i.type()->isVoid())
        number(&i, b.id());
  }

  // Predecessors of every block (one entry per edge), CSR.
  std::vector<uint32_t> predBegin(nb + 1, 0);
  for (const Block &b : f.blocks())
    if (const Instruction *t = b.terminator())
      for (const Successor &s : t->successors())
        if (s.block && s.block->id() < nb)
          ++predBegin[s.block->id() + 1];
  for (uint32_t k = 0; k < nb; ++k)
    predBegin[k + 1] += predBegin[k];
  std::vector<uint32_t> preds(predBegin[nb]);
  {
    std::vector<uint32_t> fill(predBegin.begin(), predBegin.end() - 1);
    for (const Block &b : f.blocks())
      if (const Instruction *t = b.terminator())
        for (const Successor &s : t->successors())
          if (s.block && s.block->id() < nb)
            preds[fill[s.block->id()]++] = b.id();
  }

  llvm::SmallVector<uint32_t, 16> work;
  for (uint32_t k = 0; k < values_.size(); ++k) {
    const uint32_t def = defBlock[k];
    auto markLiveIn = [&](uint32_t start) {
      work.clear();
      work.push_back(start);
      while (!work.empty()) {
        uint32_t x = work.pop_back_val();
        if (liveIn_[x].test(k))
          continue;
        liveIn_[x].set(k);
        for (uint32_t e = predBegin[x]; e < predBegin[x + 1]; ++e) {
          uint32_t p = preds[e];
          liveOut_[p].set(k);
          if (p != def && !liveIn_[p].test(k))
            work.push_back(p);
        }
      }
    };
    for (const Use &u : values_[k]->uses()) {
      const Instruction *user = u.user();
      const Block *ub = user ? user->parent() : nullptr;
      if (!ub || ub->parent() != &f || ub->id() >= nb)
        continue;
      if (opts.ignoreDbgUses && user->opcode() == Opcode::DbgValue)
        continue;
      const uint32_t bid = ub->id();
      bool edgeUse = user->isTerminator() && u.operandNo() >= user->numMainOperands();
      if (edgeUse) {
        liveOut_[bid].set(k);
        if (bid != def)
          markLiveIn(bid);
      } else if (bid != def) {
        markLiveIn(bid);
      }
    }
  }
}

} // namespace qmir
