// sccp: sparse conditional constant propagation (Wegman & Zadeck, "Constant
// propagation with conditional branches", TOPLAS 1991) over SSA with block
// arguments. Every value gets a lattice element: unknown (no execution seen
// yet), a constant (an integer, or an enum value of a known variant whose
// payload fields are themselves lattice elements, so `Some(x)` with x varying
// is still "Some"), or overdefined. Only edges found executable count: the
// function starts with the entry block executable and nothing else; a
// terminator makes an edge executable only when its condition allows it (a
// condbr/switch on a constant, a match whose arms can be decided on the
// scrutinee's known variant and fields), and a block parameter is the meet of
// the values passed along its executable incoming edges only (for match arms,
// the pattern's bound fields). Two worklists (newly executable blocks, and
// instructions whose operands changed) run to a fixpoint; each value can only
// go down the lattice, so this is linear in the size of the function times the
// lattice height. The pass does not reason about memory: loads, calls, allocas
// and everything else that is not pure integer or enum computation are
// overdefined, so a value stored on a loop's back edge can never be mistaken
// for a constant. Folding uses Folding.h, the interpreter's exact semantics (a
// division by zero is overdefined and stays). The rewrite then replaces
// integer values found constant by constants (erasing the instructions that
// have no side effects), and turns condbr/switch/match whose outcome is known
// into a br (for a match, bound payloads become constants or enum.payload
// instructions on the scrutinee), which removes the edges that never run.
// Blocks found unreachable are left in place for simplifycfg.
#include "passes/Folding.h"

#include "mir/Builder.h"
#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include <vector>

using namespace llvm;

namespace qmir {

namespace {

/// A lattice element. Enum payloads live in SCCP::pool_ (first, count).
struct LV {
  enum Kind : uint8_t { Unknown, Int, Enum, Over } kind = Unknown;
  uint32_t variant = 0;
  uint32_t first = 0, count = 0;
  int64_t value = 0;

  static LV over() { LV l; l.kind = Over; return l; }
  static LV integer(int64_t v) { LV l; l.kind = Int; l.value = v; return l; }
};

/// One value seen by decideMatch: its lattice element and how to reach it
/// from the scrutinee (an index into SCCP::paths_, -1 for the scrutinee).
struct MV {
  LV lv;
  int32_t path = -1;
};
struct PathStep {
  int32_t parent;
  uint32_t variant, field;
};

class SCCP {
public:
  explicit SCCP(Function &f) : f_(f), m_(*f.parent()) {}

  SCCPStats run() {
    lat_.assign(f_.numValueIds(), LV());
    queued_.assign(f_.numValueIds(), 0);
    blockExec_.assign(f_.numBlockIds(), 0);
    // Parameters of the entry block (not valid MIR, but be safe) are unknown.
    for (BlockArg *a : f_.entry()->args())
      lat_[a->id()] = LV::over();
    markBlock(f_.entry());
    while (!blockWork_.empty() || !instWork_.empty()) {
      while (!instWork_.empty()) {
        Instruction *i = instWork_.back();
        instWork_.pop_back();
        queued_[i->id()] = 0;
        visit(i);
      }
      if (!blockWork_.empty()) {
        Block *b = blockWork_.back();
        blockWork_.pop_back();
        for (Instruction &i : b->insts())
          visit(&i);
      }
    }
    rewrite();
    return stats_;
  }

private:
  //--- lattice --------------------------------------------------------------
  LV get(Value *v) {
    switch (v->valueKind()) {
    case ValueKind::ConstInt:
      return LV::integer(cast<ConstInt>(v)->value());
    case ValueKind::Instruction:
    case ValueKind::BlockArg:
      return v->id() < lat_.size() ? lat_[v->id()] : LV::over();
    default: // arguments, strings, undef
      return LV::over();
    }
  }

  bool same(const LV &a, const LV &b) const {
    if (a.kind != b.kind)
      return false;
    switch (a.kind) {
    case LV::Int:
      return a.value == b.value;
    case LV::Enum:
      if (a.variant != b.variant || a.count != b.count)
        return false;
      for (uint32_t k = 0; k < a.count; ++k)
        if (!same(pool_[a.first + k], pool_[b.first + k]))
          return false;
      return true;
    default:
      return true;
    }
  }

  LV meet(const LV &a, const LV &b) {
    if (a.kind == LV::Unknown)
      return b;
    if (b.kind == LV::Unknown)
      return a;
    if (a.kind == LV::Over || b.kind == LV::Over || a.kind != b.kind)
      return LV::over();
    if (a.kind == LV::Int)
      return a.value == b.value ? a : LV::over();
    if (a.variant != b.variant || a.count != b.count)
      return LV::over();
    if (same(a, b))
      return a;
    SmallVector<LV, 4> fields;
    for (uint32_t k = 0; k < a.count; ++k) {
      LV fa = pool_[a.first + k], fb = pool_[b.first + k];
      fields.push_back(meet(fa, fb));
    }
    return makeEnum(a.variant, fields);
  }

  LV makeEnum(uint32_t variant, ArrayRef<LV> fields) {
    LV l;
    l.kind = LV::Enum;
    l.variant = variant;
    l.first = static_cast<uint32_t>(pool_.size());
    l.count = static_cast<uint32_t>(fields.size());
    pool_.append(fields.begin(), fields.end());
    return l;
  }

  /// Lowers v's element to its meet with `nv`; revisits users on change.
  void lower(Value *v, const LV &nv) {
    LV &slot = lat_[v->id()];
    LV m = meet(slot, nv);
    if (same(m, slot))
      return;
    slot = m;
    for (Use &u : v->uses()) {
      Instruction *user = u.user();
      if (user->parent() && blockExec_[user->parent()->id()] &&
          !queued_[user->id()]) {
        queued_[user->id()] = 1;
        instWork_.push_back(user);
      }
    }
  }

  //--- executability ----------------------------------------------------------
  void markBlock(Block *b) {
    if (!b || blockExec_[b->id()])
      return;
    blockExec_[b->id()] = 1;
    blockWork_.push_back(b);
  }

  //--- transfer functions -----------------------------------------------------
  void visit(Instruction *i) {
    if (!i->parent() || !blockExec_[i->parent()->id()])
      return;
    if (i->isTerminator()) {
      visitTerminator(i);
      return;
    }
    lower(i, evaluate(i));
  }

  LV evaluate(Instruction *i) {
    Opcode op = i->opcode();
    const Type *t = i->type();
    if (op == Opcode::Select) {
      if (i->numOperands() != 3)
        return LV::over();
      LV c = get(i->operand(0));
      if (c.kind == LV::Unknown)
        return LV();
      if (c.kind == LV::Int)
        return get(i->operand((c.value & 1) ? 1 : 2));
      return meet(get(i->operand(1)), get(i->operand(2)));
    }
    if (isBinaryOp(op) || isCast(op) || op == Opcode::ICmp) {
      SmallVector<int64_t, 2> vals;
      bool over = false;
      for (unsigned k = 0; k < i->numOperands(); ++k) {
        LV l = get(i->operand(k));
        if (l.kind == LV::Unknown)
          return LV();
        if (l.kind != LV::Int)
          over = true;
        vals.push_back(l.value);
      }
      if (over || vals.empty())
        return LV::over();
      std::optional<int64_t> r =
          foldIntOp(op, i->predicate(), i->operand(0)->type(), t, vals);
      return r ? LV::integer(*r) : LV::over(); // division by zero: overdefined
    }
    switch (op) {
    case Opcode::EnumMake: {
      if (!t->isEnum() || i->variantIndex() >= t->variants().size() ||
          t->variants()[i->variantIndex()].fields.size() != i->numOperands())
        return LV::over();
      SmallVector<LV, 4> fields;
      for (unsigned k = 0; k < i->numOperands(); ++k) {
        Value *o = i->operand(k);
        LV l = get(o);
        if (l.kind == LV::Unknown)
          return LV();
        if (!o->type()->isInt() && !o->type()->isEnum())
          l = LV::over();
        fields.push_back(l);
      }
      return makeEnum(i->variantIndex(), fields);
    }
    case Opcode::EnumTag: {
      LV e = get(i->operand(0));
      if (e.kind == LV::Unknown)
        return LV();
      if (e.kind == LV::Enum && t->isInt())
        return LV::integer(canonicalInt(t, e.variant));
      return LV::over();
    }
    case Opcode::EnumPayload: {
      LV e = get(i->operand(0));
      if (e.kind == LV::Unknown)
        return LV();
      // Another variant's payload traps in the interpreter: overdefined.
      if (e.kind == LV::Enum && e.variant == i->variantIndex() &&
          i->fieldIndex() < e.count)
        return pool_[e.first + i->fieldIndex()];
      return LV::over();
    }
    default:
      // Memory, calls, structs, debug info: nothing is assumed.
      return LV::over();
    }
  }

  struct Access {
    SCCP &s;
    std::optional<int64_t> intOf(const MV &v) {
      if (v.lv.kind == LV::Int)
        return v.lv.value;
      return std::nullopt;
    }
    std::optional<unsigned> variantOf(const MV &v) {
      if (v.lv.kind == LV::Enum)
        return v.lv.variant;
      return std::nullopt;
    }
    MV payload(const MV &v, unsigned k) {
      MV r;
      r.lv = k < v.lv.count ? s.pool_[v.lv.first + k] : LV::over();
      r.path = static_cast<int32_t>(s.paths_.size());
      s.paths_.push_back({v.path, v.lv.variant, k});
      return r;
    }
  };

  /// The successor a terminator certainly takes, -1 if several are possible,
  /// -2 if none is yet (its condition is still unknown). For a decided match
  /// arm, `binds` holds the bound values.
  int decide(Instruction *term, SmallVectorImpl<MV> &binds) {
    binds.clear();
    switch (term->opcode()) {
    case Opcode::Br:
      return 0;
    case Opcode::CondBr: {
      LV c = get(term->operand(0));
      if (c.kind == LV::Unknown)
        return -2;
      if (c.kind == LV::Int)
        return (c.value & 1) ? 0 : 1;
      return -1;
    }
    case Opcode::Switch: {
      LV c = get(term->operand(0));
      if (c.kind == LV::Unknown)
        return -2;
      if (c.kind == LV::Int && term->numSuccessors())
        return static_cast<int>(decideSwitch(*term, c.value));
      return -1;
    }
    case Opcode::Match: {
      MV v;
      v.lv = get(term->operand(0));
      if (v.lv.kind == LV::Unknown)
        return -2;
      paths_.clear();
      Access acc{*this};
      int s = decideMatch(*term, v, acc, binds);
      if (s >= 0 && !term->successors()[s].isDefault &&
          binds.size() != term->successor(s)->numArgs())
        return -1;
      return s;
    }
    default:
      return -2; // ret, unreachable, panic: no edges
    }
  }

  void visitTerminator(Instruction *term) {
    SmallVector<MV, 4> binds;
    int s = decide(term, binds);
    if (s == -2)
      return;
    // Each feasible edge becomes executable: its values flow into the
    // target's parameters (a meet with what other executable edges passed).
    for (unsigned k = 0; k < term->numSuccessors(); ++k) {
      if (s >= 0 && static_cast<unsigned>(s) != k)
        continue;
      const Successor &succ = term->successors()[k];
      Block *dest = succ.block;
      bool arm = term->opcode() == Opcode::Match && !succ.isDefault;
      for (unsigned a = 0; a < dest->numArgs(); ++a) {
        LV in;
        if (!arm)
          in = a < succ.numArgs ? get(term->operand(succ.firstArg + a))
                                : LV::over();
        else if (s >= 0)
          in = a < binds.size() ? binds[a].lv : LV::over();
        else
          in = LV::over(); // several arms possible: bindings unknown
        // Only integer and enum values are tracked.
        if (!dest->arg(a)->type()->isInt() && !dest->arg(a)->type()->isEnum())
          in = LV::over();
        lower(dest->arg(a), in);
      }
      markBlock(dest);
    }
  }

  //--- rewrite --------------------------------------------------------------------
  Value *constantFor(Value *v) {
    LV l = get(v);
    if (l.kind != LV::Int || !v->type()->isInt())
      return nullptr;
    return m_.constInt(v->type(), l.value);
  }

  /// The value a decided match arm binds: a constant, the scrutinee, or a
  /// chain of enum.payload on the scrutinee inserted before the terminator.
  Value *materialize(Instruction *term, const MV &b) {
    Value *scrut = term->operand(0);
    if (b.lv.kind == LV::Int) {
      // Its type is the type at the end of the path.
      const Type *t = scrut->type();
      SmallVector<const PathStep *, 4> steps;
      for (int32_t p = b.path; p >= 0; p = paths_[p].parent)
        steps.push_back(&paths_[p]);
      for (auto it = steps.rbegin(); it != steps.rend(); ++it)
        t = t->variants()[(*it)->variant].fields[(*it)->field];
      if (t->isInt())
        return m_.constInt(t, b.lv.value);
    }
    SmallVector<const PathStep *, 4> steps;
    for (int32_t p = b.path; p >= 0; p = paths_[p].parent)
      steps.push_back(&paths_[p]);
    Builder bld(m_);
    bld.setInsertPoint(term);
    bld.setLoc(term->loc());
    Value *cur = scrut;
    for (auto it = steps.rbegin(); it != steps.rend(); ++it)
      cur = bld.enumPayload(cur, (*it)->variant, (*it)->field);
    return cur;
  }

  void rewrite() {
    for (Block &b : f_.blocks()) {
      if (!blockExec_[b.id()]) {
        ++stats_.unreachableBlocks;
        continue;
      }
      for (BlockArg *a : b.args())
        if (a->hasUses())
          if (Value *c = constantFor(a)) {
            a->replaceAllUsesWith(c);
            ++stats_.valuesReplaced;
          }
    }
    std::vector<Instruction *> dead;
    for (Block &b : f_.blocks()) {
      if (!blockExec_[b.id()])
        continue;
      for (Instruction &i : b.insts()) {
        if (i.isTerminator())
          continue;
        Value *c = constantFor(&i);
        if (!c)
          continue;
        if (i.hasUses()) {
          i.replaceAllUsesWith(c);
          ++stats_.valuesReplaced;
        }
        dead.push_back(&i);
      }
    }
    // After every replacement, so that a division whose divisor became a
    // nonzero constant is seen as unable to panic.
    for (Instruction *i : dead)
      if (!i->hasSideEffects() && !i->hasUses())
        i->eraseFromParent();

    for (Block &b : f_.blocks()) {
      if (!blockExec_[b.id()])
        continue;
      Instruction *term = b.terminator();
      if (!term || term->opcode() == Opcode::Br ||
          (term->opcode() != Opcode::CondBr && term->opcode() != Opcode::Switch &&
           term->opcode() != Opcode::Match))
        continue;
      SmallVector<MV, 4> binds;
      int s = decide(term, binds);
      if (s < 0)
        continue;
      const Successor &succ = term->successors()[s];
      SmallVector<Value *, 4> args;
      if (term->opcode() == Opcode::Match && !succ.isDefault) {
        for (const MV &mv : binds)
          args.push_back(materialize(term, mv));
      } else {
        args = term->successorArgs(s);
      }
      Builder bld(m_);
      bld.setInsertPoint(term);
      bld.setLoc(term->loc());
      bld.br(succ.block, args);
      term->eraseFromParent();
      ++stats_.branchesFolded;
    }
  }

  Function &f_;
  Module &m_;
  SCCPStats stats_;
  std::vector<LV> lat_;
  SmallVector<LV, 16> pool_;
  std::vector<PathStep> paths_;
  std::vector<uint8_t> queued_;
  std::vector<uint8_t> blockExec_;
  std::vector<Instruction *> instWork_;
  std::vector<Block *> blockWork_;
};

class SCCPPass : public FunctionPass {
public:
  StringRef name() const override { return "sccp"; }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    SCCPStats s = runSCCP(f);
    if (!s.changed())
      return PreservedAnalyses::all();
    if (s.branchesFolded)
      return PreservedAnalyses::none();
    return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
  }
};

} // namespace

SCCPStats runSCCP(Function &f) {
  if (f.isDeclaration())
    return {};
  return SCCP(f).run();
}

void registerSCCPPass(PassRegistry &registry) {
  registry.add<SCCPPass>(
      "sccp", "sparse conditional constant propagation: constants through "
              "block arguments over executable edges only; folds branches, "
              "switches and matches whose outcome is known");
}

} // namespace qmir
