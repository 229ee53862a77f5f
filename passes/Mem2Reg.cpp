// mem2reg: SSA construction. A frontend keeps every variable in an `alloca`
// and reads and writes it with `load`/`store`; this pass turns each alloca
// whose address does not escape (its only uses are the pointer operand of
// loads and stores of exactly its type, `struct.addr` chains used the same
// way, and `dbg`) into SSA values: a load becomes the value that reaches it,
// a store defines a new value, and where definitions meet the value arrives
// in a block parameter. Field accesses through `struct.addr` read the whole
// variable and `struct.extract` the field, or `struct.insert` the stored field
// into the whole value, so structs are promoted as one value. An alloca is
// zero-initialised every time it executes (the interpreter re-zeroes it when
// it runs again in a loop), so the alloca itself is a definition of the zero
// value of its type: `0` for integers, and for structs and enums a
// `struct.make`/`enum.make` of zero fields (an enum's zero value is variant 0
// with zero payload, as the interpreter defines it) materialised right before
// the alloca. A pointer has no zero constant, so a variable holding a pointer
// whose initial value may be read is left in memory.
//
// Algorithm (Cytron et al., pruned): (1) find promotable allocas and, in one
// walk over the reachable blocks, each variable's defining blocks (stores, the
// alloca) and the blocks that read it before defining it (a load, or a field
// store, which reads the rest of the struct); (2) per variable, compute the
// blocks where it is live-in by a backward worklist from those blocks,
// stopping at defining blocks; (3) compute dominance frontiers once from the
// dominator tree (Cooper-Harvey-Kennedy: from each predecessor of a join
// block walk up the idom chain to the join's idom) and place a block
// parameter for the variable at every block of the iterated dominance
// frontier of its defining blocks where the variable is live-in (pruned SSA:
// no useless parameters); (4) a match arm's target takes exactly the pattern's
// bindings, so an arm edge into a block that needs new parameters is split
// first and (3) is redone; (5) rename in a pre-order walk over the dominator
// tree with an explicit stack (no recursion, so 100k-block functions are
// fine), keeping each variable's current value and an undo log to restore it
// when leaving a subtree; each terminator passes the current values to the
// new parameters of its successors. Unreachable blocks are not renamed: their
// loads become `undef` and their edges pass `undef`. Debug info: each new
// parameter gets the alloca's binding (and its name), and each removed store
// leaves a `dbg #N, %value` behind, so distinct bindings with the same
// spelling stay distinct. Cost: linear in the function plus the sizes of the
// dominance frontiers and of each variable's live range.
#include "passes/Mem2Reg.h"

#include "mir/Builder.h"
#include "mir/Dominators.h"
#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <vector>

using namespace llvm;

namespace qmir {

namespace {

constexpr uint32_t kNone = ~uint32_t(0);

bool promotableType(const Type *t) {
  if (!t || t->isOpaque())
    return false;
  if (t->isInt() || t->isPtr() || t->isStruct())
    return true;
  return t->isEnum() && !t->variants().empty();
}

/// Whether the zero value of `t` can be written as IR (a pointer cannot).
bool zeroExpressible(const Type *t) {
  if (t->isInt())
    return true;
  if (t->isStruct()) {
    for (const Type *f : t->fields())
      if (!zeroExpressible(f))
        return false;
    return true;
  }
  if (t->isEnum()) {
    if (t->variants().empty())
      return false;
    for (const Type *f : t->variants()[0].fields)
      if (!zeroExpressible(f))
        return false;
    return true;
  }
  return false;
}

struct Var {
  Instruction *alloca = nullptr;
  const Type *type = nullptr;
  SmallVector<Instruction *, 2> addrs;  // struct.addr chains, parents first
  SmallVector<uint32_t, 4> defBlocks;   // block ids
  SmallVector<uint32_t, 4> useBlocks;   // blocks reading it before a def
  uint32_t allocaBlock = kNone;
  bool zeroRead = false;     // read after the alloca in its own block
  bool zeroFlowsOut = false; // nothing after the alloca in its block
  bool promoted = true;
  Value *zero = nullptr;
};

class Promoter {
public:
  explicit Promoter(Function &f) : f_(f), m_(*f.parent()), b_(m_) {}
  Mem2RegStats run();
  /// Whether a promoted variable held a pointer (or an aggregate with one).
  bool promotedPointer() const {
    for (const Var &var : vars_)
      if (var.promoted && !zeroExpressible(var.type))
        return true;
    return false;
  }

private:
  bool collect();
  void scan();
  /// Liveness, dominance frontiers and parameter placement. Returns false if
  /// match-arm edges had to be split (then it must run again).
  bool place();
  void rename();
  void cleanupUnreachable();
  void erase();

  uint32_t varOfPtr(const Value *p) const {
    if (!p || !isa<Instruction>(p) || p->id() >= varOf_.size())
      return kNone;
    uint32_t v = varOf_[p->id()];
    return v != kNone && vars_[v].promoted ? v : kNone;
  }
  bool isVarAlloca(const Instruction &i) const {
    uint32_t v = varOfPtr(&i);
    return v != kNone && vars_[v].alloca == &i;
  }
  Value *zeroOf(uint32_t v);
  Value *makeZero(const Type *t);
  Value *currentValue(uint32_t v);
  static void pathOf(Value *p, SmallVectorImpl<unsigned> &path);

  Function &f_;
  Module &m_;
  Builder b_;
  Mem2RegStats stats_;
  std::vector<Var> vars_;
  std::vector<uint32_t> varOf_; // value id -> variable (allocas, struct.addrs)

  std::unique_ptr<DominatorTree> dt_;
  std::vector<SmallVector<uint32_t, 2>> phis_;    // block id -> variables
  std::vector<SmallVector<BlockArg *, 2>> args_;  // block id -> new params
  std::vector<Value *> cur_;
};

bool Promoter::collect() {
  varOf_.assign(f_.numValueIds(), kNone);
  SmallVector<std::pair<Value *, const Type *>, 8> work;
  for (Block &bb : f_.blocks())
    for (Instruction &i : bb.insts()) {
      if (i.opcode() != Opcode::Alloca || !promotableType(i.auxType()))
        continue;
      Var var;
      var.alloca = &i;
      var.type = i.auxType();
      bool ok = true;
      work.clear();
      work.push_back({&i, var.type});
      while (ok && !work.empty()) {
        auto [p, t] = work.pop_back_val();
        for (Use &u : p->uses()) {
          Instruction *user = u.user();
          switch (user->opcode()) {
          case Opcode::Load:
            ok = user->type() == t;
            break;
          case Opcode::Store:
            ok = u.operandNo() == 1 && user->operand(0) &&
                 user->operand(0)->type() == t;
            break;
          case Opcode::FieldAddr:
            ok = u.operandNo() == 0 && t->isStruct() && user->auxType() == t &&
                 user->fieldIndex() < t->fields().size();
            if (ok) {
              var.addrs.push_back(user);
              work.push_back({user, t->fields()[user->fieldIndex()]});
            }
            break;
          case Opcode::DbgValue:
            break;
          default:
            ok = false;
          }
          if (!ok)
            break;
        }
      }
      if (!ok)
        continue;
      uint32_t v = static_cast<uint32_t>(vars_.size());
      varOf_[i.id()] = v;
      for (Instruction *a : var.addrs)
        varOf_[a->id()] = v;
      vars_.push_back(std::move(var));
    }
  return !vars_.empty();
}

void Promoter::scan() {
  const size_t n = vars_.size();
  std::vector<uint32_t> lastBlock(n, kNone), lastDef(n, kNone);
  std::vector<uint8_t> pending(n, 0);
  SmallVector<uint32_t, 4> allocatedHere;
  auto def = [&](uint32_t v, uint32_t bid) {
    lastBlock[v] = bid;
    if (lastDef[v] != bid) {
      lastDef[v] = bid;
      vars_[v].defBlocks.push_back(bid);
    }
    pending[v] = 0;
  };
  auto use = [&](uint32_t v, uint32_t bid) {
    if (lastBlock[v] != bid) {
      lastBlock[v] = bid;
      vars_[v].useBlocks.push_back(bid);
    }
    if (pending[v])
      vars_[v].zeroRead = true;
    pending[v] = 0;
  };
  for (const Block *cb : dt_->rpo()) {
    Block *bb = const_cast<Block *>(cb);
    uint32_t bid = bb->id();
    allocatedHere.clear();
    for (Instruction &i : bb->insts()) {
      switch (i.opcode()) {
      case Opcode::Alloca:
        if (isVarAlloca(i)) {
          uint32_t v = varOf_[i.id()];
          def(v, bid);
          pending[v] = 1;
          vars_[v].allocaBlock = bid;
          allocatedHere.push_back(v);
        }
        break;
      case Opcode::Load:
        if (uint32_t v = varOfPtr(i.operand(0)); v != kNone)
          use(v, bid);
        break;
      case Opcode::Store:
        if (uint32_t v = varOfPtr(i.operand(1)); v != kNone) {
          if (i.operand(1) != vars_[v].alloca)
            use(v, bid); // a field store reads the rest of the value
          def(v, bid);
        }
        break;
      default:
        break;
      }
    }
    for (uint32_t v : allocatedHere)
      if (pending[v]) {
        vars_[v].zeroFlowsOut = true;
        pending[v] = 0;
      }
  }
}

bool Promoter::place() {
  // run() built the tree for scan(); only split arm edges (a second call)
  // change the CFG.
  if (!dt_)
    dt_ = std::make_unique<DominatorTree>(f_);
  const uint32_t nb = f_.numBlockIds();
  ArrayRef<const Block *> rpo = dt_->rpo();

  // Predecessors (reachable ones only) in CSR form, and immediate dominators.
  std::vector<uint32_t> predBegin(nb + 1, 0), idom(nb, kNone);
  for (const Block *b : rpo)
    for (Block *s : b->successors())
      ++predBegin[s->id() + 1];
  for (uint32_t k = 0; k < nb; ++k)
    predBegin[k + 1] += predBegin[k];
  std::vector<uint32_t> preds(predBegin[nb]);
  {
    std::vector<uint32_t> fill(predBegin.begin(), predBegin.end() - 1);
    for (const Block *b : rpo) {
      for (Block *s : b->successors())
        preds[fill[s->id()]++] = b->id();
      if (const Block *d = dt_->idom(b))
        idom[b->id()] = d->id();
    }
  }

  // Dominance frontiers.
  std::vector<SmallVector<uint32_t, 2>> df(nb);
  for (const Block *y : rpo) {
    uint32_t yid = y->id();
    if (predBegin[yid + 1] - predBegin[yid] < 2)
      continue;
    for (uint32_t e = predBegin[yid]; e < predBegin[yid + 1]; ++e) {
      uint32_t runner = preds[e];
      while (runner != kNone && runner != idom[yid]) {
        if (df[runner].empty() || df[runner].back() != yid)
          df[runner].push_back(yid);
        runner = idom[runner];
      }
    }
  }

  phis_.assign(nb, {});
  std::vector<uint32_t> liveStamp(nb, 0), defStamp(nb, 0), idfStamp(nb, 0);
  SmallVector<uint32_t, 16> work;
  for (uint32_t v = 0; v < vars_.size(); ++v) {
    Var &var = vars_[v];
    if (!var.promoted)
      continue;
    const uint32_t stamp = v + 1;
    for (uint32_t d : var.defBlocks)
      defStamp[d] = stamp;
    // Live-in blocks: backward from the upward-exposed reads.
    work.clear();
    for (uint32_t u : var.useBlocks)
      if (liveStamp[u] != stamp) {
        liveStamp[u] = stamp;
        work.push_back(u);
      }
    while (!work.empty()) {
      uint32_t x = work.pop_back_val();
      for (uint32_t e = predBegin[x]; e < predBegin[x + 1]; ++e) {
        uint32_t p = preds[e];
        if (liveStamp[p] == stamp || defStamp[p] == stamp)
          continue;
        liveStamp[p] = stamp;
        work.push_back(p);
      }
    }
    // A pointer-holding variable whose initial zero may be read stays.
    if (!zeroExpressible(var.type)) {
      bool zeroLive = var.zeroRead;
      if (!zeroLive && var.zeroFlowsOut && var.allocaBlock != kNone)
        for (Block *s : var.alloca->parent()->successors())
          zeroLive |= liveStamp[s->id()] == stamp;
      if (zeroLive) {
        var.promoted = false;
        continue;
      }
    }
    // Iterated dominance frontier of the defs, restricted to live-in blocks.
    work.assign(var.defBlocks.begin(), var.defBlocks.end());
    while (!work.empty()) {
      uint32_t x = work.pop_back_val();
      for (uint32_t y : df[x]) {
        if (idfStamp[y] == stamp)
          continue;
        idfStamp[y] = stamp;
        if (liveStamp[y] != stamp)
          continue;
        phis_[y].push_back(v);
        work.push_back(y);
      }
    }
  }

  // A match arm's target receives exactly the pattern's bindings: split arm
  // edges into blocks that need new parameters.
  bool split = false;
  for (const Block *cb : rpo) {
    Instruction *term = cb->terminator();
    if (!term || term->opcode() != Opcode::Match)
      continue;
    for (unsigned s = 0; s < term->numSuccessors(); ++s) {
      if (term->successors()[s].isDefault)
        continue;
      Block *t = term->successor(s);
      if (phis_[t->id()].empty())
        continue;
      Block *n = f_.createBlock(t->name(), t);
      SmallVector<Value *, 4> fwd;
      for (BlockArg *a : t->args()) {
        BlockArg *na = n->addArg(a->type(), a->name());
        na->setBinding(a->binding());
        fwd.push_back(na);
      }
      b_.setInsertPoint(n);
      b_.setLoc(term->loc());
      b_.br(t, fwd);
      term->setSuccessorBlock(s, n);
      ++stats_.splitEdges;
      split = true;
    }
  }
  if (split)
    dt_.reset(); // stale: the next call rebuilds it
  return !split;
}

void Promoter::pathOf(Value *p, SmallVectorImpl<unsigned> &path) {
  path.clear();
  while (auto *i = dyn_cast<Instruction>(p)) {
    if (i->opcode() != Opcode::FieldAddr)
      break;
    path.push_back(i->fieldIndex());
    p = i->operand(0);
  }
  std::reverse(path.begin(), path.end());
}

Value *Promoter::makeZero(const Type *t) {
  if (t->isInt())
    return m_.constInt(t, 0);
  SmallVector<Value *, 4> fields;
  if (t->isStruct()) {
    for (const Type *ft : t->fields())
      fields.push_back(makeZero(ft));
    return b_.structMake(t, fields);
  }
  assert(t->isEnum() && "zero of a type without a zero constant");
  for (const Type *ft : t->variants()[0].fields)
    fields.push_back(makeZero(ft));
  return b_.enumMake(t, 0, fields);
}

Value *Promoter::zeroOf(uint32_t v) {
  Var &var = vars_[v];
  if (!var.zero) {
    b_.setInsertPoint(var.alloca);
    b_.setLoc(var.alloca->loc());
    var.zero = makeZero(var.type);
  }
  return var.zero;
}

Value *Promoter::currentValue(uint32_t v) {
  Value *c = cur_[v];
  if (!c) // no definition reaches: only on paths that cannot execute
    return m_.undef(vars_[v].type);
  if (c == vars_[v].alloca)
    return zeroOf(v);
  return c;
}

void Promoter::rename() {
  const uint32_t nb = f_.numBlockIds();
  args_.assign(nb, {});
  for (const Block *cb : dt_->rpo()) {
    Block *bb = const_cast<Block *>(cb);
    for (uint32_t v : phis_[bb->id()]) {
      const Var &var = vars_[v];
      BindingId bind = var.alloca->binding();
      StringRef name = bind ? m_.binding(bind).name : var.alloca->name();
      BlockArg *a = bb->addArg(var.type, name);
      a->setBinding(bind);
      args_[bb->id()].push_back(a);
      ++stats_.blockArgs;
    }
  }

  cur_.assign(vars_.size(), nullptr);
  std::vector<std::pair<uint32_t, Value *>> undo;
  auto define = [&](uint32_t v, Value *val) {
    undo.push_back({v, cur_[v]});
    cur_[v] = val;
  };
  SmallVector<unsigned, 4> path;
  SmallVector<Value *, 4> chain;

  struct Frame {
    const Block *block;
    unsigned nextChild;
    size_t undoSize;
  };
  std::vector<Frame> stack;
  auto enter = [&](Block *bb) {
    stack.push_back({bb, 0, undo.size()});
    const SmallVector<uint32_t, 2> &ph = phis_[bb->id()];
    for (unsigned k = 0; k < ph.size(); ++k)
      define(ph[k], args_[bb->id()][k]);
    for (Instruction &i : make_early_inc_range(bb->insts())) {
      switch (i.opcode()) {
      case Opcode::Alloca:
        if (isVarAlloca(i))
          define(varOf_[i.id()], &i); // the alloca stands for "zero"
        break;
      case Opcode::Load: {
        uint32_t v = varOfPtr(i.operand(0));
        if (v == kNone)
          break;
        Value *w = currentValue(v);
        pathOf(i.operand(0), path);
        b_.setInsertPoint(&i);
        b_.setLoc(i.loc());
        for (unsigned k : path)
          w = b_.structExtract(w, k);
        i.replaceAllUsesWith(w);
        i.eraseFromParent();
        ++stats_.loads;
        break;
      }
      case Opcode::Store: {
        uint32_t v = varOfPtr(i.operand(1));
        if (v == kNone)
          break;
        Value *nv = i.operand(0);
        pathOf(i.operand(1), path);
        if (!path.empty()) {
          chain.clear();
          chain.push_back(currentValue(v));
          b_.setInsertPoint(&i);
          b_.setLoc(i.loc());
          for (unsigned k = 0; k + 1 < path.size(); ++k)
            chain.push_back(b_.structExtract(chain.back(), path[k]));
          for (unsigned k = path.size(); k-- > 0;)
            nv = b_.structInsert(chain[k], path[k], nv);
        }
        define(v, nv);
        if (BindingId bind = vars_[v].alloca->binding()) {
          b_.setInsertPoint(&i);
          b_.setLoc(i.loc());
          b_.dbgValue(bind, nv);
        }
        i.eraseFromParent();
        ++stats_.stores;
        break;
      }
      case Opcode::DbgValue:
        if (varOfPtr(i.operand(0)) != kNone)
          i.eraseFromParent();
        break;
      default:
        if (!i.isTerminator())
          break;
        for (unsigned s = 0; s < i.numSuccessors(); ++s) {
          Block *t = i.successor(s);
          const SmallVector<uint32_t, 2> &tp = phis_[t->id()];
          if (tp.empty())
            continue;
          SmallVector<Value *, 4> edge = i.successorArgs(s);
          for (uint32_t v : tp)
            edge.push_back(currentValue(v));
          i.setSuccessorArgs(s, edge);
        }
      }
    }
  };

  if (dt_->rpo().empty())
    return;
  enter(const_cast<Block *>(dt_->rpo()[0]));
  while (!stack.empty()) {
    Frame &fr = stack.back();
    ArrayRef<const Block *> kids = dt_->children(fr.block);
    if (fr.nextChild < kids.size()) {
      const Block *c = kids[fr.nextChild++];
      enter(const_cast<Block *>(c)); // may reallocate `stack`
      continue;
    }
    size_t keep = fr.undoSize;
    while (undo.size() > keep) {
      auto [v, old] = undo.back();
      undo.pop_back();
      cur_[v] = old;
    }
    stack.pop_back();
  }
}

void Promoter::cleanupUnreachable() {
  for (Block &bb : f_.blocks()) {
    if (dt_->isReachable(&bb))
      continue;
    for (Instruction &i : make_early_inc_range(bb.insts())) {
      switch (i.opcode()) {
      case Opcode::Load:
        if (varOfPtr(i.operand(0)) != kNone) {
          i.replaceAllUsesWith(m_.undef(i.type()));
          i.eraseFromParent();
        }
        break;
      case Opcode::Store:
        if (varOfPtr(i.operand(1)) != kNone)
          i.eraseFromParent();
        break;
      case Opcode::DbgValue:
        if (varOfPtr(i.operand(0)) != kNone)
          i.eraseFromParent();
        break;
      default:
        if (!i.isTerminator())
          break;
        for (unsigned s = 0; s < i.numSuccessors(); ++s) {
          Block *t = i.successor(s);
          if (t->id() >= phis_.size() || phis_[t->id()].empty())
            continue;
          SmallVector<Value *, 4> edge = i.successorArgs(s);
          for (uint32_t v : phis_[t->id()])
            edge.push_back(m_.undef(vars_[v].type));
          i.setSuccessorArgs(s, edge);
        }
      }
    }
  }
}

void Promoter::erase() {
  for (Var &var : vars_) {
    if (!var.promoted)
      continue;
    // Users come after their struct.addr parents: erase back to front.
    for (Instruction *a : llvm::reverse(var.addrs)) {
      for (Use &u : make_early_inc_range(a->uses()))
        if (u.user()->opcode() == Opcode::DbgValue)
          u.user()->eraseFromParent();
      assert(!a->hasUses() && "struct.addr of a promoted alloca still used");
      a->eraseFromParent();
    }
    for (Use &u : make_early_inc_range(var.alloca->uses()))
      if (u.user()->opcode() == Opcode::DbgValue)
        u.user()->eraseFromParent();
    assert(!var.alloca->hasUses() && "promoted alloca still used");
    var.alloca->eraseFromParent();
    ++stats_.promoted;
  }
}

Mem2RegStats Promoter::run() {
  if (f_.isDeclaration() || !collect())
    return stats_;
  dt_ = std::make_unique<DominatorTree>(f_);
  scan();
  if (!place()) {
    bool again = place();
    assert(again && "splitting match arms must make room for parameters");
    (void)again;
  }
  bool any = false;
  for (const Var &var : vars_)
    any |= var.promoted;
  if (!any)
    return stats_; // (no edge was split: splits happen only for promoted vars)
  rename();
  cleanupUnreachable();
  erase();
  return stats_;
}

} // namespace

Mem2RegStats promoteMemoryToRegisters(Function &f) {
  // Promoting a pointer variable can turn `load ptr` results back into the
  // allocas they pointed to, which may make those allocas promotable: repeat
  // (each round is linear; rounds are bounded by the pointer nesting depth)
  // so that a second run of the pass finds nothing to do.
  Mem2RegStats total;
  for (;;) {
    Promoter p(f);
    Mem2RegStats s = p.run();
    total.promoted += s.promoted;
    total.blockArgs += s.blockArgs;
    total.loads += s.loads;
    total.stores += s.stores;
    total.splitEdges += s.splitEdges;
    if (!s.changed() || !p.promotedPointer())
      return total;
  }
}

PreservedAnalyses Mem2RegPass::run(Function &f, AnalysisManager &) {
  Mem2RegStats s = promoteMemoryToRegisters(f);
  stats_.promoted += s.promoted;
  stats_.blockArgs += s.blockArgs;
  stats_.loads += s.loads;
  stats_.stores += s.stores;
  stats_.splitEdges += s.splitEdges;
  if (!s.changed())
    return PreservedAnalyses::all();
  if (s.splitEdges)
    return PreservedAnalyses::none();
  return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
}

void registerMem2RegPass(PassRegistry &registry) {
  registry.add<Mem2RegPass>(
      "mem2reg", "promotes non-escaping allocas (scalars, enums, structs "
                 "through struct.addr) to SSA values in block parameters");
}

} // namespace qmir
