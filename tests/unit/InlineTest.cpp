// Unit tests of the inliner: recursion (self and mutual) is never inlined,
// the threshold and constant-argument bonus are respected, panics stay on
// their path, callee allocas keep their fresh-zero meaning when the call
// runs in a loop, callees keep their bodies, and a differential test runs
// random modules of several functions (calls, recursion, loops, allocas,
// panics) in the interpreter before and after.
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/PassManager.h"

#include "tests/support/TestUtil.h"

#include <gtest/gtest.h>

#include <random>

using namespace qmir;

namespace {

std::unique_ptr<Module> parse(llvm::StringRef text) {
  return qmir::testing::parseOrFail(text);
}

::testing::AssertionResult valid(const Module &m) { return qmir::testing::verifies(m); }

bool runPasses(Module &m, llvm::StringRef pipeline) {
  registerAllPasses();
  PassManager pm;
  if (llvm::Error e = parsePassPipeline(pm, pipeline)) {
    ADD_FAILURE() << llvm::toString(std::move(e));
    return false;
  }
  std::string before = moduleToString(m);
  pm.run(m);
  return moduleToString(m) != before;
}

unsigned callsTo(const Function &f, llvm::StringRef callee) {
  unsigned n = 0;
  for (const Block &b : f.blocks())
    for (const Instruction &i : b.insts())
      n += i.opcode() == Opcode::Call && i.callee()->name() == callee;
  return n;
}

std::string run(const Module &m, llvm::StringRef fn,
                llvm::ArrayRef<std::vector<int64_t>> argSets) {
  std::string text, errText;
  llvm::raw_string_ostream out(text), err(errText);
  Interpreter interp(m, out, err);
  for (const auto &args : argSets) {
    InterpResult r = interp.run(*m.function(fn), args);
    out << "| kind " << int(r.kind) << " value " << r.value << " " << r.message
        << " at " << (r.inst ? formatSourceLoc(m, r.inst->loc()) : "-") << '\n';
  }
  return text;
}

TEST(Inline, RecursiveFunctionsAreNeverInlined) {
  auto m = parse(R"(
fn @fact(%n: i64) -> i64 {
entry:
  %z = icmp sle i64 %n, 1
  condbr %z, base, rec
base:
  ret 1
rec:
  %m = sub i64 %n, 1
  %r = call @fact(%m)
  %p = mul i64 %n, %r
  ret %p
}
fn @even(%n: i64) -> i1 {
entry:
  %z = icmp eq i64 %n, 0
  condbr %z, yes, rec
yes:
  ret true
rec:
  %m = sub i64 %n, 1
  %r = call @odd(%m)
  ret %r
}
fn @odd(%n: i64) -> i1 {
entry:
  %z = icmp eq i64 %n, 0
  condbr %z, no, rec
no:
  ret false
rec:
  %m = sub i64 %n, 1
  %r = call @even(%m)
  ret %r
}
fn @main(%x: i64) -> i64 {
entry:
  %a = call @fact(%x)
  %e = call @even(%x)
  %ez = zext i1 %e to i64
  %s = add i64 %a, %ez
  ret %s
}
)");
  std::vector<std::vector<int64_t>> args = {{5}, {0}, {10}};
  std::string before = run(*m, "main", args);
  EXPECT_FALSE(runPasses(*m, "inline<threshold=1000>"));
  EXPECT_EQ(callsTo(*m->function("fact"), "fact"), 1u);
  EXPECT_EQ(callsTo(*m->function("even"), "odd"), 1u);
  EXPECT_EQ(callsTo(*m->function("odd"), "even"), 1u);
  EXPECT_EQ(callsTo(*m->function("main"), "fact"), 1u);
  EXPECT_EQ(callsTo(*m->function("main"), "even"), 1u);
  EXPECT_EQ(run(*m, "main", args), before);
}

const char *kFive = R"(
fn @five(%a: i64, %b: i64) -> i64 {
entry:
  %x = add i64 %a, %b
  %y = mul i64 %x, %a
  %z = sub i64 %y, %b
  %w = xor i64 %z, 1
  ret %w
}
fn @vars(%p: i64, %q: i64) -> i64 {
entry:
  %r = call @five(%p, %q)
  ret %r
}
fn @consts(%p: i64) -> i64 {
entry:
  %r = call @five(%p, 7)
  ret %r
}
)";

TEST(Inline, ThresholdAndConstantBonus) {
  struct Case {
    const char *pipeline;
    unsigned varsCalls, constsCalls;
  } cases[] = {{"inline<threshold=5>", 0, 0},
               {"inline<threshold=4>", 1, 0},
               {"inline<threshold=0>", 1, 1},
               {"inline", 0, 0}};
  for (const Case &c : cases) {
    auto m = parse(kFive);
    std::string before = run(*m, "vars", {{3, 4}, {-2, 9}}) +
                         run(*m, "consts", {{3}, {-8}});
    runPasses(*m, c.pipeline);
    ASSERT_TRUE(valid(*m));
    EXPECT_EQ(callsTo(*m->function("vars"), "five"), c.varsCalls) << c.pipeline;
    EXPECT_EQ(callsTo(*m->function("consts"), "five"), c.constsCalls) << c.pipeline;
    // The callee keeps its body.
    EXPECT_EQ(m->function("five")->instructionCount(), 5u);
    EXPECT_EQ(run(*m, "vars", {{3, 4}, {-2, 9}}) + run(*m, "consts", {{3}, {-8}}),
              before);
  }
}

TEST(Inline, OptionsArePrintedAndChecked) {
  registerAllPasses();
  PassManager pm;
  ASSERT_FALSE(llvm::errorToBool(parsePassPipeline(pm, "inline<threshold=7>,inline")));
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printPipeline(os);
  EXPECT_EQ(text, "inline<threshold=7>,inline");
  PassManager bad;
  llvm::Error e = parsePassPipeline(bad, "inline<threshold=x>");
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("threshold"), std::string::npos);
}

TEST(Inline, PanicStaysOnItsPath) {
  auto m = parse(R"(
source "p.qz"
fn @check(%v: i64) -> i64 {
entry:
  %bad = icmp slt i64 %v, 0
  condbr %bad, fail, ok
fail:
  panic "negative" !4:2
ok:
  %q = sdiv i64 100, %v !5:9
  ret %q
}
fn @main(%x: i64) -> i64 {
entry:
  %a = call @check(%x)
  %b = add i64 %a, 1
  ret %b
}
)");
  std::vector<std::vector<int64_t>> args = {{5}, {-1}, {0}};
  std::string before = run(*m, "main", args);
  EXPECT_NE(before.find("negative at p.qz:4:2"), std::string::npos) << before;
  EXPECT_NE(before.find("division by zero at p.qz:5:9"), std::string::npos) << before;
  EXPECT_TRUE(runPasses(*m, "inline"));
  ASSERT_TRUE(valid(*m));
  EXPECT_EQ(callsTo(*m->function("main"), "check"), 0u);
  unsigned panics = 0;
  for (Block &b : m->function("main")->blocks())
    panics += b.terminator()->opcode() == Opcode::Panic;
  EXPECT_EQ(panics, 1u);
  EXPECT_EQ(run(*m, "main", args), before);
  EXPECT_FALSE(runPasses(*m, "inline"));
}

// The callee reads its variable before writing it: called in a loop after
// inlining, it must still read zero each time.
TEST(Inline, AllocaInLoopStartsFromZeroEachTime) {
  auto m = parse(R"(
declare fn @qz_println_i64(i64) -> void
fn @bump(%x: i64) -> i64 {
entry:
  %n = alloca i64
  %old = load i64, %n
  %new = add i64 %old, %x
  store i64 %new, %n
  ret %new
}
fn @main(%k: i64) -> i64 {
entry:
  br loop(0, 0)
loop(%i: i64, %s: i64):
  %b = call @bump(%i)
  call @qz_println_i64(%b)
  %s2 = add i64 %s, %b
  %i2 = add i64 %i, 1
  %c = icmp slt i64 %i2, %k
  condbr %c, loop(%i2, %s2), done
done:
  ret %s2
}
)");
  std::vector<std::vector<int64_t>> args = {{4}, {1}};
  std::string before = run(*m, "main", args);
  EXPECT_TRUE(runPasses(*m, "inline"));
  ASSERT_TRUE(valid(*m));
  Function &main = *m->function("main");
  // The alloca went to the entry block; a store of zero took its place.
  EXPECT_EQ(main.entry()->front().opcode(), Opcode::Alloca);
  bool zeroStore = false;
  for (Block &b : main.blocks())
    for (Instruction &i : b.insts())
      if (i.opcode() == Opcode::Store && i.operand(0) == m->constI64(0) &&
          i.operand(1) == &main.entry()->front())
        zeroStore = true;
  EXPECT_TRUE(zeroStore) << moduleToString(*m);
  EXPECT_EQ(run(*m, "main", args), before);
}

/// A random module: @g0..@g{N-1}(i64, i64) -> i64, each with arithmetic
/// (divisions that may panic), a diamond, sometimes a loop holding an
/// alloca that is read before it is written, calls to lower-numbered
/// functions (some with constant arguments), and recursion guarded by a
/// countdown in %b: to itself or to the next function, which makes cycles.
std::unique_ptr<Module> randomModule(std::mt19937 &rng) {
  auto m = std::make_unique<Module>();
  TypeContext &t = m->types();
  Builder b(*m);
  Function *print =
      m->createFunction("qz_println_i64", t.function({t.i64()}, t.voidTy()));
  const unsigned n = 6;
  std::vector<Function *> fs;
  for (unsigned k = 0; k < n; ++k)
    fs.push_back(m->createFunction(("g" + std::to_string(k)),
                                   t.function({t.i64(), t.i64()}, t.i64())));
  auto rnd = [&](unsigned lo, unsigned hi) {
    return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
  };
  auto pick = [&](std::vector<Value *> &pool) {
    return pool[rnd(0, pool.size() - 1)];
  };
  for (unsigned k = 0; k < n; ++k) {
    Function *f = fs[k];
    Block *entry = f->createBlock("entry");
    b.setInsertPoint(entry);
    std::vector<Value *> pool = {f->arg(0), f->arg(1), b.i64(2), b.i64(-3)};
    auto arith = [&](unsigned count) {
      static const Opcode ops[] = {Opcode::Add, Opcode::Sub, Opcode::Mul,
                                   Opcode::Xor, Opcode::SDiv, Opcode::SRem};
      for (unsigned c = 0; c < count; ++c) {
        Opcode op = ops[rnd(0, 5)];
        Value *rhs = pick(pool);
        if ((op == Opcode::SDiv || op == Opcode::SRem) && rnd(0, 99) < 70)
          rhs = b.i64(rnd(1, 5));
        pool.push_back(b.binary(op, pick(pool), rhs));
      }
    };
    arith(rnd(1, 6));
    // Calls to lower functions, with the countdown decremented.
    Value *down = b.sub(f->arg(1), b.i64(1));
    for (unsigned c = rnd(0, 2); c > 0 && k > 0; --c) {
      Function *callee = fs[rnd(0, k - 1)];
      Value *a0 = rnd(0, 1) ? static_cast<Value *>(b.i64(rnd(0, 9))) : pick(pool);
      pool.push_back(b.call(callee, {a0, down}));
    }
    if (rnd(0, 3) == 0)
      b.call(print, {pick(pool)});
    // Guarded recursion: if 0 <= b < 4, call self or the next function.
    Block *rec = f->createBlock("rec");
    Block *join = f->createBlock("join");
    BlockArg *j = join->addArg(t.i64(), "j");
    bool recursive = rnd(0, 2) == 0;
    if (recursive) {
      Instruction *g = b.icmp(ICmpPred::ULT, f->arg(1), b.i64(4));
      Value *other = pick(pool);
      b.condBr(g, rec, {}, join, {other});
      b.setInsertPoint(rec);
      Function *callee = (k + 1 < n && rnd(0, 1)) ? fs[k + 1] : f;
      Instruction *r = b.call(callee, {pick(pool), down});
      b.br(join, {r});
    } else {
      Instruction *c = b.icmp(ICmpPred::SGT, pick(pool), pick(pool));
      Value *x = pick(pool);
      b.condBr(c, rec, {}, join, {x});
      b.setInsertPoint(rec);
      Instruction *r = b.mul(pick(pool), b.i64(3));
      b.br(join, {r});
    }
    b.setInsertPoint(join);
    pool.push_back(j);
    if (rnd(0, 1)) {
      // A loop of 3 iterations with a fresh variable each time.
      Block *loop = f->createBlock("loop");
      Block *done = f->createBlock("done");
      BlockArg *i = loop->addArg(t.i64(), "i");
      BlockArg *acc = loop->addArg(t.i64(), "acc");
      b.br(loop, {b.i64(0), pick(pool)});
      b.setInsertPoint(loop);
      Instruction *slot = b.alloc(t.i64());
      Instruction *old = b.load(t.i64(), slot);
      Instruction *nv = b.add(old, i);
      b.store(nv, slot);
      Instruction *acc2 = b.add(acc, nv);
      Instruction *i2 = b.add(i, b.i64(1));
      Instruction *c = b.icmp(ICmpPred::SLT, i2, b.i64(3));
      b.condBr(c, loop, {i2, acc2}, done, {});
      b.setInsertPoint(done);
      pool.push_back(acc2);
    }
    Value *last = pool.back();
    if (rnd(0, 5) == 0) {
      Block *bad = f->createBlock("bad");
      Block *good = f->createBlock("good");
      Instruction *c = b.icmp(ICmpPred::EQ, pick(pool), b.i64(7));
      b.condBr(c, bad, good);
      b.setInsertPoint(bad);
      b.panic("seven");
      b.setInsertPoint(good);
    }
    arith(rnd(0, 3));
    b.ret(b.binary(Opcode::Xor, pick(pool), last)); // loop or join result
  }
  return m;
}

TEST(Inline, RandomModulesBehaveTheSame) {
  std::mt19937 rng(777);
  unsigned changed = 0;
  std::vector<std::vector<int64_t>> args = {{0, 3}, {5, 2}, {-100, 7}, {3, 0},
                                            {INT64_MIN, 1}, {42, 5}, {7, 3}};
  for (unsigned seed = 0; seed < 200; ++seed) {
    auto m = randomModule(rng);
    ASSERT_TRUE(valid(*m)) << seed;
    std::string before;
    for (Function &f : m->functions())
      if (!f.isDeclaration())
        before += run(*m, f.name(), args);
    changed += runPasses(*m, "inline");
    ASSERT_TRUE(valid(*m)) << seed;
    std::string after;
    for (Function &f : m->functions())
      if (!f.isDeclaration())
        after += run(*m, f.name(), args);
    EXPECT_EQ(after, before) << "seed " << seed << "\n" << moduleToString(*m);
    EXPECT_FALSE(runPasses(*m, "inline")) << "seed " << seed;
    // Every function still has its body.
    for (Function &f : m->functions()) {
      if (f.name() != "qz_println_i64") {
        EXPECT_FALSE(f.isDeclaration());
      }
    }
  }
  EXPECT_GT(changed, 150u) << "the generator should produce inlinable calls";
}

} // namespace
