// Unit tests of `constfold` and `sccp`: hand-written hazards (loop-carried
// stores, stores between loads, escaping allocas, division by zero, loops whose
// counter starts constant, gensym bindings spelled like user ones) and random
// functions with loops, memory and panics, interpreted before and after each
// pass: same result, panic and output; the verifier accepts the result; a
// second run changes nothing.
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/Folding.h"

#include "tests/support/TestUtil.h"

#include <gtest/gtest.h>

#include <random>

using namespace qmir;

namespace {

std::unique_ptr<Module> parse(llvm::StringRef text) {
  return qmir::testing::parseOrFail(text);
}

std::string str(const Module &m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printModule(os, m);
  return s;
}

::testing::AssertionResult valid(const Module &m) { return qmir::testing::verifies(m); }

struct Outcome {
  InterpResult::Kind kind;
  int64_t value;
  std::string message, out;
  bool operator==(const Outcome &o) const {
    return kind == o.kind && value == o.value && message == o.message &&
           out == o.out;
  }
};

Outcome runFn(const Module &m, const Function &f, llvm::ArrayRef<int64_t> args) {
  std::string out, err;
  llvm::raw_string_ostream os(out), es(err);
  InterpOptions opts;
  opts.instructionLimit = 1000000;
  Interpreter in(m, os, es, opts);
  InterpResult r = in.run(f, args);
  return {r.kind, r.value, r.message, out};
}

unsigned countOps(const Function &f, Opcode op) {
  unsigned n = 0;
  for (const Block &b : f.blocks())
    for (const Instruction &i : b.insts())
      n += i.opcode() == op;
  return n;
}

// Runs `pass` on every function of the module text, checks the verifier and
// that the interpreter agrees on @f for every argument tuple; returns the
// module for structural checks.
template <typename P>
std::unique_ptr<Module> checkSame(llvm::StringRef text, P pass,
                                  std::vector<std::vector<int64_t>> argSets) {
  auto before = parse(text);
  auto after = parse(text);
  if (!before || !after)
    return nullptr;
  for (Function &f : after->functions())
    pass(f);
  EXPECT_TRUE(valid(*after));
  const Function *fb = before->function("f"), *fa = after->function("f");
  for (auto &args : argSets) {
    Outcome ob = runFn(*before, *fb, args), oa = runFn(*after, *fa, args);
    EXPECT_EQ(ob.kind, oa.kind) << oa.message << "\n" << str(*after);
    EXPECT_EQ(ob.value, oa.value) << str(*after);
    EXPECT_EQ(ob.message, oa.message);
    EXPECT_EQ(ob.out, oa.out);
  }
  return after;
}

auto constfold = [](Function &f) { constantFold(f); };
auto sccp = [](Function &f) { runSCCP(f); };

} // namespace

//===----------------------------------------------------------------------===//
// constfold
//===----------------------------------------------------------------------===//

TEST(SCCPConstFold, FoldsConstantsAndIdentities) {
  auto m = checkSame(R"(
fn @f(%x: i64) -> i64 {
entry:
  %a = add i64 2, 3
  %b = mul i64 %a, 4
  %c = sub i64 %x, %x
  %d = add i64 %x, %c
  %e = mul i64 %d, 1
  %g = xor i64 %e, %e
  %h = or i64 %g, %e
  %s = shl i64 %h, 64
  %r = add i64 %s, %b
  ret %r
}
)", constfold, {{0}, {5}, {-9}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  // Only x + 20 is left.
  EXPECT_EQ(f->instructionCount(), 2u) << str(*m);
  EXPECT_FALSE(constantFold(*f).changed());
}

TEST(SCCPConstFold, DivisionByZeroStays) {
  auto m = checkSame(R"(
fn @f(%x: i64) -> i64 {
entry:
  %z = sub i64 %x, %x
  %d = sdiv i64 7, %z
  %u = urem i64 %x, 0
  %m = mul i64 %d, 0
  ret %m
}
)", constfold, {{0}, {3}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  EXPECT_EQ(countOps(*f, Opcode::SDiv), 1u);
  EXPECT_EQ(countOps(*f, Opcode::URem), 1u);
  Outcome o = runFn(*m, *f, {3});
  EXPECT_EQ(o.kind, InterpResult::Panicked);
}

// The S2 miscompile: a load of an alloca stored later in the loop must not
// be folded to the value stored before the loop.
TEST(SCCPConstFold, LoopCarriedStoreIsNotFolded) {
  const char *text = R"(
fn @f(%n: i64) -> i64 {
entry:
  %step = alloca i64
  %sum = alloca i64
  %i = alloca i64
  store i64 10, %step
  br cond
cond:
  %iv = load i64, %i
  %c = icmp slt i64 %iv, %n
  condbr %c, body, done
body:
  %s = load i64, %sum
  %v = load i64, %step
  %s2 = add i64 %s, %v
  store i64 %s2, %sum
  %nv = add i64 %iv, 100
  store i64 %nv, %step
  %i2 = add i64 %iv, 1
  store i64 %i2, %i
  br cond
done:
  %r = load i64, %sum
  ret %r
}
)";
  for (auto pass : {+[](Function &f) { constantFold(f); },
                    +[](Function &f) { runSCCP(f); },
                    +[](Function &f) {
                      constantFold(f);
                      runSCCP(f);
                      constantFold(f);
                    }}) {
    auto m = checkSame(text, pass, {{0}, {1}, {3}});
    ASSERT_TRUE(m);
    Outcome o = runFn(*m, *m->function("f"), {3});
    EXPECT_EQ(o.value, 10 + 100 + 101);
    EXPECT_EQ(countOps(*m->function("f"), Opcode::Load), 4u) << str(*m);
  }
}

TEST(SCCPConstFold, ForwardsOnlyWithinABlockAndThroughNoWrite) {
  auto m = checkSame(R"(
declare fn @qz_println_i64(i64) -> void
fn @g(%p: ptr) -> void {
entry:
  store i64 77, %p
  ret
}
fn @f(%x: i64) -> i64 {
entry:
  %a = alloca i64
  %b = alloca i64
  %q = alloca ptr
  store ptr %a, %q
  br mid
mid:
  store i64 1, %a
  %l1 = load i64, %a
  store i64 2, %b
  %l2 = load i64, %a
  %pa = load ptr, %q
  store i64 5, %pa
  %l3 = load i64, %a
  store i64 6, %a
  call @g(%a)
  %l4 = load i64, %a
  br next
next:
  %l5 = load i64, %a
  %t1 = add i64 %l1, %l2
  %t2 = add i64 %t1, %l3
  %t3 = add i64 %t2, %l4
  %t4 = add i64 %t3, %l5
  ret %t4
}
)", constfold, {{0}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  // %l1, %l2 forwarded (the store to the distinct %b does not interfere);
  // %pa (stored in another block), %l3 (after a store through that escaped
  // pointer), %l4 (after a call) and %l5 (another block) stay.
  EXPECT_EQ(countOps(*f, Opcode::Load), 4u) << str(*m);
  Outcome o = runFn(*m, *f, {0});
  EXPECT_EQ(o.value, 1 + 1 + 5 + 77 + 77);
}

TEST(SCCPConstFold, MatchOnEnumMakeAndNestedPatterns) {
  auto m = checkSame(R"(
type Opt = enum { None, Some(i64) }
type Pair = enum { P(Opt, i64) }
fn @f(%x: i64) -> i64 {
entry:
  %o = enum.make Opt Some(%x)
  %p = enum.make Pair P(%o, 3)
  match Pair %p, [P(None, _) -> none, P(Some(%v), 4) -> four, P(Some(%w), %k) -> other]
none:
  ret -1
four(%v: i64):
  ret %v
other(%w: i64, %k: i64):
  %r = add i64 %w, %k
  ret %r
}
)", constfold, {{0}, {10}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  EXPECT_EQ(countOps(*f, Opcode::Match), 0u) << str(*m);
  EXPECT_FALSE(constantFold(*f).changed());
}

TEST(SCCPConstFold, UndecidableMatchStays) {
  auto m = checkSame(R"(
type Opt = enum { None, Some(i64) }
fn @f(%x: i64) -> i64 {
entry:
  %o = enum.make Opt Some(%x)
  match Opt %o, [Some(5) -> five, Some(%v) -> some, None -> none]
five:
  ret 5
some(%v: i64):
  ret %v
none:
  ret 0
}
)", constfold, {{5}, {6}});
  ASSERT_TRUE(m);
  EXPECT_EQ(countOps(*m->function("f"), Opcode::Match), 1u);
}

//===----------------------------------------------------------------------===//
// sccp
//===----------------------------------------------------------------------===//

TEST(SCCP, PropagatesThroughBlockArgsAndFoldsBranches) {
  auto m = checkSame(R"(
fn @f(%n: i64) -> i64 {
entry:
  br loop(0, 7)
loop(%i: i64, %k: i64):
  %c = icmp eq i64 %k, 7
  condbr %c, body, never(%i)
never(%z: i64):
  br loop(%z, 8)
body:
  %i2 = add i64 %i, 1
  %d = icmp slt i64 %i2, %n
  condbr %d, loop(%i2, %k), done
done:
  %r = mul i64 %k, %i2
  ret %r
}
)", sccp, {{0}, {1}, {5}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  // %k is 7 on every executable edge (the edge from `never` never runs), so
  // the condbr on %c becomes a br; %i varies and stays.
  EXPECT_EQ(countOps(*f, Opcode::CondBr), 1u) << str(*m);
  EXPECT_EQ(countOps(*f, Opcode::ICmp), 1u) << str(*m);
  EXPECT_FALSE(runSCCP(*f).changed());
}

TEST(SCCP, ChangingLoopCounterIsNotFolded) {
  auto m = checkSame(R"(
fn @f(%n: i64) -> i64 {
entry:
  br loop(0)
loop(%i: i64):
  %c = icmp slt i64 %i, 3
  condbr %c, body, done
body:
  %i2 = add i64 %i, 1
  br loop(%i2)
done:
  ret %i
}
)", sccp, {{0}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  EXPECT_EQ(countOps(*f, Opcode::CondBr), 1u);
  EXPECT_EQ(runFn(*m, *f, {0}).value, 3);
}

TEST(SCCP, DivisionByZeroStaysAndIsOverdefined) {
  auto m = checkSame(R"(
fn @f(%n: i64) -> i64 {
entry:
  %z = sub i64 1, 1
  %d = sdiv i64 10, %z
  %c = icmp eq i64 %d, 0
  condbr %c, a, b
a:
  ret 1
b:
  ret 2
}
)", sccp, {{0}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  EXPECT_EQ(countOps(*f, Opcode::SDiv), 1u);
  EXPECT_EQ(countOps(*f, Opcode::CondBr), 1u);
  EXPECT_EQ(runFn(*m, *f, {0}).kind, InterpResult::Panicked);
}

TEST(SCCP, KnownVariantThroughBlockArgs) {
  auto m = checkSame(R"(
type Opt = enum { None, Some(i64) }
fn @f(%n: i64) -> i64 {
entry:
  %s0 = enum.make Opt Some(10)
  br loop(%s0, 0, 0)
loop(%step: Opt, %sum: i64, %i: i64):
  %c = icmp slt i64 %i, 3
  condbr %c, body, done
body:
  match Opt %step, [Some(%v) -> got, None -> none]
got(%v: i64):
  %sum2 = add i64 %sum, %v
  %p = add i64 %i, 100
  %s1 = enum.make Opt Some(%p)
  %i2 = add i64 %i, 1
  br loop(%s1, %sum2, %i2)
none:
  panic "unwrap on None"
done:
  ret %sum
}
)", sccp, {{0}});
  ASSERT_TRUE(m);
  Function *f = m->function("f");
  // The variant is always Some, the payload varies: the match becomes a br
  // with an enum.payload, never a constant.
  EXPECT_EQ(countOps(*f, Opcode::Match), 0u) << str(*m);
  EXPECT_EQ(countOps(*f, Opcode::EnumPayload), 1u);
  EXPECT_EQ(runFn(*m, *f, {0}).value, 211);
  EXPECT_FALSE(runSCCP(*f).changed());
}

// Two bindings spelled "v", one a macro's gensym: both fold exactly as their
// values say, and neither is confused with the other.
TEST(SCCP, GensymBindingsAreDistinct) {
  const char *text = R"(
bind #1 "v" scope 1
bind #2 "v" scope 2 gensym 1
fn @f(%x: i64) -> i64 {
entry:
  %user = alloca i64, bind #1
  %gen = alloca i64, bind #2
  store i64 1, %user
  store i64 %x, %gen
  br next(5)
next(%v: i64 #2):
  %a = load i64, %user
  %b = load i64, %gen
  %r = add i64 %a, %b
  %r2 = add i64 %r, %v
  ret %r2
}
)";
  for (auto pass : {+[](Function &f) { constantFold(f); },
                    +[](Function &f) { runSCCP(f); }}) {
    auto m = checkSame(text, pass, {{0}, {4}});
    ASSERT_TRUE(m);
    EXPECT_EQ(runFn(*m, *m->function("f"), {4}).value, 10);
    EXPECT_EQ(countOps(*m->function("f"), Opcode::Load), 2u);
  }
}

//===----------------------------------------------------------------------===//
// Random functions
//===----------------------------------------------------------------------===//

namespace {

/// A random function @f(%a, %b): entry with three allocas, a loop header
/// carrying a counter and two values, a random forward DAG of blocks with
/// parameters, arithmetic (including divisions that may panic), compares,
/// selects, loads and stores, and branches that are often on constants.
void buildRandom(Module &m, std::mt19937 &rng) {
  TypeContext &t = m.types();
  Builder b(m);
  Function *f = m.createFunction("f", t.function({t.i64(), t.i64()}, t.i64()));
  auto pick = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  Block *entry = f->createBlock("entry");
  Block *header = f->createBlock("header");
  unsigned nRegion = 2 + pick(5);
  std::vector<Block *> region;
  for (unsigned k = 0; k < nRegion; ++k)
    region.push_back(f->createBlock("r" + std::to_string(k)));
  Block *latch = f->createBlock("latch");
  Block *exit = f->createBlock("exit");

  BlockArg *iv = header->addArg(t.i64(), "i");
  BlockArg *x = header->addArg(t.i64(), "x");
  BlockArg *y = header->addArg(t.i64(), "y");
  for (Block *r : region)
    for (unsigned k = pick(3); k > 0; --k)
      r->addArg(t.i64());
  BlockArg *lx = latch->addArg(t.i64(), "lx");
  BlockArg *ly = latch->addArg(t.i64(), "ly");
  BlockArg *ex = exit->addArg(t.i64(), "ex");

  b.setInsertPoint(entry);
  Instruction *slots[3];
  for (auto &s : slots) {
    s = b.alloc(t.i64());
    if (pick(2))
      b.store(b.i64(static_cast<int64_t>(pick(9)) - 4), s);
  }
  auto randConst = [&]() -> Value * {
    static const int64_t cs[] = {0, 1, -1, 2, 3, 7, 64, INT64_MIN, INT64_MAX};
    return b.i64(cs[pick(9)]);
  };
  b.br(header, {b.i64(0), pick(2) ? randConst() : f->arg(0),
                pick(2) ? randConst() : f->arg(1)});
  b.setInsertPoint(header);
  b.br(region[0], {});
  // region[0] takes no arguments from the header's br.
  while (region[0]->numArgs()) {
    region[0]->eraseArg(region[0]->numArgs() - 1);
  }

  for (unsigned k = 0; k < nRegion; ++k) {
    Block *blk = region[k];
    b.setInsertPoint(blk);
    std::vector<Value *> vals = {f->arg(0), f->arg(1), iv, x, y};
    for (BlockArg *a : blk->args())
      vals.push_back(a);
    auto operand = [&]() -> Value * {
      return pick(3) == 0 ? randConst() : vals[pick(vals.size())];
    };
    for (unsigned n = 1 + pick(6); n > 0; --n) {
      switch (pick(8)) {
      case 0: case 1: case 2: {
        static const Opcode ops[] = {Opcode::Add, Opcode::Sub, Opcode::Mul,
                                     Opcode::And, Opcode::Or, Opcode::Xor,
                                     Opcode::Shl, Opcode::AShr, Opcode::LShr,
                                     Opcode::SDiv, Opcode::SRem, Opcode::UDiv};
        vals.push_back(b.binary(ops[pick(12)], operand(), operand()));
        break;
      }
      case 3: {
        Instruction *c = b.icmp(static_cast<ICmpPred>(pick(10)), operand(), operand());
        vals.push_back(b.select(c, operand(), operand()));
        break;
      }
      case 4: case 5:
        vals.push_back(b.load(t.i64(), slots[pick(3)]));
        break;
      case 6:
        b.store(operand(), slots[pick(3)]);
        break;
      default: {
        Instruction *z = b.cast(Opcode::ZExt,
                                b.icmp(ICmpPred::SLT, operand(), operand()), t.i64());
        vals.push_back(z);
        break;
      }
      }
    }
    // Branch forward, to a later region block or the latch.
    auto target = [&]() -> Block * {
      unsigned r = k + 1 + pick(nRegion - k);
      return r < nRegion ? region[r] : latch;
    };
    auto argsFor = [&](Block *dst) {
      llvm::SmallVector<Value *, 4> as;
      for (unsigned a = 0; a < dst->numArgs(); ++a)
        as.push_back(operand());
      return as;
    };
    Block *t1 = target(), *t2 = target();
    switch (pick(3)) {
    case 0:
      b.br(t1, argsFor(t1));
      break;
    case 1: {
      Value *c = pick(2) ? static_cast<Value *>(b.boolean(pick(2)))
                         : b.icmp(static_cast<ICmpPred>(pick(10)), operand(), operand());
      b.condBr(c, t1, argsFor(t1), t2, argsFor(t2));
      break;
    }
    default: {
      Value *v = pick(2) ? randConst() : b.binary(Opcode::And, operand(), b.i64(3));
      Builder::SwitchCase c1{0, t1, argsFor(t1)};
      Builder::SwitchCase c2{static_cast<int64_t>(1 + pick(3)), t2, argsFor(t2)};
      Block *d = target();
      b.switchOn(v, d, argsFor(d), {c1, c2});
      break;
    }
    }
  }
  b.setInsertPoint(latch);
  Instruction *i2 = b.add(iv, b.i64(1));
  Instruction *l = b.load(t.i64(), slots[pick(3)]);
  b.store(b.add(lx, l), slots[pick(3)]);
  Instruction *c = b.icmp(ICmpPred::SLT, i2, b.i64(1 + pick(4)));
  b.condBr(c, header, {i2, lx, ly}, exit, {b.add(lx, ly)});
  b.setInsertPoint(exit);
  Instruction *l0 = b.load(t.i64(), slots[0]);
  Instruction *l1 = b.load(t.i64(), slots[1]);
  Instruction *l2 = b.load(t.i64(), slots[2]);
  b.ret(b.add(b.add(ex, l0), b.add(l1, b.mul(l2, b.i64(3)))));
}

void randomTest(const char *name, void (*pass)(Function &),
                bool (*changed)(Function &)) {
  std::mt19937 rng(20240601);
  unsigned folded = 0;
  for (int iter = 0; iter < 300; ++iter) {
    Module before, after;
    std::mt19937 r1 = rng, r2 = rng;
    buildRandom(before, r1);
    buildRandom(after, r2);
    rng.discard(1000);
    ASSERT_TRUE(valid(before)) << str(before);
    Function *fa = after.function("f");
    size_t n0 = fa->instructionCount();
    pass(*fa);
    ASSERT_TRUE(valid(after)) << name << " iteration " << iter << "\n"
                              << str(before) << "\n--- after ---\n"
                              << str(after);
    folded += fa->instructionCount() != n0;
    for (int64_t a : {int64_t(0), int64_t(1), int64_t(-3), int64_t(100)})
      for (int64_t bb : {int64_t(0), int64_t(2), INT64_MIN}) {
        Outcome ob = runFn(before, *before.function("f"), {a, bb});
        Outcome oa = runFn(after, *fa, {a, bb});
        ASSERT_TRUE(ob == oa)
            << name << " iteration " << iter << " args " << a << ", " << bb
            << ": " << ob.kind << "/" << ob.value << "/" << ob.message
            << " vs " << oa.kind << "/" << oa.value << "/" << oa.message << "\n"
            << str(before) << "\n--- after ---\n" << str(after);
      }
    if (changed) {
      EXPECT_FALSE(changed(*fa)) << name << ": no fixpoint at iteration " << iter
                                 << "\n" << str(after);
    }
  }
  EXPECT_GT(folded, 100u) << name << " should change most random functions";
}

} // namespace

TEST(SCCPRandom, ConstFoldKeepsBehaviour) {
  randomTest(
      "constfold", [](Function &f) { constantFold(f); },
      [](Function &f) { return constantFold(f).changed(); });
}

TEST(SCCPRandom, SCCPKeepsBehaviour) {
  randomTest(
      "sccp", [](Function &f) { runSCCP(f); },
      [](Function &f) { return runSCCP(f).changed(); });
}

TEST(SCCPRandom, PipelineKeepsBehaviour) {
  randomTest(
      "constfold,sccp,constfold",
      [](Function &f) {
        constantFold(f);
        runSCCP(f);
        constantFold(f);
      },
      nullptr);
}
