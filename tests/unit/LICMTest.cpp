// Unit tests of licm: what it hoists (invariant pure chains, out of nested
// loops, into a new preheader when needed), what it must not (a division
// that may panic out of a loop that may run zero times, loads across stores,
// calls, enum.payload), the analyses it reports preserved, and a
// differential test on random loop nests run in the interpreter.
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

/// Runs `pipeline` on m; returns whether the module text changed.
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

/// The pass object itself, to look at what it reports.
std::unique_ptr<Pass> makeLICM() {
  registerAllPasses();
  PassOptions opts;
  return PassRegistry::global().lookup("licm")->factory(opts);
}

Block *block(Function &f, llvm::StringRef name) {
  for (Block &b : f.blocks())
    if (b.name() == name)
      return &b;
  return nullptr;
}

Instruction *inst(Function &f, llvm::StringRef name) {
  for (Block &b : f.blocks())
    for (Instruction &i : b.insts())
      if (i.name() == name)
        return &i;
  return nullptr;
}

std::string run(const Module &m, llvm::StringRef fn,
                llvm::ArrayRef<std::vector<int64_t>> argSets) {
  std::string text, errText;
  llvm::raw_string_ostream out(text), err(errText);
  InterpOptions opts;
  opts.instructionLimit = 2000000;
  Interpreter interp(m, out, err, opts);
  for (const auto &args : argSets) {
    InterpResult r = interp.run(*m.function(fn), args);
    out << "| kind " << int(r.kind) << " value " << r.value << " " << r.message
        << '\n';
  }
  return text;
}

const char *kLoop = R"(
declare fn @qz_println_i64(i64) -> void
type Opt = enum { None, Some(i64) }

fn @f(%n: i64, %a: i64, %d: i64, %e: Opt) -> i64 {
entry:
  %slot = alloca i64
  store i64 %a, %slot
  br loop(0, 0)
loop(%i: i64, %acc: i64):
  %c = icmp slt i64 %i, %n
  condbr %c, body, done
body:
  %inv = mul i64 %a, 3
  %inv2 = add i64 %inv, %d
  %div7 = sdiv i64 %inv2, 7
  %q = sdiv i64 %a, %d
  %v = load i64, %slot
  %nv = add i64 %v, 1
  store i64 %nv, %slot
  call @qz_println_i64(%inv)
  %tag = enum.tag Opt %e
  %is = icmp eq i32 %tag, 1
  condbr %is, some, join(0)
some:
  %p = enum.payload Opt %e, Some, 0
  br join(%p)
join(%pv: i64):
  %s1 = add i64 %acc, %div7
  %s2 = add i64 %s1, %q
  %s3 = add i64 %s2, %v
  %s4 = add i64 %s3, %pv
  %i2 = add i64 %i, 1
  br loop(%i2, %s4)
done:
  ret %acc
}
)";

TEST(LICM, HoistsInvariantsButNotHazards) {
  auto m = parse(kLoop);
  Function &f = *m->function("f");
  Block *entry = f.entry();
  EXPECT_TRUE(runPasses(*m, "licm"));
  ASSERT_TRUE(valid(*m));
  // Hoisted, in order, into `entry` (the existing preheader).
  for (const char *n : {"inv", "inv2", "div7", "tag", "is"})
    EXPECT_EQ(inst(f, n)->parent(), entry) << n;
  // Stay: division by a value that may be zero, load across the store,
  // store, call, enum.payload behind its tag check.
  EXPECT_EQ(inst(f, "q")->parent(), block(f, "body"));
  EXPECT_EQ(inst(f, "v")->parent(), block(f, "body"));
  EXPECT_EQ(inst(f, "p")->parent(), block(f, "some"));
  unsigned calls = 0, stores = 0;
  for (Instruction &i : block(f, "body")->insts()) {
    calls += i.opcode() == Opcode::Call;
    stores += i.opcode() == Opcode::Store;
  }
  EXPECT_EQ(calls, 1u);
  EXPECT_EQ(stores, 1u);
  EXPECT_FALSE(runPasses(*m, "licm")) << "second run must change nothing";
}

// The negative test of the brief: a loop that runs zero times with a zero
// divisor must not panic after licm.
TEST(LICM, ZeroTripLoopDoesNotPanic) {
  auto m = parse(R"(
fn @g(%n: i64, %a: i64, %d: i64) -> i64 {
entry:
  br loop(0)
loop(%i: i64):
  %c = icmp slt i64 %i, %n
  condbr %c, body, done
body:
  %q = sdiv i64 %a, %d
  %r = urem i64 %a, 0
  %i2 = add i64 %i, %q
  %i3 = add i64 %i2, %r
  br loop(%i3)
done:
  ret %i
}
)");
  std::vector<std::vector<int64_t>> args = {{0, 5, 0}, {2, 5, 0}, {0, 9, 3}};
  std::string before = run(*m, "g", args);
  EXPECT_NE(before.find("kind 0 value 0"), std::string::npos) << before;
  EXPECT_NE(before.find("division by zero"), std::string::npos) << before;
  EXPECT_FALSE(runPasses(*m, "licm"));
  ASSERT_TRUE(valid(*m));
  EXPECT_EQ(run(*m, "g", args), before);
}

TEST(LICM, PreheaderForSeveralOutsideEdgesAndPreservedAnalyses) {
  auto m = parse(R"(
fn @h(%p: i1, %a: i64) -> i64 {
entry:
  condbr %p, loop(0), loop(5)
loop(%i: i64):
  %x = xor i64 %a, 255
  %y = add i64 %i, %x
  %c = icmp slt i64 %y, 1000
  condbr %c, loop(%y), done
done:
  ret %i
}
fn @k(%a: i64) -> i64 {
entry:
  br loop(0)
loop(%i: i64):
  %x = xor i64 %a, 255
  %y = add i64 %i, %x
  %c = icmp slt i64 %y, 1000
  condbr %c, loop(%y), done
done:
  ret %i
}
)");
  std::vector<std::vector<int64_t>> args = {{1, 3}, {0, 3}, {0, 2000}};
  std::string before = run(*m, "h", args);
  std::unique_ptr<Pass> pass = makeLICM();
  auto &fp = static_cast<FunctionPass &>(*pass);
  AnalysisManager am;

  Function &h = *m->function("h");
  size_t blocks = h.blocks().size();
  PreservedAnalyses pa = fp.run(h, am);
  EXPECT_FALSE(pa.isPreserved<CFGAnalyses>()) << "a block was added";
  EXPECT_EQ(h.blocks().size(), blocks + 1);
  Block *ph = inst(h, "x")->parent();
  EXPECT_EQ(ph->name(), "loop.preheader");
  EXPECT_EQ(ph->numArgs(), 1u);
  for (const Successor &s : h.entry()->terminator()->successors())
    EXPECT_EQ(s.block, ph);
  ASSERT_TRUE(valid(*m));
  EXPECT_EQ(run(*m, "h", args), before);
  am.invalidate(h, pa);
  EXPECT_TRUE(fp.run(h, am).areAllPreserved());

  Function &k = *m->function("k");
  pa = fp.run(k, am);
  EXPECT_FALSE(pa.areAllPreserved());
  EXPECT_TRUE(pa.isPreserved<CFGAnalyses>()) << "only instructions moved";
  EXPECT_EQ(inst(k, "x")->parent(), k.entry());
  am.invalidate(k, pa);
  EXPECT_TRUE(fp.run(k, am).areAllPreserved());
}

/// A random loop nest @f(i64, i64) -> i64: the outer header has two outside
/// predecessors (so a preheader must be made), the trip counts come from
/// the arguments (so loops may run zero times), and bodies mix pure
/// arithmetic on invariant and variant values with divisions by values that
/// may be zero, loads and stores of a slot, and prints.
Function *randomLoopNest(Module &m, Function *print, std::mt19937 &rng) {
  TypeContext &t = m.types();
  Builder b(m);
  Function *f = m.createFunction("f", t.function({t.i64(), t.i64()}, t.i64()));
  Block *entry = f->createBlock("entry");
  Block *outer = f->createBlock("outer");
  Block *ob = f->createBlock("ob");
  Block *inner = f->createBlock("inner");
  Block *ib = f->createBlock("ib");
  Block *idone = f->createBlock("idone");
  Block *exit = f->createBlock("exit");
  auto rnd = [&](unsigned lo, unsigned hi) {
    return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
  };
  auto pick = [&](std::vector<Value *> &pool) {
    return pool[rnd(0, pool.size() - 1)];
  };
  Instruction *slot = nullptr;
  auto fill = [&](std::vector<Value *> &pool, unsigned n) {
    static const Opcode ops[] = {Opcode::Add, Opcode::Sub,  Opcode::Mul,
                                 Opcode::Xor, Opcode::And,  Opcode::SDiv,
                                 Opcode::URem, Opcode::AShr, Opcode::Or};
    for (unsigned k = 0; k < n; ++k) {
      unsigned what = rnd(0, 11);
      if (what == 0) {
        b.call(print, {pick(pool)});
      } else if (what == 1) {
        pool.push_back(b.load(t.i64(), slot));
      } else if (what == 2) {
        b.store(pick(pool), slot);
      } else if (what == 3) {
        Instruction *c = b.icmp(ICmpPred::SLT, pick(pool), pick(pool));
        pool.push_back(b.select(c, pick(pool), pick(pool)));
      } else if (what == 4) {
        Instruction *tr = b.cast(Opcode::Trunc, pick(pool), t.i32());
        pool.push_back(b.cast(Opcode::SExt, tr, t.i64()));
      } else {
        Opcode op = ops[rnd(0, 8)];
        Value *rhs = pick(pool);
        if ((op == Opcode::SDiv || op == Opcode::URem) && rnd(0, 99) < 50)
          rhs = b.i64(rnd(1, 9));
        pool.push_back(b.binary(op, pick(pool), rhs));
      }
    }
  };

  b.setInsertPoint(entry);
  slot = b.alloc(t.i64());
  b.store(f->arg(0), slot);
  std::vector<Value *> entryPool = {f->arg(0), f->arg(1), b.i64(3), b.i64(-7),
                                    b.i64(0)};
  fill(entryPool, 4);
  Value *outerTrip = b.binary(Opcode::And, f->arg(1), b.i64(3));
  Value *innerTrip = b.binary(Opcode::And, f->arg(0), b.i64(3));
  BlockArg *i = outer->addArg(t.i64(), "i");
  BlockArg *acc = outer->addArg(t.i64(), "acc");
  Instruction *c0 = b.icmp(ICmpPred::SGT, pick(entryPool), pick(entryPool));
  b.condBr(c0, outer, {b.i64(0), pick(entryPool)}, outer,
           {b.i64(1), pick(entryPool)});

  b.setInsertPoint(outer);
  Instruction *oc = b.icmp(ICmpPred::SLT, i, outerTrip);
  b.condBr(oc, ob, exit);

  b.setInsertPoint(ob);
  std::vector<Value *> obPool = entryPool;
  obPool.insert(obPool.end(), {i, acc});
  fill(obPool, 4);
  BlockArg *j = inner->addArg(t.i64(), "j");
  BlockArg *tt = inner->addArg(t.i64(), "t");
  b.br(inner, {b.i64(0), pick(obPool)});

  b.setInsertPoint(inner);
  Instruction *ic = b.icmp(ICmpPred::SLT, j, innerTrip);
  b.condBr(ic, ib, idone);

  b.setInsertPoint(ib);
  std::vector<Value *> ibPool = obPool;
  ibPool.insert(ibPool.end(), {j, tt});
  fill(ibPool, 8);
  Instruction *j2 = b.add(j, b.i64(1));
  b.br(inner, {j2, pick(ibPool)});

  b.setInsertPoint(idone);
  std::vector<Value *> idPool = obPool;
  idPool.insert(idPool.end(), {j, tt});
  fill(idPool, 2);
  Instruction *i2 = b.add(i, b.i64(1));
  b.br(outer, {i2, pick(idPool)});

  b.setInsertPoint(exit);
  std::vector<Value *> exitPool = entryPool;
  exitPool.insert(exitPool.end(), {i, acc});
  fill(exitPool, 2);
  b.ret(pick(exitPool));
  return f;
}

// Differential test: on random loop nests licm keeps the IR valid, changes
// nothing the interpreter can observe (output, result, panics) and reaches
// a fixed point in one run.
TEST(LICM, RandomLoopNestsBehaveTheSame) {
  std::mt19937 rng(4242);
  unsigned changed = 0;
  std::vector<std::vector<int64_t>> args = {{0, 0}, {5, -3}, {-100, 7}, {3, 2},
                                            {INT64_MIN, -1}, {42, 1}, {2, 0}};
  for (unsigned seed = 0; seed < 300; ++seed) {
    Module m;
    Function *print = m.createFunction(
        "qz_println_i64", m.types().function({m.types().i64()}, m.types().voidTy()));
    randomLoopNest(m, print, rng);
    ASSERT_TRUE(valid(m)) << seed;
    std::string before = run(m, "f", args);
    changed += runPasses(m, "licm");
    ASSERT_TRUE(valid(m)) << seed;
    EXPECT_EQ(run(m, "f", args), before) << "seed " << seed << "\n"
                                         << moduleToString(m);
    EXPECT_FALSE(runPasses(m, "licm")) << "seed " << seed;
  }
  EXPECT_GT(changed, 200u) << "the generator should produce invariant code";
}

} // namespace
