// inline: replaces direct calls to small functions by a copy of the callee's
// body, removing call overhead and exposing the callee's code to the caller's
// optimisations. Cost model: the callee's instruction count (dbg records are
// free) minus a bonus of kConstArgBonus per constant argument, at least 1; a
// call is inlined when the cost is at most the threshold (`inline<threshold=N>`,
// default 40; 0 disables inlining). Functions that are part of a cycle of the
// call graph (a strongly connected component with two functions or more, or a
// function calling itself; found with an iterative Tarjan) are never inlined,
// so a function is never inlined into itself and inlining always terminates.
// The callee always keeps its body and is never deleted. Functions are visited
// bottom-up (Tarjan emits callees' components before their callers'), so a
// callee has had its own small callees inlined before it is measured. Calls
// that appear in a caller because a body was copied into it are considered
// too (constant arguments may now make them cheap), within a growth budget
// per caller; that is what makes a second run find nothing left to do.
//
// Inlining a call `%r = call @g(args)` in block A: the instructions after the
// call move to a new continuation block whose parameter (for a non-void g)
// replaces %r; g's blocks are cloned between A and it, with g's arguments
// mapped to the call's operands, `ret v` becoming `br cont(v)`, and A ending
// in `br` to the clone of g's entry. Everything else is copied as is:
// panic/unreachable, source locations, binding records on values and dbg
// records, match patterns (module-owned). Allocas: the interpreter gives an
// alloca executed again a fresh zeroed object (it re-zeroes it), and a callee's
// allocas run on every call. So a cloned alloca moves to the caller's entry
// block (where mem2reg expects variables) only when that preserves this: if
// it was in g's entry block, g's entry has no predecessors, and the call sits
// in the caller's entry block, which has none either (then it runs at most
// once per call of the caller, like before); otherwise it moves and a
// `store <zero>, %a` is left where it was, re-zeroing it each time control
// passes there. A type whose zero value cannot be written as a MIR value (one
// holding a ptr) keeps its alloca in place. The only difference left is that
// a pointer kept past g's return no longer dangles, which the interpreter
// would have reported as a trap (an invalid program, not a behaviour).
#include "mir/Builder.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cassert>
#include <deque>
#include <vector>

using namespace llvm;

namespace qmir {

namespace {

constexpr int64_t kDefaultThreshold = 40;
constexpr int64_t kConstArgBonus = 5;
/// Instructions a caller may gain from calls that inlining itself put there,
/// as a multiple of the threshold.
constexpr int64_t kNestedBudgetFactor = 16;

bool isZeroExpressible(const Type *t) {
  if (t->isInt())
    return true;
  if (t->isStruct()) {
    for (const Type *f : t->fields())
      if (!isZeroExpressible(f))
        return false;
    return true;
  }
  if (t->isEnum()) {
    if (t->variants().empty())
      return false;
    for (const Type *f : t->variants()[0].fields)
      if (!isZeroExpressible(f))
        return false;
    return true;
  }
  return false;
}

/// The value the interpreter gives a fresh alloca of type t (ints 0, structs
/// of zeros, an enum's first variant with a zero payload), built at b's
/// insertion point. t must be isZeroExpressible.
Value *buildZero(Builder &b, const Type *t) {
  if (t->isInt())
    return b.intConst(t, 0);
  SmallVector<Value *, 4> fields;
  if (t->isStruct()) {
    for (const Type *f : t->fields())
      fields.push_back(buildZero(b, f));
    return b.structMake(t, fields);
  }
  for (const Type *f : t->variants()[0].fields)
    fields.push_back(buildZero(b, f));
  return b.enumMake(t, 0, fields);
}

bool hasPredecessors(const Function &f, const Block *target) {
  for (const Block &b : f.blocks())
    if (const Instruction *t = b.terminator())
      for (const Successor &s : t->successors())
        if (s.block == target)
          return true;
  return false;
}

/// The call graph's strongly connected components over functions with
/// bodies, callees' components first.
struct CallGraphSCCs {
  std::vector<Function *> nodes;
  DenseMap<const Function *, unsigned> index;
  std::vector<std::vector<unsigned>> sccs; // node indices, callees first
  std::vector<uint8_t> cyclic;             // node -> in a call cycle

  explicit CallGraphSCCs(Module &m) {
    for (Function &f : m.functions())
      if (!f.isDeclaration()) {
        index[&f] = nodes.size();
        nodes.push_back(&f);
      }
    const unsigned n = nodes.size();
    std::vector<uint32_t> succBegin(n + 1, 0);
    std::vector<uint32_t> succs;
    cyclic.assign(n, 0);
    for (unsigned v = 0; v < n; ++v) {
      succBegin[v] = succs.size();
      for (Block &b : nodes[v]->blocks())
        for (Instruction &i : b.insts())
          if (i.opcode() == Opcode::Call && i.callee()) {
            auto it = index.find(i.callee());
            if (it == index.end())
              continue;
            succs.push_back(it->second);
            if (it->second == v)
              cyclic[v] = 1;
          }
    }
    succBegin[n] = succs.size();

    // Iterative Tarjan.
    constexpr uint32_t kNone = ~0u;
    std::vector<uint32_t> num(n, kNone), low(n, 0);
    std::vector<uint8_t> onStack(n, 0);
    std::vector<uint32_t> stack;
    std::vector<std::pair<uint32_t, uint32_t>> frames; // node, next edge
    uint32_t counter = 0;
    for (unsigned root = 0; root < n; ++root) {
      if (num[root] != kNone)
        continue;
      auto visit = [&](uint32_t v) {
        num[v] = low[v] = counter++;
        stack.push_back(v);
        onStack[v] = 1;
        frames.push_back({v, succBegin[v]});
      };
      visit(root);
      while (!frames.empty()) {
        auto &[v, next] = frames.back();
        if (next < succBegin[v + 1]) {
          uint32_t w = succs[next++];
          if (num[w] == kNone)
            visit(w); // invalidates v/next
          else if (onStack[w])
            low[v] = std::min(low[v], num[w]);
          continue;
        }
        uint32_t done = v;
        frames.pop_back();
        if (low[done] == num[done]) {
          std::vector<unsigned> scc;
          uint32_t w;
          do {
            w = stack.back();
            stack.pop_back();
            onStack[w] = 0;
            scc.push_back(w);
          } while (w != done);
          if (scc.size() > 1)
            for (unsigned x : scc)
              cyclic[x] = 1;
          std::reverse(scc.begin(), scc.end());
          sccs.push_back(std::move(scc));
        }
        if (!frames.empty()) {
          uint32_t parent = frames.back().first;
          low[parent] = std::min(low[parent], low[done]);
        }
      }
    }
  }

  bool isCyclic(const Function *f) const {
    auto it = index.find(f);
    return it == index.end() || cyclic[it->second];
  }
};

class Inliner {
public:
  Inliner(Module &m, int64_t threshold) : m_(m), threshold_(threshold) {}

  unsigned run() {
    if (threshold_ <= 0)
      return 0;
    CallGraphSCCs cg(m_);
    unsigned inlined = 0;
    for (const std::vector<unsigned> &scc : cg.sccs)
      for (unsigned v : scc)
        inlined += inlineInto(*cg.nodes[v], cg);
    return inlined;
  }

private:
  struct Site {
    Instruction *call;
    bool nested; // made by inlining into this caller
  };

  /// Instructions of f that count for the cost (dbg records are free).
  int64_t size(Function &f) {
    auto it = sizes_.find(&f);
    if (it != sizes_.end())
      return it->second;
    int64_t n = 0;
    for (Block &b : f.blocks())
      for (Instruction &i : b.insts())
        n += i.opcode() != Opcode::DbgValue;
    sizes_[&f] = n;
    return n;
  }

  int64_t cost(Instruction *call) {
    int64_t c = size(*call->callee());
    for (unsigned k = 0; k < call->numOperands(); ++k)
      if (isa<ConstInt>(call->operand(k)) || isa<ConstString>(call->operand(k)))
        c -= kConstArgBonus;
    return std::max<int64_t>(c, 1);
  }

  unsigned inlineInto(Function &f, const CallGraphSCCs &cg) {
    std::deque<Site> work;
    for (Block &b : f.blocks())
      for (Instruction &i : b.insts())
        if (i.opcode() == Opcode::Call)
          work.push_back({&i, false});
    if (work.empty())
      return 0;
    callerEntryHasPreds_ = hasPredecessors(f, f.entry());
    int64_t nestedBudget = kNestedBudgetFactor * threshold_;
    unsigned count = 0;
    while (!work.empty()) {
      Site s = work.front();
      work.pop_front();
      Function *g = s.call->callee();
      if (!g || g->isDeclaration() || g == &f || cg.isCyclic(g) ||
          s.call->numOperands() != g->args().size())
        continue;
      int64_t c = cost(s.call);
      if (c > threshold_)
        continue;
      if (s.nested) {
        if (size(*g) > nestedBudget)
          continue;
        nestedBudget -= size(*g);
      }
      inlineCall(s.call, newCalls_);
      ++count;
      for (Instruction *nc : newCalls_)
        work.push_back({nc, true});
    }
    sizes_.erase(&f);
    return count;
  }

  void inlineCall(Instruction *call, std::vector<Instruction *> &newCalls);

  Module &m_;
  int64_t threshold_;
  DenseMap<const Function *, int64_t> sizes_;
  bool callerEntryHasPreds_ = false;
  std::vector<Instruction *> newCalls_;
  std::vector<Value *> valueMap_;
  std::vector<Block *> blockMap_;
};

void Inliner::inlineCall(Instruction *call, std::vector<Instruction *> &newCalls) {
  newCalls.clear();
  Function &f = *call->function();
  Function &g = *call->callee();
  Block *a = call->parent();
  const bool onceOnly = a == f.entry() && !callerEntryHasPreds_ &&
                        !hasPredecessors(g, g.entry());

  // Split A after the call.
  auto nextIt = std::next(a->getIterator());
  Block *before = nextIt == f.blocks().end() ? nullptr : &*nextIt;
  Block *cont = f.createBlock((g.name() + Twine(".ret")).str(), before);
  for (auto it = std::next(call->getIterator()); it != a->insts().end();) {
    Instruction &i = *it++;
    i.removeFromParent();
    cont->append(&i);
  }
  if (!g.returnType()->isVoid()) {
    BlockArg *r = cont->addArg(g.returnType(), call->name());
    call->replaceAllUsesWith(r);
  }

  // Clone the blocks and their parameters.
  valueMap_.assign(g.numValueIds(), nullptr);
  blockMap_.assign(g.numBlockIds(), nullptr);
  for (unsigned k = 0; k < g.args().size(); ++k)
    valueMap_[g.arg(k)->id()] = call->operand(k);
  for (Block &gb : g.blocks()) {
    Block *nb = f.createBlock(
        gb.name().empty() ? g.name().str() : (g.name() + Twine(".") + gb.name()).str(),
        cont);
    blockMap_[gb.id()] = nb;
    for (BlockArg *ga : gb.args()) {
      BlockArg *na = nb->addArg(ga->type(), ga->name());
      na->setBinding(ga->binding());
      valueMap_[ga->id()] = na;
    }
  }

  // Clone the instructions, operands still pointing into g; remapped below,
  // once every value has its copy (a block may use a value of a block that
  // comes later in the layout).
  std::vector<Instruction *> cloned;
  std::vector<std::pair<Instruction *, const Block *>> allocas; // + g's block
  for (Block &gb : g.blocks()) {
    Block *nb = blockMap_[gb.id()];
    for (Instruction &gi : gb.insts()) {
      SmallVector<Value *, 8> ops;
      for (unsigned k = 0; k < gi.numOperands(); ++k)
        ops.push_back(gi.operand(k));
      Instruction *ni;
      if (gi.opcode() == Opcode::Ret) {
        ni = f.createInst(Opcode::Br, m_.types().voidTy(), ops, 1);
        Successor &s = ni->successors()[0];
        s.block = cont;
        s.firstArg = 0;
        s.numArgs = ops.size();
      } else {
        ni = f.createInst(gi.opcode(), gi.type(), ops, gi.numSuccessors());
        ni->setFieldIndex(gi.fieldIndex()); // predicate / field index
        ni->setVariantIndex(gi.variantIndex());
        if (gi.opcode() == Opcode::Panic)
          ni->setMessage(f.save(gi.message()));
        else if (gi.hasCallee())
          ni->setCallee(gi.callee());
        else if (gi.numSuccessors() == 0)
          ni->setAuxType(gi.auxType());
        for (unsigned k = 0; k < gi.numSuccessors(); ++k) {
          const Successor &gs = gi.successors()[k];
          Successor &ns = ni->successors()[k];
          ns = gs;
          ns.block = blockMap_[gs.block->id()];
        }
        ni->setBinding(gi.binding());
        if (!gi.name().empty())
          ni->setName(f.save(gi.name()));
        valueMap_[gi.id()] = ni;
      }
      ni->setLoc(gi.loc());
      nb->append(ni);
      cloned.push_back(ni);
      if (gi.opcode() == Opcode::Call)
        newCalls.push_back(ni);
      else if (gi.opcode() == Opcode::Alloca)
        allocas.push_back({ni, &gb});
    }
  }
  for (Instruction *ni : cloned)
    for (unsigned k = 0; k < ni->numOperands(); ++k) {
      Value *v = ni->operand(k);
      if (v && (isa<Instruction>(v) || isa<Argument>(v) || isa<BlockArg>(v))) {
        Value *mapped = v->id() < valueMap_.size() ? valueMap_[v->id()] : nullptr;
        assert(mapped && "operand of the callee has no copy");
        ni->setOperand(k, mapped);
      }
    }

  // A jumps to the copy of g's entry instead of calling.
  Instruction *br = f.createInst(Opcode::Br, m_.types().voidTy(), {}, 1);
  br->successors()[0].block = blockMap_[g.entry()->id()];
  br->setLoc(call->loc());
  call->eraseFromParent();
  a->append(br);

  // Allocas (see the header comment).
  Instruction *entryFront = &f.entry()->front();
  Builder b(m_);
  for (auto [ni, gb] : allocas) {
    const Type *t = ni->auxType();
    if (onceOnly && gb == g.entry()) {
      ni->moveBefore(entryFront);
      continue;
    }
    if (!isZeroExpressible(t))
      continue;
    b.setInsertPoint(ni);
    b.setLoc(ni->loc());
    Value *zero = buildZero(b, t);
    b.store(zero, ni);
    ni->moveBefore(entryFront); // a cloned block is never f's entry

  }
}

class InlinePass : public ModulePass {
public:
  explicit InlinePass(PassOptions &opts)
      : threshold_(opts.takeInt("threshold", kDefaultThreshold)) {}
  StringRef name() const override { return "inline"; }
  void printOptions(raw_ostream &os) const override {
    if (threshold_ != kDefaultThreshold)
      os << "threshold=" << threshold_;
  }
  PreservedAnalyses run(Module &m, AnalysisManager &) override {
    if (!Inliner(m, threshold_).run())
      return PreservedAnalyses::all();
    return PreservedAnalyses::none();
  }

private:
  int64_t threshold_;
};

} // namespace

void registerInlinePass(PassRegistry &registry) {
  registry.add<InlinePass>(
      "inline", "inlines direct calls to small non-recursive functions "
                "(option threshold=N, default 40)");
}

} // namespace qmir
