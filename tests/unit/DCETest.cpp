// Unit tests of the dce pass on functions built with the Builder: what must go
// (unused pure values, dead cycles through block parameters, dbg of dead
// values, unused match bindings) and what must stay (possible panics, calls,
// stores, anything a terminator needs).
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Verifier.h"
#include "passes/AnalysisManager.h"
#include "passes/DCE.h"

#include <gtest/gtest.h>

#include <random>

using namespace qmir;

namespace {

struct Fixture {
  Module m;
  Builder b{m};
  TypeContext &t = m.types();

  Function *fn(llvm::StringRef name, llvm::ArrayRef<const Type *> params,
               const Type *result) {
    Function *f = m.createFunction(name, t.function(params, result));
    b.setInsertPoint(f->createBlock("entry"));
    return f;
  }

  static bool contains(const Function &f, const Value *v) {
    for (const Block &bb : f.blocks())
      for (const Instruction &i : bb.insts())
        if (&i == v)
          return true;
    return false;
  }
  /// The verifier's verdict, with its messages on failure.
  static ::testing::AssertionResult valid(const Function &f) {
    std::vector<VerifierError> errors;
    if (verifyFunction(f, &errors))
      return ::testing::AssertionSuccess();
    std::string s;
    llvm::raw_string_ostream os(s);
    printVerifierErrors(os, errors);
    return ::testing::AssertionFailure() << s;
  }
  static unsigned count(const Function &f, Opcode op) {
    unsigned n = 0;
    for (const Block &bb : f.blocks())
      for (const Instruction &i : bb.insts())
        n += i.opcode() == op;
    return n;
  }
};

TEST(DCE, RemovesUnusedPureChains) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Instruction *a = x.b.add(f->arg(0), x.b.i64(1));
  Instruction *m = x.b.mul(a, x.b.i64(2));
  Instruction *used = x.b.sub(f->arg(0), x.b.i64(3));
  Instruction *cmp = x.b.icmp(ICmpPred::SLT, m, used);
  x.b.ret(used);

  ASSERT_TRUE(x.valid(*f));
  DCEStats s = eliminateDeadCode(*f);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(s.instructions, 3u);
  EXPECT_FALSE(x.contains(*f, a));
  EXPECT_FALSE(x.contains(*f, m));
  EXPECT_FALSE(x.contains(*f, cmp));
  EXPECT_TRUE(x.contains(*f, used));
  EXPECT_EQ(f->instructionCount(), 2u);

  // A second run finds nothing.
  EXPECT_FALSE(eliminateDeadCode(*f).changed());
}

TEST(DCE, KeepsPossiblePanicsCallsAndStores) {
  Fixture x;
  Function *ext = x.m.createFunction("ext", x.t.function({x.t.i64()}, x.t.i64()));
  Function *f = x.fn("f", {x.t.i64(), x.t.i64()}, x.t.voidTy());
  Instruction *divArg = x.b.sdiv(f->arg(0), f->arg(1));      // may panic
  Instruction *divZero = x.b.binary(Opcode::URem, f->arg(0), x.b.i64(0));
  Instruction *divTwo = x.b.sdiv(f->arg(0), x.b.i64(2));     // cannot panic
  Instruction *call = x.b.call(ext, {f->arg(0)});             // result unused
  Instruction *slot = x.b.alloc(x.t.i64());
  Instruction *stored = x.b.add(f->arg(1), x.b.i64(7));
  Instruction *st = x.b.store(stored, slot);
  Instruction *ld = x.b.load(x.t.i64(), slot);               // unused: goes
  Instruction *unusedSlot = x.b.alloc(x.t.i64());
  x.b.ret();

  ASSERT_TRUE(x.valid(*f));
  DCEStats s = eliminateDeadCode(*f);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(s.instructions, 3u);
  for (Instruction *keep : {divArg, divZero, call, slot, stored, st})
    EXPECT_TRUE(x.contains(*f, keep)) << keep->opcodeName().str();
  for (Instruction *gone : {divTwo, ld, unusedSlot})
    EXPECT_FALSE(x.contains(*f, gone)) << gone->opcodeName().str();
  EXPECT_EQ(x.count(*f, Opcode::Alloca), 1u);
  EXPECT_EQ(x.count(*f, Opcode::Load), 0u);
}

TEST(DCE, OperandsOfSideEffectsAndTerminatorsStayLive) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *yes = f->createBlock("yes");
  Block *no = f->createBlock("no");
  Instruction *c0 = x.b.add(f->arg(0), x.b.i64(1));
  Instruction *cond = x.b.icmp(ICmpPred::EQ, c0, x.b.i64(0));
  Instruction *divisor = x.b.sub(f->arg(0), x.b.i64(5));
  x.b.sdiv(x.b.i64(100), divisor);
  x.b.condBr(cond, yes, no);
  x.b.setInsertPoint(yes);
  Instruction *r = x.b.mul(f->arg(0), x.b.i64(3));
  x.b.ret(r);
  x.b.setInsertPoint(no);
  x.b.ret(x.b.i64(0));

  EXPECT_FALSE(eliminateDeadCode(*f).changed());
  EXPECT_TRUE(x.contains(*f, c0));
  EXPECT_TRUE(x.contains(*f, divisor));
}

// loop(%i, %acc): %acc only feeds itself around the back edge, so the whole
// cycle (parameter, add, and both edge arguments) is dead.
TEST(DCE, RemovesDeadLoopCarriedValues) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *loop = f->createBlock("loop");
  Block *done = f->createBlock("done");
  BlockArg *i = loop->addArg(x.t.i64(), "i");
  BlockArg *acc = loop->addArg(x.t.i64(), "acc");
  Instruction *entryBr = x.b.br(loop, {x.b.i64(0), x.b.i64(0)});
  x.b.setInsertPoint(loop);
  Instruction *acc2 = x.b.add(acc, i);
  Instruction *i2 = x.b.add(i, x.b.i64(1));
  Instruction *c = x.b.icmp(ICmpPred::SLT, i2, f->arg(0));
  Instruction *back = x.b.condBr(c, loop, {i2, acc2}, done, {});
  x.b.setInsertPoint(done);
  x.b.ret(i);

  ASSERT_TRUE(x.valid(*f));
  DCEStats s = eliminateDeadCode(*f);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(s.instructions, 1u);
  EXPECT_EQ(s.blockArgs, 1u);
  EXPECT_FALSE(x.contains(*f, acc2));
  ASSERT_EQ(loop->numArgs(), 1u);
  EXPECT_EQ(loop->arg(0), i);
  EXPECT_EQ(i->index(), 0u);
  ASSERT_EQ(entryBr->successorArgs(0).size(), 1u);
  EXPECT_EQ(entryBr->successorArgs(0)[0], x.b.i64(0));
  ASSERT_EQ(back->successorArgs(0).size(), 1u);
  EXPECT_EQ(back->successorArgs(0)[0], i2);
  EXPECT_TRUE(back->successorArgs(1).empty());
  EXPECT_EQ(back->operand(0), c);
}

// A live parameter keeps what every predecessor passes for it, including a
// value computed only for that edge.
TEST(DCE, LiveBlockArgKeepsIncomingValues) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64(), x.t.i1()}, x.t.i64());
  Block *join = f->createBlock("join");
  BlockArg *p = join->addArg(x.t.i64(), "p");
  BlockArg *q = join->addArg(x.t.i64(), "q");
  Instruction *va = x.b.mul(f->arg(0), x.b.i64(2));
  Instruction *vb = x.b.mul(f->arg(0), x.b.i64(3));
  Instruction *qa = x.b.add(f->arg(0), x.b.i64(4)); // only feeds dead %q
  Instruction *t = x.b.condBr(f->arg(1), join, {va, qa}, join, {vb, f->arg(0)});
  x.b.setInsertPoint(join);
  x.b.ret(p);

  ASSERT_TRUE(x.valid(*f));
  DCEStats s = eliminateDeadCode(*f);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(s.blockArgs, 1u);
  EXPECT_EQ(s.instructions, 1u);
  EXPECT_TRUE(x.contains(*f, va));
  EXPECT_TRUE(x.contains(*f, vb));
  EXPECT_FALSE(x.contains(*f, qa));
  EXPECT_FALSE(q->hasUses());
  ASSERT_EQ(join->numArgs(), 1u);
  EXPECT_EQ(t->successorArgs(0), (llvm::SmallVector<Value *, 4>{va}));
  EXPECT_EQ(t->successorArgs(1), (llvm::SmallVector<Value *, 4>{vb}));
}

TEST(DCE, SwitchEdgesAreUpdatedOneByOne) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *a = f->createBlock("a");
  Block *d = f->createBlock("d");
  a->addArg(x.t.i64(), "dead");
  BlockArg *keep = a->addArg(x.t.i64(), "keep");
  Instruction *sw = x.b.switchOn(
      f->arg(0), d, {},
      {Builder::SwitchCase{1, a, {x.b.i64(10), x.b.i64(11)}},
       Builder::SwitchCase{2, a, {x.b.i64(20), x.b.i64(21)}}});
  x.b.setInsertPoint(a);
  x.b.ret(keep);
  x.b.setInsertPoint(d);
  x.b.ret(x.b.i64(0));

  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(eliminateDeadCode(*f).blockArgs, 1u);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(sw->operand(0), f->arg(0));
  EXPECT_EQ(sw->successorArgs(1), (llvm::SmallVector<Value *, 4>{x.b.i64(11)}));
  EXPECT_EQ(sw->successorArgs(2), (llvm::SmallVector<Value *, 4>{x.b.i64(21)}));
  EXPECT_EQ(sw->successors()[2].caseValue, 2);
}

TEST(DCE, DbgNeverKeepsValuesAlive) {
  Fixture x;
  BindingId v = x.m.addBinding("v", 1, 0);
  BindingId w = x.m.addBinding("w", 1, 0);
  BindingId n = x.m.addBinding("n", 1, 0);
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *next = f->createBlock("next");
  BlockArg *onlyDbg = next->addArg(x.t.i64(), "u");
  Instruction *dead = x.b.add(f->arg(0), x.b.i64(1));
  Instruction *dbgDead = x.b.dbgValue(v, dead);
  Instruction *live = x.b.add(f->arg(0), x.b.i64(2));
  Instruction *dbgLive = x.b.dbgValue(w, live);
  Instruction *dbgArg = x.b.dbgValue(n, f->arg(0));
  x.b.br(next, {live});
  x.b.setInsertPoint(next);
  Instruction *dbgBlockArg = x.b.dbgValue(w, onlyDbg);
  x.b.ret(live);

  ASSERT_TRUE(x.valid(*f));
  DCEStats s = eliminateDeadCode(*f);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(s.instructions, 1u);
  EXPECT_EQ(s.dbgs, 2u);
  EXPECT_EQ(s.blockArgs, 1u);
  EXPECT_FALSE(x.contains(*f, dead));
  EXPECT_FALSE(x.contains(*f, dbgDead));
  EXPECT_FALSE(x.contains(*f, dbgBlockArg));
  EXPECT_TRUE(x.contains(*f, dbgLive));
  EXPECT_TRUE(x.contains(*f, dbgArg));
  EXPECT_EQ(next->numArgs(), 0u);
}

// Parameters of a match arm are the pattern's bindings: an unused one becomes
// a wildcard instead of an edge argument.
TEST(DCE, UnusedMatchBindingsBecomeWildcards) {
  Fixture x;
  const Type *pair = x.t.createNamedEnum("E");
  const Type *fields2[] = {x.t.i64(), x.t.i64()};
  EnumVariant vars[] = {{"None", {}}, {"Two", fields2}};
  x.t.setEnumBody(pair, vars);
  Function *f = x.fn("f", {pair}, x.t.i64());
  Block *two = f->createBlock("two");
  Block *none = f->createBlock("none");
  two->addArg(x.t.i64(), "a");
  BlockArg *bArg = two->addArg(x.t.i64(), "b");
  const Pattern *pats[] = {x.m.makeBind("a"), x.m.makeBind("b")};
  const Pattern *armPat = x.m.makeVariantPattern(1, pats);
  Instruction *mt = x.b.match(
      f->arg(0),
      {Builder::MatchArm{armPat, two},
       Builder::MatchArm{x.m.makeVariantPattern(0, {}), none}},
      nullptr);
  x.b.setInsertPoint(two);
  x.b.ret(bArg);
  x.b.setInsertPoint(none);
  x.b.ret(x.b.i64(0));

  ASSERT_TRUE(x.valid(*f));
  DCEStats s = eliminateDeadCode(*f);
  EXPECT_TRUE(x.valid(*f));
  EXPECT_EQ(s.blockArgs, 1u);
  ASSERT_EQ(two->numArgs(), 1u);
  EXPECT_EQ(two->arg(0), bArg);
  const Pattern *p = mt->successors()[0].pattern;
  ASSERT_EQ(p->kind, Pattern::Variant);
  EXPECT_EQ(p->numBindings(), 1u);
  ASSERT_EQ(p->fields.size(), 2u);
  EXPECT_EQ(p->fields[0]->kind, Pattern::Wildcard);
  EXPECT_EQ(p->fields[1], pats[1]);
  EXPECT_EQ(mt->successors()[1].pattern->kind, Pattern::Variant);
}

TEST(DCE, PassReportsPreservedAnalyses) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  x.b.add(f->arg(0), x.b.i64(1));
  x.b.ret(f->arg(0));
  DCEPass pass;
  AnalysisManager am;
  PreservedAnalyses pa = pass.run(*f, am);
  EXPECT_FALSE(pa.areAllPreserved());
  EXPECT_TRUE(pa.isPreserved<CFGAnalyses>());
  EXPECT_TRUE(pass.run(*f, am).areAllPreserved());
  EXPECT_EQ(pass.stats().instructions, 1u);
}

TEST(DCE, DeclarationsAreLeftAlone) {
  Fixture x;
  Function *ext = x.m.createFunction("ext", x.t.function({}, x.t.voidTy()));
  EXPECT_FALSE(eliminateDeadCode(*ext).changed());
}

/// Builds a random function @f(i64, i64) -> i64 with a diamond that merges
/// through block parameters, a counted loop with two carried values, prints,
/// and divisions (some by values that can be zero), so that most values are
/// dead and some dead-looking ones are not.
Function *randomFunction(Fixture &x, Function *print, std::mt19937 &rng) {
  Builder &b = x.b;
  Function *f = x.fn("f", {x.t.i64(), x.t.i64()}, x.t.i64());
  Block *left = f->createBlock("left");
  Block *right = f->createBlock("right");
  Block *join = f->createBlock("join");
  Block *loop = f->createBlock("loop");
  Block *exit = f->createBlock("exit");
  auto pick = [&](std::vector<Value *> &pool) {
    return pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
  };
  auto chance = [&](unsigned percent) {
    return std::uniform_int_distribution<unsigned>(0, 99)(rng) < percent;
  };
  auto fill = [&](std::vector<Value *> &pool, unsigned n) {
    static const Opcode ops[] = {Opcode::Add, Opcode::Sub, Opcode::Mul, Opcode::Xor,
                                 Opcode::And, Opcode::SDiv, Opcode::URem, Opcode::AShr};
    for (unsigned k = 0; k < n; ++k) {
      unsigned what = std::uniform_int_distribution<unsigned>(0, 9)(rng);
      if (what == 0) {
        b.call(print, {pick(pool)});
      } else if (what == 1) {
        Instruction *c = b.icmp(ICmpPred::SLT, pick(pool), pick(pool));
        pool.push_back(b.select(c, pick(pool), pick(pool)));
      } else {
        Opcode op = ops[std::uniform_int_distribution<size_t>(0, 7)(rng)];
        Value *rhs = pick(pool);
        if ((op == Opcode::SDiv || op == Opcode::URem) && chance(60))
          rhs = b.i64(std::uniform_int_distribution<int64_t>(1, 9)(rng));
        pool.push_back(b.binary(op, pick(pool), rhs));
      }
    }
  };

  std::vector<Value *> entryPool = {f->arg(0), f->arg(1), b.i64(3), b.i64(-7)};
  fill(entryPool, 6);
  Instruction *c = b.icmp(ICmpPred::SGT, pick(entryPool), pick(entryPool));
  b.condBr(c, left, right);
  for (unsigned k = 0; k < 3; ++k)
    join->addArg(x.t.i64());
  for (Block *side : {left, right}) {
    b.setInsertPoint(side);
    std::vector<Value *> pool = entryPool;
    fill(pool, 4);
    b.br(join, {pick(pool), pick(pool), pick(pool)});
  }
  b.setInsertPoint(join);
  std::vector<Value *> joinPool = entryPool;
  for (BlockArg *a : join->args())
    joinPool.push_back(a);
  fill(joinPool, 3);
  BlockArg *i = loop->addArg(x.t.i64(), "i");
  BlockArg *acc = loop->addArg(x.t.i64(), "acc");
  BlockArg *junk = loop->addArg(x.t.i64(), "junk");
  b.br(loop, {b.i64(0), pick(joinPool), pick(joinPool)});
  b.setInsertPoint(loop);
  std::vector<Value *> loopPool = joinPool;
  loopPool.insert(loopPool.end(), {i, acc, junk});
  fill(loopPool, 4);
  Instruction *next = b.add(i, b.i64(1));
  Instruction *more = b.icmp(ICmpPred::SLT, next, b.i64(4));
  b.condBr(more, loop, {next, pick(loopPool), pick(loopPool)}, exit, {});
  b.setInsertPoint(exit);
  std::vector<Value *> exitPool = loopPool;
  fill(exitPool, 2);
  b.ret(pick(exitPool));
  return f;
}

std::string runAll(const Module &m, const Function &f) {
  std::string text;
  llvm::raw_string_ostream out(text);
  std::string errText;
  llvm::raw_string_ostream err(errText);
  Interpreter interp(m, out, err);
  for (auto [a, b] : {std::pair<int64_t, int64_t>{0, 0}, {5, -3}, {-100, 7},
                      {INT64_MIN, -1}, {42, 1}}) {
    InterpResult r = interp.run(f, {a, b});
    out << "| kind " << int(r.kind) << " value " << r.value << " " << r.message
        << '\n';
  }
  return text;
}

// Differential test: on random functions, dce keeps the IR valid, changes
// nothing the interpreter can observe (output, result, panics), and reaches a
// fixed point in one run.
TEST(DCE, RandomFunctionsBehaveTheSame) {
  std::mt19937 rng(12345);
  unsigned removed = 0;
  for (unsigned seed = 0; seed < 300; ++seed) {
    Fixture x;
    Function *print =
        x.m.createFunction("qz_println_i64", x.t.function({x.t.i64()}, x.t.voidTy()));
    Function *f = randomFunction(x, print, rng);
    ASSERT_TRUE(x.valid(*f)) << seed;
    std::string before = runAll(x.m, *f);
    DCEStats s = eliminateDeadCode(*f);
    removed += s.instructions + s.blockArgs;
    ASSERT_TRUE(x.valid(*f)) << seed;
    EXPECT_EQ(runAll(x.m, *f), before) << "seed " << seed;
    EXPECT_FALSE(eliminateDeadCode(*f).changed()) << "seed " << seed;
  }
  EXPECT_GT(removed, 300u) << "the generator should produce dead code";
}

} // namespace
