// Unit tests of mem2reg on functions built with the Builder: what it promotes
// (scalars, structs through struct.addr, enums, loop-carried variables, reads
// of the zero initial value), what it must leave alone (escaping allocas,
// punned types, pointers whose null initial value is read), the debug
// bindings it keeps, and a differential test on random frontend-style
// functions with loops, comparing the interpreter before and after.
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Verifier.h"
#include "passes/AnalysisManager.h"
#include "passes/Mem2Reg.h"

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
  InterpResult run(Function *f, llvm::ArrayRef<int64_t> args) {
    std::string out, err;
    llvm::raw_string_ostream os(out), es(err);
    Interpreter in(m, os, es);
    return in.run(*f, args);
  }
};

TEST(Mem2Reg, LoopCarriedVariable) {
  // i = 0; s = 0; while (i < n) { s += i; i += 1 }; return s
  Fixture x;
  BindingId bi = x.m.addBinding("i", 1, 0), bs = x.m.addBinding("s", 1, 0);
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Block *loop = f->createBlock("loop"), *body = f->createBlock("body"),
        *done = f->createBlock("done");
  Instruction *i = x.b.alloc(x.t.i64(), bi, "i");
  Instruction *s = x.b.alloc(x.t.i64(), bs, "s");
  x.b.store(x.b.i64(0), i);
  x.b.store(x.b.i64(0), s);
  x.b.br(loop);
  x.b.setInsertPoint(loop);
  Instruction *iv = x.b.load(x.t.i64(), i);
  x.b.condBr(x.b.icmp(ICmpPred::SLT, iv, f->arg(0)), body, done);
  x.b.setInsertPoint(body);
  x.b.store(x.b.add(x.b.load(x.t.i64(), s), iv), s);
  x.b.store(x.b.add(iv, x.b.i64(1)), i);
  x.b.br(loop);
  x.b.setInsertPoint(done);
  x.b.ret(x.b.load(x.t.i64(), s));
  ASSERT_TRUE(x.valid(*f));

  Mem2RegStats st = promoteMemoryToRegisters(*f);
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(st.promoted, 2u);
  EXPECT_EQ(st.blockArgs, 2u);
  EXPECT_EQ(x.count(*f, Opcode::Alloca) + x.count(*f, Opcode::Load) +
                x.count(*f, Opcode::Store),
            0u);
  ASSERT_EQ(loop->numArgs(), 2u);
  EXPECT_EQ(loop->arg(0)->binding(), bi);
  EXPECT_EQ(loop->arg(1)->binding(), bs);
  EXPECT_EQ(loop->arg(0)->name(), "i");
  EXPECT_EQ(x.count(*f, Opcode::DbgValue), 4u); // one per store
  EXPECT_EQ(x.run(f, {5}).value, 10);
  EXPECT_EQ(x.run(f, {0}).value, 0);
  EXPECT_FALSE(promoteMemoryToRegisters(*f).changed());
}

TEST(Mem2Reg, PrunedNoUselessParameters) {
  // t is written on both sides of a diamond but never read after the join.
  Fixture x;
  Function *f = x.fn("f", {x.t.i1()}, x.t.i64());
  Block *l = f->createBlock("l"), *r = f->createBlock("r"),
        *j = f->createBlock("j");
  Instruction *t = x.b.alloc(x.t.i64());
  x.b.condBr(f->arg(0), l, r);
  x.b.setInsertPoint(l);
  x.b.store(x.b.i64(1), t);
  Instruction *a = x.b.load(x.t.i64(), t);
  x.b.br(j);
  x.b.setInsertPoint(r);
  x.b.store(x.b.i64(2), t);
  x.b.br(j);
  x.b.setInsertPoint(j);
  x.b.ret(x.b.i64(3));
  (void)a;
  Mem2RegStats st = promoteMemoryToRegisters(*f);
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(st.promoted, 1u);
  EXPECT_EQ(st.blockArgs, 0u);
  EXPECT_EQ(j->numArgs(), 0u);
}

TEST(Mem2Reg, EscapingAndPunnedAllocasStay) {
  Fixture x;
  Function *ext = x.m.createFunction("ext", x.t.function({x.t.ptr()}, x.t.voidTy()));
  const Type *pair = x.t.literalStruct({x.t.i64(), x.t.i64()});
  Function *f = x.fn("f", {}, x.t.i64());
  Instruction *passed = x.b.alloc(x.t.i64());
  Instruction *stored = x.b.alloc(x.t.i64());
  Instruction *holder = x.b.alloc(x.t.ptr());
  Instruction *punned = x.b.alloc(pair);
  x.b.call(ext, {passed});
  x.b.store(stored, holder);       // the address goes into memory ...
  x.b.call(ext, {holder});         // ... that escapes
  x.b.store(x.b.i64(4), punned);   // wrong type for a Pair slot? no: i64 store
  Instruction *l = x.b.load(x.t.i64(), punned);
  x.b.ret(l);
  Mem2RegStats st = promoteMemoryToRegisters(*f);
  EXPECT_EQ(st.promoted, 0u);
  EXPECT_EQ(x.count(*f, Opcode::Alloca), 4u);
  EXPECT_EQ(x.count(*f, Opcode::Store), 2u);
}

TEST(Mem2Reg, StructFieldsAndZeroValues) {
  Fixture x;
  BindingId bp = x.m.addBinding("p", 1, 0);
  const Type *inner = x.t.literalStruct({x.t.i32(), x.t.i64()});
  const Type *outer = x.t.literalStruct({x.t.i64(), inner});
  Function *f = x.fn("f", {x.t.i64()}, x.t.i64());
  Instruction *p = x.b.alloc(outer, bp, "p");
  Instruction *f1 = x.b.fieldAddr(outer, p, 1);
  Instruction *f11 = x.b.fieldAddr(inner, f1, 1);
  Instruction *f0 = x.b.fieldAddr(outer, p, 0);
  Instruction *z = x.b.load(x.t.i64(), f11); // zero
  x.b.store(x.b.add(f->arg(0), z), f11);
  Instruction *v = x.b.load(x.t.i64(), f11);
  Instruction *w = x.b.load(x.t.i64(), f0);   // still zero
  Instruction *whole = x.b.load(outer, p);
  Instruction *e = x.b.structExtract(x.b.structExtract(whole, 1), 0);
  Instruction *e64 = x.b.cast(Opcode::SExt, e, x.t.i64());
  x.b.ret(x.b.add(x.b.add(v, w), e64));
  ASSERT_TRUE(x.valid(*f));
  Mem2RegStats st = promoteMemoryToRegisters(*f);
  ASSERT_TRUE(x.valid(*f));
  EXPECT_EQ(st.promoted, 1u);
  EXPECT_EQ(x.count(*f, Opcode::FieldAddr), 0u);
  EXPECT_EQ(x.count(*f, Opcode::Load), 0u);
  EXPECT_GE(x.count(*f, Opcode::StructInsert), 2u);
  EXPECT_EQ(x.run(f, {41}).value, 41);
  EXPECT_FALSE(promoteMemoryToRegisters(*f).changed());
}

TEST(Mem2Reg, PointerReadBeforeWriteStays) {
  Fixture x;
  Function *f = x.fn("f", {x.t.i1()}, x.t.ptr());
  Block *set = f->createBlock("set"), *out = f->createBlock("out");
  Instruction *q = x.b.alloc(x.t.ptr());
  x.b.condBr(f->arg(0), set, out);
  x.b.setInsertPoint(set);
  x.b.store(x.b.str("s"), q);
  x.b.br(out);
  x.b.setInsertPoint(out);
  x.b.ret(x.b.load(x.t.ptr(), q));
  EXPECT_FALSE(promoteMemoryToRegisters(*f).changed());
  EXPECT_EQ(x.count(*f, Opcode::Alloca), 1u);
}

TEST(Mem2Reg, SameSpellingBindingsStayDistinct) {
  Fixture x;
  BindingId user = x.m.addBinding("v", 1, 0);
  BindingId gensym = x.m.addBinding("v", 3, 1);
  Function *f = x.fn("f", {x.t.i1(), x.t.i64()}, x.t.i64());
  Block *t = f->createBlock("t"), *j = f->createBlock("j");
  Instruction *a = x.b.alloc(x.t.i64(), user, "v");
  Instruction *g = x.b.alloc(x.t.i64(), gensym, "v");
  x.b.store(f->arg(1), a);
  x.b.store(x.b.i64(7), g);
  x.b.condBr(f->arg(0), t, j);
  x.b.setInsertPoint(t);
  x.b.store(x.b.i64(1), a);
  x.b.store(x.b.i64(2), g);
  x.b.br(j);
  x.b.setInsertPoint(j);
  x.b.ret(x.b.sub(x.b.load(x.t.i64(), a), x.b.load(x.t.i64(), g)));
  promoteMemoryToRegisters(*f);
  ASSERT_TRUE(x.valid(*f));
  ASSERT_EQ(j->numArgs(), 2u);
  EXPECT_EQ(j->arg(0)->binding(), user);
  EXPECT_EQ(j->arg(1)->binding(), gensym);
  EXPECT_NE(j->arg(0)->binding(), j->arg(1)->binding());
  unsigned dbgUser = 0, dbgGensym = 0;
  for (Block &bb : f->blocks())
    for (Instruction &i : bb.insts())
      if (i.opcode() == Opcode::DbgValue) {
        dbgUser += i.dbgBinding() == user;
        dbgGensym += i.dbgBinding() == gensym;
      }
  EXPECT_EQ(dbgUser, 2u);
  EXPECT_EQ(dbgGensym, 2u);
  EXPECT_EQ(x.run(f, {1, 10}).value, -1);
  EXPECT_EQ(x.run(f, {0, 10}).value, 3);
}

TEST(Mem2Reg, PassPreservesCFGUnlessItSplits) {
  Fixture x;
  Function *f = x.fn("f", {}, x.t.i64());
  Instruction *a = x.b.alloc(x.t.i64());
  x.b.store(x.b.i64(3), a);
  x.b.ret(x.b.load(x.t.i64(), a));
  Mem2RegPass pass;
  AnalysisManager am;
  PreservedAnalyses pa = pass.run(*f, am);
  EXPECT_FALSE(pa.areAllPreserved());
  EXPECT_TRUE(pa.isPreserved<CFGAnalyses>());
  EXPECT_TRUE(pass.run(*f, am).areAllPreserved());
}

/// A random frontend-style function @f(i64, i64) -> i64: every variable is an
/// alloca (some i64, one struct accessed through struct.addr, one alloca
/// inside a loop block, one escaping through a call), blocks form an
/// arbitrary graph with loops, a `fuel` variable bounds the run, and prints and
/// divisions (some possibly by zero) make the behaviour observable.
Function *randomFunction(Fixture &x, Function *print, Function *sink,
                         std::mt19937 &rng) {
  Builder &b = x.b;
  const Type *i64 = x.t.i64();
  const Type *pair = x.t.literalStruct({i64, i64});
  Function *f = x.fn("f", {i64, i64}, i64);
  auto rnd = [&](unsigned n) {
    return std::uniform_int_distribution<unsigned>(0, n - 1)(rng);
  };
  const unsigned nBlocks = 3 + rnd(6), nVars = 2 + rnd(4);
  std::vector<Block *> blocks;
  for (unsigned k = 0; k < nBlocks; ++k)
    blocks.push_back(f->createBlock("b"));
  Block *exit = f->createBlock("exit");

  std::vector<Value *> slots; // i64-typed pointers: allocas and fields
  for (unsigned k = 0; k < nVars; ++k)
    slots.push_back(b.alloc(i64, 0, "v"));
  Instruction *st = b.alloc(pair, 0, "st");
  slots.push_back(b.fieldAddr(pair, st, 0));
  slots.push_back(b.fieldAddr(pair, st, 1));
  Instruction *escaped = b.alloc(i64, 0, "esc");
  slots.push_back(escaped);
  Instruction *fuel = b.alloc(i64, 0, "fuel");
  b.store(b.i64(20), fuel);
  b.store(f->arg(0), slots[0]);
  b.call(sink, {escaped});
  if (rnd(2))
    b.store(f->arg(1), slots[1]);
  b.br(blocks[0]);

  for (unsigned k = 0; k < nBlocks; ++k) {
    Block *blk = blocks[k];
    b.setInsertPoint(blk);
    Instruction *fl = b.sub(b.load(i64, fuel), b.i64(1));
    b.store(fl, fuel);
    Block *body = f->createBlock("body");
    b.condBr(b.icmp(ICmpPred::SLE, fl, b.i64(0)), exit, body);
    b.setInsertPoint(body);
    std::vector<Value *> pool = {fl, b.i64(3), b.i64(-5)};
    std::vector<Value *> local = slots;
    if (rnd(3) == 0)
      local.push_back(b.alloc(i64, 0, "loc")); // zeroed each time it runs
    unsigned nOps = 3 + rnd(8);
    for (unsigned o = 0; o < nOps; ++o) {
      switch (rnd(8)) {
      case 0:
      case 1:
        pool.push_back(b.load(i64, local[rnd(local.size())]));
        break;
      case 2:
      case 3:
        b.store(pool[rnd(pool.size())], local[rnd(local.size())]);
        break;
      case 4:
        b.call(print, {pool[rnd(pool.size())]});
        break;
      case 5:
        if (rnd(4) == 0)
          b.call(sink, {escaped});
        else
          pool.push_back(b.add(pool[rnd(pool.size())], pool[rnd(pool.size())]));
        break;
      case 6: {
        Value *d = rnd(3) ? static_cast<Value *>(b.i64(1 + rnd(5)))
                          : pool[rnd(pool.size())];
        pool.push_back(b.sdiv(pool[rnd(pool.size())], d));
        break;
      }
      default:
        pool.push_back(b.mul(pool[rnd(pool.size())], b.i64(rnd(7))));
      }
    }
    Block *t1 = blocks[rnd(nBlocks)], *t2 = blocks[rnd(nBlocks)];
    if (rnd(3) == 0)
      b.br(t1);
    else
      b.condBr(b.icmp(ICmpPred::SLT, pool[rnd(pool.size())], b.i64(rnd(10))),
               t1, t2);
  }
  b.setInsertPoint(exit);
  Value *r = b.load(i64, slots[rnd(slots.size())]);
  r = b.add(r, b.load(i64, slots[rnd(slots.size())]));
  b.ret(r);
  return f;
}

std::string runAll(const Module &m, const Function &f) {
  std::string text, errText;
  llvm::raw_string_ostream out(text), err(errText);
  Interpreter interp(m, out, err);
  for (auto [a, c] : {std::pair<int64_t, int64_t>{0, 0}, {5, -3}, {-100, 7},
                      {INT64_MIN, -1}, {42, 1}}) {
    InterpResult r = interp.run(f, {a, c});
    out << "| kind " << int(r.kind) << " value " << r.value << " " << r.message
        << '\n';
  }
  return text;
}

TEST(Mem2Reg, RandomFunctionsBehaveTheSame) {
  std::mt19937 rng(4242);
  unsigned promoted = 0, args = 0;
  for (unsigned seed = 0; seed < 400; ++seed) {
    Fixture x;
    Function *print =
        x.m.createFunction("qz_println_i64", x.t.function({x.t.i64()}, x.t.voidTy()));
    Function *sink = x.m.createFunction("sink", x.t.function({x.t.ptr()}, x.t.voidTy()));
    {
      Builder sb(x.m);
      Block *e = sink->createBlock("entry");
      sb.setInsertPoint(e);
      Instruction *l = sb.load(x.t.i64(), sink->arg(0));
      sb.store(sb.add(l, sb.i64(7)), sink->arg(0));
      sb.ret();
    }
    Function *f = randomFunction(x, print, sink, rng);
    ASSERT_TRUE(x.valid(*f)) << seed;
    std::string before = runAll(x.m, *f);
    Mem2RegStats s = promoteMemoryToRegisters(*f);
    promoted += s.promoted;
    args += s.blockArgs;
    ASSERT_TRUE(x.valid(*f)) << seed;
    EXPECT_EQ(runAll(x.m, *f), before) << "seed " << seed;
    EXPECT_FALSE(promoteMemoryToRegisters(*f).changed()) << "seed " << seed;
    // Only the escaping alloca is left.
    EXPECT_EQ(x.count(*f, Opcode::Alloca), 1u) << seed;
  }
  EXPECT_GT(promoted, 1000u);
  EXPECT_GT(args, 400u);
}

} // namespace
