// constfold: local constant folding and simplification. It walks each block
// once, in order, and replaces an instruction by a simpler existing value when
// that is always valid: integer operations on constants (through Folding.h, so
// exactly as the interpreter computes them; a division by zero is never folded,
// its panic stays), identities that hold for every operand value (x+0, x*1,
// x*0, x-x, x^x, x&x, and/or with all-ones/zero or true/false, shifts by a
// multiple of the width, icmp of a value with itself, select on a constant or
// between equal values, trunc of an extension), enum.tag / enum.payload of an
// enum.make and struct.extract through struct.make / struct.insert. Terminators
// on constants become `br`: condbr and switch on a constant, and a `match` on
// an integer constant or on a value built by enum.make whose whole pattern
// sequence can be decided (the arm's bindings, which are operands of the
// enum.make chain, become the br arguments). Memory is handled only inside a
// block, as straight-line code: a load from an alloca is replaced by the value
// last stored to (or loaded from, or zero-initialised in) that same alloca
// earlier in the same block, at the same type, with no call and no store
// through any pointer other than a distinct alloca in between; nothing is ever
// carried from one block to another, so a store made later in a loop (or on
// any other path) can never be missed. Nothing is keyed by a name: identity is
// the Value object. Users of replaced values are revisited through a worklist,
// so one run reaches a fixpoint. Linear in the size of the function (except
// that folding a branch rebuilds one terminator).
#include "passes/Folding.h"

#include "mir/Builder.h"
#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include <vector>

using namespace llvm;

namespace qmir {

namespace {

/// The abstraction decideMatch works on: SSA values, seen through enum.make.
struct ValueAccess {
  std::optional<int64_t> intOf(Value *v) {
    if (auto *c = dyn_cast<ConstInt>(v))
      return c->value();
    return std::nullopt;
  }
  std::optional<unsigned> variantOf(Value *v) {
    auto *i = dyn_cast<Instruction>(v);
    if (i && i->opcode() == Opcode::EnumMake && i->type() == i->auxType())
      return i->variantIndex();
    return std::nullopt;
  }
  Value *payload(Value *v, unsigned k) {
    auto *i = cast<Instruction>(v);
    return k < i->numOperands() ? i->operand(k) : nullptr;
  }
};

class ConstFolder {
public:
  explicit ConstFolder(Function &f) : f_(f), m_(*f.parent()) {}

  ConstFoldStats run() {
    scanned_.assign(f_.numBlockIds(), 0);
    for (Block &b : f_.blocks())
      scanBlock(b);
    for (;;) {
      drainWorklist();
      // A pointer operand of a load or store in an already scanned block that
      // became another value (say, an alloca) may allow new forwarding,
      // which only the in-order block scan does: scan those blocks again.
      if (rescan_.empty())
        break;
      std::vector<Block *> blocks;
      blocks.swap(rescan_);
      for (Block *b : blocks)
        if (b->parent())
          scanBlock(*b);
    }
    return stats_;
  }

private:
  //--- worklist ------------------------------------------------------------
  void pushUsers(Value *v) {
    for (Use &u : v->uses()) {
      Instruction *user = u.user();
      if (user->id() >= queued_.size())
        queued_.resize(f_.numValueIds(), 0);
      if (!queued_[user->id()]) {
        queued_[user->id()] = 1;
        work_.push_back(user);
      }
    }
  }

  void drainWorklist() {
    while (!work_.empty()) {
      Instruction *i = work_.back();
      work_.pop_back();
      queued_[i->id()] = 0;
      if (!i->parent())
        continue; // erased meanwhile
      if (visit(i) && i->parent() == nullptr)
        continue;
    }
  }

  /// Replaces every use of `i` by `v` and erases `i` if that is allowed.
  void replace(Instruction *i, Value *v) {
    if (v->type()->isPtr())
      for (Use &u : i->uses()) {
        Block *b = u.user()->parent();
        Opcode op = u.user()->opcode();
        if (b && (op == Opcode::Load || op == Opcode::Store) &&
            scanned_[b->id()] == 2) {
          scanned_[b->id()] = 1; // queued once
          rescan_.push_back(b);
        }
      }
    pushUsers(i);
    i->replaceAllUsesWith(v);
    ++stats_.replaced;
    if (!i->hasSideEffects())
      i->eraseFromParent();
  }

  //--- memory within one block ----------------------------------------------
  void forget() { ++gen_; }
  void remember(Value *slot, Value *content) {
    if (slot->id() >= memGen_.size()) {
      memGen_.resize(f_.numValueIds(), 0);
      memVal_.resize(f_.numValueIds(), nullptr);
    }
    memGen_[slot->id()] = gen_;
    memVal_[slot->id()] = content;
  }
  Value *recall(Value *slot) {
    if (slot->id() >= memGen_.size() || memGen_[slot->id()] != gen_)
      return nullptr;
    return memVal_[slot->id()];
  }
  static bool isAlloca(Value *p) {
    auto *i = dyn_cast<Instruction>(p);
    return i && i->opcode() == Opcode::Alloca;
  }

  void scanBlock(Block &b) {
    scanned_[b.id()] = 2;
    forget(); // nothing is known about memory at a block's start
    for (auto it = b.insts().begin(); it != b.insts().end();) {
      Instruction &i = *it++;
      switch (i.opcode()) {
      case Opcode::Alloca:
        // A fresh slot reads as zero.
        if (i.auxType() && i.auxType()->isInt())
          remember(&i, m_.constInt(i.auxType(), 0));
        else
          remember(&i, nullptr);
        continue;
      case Opcode::Load: {
        Value *p = i.numOperands() == 1 ? i.operand(0) : nullptr;
        if (!p || !isAlloca(p))
          continue;
        Value *known = recall(p);
        if (known && known->type() == i.type() && known != &i) {
          ++stats_.loadsForwarded;
          replace(&i, known);
        } else {
          remember(p, &i);
        }
        continue;
      }
      case Opcode::Store: {
        Value *p = i.numOperands() == 2 ? i.operand(1) : nullptr;
        if (p && isAlloca(p))
          remember(p, i.operand(0));
        else
          forget(); // may write any alloca whose address escaped
        continue;
      }
      default:
        if (i.mayWriteMemory())
          forget(); // a call
        visit(&i);
        continue;
      }
    }
  }

  //--- simplification -------------------------------------------------------
  /// Simplifies `i`; true if it changed anything.
  bool visit(Instruction *i) {
    if (i->isTerminator())
      return foldTerminator(i);
    bool changedInPlace = false;
    Value *v = simplify(i, changedInPlace);
    if (v && v != i) {
      if (isa<ConstInt>(v))
        ++stats_.folded;
      replace(i, v);
      return true;
    }
    if (changedInPlace)
      pushUsers(i);
    return changedInPlace;
  }

  ConstInt *cint(const Type *t, int64_t v) { return m_.constInt(t, v); }

  Value *simplify(Instruction *i, bool &changedInPlace) {
    if (ConstInt *c = foldInstruction(*i))
      return c;
    Opcode op = i->opcode();
    const Type *t = i->type();
    if (isBinaryOp(op)) {
      if (i->numOperands() != 2 || !t->isInt())
        return nullptr;
      Value *a = i->operand(0), *b = i->operand(1);
      auto *ca = dyn_cast<ConstInt>(a);
      auto *cb = dyn_cast<ConstInt>(b);
      int64_t ones = canonicalInt(t, -1);
      auto is = [](ConstInt *c, int64_t k) { return c && c->value() == k; };
      switch (op) {
      case Opcode::Add:
        if (is(cb, 0)) return a;
        if (is(ca, 0)) return b;
        return nullptr;
      case Opcode::Sub:
        if (is(cb, 0)) return a;
        if (a == b) return cint(t, 0);
        return nullptr;
      case Opcode::Mul:
        if (is(cb, 1)) return a;
        if (is(ca, 1)) return b;
        if (is(ca, 0) || is(cb, 0)) return cint(t, 0);
        return nullptr;
      case Opcode::And:
        if (is(ca, 0) || is(cb, 0)) return cint(t, 0);
        if (is(cb, ones)) return a;
        if (is(ca, ones)) return b;
        if (a == b) return a;
        return nullptr;
      case Opcode::Or:
        if (is(cb, 0)) return a;
        if (is(ca, 0)) return b;
        if (is(ca, ones) || is(cb, ones)) return cint(t, ones);
        if (a == b) return a;
        return nullptr;
      case Opcode::Xor:
        if (is(cb, 0)) return a;
        if (is(ca, 0)) return b;
        if (a == b) return cint(t, 0);
        return nullptr;
      case Opcode::Shl:
      case Opcode::LShr:
      case Opcode::AShr:
        if (cb && zeroExtended(t, cb->value()) % t->bits() == 0) return a;
        if (is(ca, 0)) return cint(t, 0);
        if (op == Opcode::AShr && is(ca, ones)) return cint(t, ones);
        return nullptr;
      case Opcode::SDiv: // x / 1 (a nonzero constant divisor: no panic)
        if (is(cb, 1))
          return a; // i1: the divisor 1 is -1, and -x == x at width 1
        return nullptr;
      case Opcode::UDiv:
        if (is(cb, 1)) return a;
        return nullptr;
      case Opcode::SRem:
        if (is(cb, 1) || is(cb, -1)) return cint(t, 0);
        return nullptr;
      case Opcode::URem:
        if (is(cb, 1)) return cint(t, 0);
        return nullptr;
      default:
        return nullptr;
      }
    }
    switch (op) {
    case Opcode::ICmp: {
      if (i->numOperands() != 2)
        return nullptr;
      Value *a = i->operand(0), *b = i->operand(1);
      const Type *ot = a->type();
      ICmpPred p = i->predicate();
      if (a == b && !isa<UndefValue>(a)) {
        bool r = p == ICmpPred::EQ || p == ICmpPred::SLE || p == ICmpPred::SGE ||
                 p == ICmpPred::ULE || p == ICmpPred::UGE;
        return m_.constBool(r);
      }
      if (!ot->isInt())
        return nullptr;
      auto *cb = dyn_cast<ConstInt>(b);
      if (!cb)
        return nullptr;
      if (zeroExtended(ot, cb->value()) == 0) {
        if (p == ICmpPred::ULT) return m_.constBool(false);
        if (p == ICmpPred::UGE) return m_.constBool(true);
      }
      if (ot->isBool()) {
        // x == true, x != false: x itself.
        if ((p == ICmpPred::EQ && cb->value() == 1) ||
            (p == ICmpPred::NE && cb->value() == 0))
          return a;
      }
      return nullptr;
    }
    case Opcode::Select: {
      if (i->numOperands() != 3)
        return nullptr;
      Value *c = i->operand(0), *a = i->operand(1), *b = i->operand(2);
      if (auto *cc = dyn_cast<ConstInt>(c))
        return (cc->value() & 1) ? a : b;
      if (a == b)
        return a;
      auto *ca = dyn_cast<ConstInt>(a);
      auto *cb = dyn_cast<ConstInt>(b);
      if (t->isBool() && ca && cb && ca->value() == 1 && cb->value() == 0)
        return c;
      return nullptr;
    }
    case Opcode::Trunc: {
      auto *inner = dyn_cast<Instruction>(i->operand(0));
      if (inner &&
          (inner->opcode() == Opcode::ZExt || inner->opcode() == Opcode::SExt) &&
          inner->numOperands() == 1 && inner->operand(0)->type() == t)
        return inner->operand(0);
      return nullptr;
    }
    case Opcode::EnumTag: {
      auto *mk = dyn_cast<Instruction>(i->operand(0));
      if (mk && mk->opcode() == Opcode::EnumMake && t->isInt())
        return cint(t, canonicalInt(t, mk->variantIndex()));
      return nullptr;
    }
    case Opcode::EnumPayload: {
      auto *mk = dyn_cast<Instruction>(i->operand(0));
      // A payload of another variant traps in the interpreter: leave it.
      if (mk && mk->opcode() == Opcode::EnumMake &&
          mk->variantIndex() == i->variantIndex() &&
          i->fieldIndex() < mk->numOperands() &&
          mk->operand(i->fieldIndex())->type() == t)
        return mk->operand(i->fieldIndex());
      return nullptr;
    }
    case Opcode::StructExtract: {
      unsigned k = i->fieldIndex();
      for (;;) {
        auto *agg = dyn_cast<Instruction>(i->operand(0));
        if (!agg)
          return nullptr;
        if (agg->opcode() == Opcode::StructMake) {
          if (k < agg->numOperands() && agg->operand(k)->type() == t)
            return agg->operand(k);
          return nullptr;
        }
        if (agg->opcode() != Opcode::StructInsert || agg->numOperands() != 2)
          return nullptr;
        if (agg->fieldIndex() == k)
          return agg->operand(1)->type() == t ? agg->operand(1) : nullptr;
        // Another field was replaced: read ours from the original struct.
        i->setOperand(0, agg->operand(0));
        changedInPlace = true;
      }
    }
    default:
      return nullptr;
    }
  }

  //--- terminators -----------------------------------------------------------
  /// Replaces terminator `term` by `br` along successor `s` with `args`.
  void toBr(Instruction *term, unsigned s, ArrayRef<Value *> args) {
    Block *dest = term->successor(s);
    SmallVector<Value *, 4> a(args.begin(), args.end());
    Builder b(m_);
    b.setInsertPoint(term);
    b.setLoc(term->loc());
    b.br(dest, a);
    // Operands of the old terminator may now be dead; dce removes them.
    term->eraseFromParent();
    ++stats_.branchesFolded;
  }

  bool foldTerminator(Instruction *term) {
    switch (term->opcode()) {
    case Opcode::CondBr: {
      auto *c = dyn_cast<ConstInt>(term->operand(0));
      if (!c)
        return false;
      unsigned s = (c->value() & 1) ? 0 : 1;
      toBr(term, s, term->successorArgs(s));
      return true;
    }
    case Opcode::Switch: {
      auto *c = dyn_cast<ConstInt>(term->operand(0));
      if (!c || term->numSuccessors() == 0)
        return false;
      unsigned s = decideSwitch(*term, c->value());
      toBr(term, s, term->successorArgs(s));
      return true;
    }
    case Opcode::Match: {
      ValueAccess acc;
      SmallVector<Value *, 4> binds;
      int s = decideMatch(*term, term->operand(0), acc, binds);
      if (s < 0)
        return false;
      for (Value *v : binds)
        if (!v)
          return false;
      const Successor &succ = term->successors()[s];
      if (succ.isDefault) {
        toBr(term, s, term->successorArgs(s));
      } else {
        if (binds.size() != succ.block->numArgs())
          return false;
        toBr(term, s, binds);
      }
      ++stats_.matchesFolded;
      return true;
    }
    default:
      return false;
    }
  }

  Function &f_;
  Module &m_;
  ConstFoldStats stats_;
  std::vector<uint8_t> queued_;
  std::vector<Instruction *> work_;
  std::vector<uint32_t> memGen_;
  std::vector<Value *> memVal_;
  uint32_t gen_ = 1;
  /// Per block id: 0 not scanned yet, 1 queued for a rescan, 2 scanned.
  std::vector<uint8_t> scanned_;
  std::vector<Block *> rescan_;
};

class ConstFoldPass : public FunctionPass {
public:
  StringRef name() const override { return "constfold"; }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    ConstFoldStats s = constantFold(f);
    if (!s.changed())
      return PreservedAnalyses::all();
    if (s.branchesFolded)
      return PreservedAnalyses::none();
    return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
  }
};

} // namespace

ConstFoldStats constantFold(Function &f) {
  if (f.isDeclaration())
    return {};
  return ConstFolder(f).run();
}

void registerConstFoldPass(PassRegistry &registry) {
  registry.add<ConstFoldPass>(
      "constfold",
      "local constant folding and always-valid simplifications; folds "
      "branches, switches and matches on constants; forwards stores to loads "
      "of an alloca only within one block");
}

} // namespace qmir
