// licm: loop-invariant code motion. An instruction inside a loop whose
// operands are all defined outside the loop computes the same value on every
// iteration, so it is moved ("hoisted") to the loop's preheader and computed
// once. Hoisting runs the instruction even when the loop body would not (a
// zero-trip loop, or a branch inside the body not taken), so only
// instructions that can be executed speculatively qualify: pure arithmetic,
// comparisons, select, casts, and building or taking apart struct and enum
// values. Never hoisted: loads (a store in the loop, or a call, may change the
// memory they read: the earlier compiler's `step!` miscompile), stores,
// calls, allocas (each execution makes a fresh zeroed object), dbg records,
// terminators, struct.addr (it checks that its pointer is live and may trap),
// enum.payload (only valid after the tag check guarding it) and divisions or
// remainders whose divisor is not a non-zero constant (they may panic with
// `division by zero`: hoisting one out of a loop that never runs would panic
// where the program does not).
//
// Algorithm: loops come from LoopInfoAnalysis and are visited innermost
// first, so code hoisted out of an inner loop lands in its preheader, which
// is part of the outer loop and may be hoisted again. Within a loop, blocks
// are visited in reverse post-order and instructions in order, so a value's
// definition is seen before its uses; an instruction is invariant when each
// operand is a constant, a function argument, defined in a block outside the
// loop, or an instruction already chosen for hoisting. The chosen ones move,
// in that order, before the preheader's terminator. The preheader is the
// single outside predecessor of the header when it ends in an unconditional
// `br`; otherwise a new block is made that takes the header's parameters and
// every edge from outside the loop is redirected to it (it becomes the new
// entry block when the header is the entry). A preheader is only made for a
// loop that has something to hoist. Work is linear in the size of the loops
// times their nesting depth; predecessor lists are computed once.
#include "mir/Builder.h"
#include "passes/LoopInfo.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <vector>

using namespace llvm;

namespace qmir {

namespace {

/// Whether executing `i` where the program did not is harmless: no memory
/// access, no call, no possible panic or trap, and not dependent on a guard.
bool isSpeculatable(const Instruction &i) {
  switch (i.opcode()) {
  case Opcode::Add:
  case Opcode::Sub:
  case Opcode::Mul:
  case Opcode::And:
  case Opcode::Or:
  case Opcode::Xor:
  case Opcode::Shl:
  case Opcode::LShr:
  case Opcode::AShr:
  case Opcode::ICmp:
  case Opcode::Select:
  case Opcode::ZExt:
  case Opcode::SExt:
  case Opcode::Trunc:
  case Opcode::StructMake:
  case Opcode::StructExtract:
  case Opcode::StructInsert:
  case Opcode::EnumMake:
  case Opcode::EnumTag:
    return true;
  case Opcode::SDiv:
  case Opcode::SRem:
  case Opcode::UDiv:
  case Opcode::URem:
    // Only by a known non-zero constant (MIN sdiv -1 is defined: no trap).
    return !i.hasSideEffects();
  default:
    // Alloca, Load, Store, FieldAddr, EnumPayload, Call, DbgValue and every
    // terminator.
    return false;
  }
}

struct Edge {
  Instruction *term;
  unsigned succ;
};

class LICM {
public:
  LICM(Function &f, LoopInfo &li) : f_(f), li_(li) {}

  /// Returns {instructions hoisted, preheaders created}.
  std::pair<unsigned, unsigned> run() {
    if (li_.empty())
      return {0, 0};
    incoming_.assign(f_.numBlockIds(), {});
    for (Block &b : f_.blocks())
      if (Instruction *t = b.terminator())
        for (unsigned s = 0; s < t->numSuccessors(); ++s)
          if (Block *d = t->successor(s); d && d->id() < incoming_.size())
            incoming_[d->id()].push_back({t, s});
    stamp_.assign(f_.numBlockIds(), 0);
    chosen_.assign(f_.numValueIds(), 0);

    unsigned hoisted = 0, created = 0;
    uint32_t stamp = 0;
    std::vector<Instruction *> toHoist;
    for (Loop *l : li_.loopsInnermostFirst()) {
      ++stamp;
      for (Block *b : l->blocks())
        stampOf(b) = stamp;
      toHoist.clear();
      for (Block *b : l->blocks())
        for (Instruction &i : b->insts()) {
          if (!isSpeculatable(i))
            continue;
          bool invariant = true;
          for (unsigned k = 0, n = i.numOperands(); k < n && invariant; ++k)
            invariant = isInvariant(i.operand(k), stamp);
          if (!invariant)
            continue;
          chosen_[i.id()] = 1;
          toHoist.push_back(&i);
        }
      if (toHoist.empty())
        continue;
      Block *ph = preheader(l, stamp, created);
      Instruction *pos = ph->terminator();
      for (Instruction *i : toHoist) {
        i->moveBefore(pos);
        chosen_[i->id()] = 0; // now simply defined outside the next loops
      }
      hoisted += toHoist.size();
    }
    return {hoisted, created};
  }

private:
  uint32_t &stampOf(const Block *b) {
    if (b->id() >= stamp_.size())
      stamp_.resize(f_.numBlockIds(), 0);
    return stamp_[b->id()];
  }
  bool inLoop(const Block *b, uint32_t stamp) { return stampOf(b) == stamp; }

  bool isInvariant(const Value *v, uint32_t stamp) {
    if (!v)
      return false;
    switch (v->valueKind()) {
    case ValueKind::Argument:
    case ValueKind::ConstInt:
    case ValueKind::ConstString:
    case ValueKind::Undef:
      return true;
    case ValueKind::BlockArg:
      return !inLoop(cast<BlockArg>(v)->parent(), stamp);
    case ValueKind::Instruction: {
      auto *i = cast<Instruction>(v);
      if (!i->parent())
        return false;
      if (!inLoop(i->parent(), stamp))
        return true;
      return i->id() < chosen_.size() && chosen_[i->id()];
    }
    }
    return false;
  }

  /// The block hoisted code goes to, made if needed.
  Block *preheader(Loop *l, uint32_t stamp, unsigned &created) {
    Block *h = l->header();
    SmallVector<Edge, 4> outside, inside;
    for (const Edge &e : incoming_[h->id()])
      (inLoop(e.term->parent(), stamp) ? inside : outside).push_back(e);
    if (h != f_.entry() && outside.size() == 1 &&
        outside[0].term->opcode() == Opcode::Br)
      return outside[0].term->parent();

    ++created;
    std::string name = (h->name().empty() ? StringRef("loop") : h->name()).str();
    Block *ph = f_.createBlock(name + ".preheader", h);
    SmallVector<Value *, 4> args;
    for (BlockArg *a : h->args()) {
      BlockArg *na = ph->addArg(
          a->type(), a->name().empty() ? "" : (a->name() + Twine(".ph")).str());
      na->setBinding(a->binding());
      args.push_back(na);
    }
    for (const Edge &e : outside)
      e.term->setSuccessorBlock(e.succ, ph);
    Builder b(*f_.parent());
    b.setInsertPoint(ph);
    Instruction *br = b.br(h, args);
    if (ph->id() >= incoming_.size())
      incoming_.resize(f_.numBlockIds());
    incoming_[ph->id()].assign(outside.begin(), outside.end());
    inside.push_back({br, 0});
    incoming_[h->id()].assign(inside.begin(), inside.end());
    li_.addBlock(ph, l->parent(), h);
    return ph;
  }

  Function &f_;
  LoopInfo &li_;
  std::vector<SmallVector<Edge, 2>> incoming_; // block id -> edges into it
  std::vector<uint32_t> stamp_;                // block id -> loop stamp
  std::vector<uint8_t> chosen_;                // value id -> to be hoisted
};

class LICMPass : public FunctionPass {
public:
  StringRef name() const override { return "licm"; }
  PreservedAnalyses run(Function &f, AnalysisManager &am) override {
    LoopInfo &li = am.getResult<LoopInfoAnalysis>(f);
    auto [hoisted, created] = LICM(f, li).run();
    if (created)
      return PreservedAnalyses::none();
    if (hoisted)
      return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
    return PreservedAnalyses::all();
  }
};

} // namespace

void registerLICMPass(PassRegistry &registry) {
  registry.add<LICMPass>(
      "licm", "loop-invariant code motion: hoists pure, non-panicking "
              "instructions whose operands are loop-invariant to a preheader");
}

} // namespace qmir
