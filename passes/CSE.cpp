// cse: dominator-based common subexpression elimination. It walks the
// dominator tree in pre-order (with an explicit stack) and keeps a scoped
// hash table of the pure instructions available at the current point: those
// of the blocks on the path from the entry. An instruction whose opcode,
// result type, attributes (predicate, field and variant indices, aggregate
// type) and operands equal those of an available one is replaced by it and
// erased. Operands of commutative operations (add, mul, and, or, xor) are
// compared as an unordered pair, and `icmp P a, b` equals `icmp swap(P) b, a`.
// Because the walk visits definitions before the uses they dominate, the
// operands of an instruction are final when it is looked up, so one walk
// reaches a fixed point. Pure here means: arithmetic, icmp, select, casts,
// struct.make/extract/insert/addr and enum.make/tag/payload (enum.payload
// only matches a payload of the same value, variant and field). Loads,
// stores, calls, allocas, dbg and terminators are never touched: memory can
// change between two loads, calls have effects, and each alloca is a distinct
// slot. A division that may panic (sdiv/srem/udiv/urem) is replaced only by
// an identical division that dominates it: if that one did not panic, the
// second cannot either and computes the same value, so no panic is lost or
// added. Blocks the entry cannot reach are left alone, and the block graph
// never changes. Cost: linear in the number of instructions (one hash lookup
// each).
#include "passes/AnalysisManager.h"
#include "passes/Analyses.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/SmallVector.h"

#include <functional>
#include <vector>

using namespace llvm;

namespace qmir {

namespace {

bool isCommutative(Opcode op) {
  return op == Opcode::Add || op == Opcode::Mul || op == Opcode::And ||
         op == Opcode::Or || op == Opcode::Xor;
}

bool isCandidate(const Instruction &i) {
  Opcode op = i.opcode();
  if (isBinaryOp(op) || isCast(op))
    return true;
  switch (op) {
  case Opcode::ICmp:
  case Opcode::Select:
  case Opcode::StructMake:
  case Opcode::StructExtract:
  case Opcode::StructInsert:
  case Opcode::FieldAddr:
  case Opcode::EnumMake:
  case Opcode::EnumTag:
  case Opcode::EnumPayload:
    return true;
  default:
    return false;
  }
}

ICmpPred swapPred(ICmpPred p) {
  switch (p) {
  case ICmpPred::SLT: return ICmpPred::SGT;
  case ICmpPred::SGT: return ICmpPred::SLT;
  case ICmpPred::SLE: return ICmpPred::SGE;
  case ICmpPred::SGE: return ICmpPred::SLE;
  case ICmpPred::ULT: return ICmpPred::UGT;
  case ICmpPred::UGT: return ICmpPred::ULT;
  case ICmpPred::ULE: return ICmpPred::UGE;
  case ICmpPred::UGE: return ICmpPred::ULE;
  default: return p; // EQ, NE
  }
}

/// The attributes that distinguish two instructions with the same opcode and
/// operands; unused ones are 0 so that stale bits never split equal values.
struct Attrs {
  unsigned small = 0;
  unsigned aux = 0;
  const Type *auxType = nullptr;
};

Attrs attrsOf(const Instruction *i) {
  Attrs a;
  switch (i->opcode()) {
  case Opcode::StructExtract:
  case Opcode::StructInsert:
  case Opcode::FieldAddr:
    a.small = i->fieldIndex();
    a.auxType = i->auxType();
    break;
  case Opcode::StructMake:
  case Opcode::EnumTag:
    a.auxType = i->auxType();
    break;
  case Opcode::EnumMake:
    a.aux = i->variantIndex();
    a.auxType = i->auxType();
    break;
  case Opcode::EnumPayload:
    a.small = i->fieldIndex();
    a.aux = i->variantIndex();
    a.auxType = i->auxType();
    break;
  default:
    break;
  }
  return a;
}

/// Canonical two-operand view: commutative operands and icmp operands
/// ordered by address (the icmp predicate swapped to match).
void canonical2(const Instruction *i, Value *&a, Value *&b, unsigned &pred) {
  a = i->operand(0);
  b = i->operand(1);
  pred = i->opcode() == Opcode::ICmp ? static_cast<unsigned>(i->predicate()) : 0;
  bool swap = std::less<Value *>()(b, a);
  if (!swap)
    return;
  if (isCommutative(i->opcode())) {
    std::swap(a, b);
  } else if (i->opcode() == Opcode::ICmp) {
    std::swap(a, b);
    pred = static_cast<unsigned>(swapPred(i->predicate()));
  }
}

bool hasCanonical2(const Instruction *i) {
  return (isCommutative(i->opcode()) || i->opcode() == Opcode::ICmp) &&
         i->numOperands() == 2;
}

struct ExprInfo {
  static Instruction *getEmptyKey() {
    return DenseMapInfo<Instruction *>::getEmptyKey();
  }
  static Instruction *getTombstoneKey() {
    return DenseMapInfo<Instruction *>::getTombstoneKey();
  }
  static bool special(const Instruction *i) {
    return i == getEmptyKey() || i == getTombstoneKey();
  }
  static unsigned getHashValue(const Instruction *i) {
    Attrs at = attrsOf(i);
    hash_code h = hash_combine(static_cast<unsigned>(i->opcode()), i->type(),
                               at.small, at.aux, at.auxType, i->numOperands());
    if (hasCanonical2(i)) {
      Value *a, *b;
      unsigned pred;
      canonical2(i, a, b, pred);
      return hash_combine(h, a, b, pred);
    }
    for (unsigned k = 0; k < i->numOperands(); ++k)
      h = hash_combine(h, i->operand(k));
    return h;
  }
  static bool isEqual(const Instruction *x, const Instruction *y) {
    if (x == y)
      return true;
    if (special(x) || special(y))
      return false;
    if (x->opcode() != y->opcode() || x->type() != y->type() ||
        x->numOperands() != y->numOperands())
      return false;
    Attrs ax = attrsOf(x), ay = attrsOf(y);
    if (ax.small != ay.small || ax.aux != ay.aux || ax.auxType != ay.auxType)
      return false;
    if (hasCanonical2(x)) {
      Value *xa, *xb, *ya, *yb;
      unsigned xp, yp;
      canonical2(x, xa, xb, xp);
      canonical2(y, ya, yb, yp);
      return xa == ya && xb == yb && xp == yp;
    }
    for (unsigned k = 0; k < x->numOperands(); ++k)
      if (x->operand(k) != y->operand(k))
        return false;
    return true;
  }
};

/// Returns the number of instructions removed.
unsigned runCSE(Function &f, const DominatorTree &dt) {
  if (f.isDeclaration())
    return 0;
  DenseMap<Instruction *, Instruction *, ExprInfo> available;
  // Keys inserted per open scope; a scope is closed by erasing its keys.
  std::vector<Instruction *> inserted;
  struct Frame {
    const Block *block;
    size_t scopeStart; // size of `inserted` when the block was entered
    unsigned nextChild;
  };
  std::vector<Frame> stack;
  std::vector<Instruction *> dead;
  unsigned removed = 0;

  auto visit = [&](Block *b) {
    for (Instruction &i : b->insts()) {
      if (!isCandidate(i))
        continue;
      auto [it, isNew] = available.try_emplace(&i, &i);
      if (isNew) {
        inserted.push_back(&i);
        continue;
      }
      i.replaceAllUsesWith(it->second);
      dead.push_back(&i);
    }
    // Erase after the walk over the block (the iterator must stay valid).
    for (Instruction *d : dead)
      d->eraseFromParent();
    removed += dead.size();
    dead.clear();
  };

  const Block *entry = f.entry();
  visit(const_cast<Block *>(entry));
  stack.push_back({entry, 0, 0});
  while (!stack.empty()) {
    Frame &fr = stack.back();
    auto kids = dt.children(fr.block);
    if (fr.nextChild < kids.size()) {
      const Block *c = kids[fr.nextChild++];
      size_t start = inserted.size();
      visit(const_cast<Block *>(c));
      stack.push_back({c, start, 0}); // invalidates fr
      continue;
    }
    for (size_t k = inserted.size(); k-- > fr.scopeStart;)
      available.erase(inserted[k]);
    inserted.resize(fr.scopeStart);
    stack.pop_back();
  }
  return removed;
}

class CSEPass : public FunctionPass {
public:
  StringRef name() const override { return "cse"; }
  PreservedAnalyses run(Function &f, AnalysisManager &am) override {
    if (f.isDeclaration())
      return PreservedAnalyses::all();
    auto &dt = am.getResult<DominatorTreeAnalysis>(f);
    if (!runCSE(f, dt))
      return PreservedAnalyses::all();
    return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
  }
};

} // namespace

void registerCSEPass(PassRegistry &registry) {
  registry.add<CSEPass>(
      "cse", "dominator-based common subexpression elimination of pure "
             "instructions (never loads, stores, calls or allocas)");
}

} // namespace qmir
