// simplifycfg: cleans up the block graph, repeating until nothing changes.
// Each round is linear in the size of the function and runs five phases:
// (1) blocks not reachable from the entry are deleted (all their operands are
// dropped first, so dead blocks may use each other's values); (2) terminators
// are folded: a condbr or switch on a constant becomes a br to the edge it
// would take, and a condbr/switch whose edges all go to one block with the
// same arguments (including a switch with only a default) becomes a br;
// (3) a block parameter that receives one value on every incoming edge (edges
// passing the parameter itself do not count) is replaced by that value and
// removed from the block and every edge; (4) "forwarding" blocks, which hold
// nothing but `br T(args)`, are skipped: every edge into one is redirected to
// the end of its chain of forwarding blocks (resolved once per block, a cycle
// stopping where it closes) with the brs' arguments composed with the edge's
// own (a forwarding parameter used in a br becomes the value the edge passed
// for it), and each changed terminator is rebuilt once;
// (5) a block whose single incoming edge is the `br` of its predecessor is
// merged into it, its parameters replaced by the edge's values. Invariants:
// the entry block is never deleted, skipped or merged into another block, so
// it stays first and without parameters; a `match` arm edge passes no values
// (its target's parameters are the pattern's bindings), so it is only
// redirected past a forwarding block whose br passes exactly its own
// parameters in order, and the parameters of arm targets are never removed.
// A loop header has two incoming edges, so it is never merged away. Nothing
// that executes (every instruction, every possible panic) is removed or
// reordered, except that a constant branch condition decides the path.
#include "passes/AnalysisManager.h"
#include "passes/PassRegistry.h"

#include "mir/Builder.h"

#include "llvm/ADT/SmallVector.h"

#include <vector>

using namespace llvm;

namespace qmir {

namespace {

/// An edge into a block: terminator and successor index. Terminators that
/// were deleted (with their block) have no parent; such edges are stale.
struct Edge {
  Instruction *term;
  unsigned succ;
};

bool isMatchArm(const Instruction *term, unsigned succ) {
  return term->opcode() == Opcode::Match && !term->successors()[succ].isDefault;
}

bool sameArgs(const Instruction *t, unsigned a, unsigned b) {
  const Successor &x = t->successors()[a], &y = t->successors()[b];
  if (x.numArgs != y.numArgs)
    return false;
  for (unsigned k = 0; k < x.numArgs; ++k)
    if (t->operand(x.firstArg + k) != t->operand(y.firstArg + k))
      return false;
  return true;
}

uint64_t truncToWidth(int64_t v, unsigned bits) {
  if (bits >= 64)
    return static_cast<uint64_t>(v);
  return static_cast<uint64_t>(v) & ((uint64_t(1) << bits) - 1);
}

class SimplifyCFG {
public:
  explicit SimplifyCFG(Function &f) : f_(f), m_(*f.parent()) {}

  bool run() {
    bool any = false;
    for (;;) {
      bool changed = removeUnreachable();
      if (simplifyTerminators()) {
        changed = true;
        removeUnreachable();
      }
      computeIncoming();
      changed |= removeRedundantParams();
      if (skipForwardingBlocks()) {
        changed = true;
        removeUnreachable();
        computeIncoming();
      }
      changed |= mergeBlocks();
      if (!changed)
        break;
      any = true;
    }
    return any;
  }

private:
  Function &f_;
  Module &m_;
  /// Reachable blocks in reverse post-order (from the last removeUnreachable).
  std::vector<Block *> rpo_;
  /// Incoming edges per block id; may hold stale edges (see Edge).
  std::vector<SmallVector<Edge, 2>> incoming_;
  std::vector<uint8_t> erased_;

  static bool live(const Edge &e) { return e.term->parent() != nullptr; }

  unsigned numLiveIncoming(const Block *b) const {
    unsigned n = 0;
    for (const Edge &e : incoming_[b->id()])
      n += live(e);
    return n;
  }

  /// Deletes every block the entry cannot reach; fills rpo_.
  bool removeUnreachable() {
    std::vector<uint8_t> seen(f_.numBlockIds(), 0);
    std::vector<Block *> post;
    struct Frame {
      Block *b;
      unsigned next;
    };
    std::vector<Frame> stack;
    Block *entry = f_.entry();
    seen[entry->id()] = 1;
    stack.push_back({entry, 0});
    while (!stack.empty()) {
      Frame &fr = stack.back();
      Instruction *t = fr.b->terminator();
      if (t && fr.next < t->numSuccessors()) {
        Block *s = t->successor(fr.next++);
        if (!seen[s->id()]) {
          seen[s->id()] = 1;
          stack.push_back({s, 0}); // invalidates fr
        }
        continue;
      }
      post.push_back(fr.b);
      stack.pop_back();
    }
    rpo_.assign(post.rbegin(), post.rend());

    SmallVector<Block *, 8> dead;
    for (Block &b : f_.blocks())
      if (!seen[b.id()])
        dead.push_back(&b);
    if (dead.empty())
      return false;
    // Dead blocks may use each other's values (in cycles too): drop every
    // operand before deleting anything. Valid IR has no use of a dead value
    // in a live block; anything left over becomes undef rather than dangle.
    for (Block *b : dead)
      for (Instruction &i : b->insts())
        i.dropAllReferences();
    for (Block *b : dead) {
      for (BlockArg *a : b->args())
        if (a->hasUses())
          a->replaceAllUsesWith(m_.undef(a->type()));
      for (Instruction &i : b->insts())
        if (i.hasUses())
          i.replaceAllUsesWith(m_.undef(i.type()));
    }
    for (Block *b : dead)
      b->eraseFromParent();
    return true;
  }

  /// Replaces terminator `t` by `br` along its edge `k`.
  void replaceWithBr(Instruction *t, unsigned k) {
    Block *dest = t->successor(k);
    SmallVector<Value *, 4> args = t->successorArgs(k);
    Builder b(m_);
    b.setInsertPoint(t);
    b.setLoc(t->loc());
    b.br(dest, args);
    t->eraseFromParent();
  }

  bool allEdgesSame(const Instruction *t) {
    for (unsigned k = 1; k < t->numSuccessors(); ++k)
      if (t->successor(k) != t->successor(0) || !sameArgs(t, 0, k))
        return false;
    return true;
  }

  bool simplifyTerminators() {
    bool changed = false;
    for (Block &b : f_.blocks()) {
      Instruction *t = b.terminator();
      if (!t)
        continue;
      if (t->opcode() == Opcode::CondBr) {
        if (auto *c = dyn_cast<ConstInt>(t->operand(0))) {
          replaceWithBr(t, c->value() ? 0 : 1);
          changed = true;
        } else if (allEdgesSame(t)) {
          replaceWithBr(t, 0);
          changed = true;
        }
      } else if (t->opcode() == Opcode::Switch) {
        if (auto *c = dyn_cast<ConstInt>(t->operand(0))) {
          unsigned bits = c->type()->bits();
          unsigned take = 0; // the default edge
          for (unsigned k = 1; k < t->numSuccessors(); ++k)
            if (truncToWidth(t->successors()[k].caseValue, bits) == c->zext()) {
              take = k;
              break;
            }
          replaceWithBr(t, take);
          changed = true;
        } else if (allEdgesSame(t)) {
          replaceWithBr(t, 0);
          changed = true;
        }
      }
    }
    return changed;
  }

  void computeIncoming() {
    incoming_.assign(f_.numBlockIds(), {});
    erased_.assign(f_.numBlockIds(), 0);
    for (Block &b : f_.blocks())
      if (Instruction *t = b.terminator())
        for (unsigned s = 0; s < t->numSuccessors(); ++s)
          incoming_[t->successor(s)->id()].push_back({t, s});
  }

  /// Removes parameters that get one value (or themselves) on every edge.
  bool removeRedundantParams() {
    bool changed = false;
    SmallVector<unsigned, 4> deadIdx;
    for (Block &b : f_.blocks()) {
      if (&b == f_.entry() || b.numArgs() == 0)
        continue;
      auto &in = incoming_[b.id()];
      if (in.empty())
        continue;
      bool armTarget = false;
      for (const Edge &e : in)
        armTarget |= isMatchArm(e.term, e.succ);
      if (armTarget)
        continue;
      deadIdx.clear();
      for (unsigned j = 0; j < b.numArgs(); ++j) {
        BlockArg *p = b.arg(j);
        Value *same = nullptr;
        bool ok = true;
        for (const Edge &e : in) {
          Value *v = e.term->operand(e.term->successors()[e.succ].firstArg + j);
          if (v == p)
            continue;
          if (!same)
            same = v;
          else if (same != v) {
            ok = false;
            break;
          }
        }
        if (!ok || !same)
          continue;
        // A value defined in this block cannot reach it along every edge
        // unless the block is unreachable; leave such knots alone.
        if (auto *a = dyn_cast<BlockArg>(same); a && a->parent() == &b)
          continue;
        if (auto *i = dyn_cast<Instruction>(same); i && i->parent() == &b)
          continue;
        p->replaceAllUsesWith(same);
        deadIdx.push_back(j);
      }
      if (deadIdx.empty())
        continue;
      changed = true;
      SmallVector<Value *, 4> kept;
      for (const Edge &e : in) {
        SmallVector<Value *, 4> args = e.term->successorArgs(e.succ);
        kept.clear();
        unsigned d = 0;
        for (unsigned k = 0; k < args.size(); ++k) {
          if (d < deadIdx.size() && deadIdx[d] == k) {
            ++d;
            continue;
          }
          kept.push_back(args[k]);
        }
        e.term->setSuccessorArgs(e.succ, kept);
      }
      for (unsigned d = deadIdx.size(); d-- > 0;)
        b.eraseArg(deadIdx[d]);
    }
    return changed;
  }

  /// Where an edge into a forwarding block ends up: the first block past the
  /// chain of forwarding blocks, and the values it receives, written in terms
  /// of the forwarding block's parameters (and values that dominate it).
  struct Resolution {
    Block *target = nullptr;
    SmallVector<Value *, 2> args;
    bool identity = false; ///< every br in the chain passes its params 1:1
    uint8_t state = 0;     ///< 0 not a forwarder, 1 unresolved, 2 in progress, 3 done
  };
  std::vector<Resolution> fwd_;

  bool isForwarder(Block *fb) {
    if (fb == f_.entry())
      return false;
    Instruction *br = fb->terminator();
    if (!br || &fb->front() != br || br->opcode() != Opcode::Br ||
        br->successor(0) == fb)
      return false;
    // The parameters must not be used past the br (they would lose their
    // definition).
    for (BlockArg *a : fb->args())
      for (Use &u : a->uses())
        if (u.user() != br)
          return false;
    return true;
  }

  /// `args` with every parameter of `from` replaced by the matching value
  /// of `vals` (the arguments an edge passes to `from`).
  static void substitute(SmallVectorImpl<Value *> &args, const Block *from,
                         ArrayRef<Value *> vals) {
    for (Value *&a : args)
      if (auto *ba = dyn_cast<BlockArg>(a); ba && ba->parent() == from)
        a = vals[ba->index()];
  }

  /// Resolves the chain of forwarding blocks starting at `start`
  /// iteratively (chains can be long); a cycle of forwarding blocks ends at
  /// the block where it closes.
  void resolve(Block *start) {
    SmallVector<Block *, 8> chain;
    Block *b = start;
    while (fwd_[b->id()].state == 1) {
      fwd_[b->id()].state = 2;
      chain.push_back(b);
      b = b->terminator()->successor(0);
    }
    // `b` ends the chain: not a forwarder, already resolved, or on the chain
    // itself (a cycle), in which case it is taken as a plain target.
    Resolution base;
    if (fwd_[b->id()].state == 3) {
      base.target = fwd_[b->id()].target;
      base.args = fwd_[b->id()].args;
      base.identity = fwd_[b->id()].identity;
    } else {
      base.target = b;
      base.args.assign(b->args().begin(), b->args().end());
      base.identity = true;
    }
    Block *next = b;
    for (unsigned k = chain.size(); k-- > 0;) {
      Block *fb = chain[k];
      Instruction *br = fb->terminator();
      SmallVector<Value *, 4> brArgs = br->successorArgs(0);
      bool identity = brArgs.size() == fb->numArgs();
      for (unsigned i = 0; identity && i < brArgs.size(); ++i)
        identity = brArgs[i] == fb->arg(i);
      substitute(base.args, next, brArgs);
      base.identity = base.identity && identity;
      Resolution &r = fwd_[fb->id()];
      r.target = base.target;
      r.args = base.args;
      r.identity = base.identity;
      r.state = 3;
      next = fb;
    }
  }

  /// Redirects every edge into a forwarding block (one holding only a `br`)
  /// to the end of its chain of forwarding blocks, composing the arguments.
  /// Each changed terminator is rebuilt once, so a switch with many edges
  /// into forwarding blocks costs its size, not its size squared.
  bool skipForwardingBlocks() {
    fwd_.assign(f_.numBlockIds(), Resolution());
    bool any = false;
    for (Block &b : f_.blocks())
      if (isForwarder(&b)) {
        fwd_[b.id()].state = 1;
        any = true;
      }
    if (!any)
      return false;
    for (Block &b : f_.blocks())
      if (fwd_[b.id()].state == 1)
        resolve(&b);

    bool changed = false;
    SmallVector<Instruction *, 16> terms;
    for (Block &b : f_.blocks())
      if (Instruction *t = b.terminator())
        terms.push_back(t);
    SmallVector<Value *, 8> ops;
    SmallVector<Successor, 4> succs;
    SmallVector<Value *, 4> vals;
    for (Instruction *t : terms) {
      bool edit = false;
      for (unsigned s = 0; s < t->numSuccessors() && !edit; ++s) {
        const Resolution &r = fwd_[t->successor(s)->id()];
        edit = r.state == 3 && r.target != t->successor(s) &&
               (!isMatchArm(t, s) || r.identity);
      }
      if (!edit)
        continue;
      changed = true;
      ops.clear();
      succs.clear();
      for (unsigned k = 0, n = t->numMainOperands(); k < n; ++k)
        ops.push_back(t->operand(k));
      for (unsigned s = 0; s < t->numSuccessors(); ++s) {
        Successor sc = t->successors()[s];
        Block *to = sc.block;
        vals = t->successorArgs(s);
        const Resolution &r = fwd_[to->id()];
        if (r.state == 3 && r.target != to) {
          if (!isMatchArm(t, s)) {
            SmallVector<Value *, 4> args(r.args.begin(), r.args.end());
            substitute(args, to, vals);
            sc.block = r.target;
            vals.assign(args.begin(), args.end());
          } else if (r.identity) {
            sc.block = r.target; // an arm passes no values
          }
        }
        sc.firstArg = ops.size();
        sc.numArgs = vals.size();
        ops.append(vals.begin(), vals.end());
        succs.push_back(sc);
      }
      Instruction *n =
          f_.createInst(t->opcode(), t->type(), ops, t->numSuccessors());
      for (unsigned s = 0; s < succs.size(); ++s)
        n->successors()[s] = succs[s];
      n->setLoc(t->loc());
      n->insertBefore(t);
      t->eraseFromParent();
    }
    return changed;
  }

  /// Merges blocks into their single predecessor when it branches to them
  /// unconditionally. Walks in reverse post-order so a chain collapses into
  /// its head and every instruction moves at most once per round.
  bool mergeBlocks() {
    bool changed = false;
    Block *entry = f_.entry();
    for (Block *p : rpo_) {
      if (erased_[p->id()])
        continue;
      for (;;) {
        Instruction *t = p->terminator();
        if (!t || t->opcode() != Opcode::Br)
          break;
        Block *b = t->successor(0);
        if (b == p || b == entry || numLiveIncoming(b) != 1)
          break;
        SmallVector<Value *, 4> args = t->successorArgs(0);
        bool selfRef = false;
        for (unsigned k = 0; k < args.size(); ++k)
          selfRef |= args[k] == b->arg(k);
        if (selfRef)
          break;
        for (unsigned k = 0; k < args.size(); ++k)
          b->arg(k)->replaceAllUsesWith(args[k]);
        t->eraseFromParent();
        while (!b->empty()) {
          Instruction &i = b->front();
          i.removeFromParent();
          p->append(&i);
        }
        erased_[b->id()] = 1;
        b->eraseFromParent();
        changed = true;
      }
    }
    return changed;
  }
};

class SimplifyCFGPass : public FunctionPass {
public:
  StringRef name() const override { return "simplifycfg"; }
  PreservedAnalyses run(Function &f, AnalysisManager &) override {
    if (f.isDeclaration() || !SimplifyCFG(f).run())
      return PreservedAnalyses::all();
    return PreservedAnalyses::none();
  }
};

} // namespace

void registerSimplifyCFGPass(PassRegistry &registry) {
  registry.add<SimplifyCFGPass>(
      "simplifycfg",
      "removes unreachable blocks, folds constant and trivial branches, "
      "removes redundant block parameters, skips forwarding blocks and "
      "merges straight-line blocks");
}

} // namespace qmir
