// dce: aggressive dead code elimination. Rather than deleting unused values
// one at a time (which cannot see through cycles such as a loop counter that
// only feeds itself), it assumes everything dead and marks live from the
// roots: instructions with side effects (Instruction::hasSideEffects, which
// covers stores, calls and divisions that may panic) and every terminator,
// whose condition/scrutinee/return operands are live. Liveness flows backwards
// through operands; a block parameter is live only if a live instruction uses
// it, and then the value each incoming edge passes for it is live. A `dbg`
// never makes anything live: it survives only if its value does. The sweep
// then drops dead parameters from their blocks and from every incoming edge
// (for `match` arms, whose parameters are pattern bindings, the binding
// becomes a wildcard), and erases dead instructions. Blocks and edges are
// never changed, so CFG analyses survive. The work is linear in the size of
// the function.
#include "passes/DCE.h"

#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include "llvm/ADT/BitVector.h"

#include <cassert>
#include <vector>

using namespace llvm;

namespace qmir {

namespace {

/// An edge into a block: terminator and successor index.
struct Edge {
  Instruction *term;
  unsigned succ;
};

bool isMatchArm(const Instruction *term, unsigned succ) {
  return term->opcode() == Opcode::Match && !term->successors()[succ].isDefault;
}

/// Copy of `p` where the Bind nodes whose pre-order number (counted by `next`)
/// is set in `dead` are wildcards; shares unchanged subpatterns.
const Pattern *dropBindings(Module &m, const Pattern *p, const BitVector &dead,
                            unsigned &next) {
  switch (p->kind) {
  case Pattern::Bind:
    return dead.test(next++) ? m.makeWildcard() : p;
  case Pattern::Variant: {
    SmallVector<const Pattern *, 4> fields;
    bool changed = false;
    for (const Pattern *f : p->fields) {
      const Pattern *nf = dropBindings(m, f, dead, next);
      changed |= nf != f;
      fields.push_back(nf);
    }
    return changed ? m.makeVariantPattern(p->variant, fields) : p;
  }
  default:
    return p;
  }
}

} // namespace

DCEStats eliminateDeadCode(Function &f) {
  DCEStats stats;
  if (f.isDeclaration())
    return stats;

  // Indexed by value id (instructions and block parameters share the space).
  std::vector<uint8_t> live(f.numValueIds(), 0);
  std::vector<Value *> work;
  auto markLive = [&](Value *v) {
    // Arguments and constants are never removed, so they need no marking.
    if (!v || !(isa<Instruction>(v) || isa<BlockArg>(v)) || live[v->id()])
      return;
    live[v->id()] = 1;
    work.push_back(v);
  };

  std::vector<SmallVector<Edge, 2>> incoming(f.numBlockIds());
  for (Block &b : f.blocks())
    for (Instruction &i : b.insts()) {
      if (i.isTerminator())
        for (unsigned s = 0; s < i.numSuccessors(); ++s)
          incoming[i.successor(s)->id()].push_back({&i, s});
      if (i.hasSideEffects())
        markLive(&i);
    }

  while (!work.empty()) {
    Value *v = work.back();
    work.pop_back();
    if (auto *i = dyn_cast<Instruction>(v)) {
      // Edge arguments of a terminator are live only through the parameter
      // they feed, handled below.
      for (unsigned k = 0, n = i->numMainOperands(); k < n; ++k)
        markLive(i->operand(k));
      continue;
    }
    auto *a = cast<BlockArg>(v);
    for (const Edge &e : incoming[a->parent()->id()]) {
      if (isMatchArm(e.term, e.succ))
        continue; // the value is a part of the scrutinee, which is live
      const Successor &s = e.term->successors()[e.succ];
      assert(s.numArgs == a->parent()->numArgs() && "edge arity mismatch");
      markLive(e.term->operand(s.firstArg + a->index()));
    }
  }

  // Drop dead parameters from the edges first: a live terminator may still
  // pass a dead value to a dead parameter, and that use must go before the
  // value can be erased.
  SmallVector<std::pair<Block *, BitVector>, 8> deadArgs;
  for (Block &b : f.blocks()) {
    BitVector dead(b.numArgs());
    for (BlockArg *a : b.args())
      if (!live[a->id()])
        dead.set(a->index());
    if (dead.none())
      continue;
    for (const Edge &e : incoming[b.id()]) {
      if (isMatchArm(e.term, e.succ)) {
        Successor &s = e.term->successors()[e.succ];
        unsigned next = 0;
        s.pattern = dropBindings(*f.parent(), s.pattern, dead, next);
        continue;
      }
      SmallVector<Value *, 4> args = e.term->successorArgs(e.succ);
      SmallVector<Value *, 4> kept;
      for (unsigned k = 0; k < args.size(); ++k)
        if (!dead.test(k))
          kept.push_back(args[k]);
      e.term->setSuccessorArgs(e.succ, kept);
    }
    deadArgs.emplace_back(&b, std::move(dead));
  }

  std::vector<Instruction *> deadInsts;
  for (Block &b : f.blocks())
    for (Instruction &i : b.insts()) {
      if (live[i.id()])
        continue;
      if (i.opcode() == Opcode::DbgValue) {
        Value *v = i.numOperands() ? i.operand(0) : nullptr;
        if (v && (isa<Instruction>(v) || isa<BlockArg>(v)) && !live[v->id()]) {
          deadInsts.push_back(&i);
          ++stats.dbgs;
        }
        continue;
      }
      deadInsts.push_back(&i);
      ++stats.instructions;
    }
  // Dead instructions may use each other (in cycles too): unlink all operands
  // before erasing any.
  for (Instruction *i : deadInsts)
    i->dropAllReferences();
  for (Instruction *i : deadInsts)
    i->eraseFromParent();

  for (auto &[b, dead] : deadArgs)
    for (int k = dead.find_last(); k >= 0; k = dead.find_prev(k)) {
      b->eraseArg(k);
      ++stats.blockArgs;
    }
  return stats;
}

PreservedAnalyses DCEPass::run(Function &f, AnalysisManager &) {
  DCEStats s = eliminateDeadCode(f);
  stats_.instructions += s.instructions;
  stats_.blockArgs += s.blockArgs;
  stats_.dbgs += s.dbgs;
  if (!s.changed())
    return PreservedAnalyses::all();
  return PreservedAnalyses::none().preserveSet<CFGAnalyses>();
}

void registerDCEPass(PassRegistry &registry) {
  registry.add<DCEPass>(
      "dce", "aggressive dead code elimination: removes instructions and "
             "block parameters that no side effect or terminator needs");
}

} // namespace qmir
