// Unit tests of the cse pass: what merges (pure duplicates in dominated
// positions, commutative and swapped-compare forms, cascades, a dominated
// identical division) and what must not (loads across stores, calls,
// allocas, values in sibling branches), plus a differential test on random
// functions with a diamond, a loop, memory and prints that must run the
// same in the interpreter before and after, stay valid, and be a fixed point.
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/AnalysisManager.h"
#include "passes/PassManager.h"
#include "passes/PassRegistry.h"

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
  ::testing::AssertionResult valid() const {
    std::vector<VerifierError> errors;
    if (verifyModule(m, &errors))
      return ::testing::AssertionSuccess();
    std::string s;
    llvm::raw_string_ostream os(s);
    printVerifierErrors(os, errors);
    return ::testing::AssertionFailure() << s << "\n" << moduleToString(m);
  }
  /// Runs cse through the registry; returns whether the pass reported a change
  /// (anything but "all preserved").
  bool cse() {
    registerAllPasses();
    const PassInfo *info = PassRegistry::global().lookup("cse");
    EXPECT_TRUE(info);
    PassOptions opts;
    std::unique_ptr<Pass> p = info->factory(opts);
    AnalysisManager am;
    bool changed = false;
    for (Function &f : m.functions())
      if (!f.isDeclaration())
        changed |= !static_cast<FunctionPass &>(*p).run(f, am).areAllPreserved();
    return changed;
  }
};

TEST(CSE, MergesDominatedDuplicatesInAnyOperandOrder) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64(), x.t.i64()}, x.t.i64());
  Value *a = f->arg(0), *b = f->arg(1);
  Instruction *s1 = x.b.add(a, b);
  Instruction *s2 = x.b.add(b, a);          // commutative: same as s1
  Instruction *m1 = x.b.mul(s1, x.b.i64(3));
  Instruction *m2 = x.b.mul(x.b.i64(3), s2); // same once s2 is s1
  Instruction *c1 = x.b.icmp(ICmpPred::SLT, a, b);
  Instruction *c2 = x.b.icmp(ICmpPred::SGT, b, a); // swapped compare
  Instruction *d1 = x.b.sub(a, b);
  Instruction *d2 = x.b.sub(b, a); // not commutative: stays
  Instruction *sel1 = x.b.select(c1, m1, d1);
  Instruction *sel2 = x.b.select(c2, m2, d1);
  Instruction *r = x.b.add(sel1, sel2);
  Instruction *r2 = x.b.add(r, d2);
  x.b.ret(r2);
  ASSERT_TRUE(x.valid());
  EXPECT_TRUE(x.cse());
  EXPECT_TRUE(x.valid());
  for (Instruction *gone : {s2, m2, c2, sel2})
    EXPECT_FALSE(x.contains(*f, gone)) << moduleToString(x.m);
  for (Instruction *kept : {s1, m1, c1, d1, d2, sel1, r, r2})
    EXPECT_TRUE(x.contains(*f, kept));
  EXPECT_EQ(r->operand(0), sel1);
  EXPECT_EQ(r->operand(1), sel1);
  EXPECT_FALSE(x.cse()) << "second run must change nothing";
}

TEST(CSE, KeepsLoadsCallsAllocasAndSiblingValues) {
  Fixture x;
  Function *ext =
      x.m.createFunction("ext", x.t.function({x.t.i64()}, x.t.i64()));
  Function *f = x.fn("f", {x.t.i64(), x.t.i1()}, x.t.i64());
  Block *l = f->createBlock("l");
  Block *r = f->createBlock("r");
  Block *j = f->createBlock("j");
  Instruction *slot1 = x.b.alloc(x.t.i64());
  Instruction *slot2 = x.b.alloc(x.t.i64());
  x.b.store(f->arg(0), slot1);
  Instruction *ld1 = x.b.load(x.t.i64(), slot1);
  x.b.store(x.b.i64(9), slot1);
  Instruction *ld2 = x.b.load(x.t.i64(), slot1);
  Instruction *call1 = x.b.call(ext, {f->arg(0)});
  Instruction *call2 = x.b.call(ext, {f->arg(0)});
  x.b.condBr(f->arg(1), l, r);
  x.b.setInsertPoint(l);
  Instruction *ml = x.b.mul(f->arg(0), x.b.i64(5));
  Instruction *ql = x.b.sdiv(x.b.i64(100), f->arg(0));
  x.b.br(j, {});
  x.b.setInsertPoint(r);
  Instruction *mr = x.b.mul(f->arg(0), x.b.i64(5));
  Instruction *qr = x.b.sdiv(x.b.i64(100), f->arg(0));
  x.b.br(j, {});
  x.b.setInsertPoint(j);
  Instruction *mj = x.b.mul(f->arg(0), x.b.i64(5));
  Instruction *s = x.b.add(ld1, ld2);
  Instruction *s2 = x.b.add(s, call1);
  Instruction *s3 = x.b.add(s2, call2);
  Instruction *s4 = x.b.add(s3, mj);
  x.b.store(s4, slot2);
  x.b.ret(s4);
  (void)ml, (void)ql, (void)mr, (void)qr;
  ASSERT_TRUE(x.valid());
  EXPECT_FALSE(x.cse()) << moduleToString(x.m);
  for (Instruction *kept : {slot1, slot2, ld1, ld2, call1, call2, ml, ql, mr,
                            qr, mj})
    EXPECT_TRUE(x.contains(*f, kept)) << kept->opcodeName().str();
}

TEST(CSE, DominatedIdenticalDivisionGoesFirstStays) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i64(), x.t.i64()}, x.t.i64());
  Block *next = f->createBlock("next");
  Instruction *q1 = x.b.sdiv(f->arg(0), f->arg(1));
  x.b.br(next, {});
  x.b.setInsertPoint(next);
  Instruction *q2 = x.b.sdiv(f->arg(0), f->arg(1));
  Instruction *u = x.b.binary(Opcode::UDiv, f->arg(0), f->arg(1));
  Instruction *s = x.b.add(q2, u);
  x.b.ret(s);
  ASSERT_TRUE(x.valid());
  EXPECT_TRUE(x.cse());
  EXPECT_TRUE(x.valid());
  EXPECT_TRUE(x.contains(*f, q1));
  EXPECT_FALSE(x.contains(*f, q2));
  EXPECT_TRUE(x.contains(*f, u));
  EXPECT_EQ(s->operand(0), q1);
  std::string out, err;
  llvm::raw_string_ostream os(out), es(err);
  Interpreter interp(x.m, os, es);
  EXPECT_EQ(interp.run(*f, {7, 0}).kind, InterpResult::Panicked);
  EXPECT_EQ(interp.run(*f, {7, 2}).value, 3 + 3);
}

/// A random function @f(i64, i64) -> i64: a diamond joined through block
/// parameters, then a loop that stores to and loads from a slot, with many
/// repeated expressions over a small pool (so there is plenty to merge),
/// aggregates, prints and divisions that may panic.
Function *randomFunction(Fixture &x, Function *print, std::mt19937 &rng) {
  Builder &b = x.b;
  const Type *pairTy = x.t.literalStruct({x.t.i64(), x.t.i64()});
  Function *f = x.fn("f", {x.t.i64(), x.t.i64()}, x.t.i64());
  Block *left = f->createBlock("left");
  Block *right = f->createBlock("right");
  Block *join = f->createBlock("join");
  Block *loop = f->createBlock("loop");
  Block *exit = f->createBlock("exit");
  auto rnd = [&](unsigned lo, unsigned hi) {
    return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
  };
  auto pick = [&](std::vector<Value *> &pool) {
    // Favour early values so that expressions repeat.
    unsigned n = pool.size();
    unsigned k = rnd(0, 99) < 70 ? rnd(0, std::min(n, 5u) - 1) : rnd(0, n - 1);
    return pool[k];
  };
  Value *slot = nullptr;
  auto fill = [&](std::vector<Value *> &pool, unsigned n) {
    static const Opcode ops[] = {Opcode::Add, Opcode::Sub,  Opcode::Mul,
                                 Opcode::Xor, Opcode::SDiv, Opcode::URem,
                                 Opcode::And, Opcode::Shl};
    for (unsigned k = 0; k < n; ++k) {
      unsigned what = rnd(0, 13);
      if (what == 0) {
        b.call(print, {pick(pool)});
      } else if (what == 1) {
        Instruction *c = b.icmp(rnd(0, 1) ? ICmpPred::SLT : ICmpPred::SGT,
                                pick(pool), pick(pool));
        pool.push_back(b.select(c, pick(pool), pick(pool)));
      } else if (what == 2) {
        pool.push_back(b.load(x.t.i64(), slot));
      } else if (what == 3) {
        b.store(pick(pool), slot);
      } else if (what == 4) {
        Instruction *s = b.structMake(pairTy, {pick(pool), pick(pool)});
        pool.push_back(b.structExtract(s, rnd(0, 1)));
      } else {
        Opcode op = ops[rnd(0, 7)];
        Value *rhs = pick(pool);
        if ((op == Opcode::SDiv || op == Opcode::URem) && rnd(0, 99) < 50)
          rhs = b.i64(rnd(1, 4));
        pool.push_back(b.binary(op, pick(pool), rhs));
      }
    }
  };

  slot = b.alloc(x.t.i64());
  std::vector<Value *> entryPool = {f->arg(0), f->arg(1), b.i64(3)};
  fill(entryPool, 8);
  Instruction *c = b.icmp(ICmpPred::SGT, pick(entryPool), pick(entryPool));
  b.condBr(c, left, right);
  join->addArg(x.t.i64());
  join->addArg(x.t.i64());
  for (Block *side : {left, right}) {
    b.setInsertPoint(side);
    std::vector<Value *> pool = entryPool;
    fill(pool, 6);
    b.br(join, {pick(pool), pool.back()});
  }
  b.setInsertPoint(join);
  std::vector<Value *> joinPool = entryPool;
  for (BlockArg *a : join->args())
    joinPool.push_back(a);
  fill(joinPool, 6);
  BlockArg *i = loop->addArg(x.t.i64(), "i");
  BlockArg *acc = loop->addArg(x.t.i64(), "acc");
  b.br(loop, {b.i64(0), pick(joinPool)});
  b.setInsertPoint(loop);
  std::vector<Value *> loopPool = joinPool;
  loopPool.insert(loopPool.begin(), {i, acc});
  fill(loopPool, 8);
  Instruction *nextI = b.add(i, b.i64(1));
  Instruction *more = b.icmp(ICmpPred::SLT, nextI, b.i64(3));
  b.condBr(more, loop, {nextI, loopPool.back()}, exit, {});
  b.setInsertPoint(exit);
  std::vector<Value *> exitPool = loopPool;
  fill(exitPool, 4);
  Instruction *ld = b.load(x.t.i64(), slot);
  b.ret(b.add(exitPool.back(), ld));
  return f;
}

std::string runAll(const Module &m, const Function &f) {
  std::string text;
  llvm::raw_string_ostream out(text);
  std::string errText;
  llvm::raw_string_ostream err(errText);
  Interpreter interp(m, out, err);
  for (auto [a, b] : {std::pair<int64_t, int64_t>{0, 0}, {5, -3}, {-100, 7},
                      {INT64_MIN, -1}, {42, 1}, {3, 3}}) {
    InterpResult r = interp.run(f, {a, b});
    out << "| kind " << int(r.kind) << " value " << r.value << " " << r.message
        << '\n';
  }
  return text;
}

size_t countInsts(const Function &f) { return f.instructionCount(); }

TEST(CSE, RandomFunctionsBehaveTheSame) {
  std::mt19937 rng(777);
  size_t removed = 0;
  for (unsigned seed = 0; seed < 300; ++seed) {
    Fixture x;
    Function *print = x.m.createFunction(
        "qz_println_i64", x.t.function({x.t.i64()}, x.t.voidTy()));
    Function *f = randomFunction(x, print, rng);
    ASSERT_TRUE(x.valid()) << seed;
    std::string before = runAll(x.m, *f);
    size_t n = countInsts(*f);
    unsigned loads = 0, calls = 0;
    for (const Block &bb : f->blocks())
      for (const Instruction &i : bb.insts()) {
        loads += i.opcode() == Opcode::Load;
        calls += i.opcode() == Opcode::Call;
      }
    x.cse();
    ASSERT_TRUE(x.valid()) << "seed " << seed;
    EXPECT_EQ(runAll(x.m, *f), before) << "seed " << seed << "\n"
                                       << moduleToString(x.m);
    removed += n - countInsts(*f);
    unsigned loads2 = 0, calls2 = 0;
    for (const Block &bb : f->blocks())
      for (const Instruction &i : bb.insts()) {
        loads2 += i.opcode() == Opcode::Load;
        calls2 += i.opcode() == Opcode::Call;
      }
    EXPECT_EQ(loads2, loads) << "cse must never remove a load";
    EXPECT_EQ(calls2, calls) << "cse must never remove a call";
    std::string once = moduleToString(x.m);
    EXPECT_FALSE(x.cse()) << "not a fixed point, seed " << seed;
    EXPECT_EQ(moduleToString(x.m), once);
  }
  EXPECT_GT(removed, 150u) << "the generator should produce duplicates";
}

} // namespace
