// Unit tests of the SSA liveness analysis: live-in/live-out sets on straight
// code, diamonds, loops (values live around the back edge), block parameters
// and edge arguments, dbg uses, and agreement with a naive fixed-point
// dataflow on random functions.
#include "mir/Builder.h"
#include "passes/AnalysisManager.h"
#include "passes/Liveness.h"

#include "llvm/ADT/BitVector.h"

#include <gtest/gtest.h>

#include <random>

using namespace qmir;

namespace {

struct Fixture {
  Module m;
  Builder b{m};
  TypeContext &t = m.types();
  Function *fn(llvm::ArrayRef<const Type *> params, const Type *result) {
    Function *f = m.createFunction("f", t.function(params, result));
    b.setInsertPoint(f->createBlock("entry"));
    return f;
  }
};

TEST(Liveness, LoopAndEdges) {
  // entry: %x = a+1; br loop(0)
  // loop(%i): %c = i < a; condbr %c, body, done
  // body: %n = i + x; br loop(%n)
  // done: ret %i
  Fixture x;
  Function *f = x.fn({x.t.i64()}, x.t.i64());
  Block *entry = f->entry();
  Block *loop = f->createBlock("loop"), *body = f->createBlock("body"),
        *done = f->createBlock("done");
  BlockArg *i = loop->addArg(x.t.i64(), "i");
  Instruction *xv = x.b.add(f->arg(0), x.b.i64(1));
  x.b.br(loop, {x.b.i64(0)});
  x.b.setInsertPoint(loop);
  Instruction *c = x.b.icmp(ICmpPred::SLT, i, f->arg(0));
  x.b.condBr(c, body, done);
  x.b.setInsertPoint(body);
  Instruction *n = x.b.add(i, xv);
  x.b.br(loop, {n});
  x.b.setInsertPoint(done);
  x.b.ret(i);

  Liveness lv(*f);
  Argument *a = f->arg(0);
  // The argument and %x are live around the whole loop.
  for (Block *bb : {loop, body}) {
    EXPECT_TRUE(lv.isLiveIn(a, bb));
    EXPECT_TRUE(lv.isLiveIn(xv, bb));
    EXPECT_TRUE(lv.isLiveOut(xv, bb));
  }
  EXPECT_TRUE(lv.isLiveOut(xv, entry));
  EXPECT_FALSE(lv.isLiveIn(xv, entry));
  EXPECT_FALSE(lv.isLiveIn(a, entry)); // defined at the top of entry
  EXPECT_FALSE(lv.isLiveIn(xv, done));
  // A block's parameter is never in its own live-in set.
  EXPECT_FALSE(lv.isLiveIn(i, loop));
  EXPECT_TRUE(lv.isLiveOut(i, loop));
  EXPECT_TRUE(lv.isLiveIn(i, body) && lv.isLiveIn(i, done));
  EXPECT_FALSE(lv.isLiveOut(i, body)); // body passes %n, not %i
  // An edge argument is live-out of its block, live-in nowhere.
  EXPECT_TRUE(lv.isLiveOut(n, body));
  EXPECT_FALSE(lv.isLiveIn(n, loop));
  // %c is used in its own block only.
  EXPECT_FALSE(lv.isLiveOut(c, loop));
  EXPECT_EQ(lv.index(x.b.i64(0)), -1);
  EXPECT_EQ(lv.liveOut(done).count(), 0u);
}

TEST(Liveness, DbgUsesCanBeIgnored) {
  Fixture x;
  BindingId v = x.m.addBinding("v", 1, 0);
  Function *f = x.fn({x.t.i64()}, x.t.i64());
  Block *next = f->createBlock("next");
  Instruction *y = x.b.add(f->arg(0), x.b.i64(2));
  x.b.br(next);
  x.b.setInsertPoint(next);
  x.b.dbgValue(v, y);
  x.b.ret(f->arg(0));
  EXPECT_TRUE(Liveness(*f).isLiveIn(y, next));
  EXPECT_FALSE(Liveness(*f, Liveness::Options{true}).isLiveIn(y, next));
}

TEST(Liveness, AnalysisManagerCachesAndInvalidates) {
  Fixture x;
  Function *f = x.fn({x.t.i64()}, x.t.i64());
  x.b.ret(f->arg(0));
  AnalysisManager am;
  Liveness &l1 = am.getResult<LivenessAnalysis>(*f);
  Liveness &l2 = am.getResult<LivenessAnalysis>(*f);
  EXPECT_EQ(&l1, &l2);
  EXPECT_EQ(am.numComputations(LivenessAnalysis::key()), 1u);
  am.invalidate(*f, PreservedAnalyses::none().preserveSet<CFGAnalyses>());
  EXPECT_EQ(am.getCachedResult<LivenessAnalysis>(*f), nullptr);
}

// Random functions with block parameters and loops: the path-exploration
// result equals the classic iterative dataflow solution.
TEST(Liveness, MatchesIterativeDataflowOnRandomFunctions) {
  std::mt19937 rng(99);
  auto rnd = [&](unsigned n) {
    return std::uniform_int_distribution<unsigned>(0, n - 1)(rng);
  };
  for (unsigned seed = 0; seed < 200; ++seed) {
    Fixture x;
    Function *f = x.fn({x.t.i64(), x.t.i64()}, x.t.i64());
    unsigned nb = 2 + rnd(7);
    std::vector<Block *> blocks = {f->entry()};
    for (unsigned k = 1; k < nb; ++k) {
      Block *bb = f->createBlock("b");
      for (unsigned a = rnd(3); a > 0; --a)
        bb->addArg(x.t.i64());
      blocks.push_back(bb);
    }
    // Values available everywhere: the arguments; per block, its own values.
    // To keep SSA valid without a dominator tree, blocks use only arguments,
    // their parameters and their own values, plus values of the entry block.
    std::vector<Value *> entryVals = {f->arg(0), f->arg(1)};
    for (unsigned k = 0; k < nb; ++k) {
      Block *bb = blocks[k];
      x.b.setInsertPoint(bb);
      std::vector<Value *> pool = entryVals;
      for (BlockArg *a : bb->args())
        pool.push_back(a);
      for (unsigned o = 1 + rnd(4); o > 0; --o) {
        Value *v = x.b.add(pool[rnd(pool.size())], pool[rnd(pool.size())]);
        pool.push_back(v);
        if (k == 0)
          entryVals.push_back(v);
      }
      auto argsFor = [&](Block *t) {
        llvm::SmallVector<Value *, 4> as;
        for (unsigned a = 0; a < t->numArgs(); ++a)
          as.push_back(pool[rnd(pool.size())]);
        return as;
      };
      if (k == nb - 1 || rnd(4) == 0) {
        x.b.ret(pool[rnd(pool.size())]);
      } else {
        Block *t1 = blocks[1 + rnd(nb - 1)], *t2 = blocks[1 + rnd(nb - 1)];
        Instruction *c = x.b.icmp(ICmpPred::SLT, pool[rnd(pool.size())], x.b.i64(3));
        x.b.condBr(c, t1, argsFor(t1), t2, argsFor(t2));
      }
    }
    Liveness lv(*f);

    // Naive: iterate liveIn = gen | (liveOut - defs) to a fixed point.
    unsigned nv = lv.numValues();
    std::vector<llvm::BitVector> in(f->numBlockIds(), llvm::BitVector(nv)),
        out(f->numBlockIds(), llvm::BitVector(nv));
    bool changed = true;
    while (changed) {
      changed = false;
      for (Block &bb : f->blocks()) {
        llvm::BitVector o(nv);
        Instruction *term = bb.terminator();
        for (unsigned s = 0; s < term->numSuccessors(); ++s) {
          Block *t = term->successor(s);
          o |= in[t->id()];
          for (Value *a : term->successorArgs(s))
            if (lv.index(a) >= 0)
              o.set(lv.index(a));
        }
        llvm::BitVector i2 = o;
        for (Instruction &i : llvm::reverse(bb.insts())) {
          if (lv.index(&i) >= 0)
            i2.reset(lv.index(&i));
          unsigned nops = i.isTerminator() ? i.numMainOperands() : i.numOperands();
          for (unsigned k = 0; k < nops; ++k)
            if (lv.index(i.operand(k)) >= 0)
              i2.set(lv.index(i.operand(k)));
        }
        for (BlockArg *a : bb.args())
          i2.reset(lv.index(a));
        if (&bb == f->entry())
          for (Argument *a : f->args())
            i2.reset(lv.index(a));
        if (o != out[bb.id()] || i2 != in[bb.id()]) {
          out[bb.id()] = o;
          in[bb.id()] = i2;
          changed = true;
        }
      }
    }
    for (Block &bb : f->blocks())
      for (unsigned k = 0; k < nv; ++k) {
        ASSERT_EQ(lv.liveIn(&bb).test(k), in[bb.id()].test(k))
            << "seed " << seed << " value " << k;
        ASSERT_EQ(lv.liveOut(&bb).test(k), out[bb.id()].test(k))
            << "seed " << seed << " value " << k;
      }
  }
}

} // namespace
