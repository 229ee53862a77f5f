// Unit tests for the MIR interpreter, the reference semantics: wrapping
// arithmetic at every width, division panics, block-argument parallel moves,
// recursion and its depth limit, checked memory (structs via struct.addr,
// dangling and ill-typed pointers), enums and nested match, undef, runtime
// prints, panics with and without locations, and the instruction limit.
#include "mir/Builder.h"
#include "mir/Interpreter.h"

#include "llvm/Support/raw_ostream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

using namespace qmir;
using ::testing::HasSubstr;

namespace {

struct InterpTest : ::testing::Test {
  Module m;
  Builder b{m};
  TypeContext &t = m.types();
  std::string outText, errText;
  llvm::raw_string_ostream out{outText}, err{errText};

  Function *fn(llvm::StringRef name, llvm::ArrayRef<const Type *> params,
               const Type *ret) {
    return m.createFunction(name, t.function(params, ret));
  }
  Block *entry(Function *f) {
    Block *e = f->createBlock("entry");
    b.setInsertPoint(e);
    return e;
  }
  InterpResult run(Function *f, llvm::ArrayRef<int64_t> args = {},
                   InterpOptions opts = {}) {
    Interpreter interp(m, out, err, opts);
    return interp.run(*f, args);
  }
  int64_t value(Function *f, llvm::ArrayRef<int64_t> args = {}) {
    InterpResult r = run(f, args);
    EXPECT_EQ(r.kind, InterpResult::Returned) << r.message;
    return r.value;
  }

  /// Builds `fn(a: iN, b: iN) -> iN { ret OP a, b }` and runs it.
  InterpResult binop(Opcode op, unsigned bits, int64_t x, int64_t y) {
    const Type *ty = t.intTy(bits);
    static int counter = 0;
    Function *f = fn("bin" + std::to_string(counter++), {ty, ty}, ty);
    entry(f);
    b.ret(b.binary(op, f->arg(0), f->arg(1)));
    return run(f, {x, y});
  }
  int64_t bin(Opcode op, unsigned bits, int64_t x, int64_t y) {
    InterpResult r = binop(op, bits, x, y);
    EXPECT_EQ(r.kind, InterpResult::Returned) << r.message;
    return r.value;
  }
  int64_t cmp(ICmpPred p, unsigned bits, int64_t x, int64_t y) {
    const Type *ty = t.intTy(bits);
    static int counter = 0;
    Function *f = fn("cmp" + std::to_string(counter++), {ty, ty}, t.i1());
    entry(f);
    b.ret(b.icmp(p, f->arg(0), f->arg(1)));
    return value(f, {x, y});
  }
  int64_t castOp(Opcode op, unsigned from, unsigned to, int64_t x) {
    static int counter = 0;
    Function *f = fn("cast" + std::to_string(counter++), {t.intTy(from)}, t.intTy(to));
    entry(f);
    b.ret(b.cast(op, f->arg(0), t.intTy(to)));
    return value(f, {x});
  }
};

TEST_F(InterpTest, WrappingArithmeticAtEveryWidth) {
  EXPECT_EQ(bin(Opcode::Add, 8, 127, 1), -128);
  EXPECT_EQ(bin(Opcode::Add, 32, INT32_MAX, 1), INT32_MIN);
  EXPECT_EQ(bin(Opcode::Add, 64, INT64_MAX, 1), INT64_MIN);
  EXPECT_EQ(bin(Opcode::Add, 1, 1, 1), 0);
  EXPECT_EQ(bin(Opcode::Sub, 1, 0, 1), 1);
  EXPECT_EQ(bin(Opcode::Sub, 8, -128, 1), 127);
  EXPECT_EQ(bin(Opcode::Mul, 8, 16, 16), 0);
  EXPECT_EQ(bin(Opcode::Mul, 8, 15, 15), -31); // 225 wraps
  EXPECT_EQ(bin(Opcode::Mul, 32, 65536, 65536), 0);
  EXPECT_EQ(bin(Opcode::Mul, 64, INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(bin(Opcode::And, 8, -1, 0x0f), 0x0f);
  EXPECT_EQ(bin(Opcode::Or, 1, 0, 1), 1);
  EXPECT_EQ(bin(Opcode::Xor, 1, 1, 1), 0);
  EXPECT_EQ(bin(Opcode::Xor, 32, -1, 1), -2);
  // Arguments are normalised to the parameter width: i8 255 is -1.
  EXPECT_EQ(bin(Opcode::Add, 8, 255, 0), -1);
}

TEST_F(InterpTest, DivisionIsTruncatingAndMinByMinusOneWraps) {
  EXPECT_EQ(bin(Opcode::SDiv, 64, -7, 2), -3);
  EXPECT_EQ(bin(Opcode::SRem, 64, -7, 2), -1);
  EXPECT_EQ(bin(Opcode::SRem, 64, 7, -2), 1);
  EXPECT_EQ(bin(Opcode::SDiv, 64, INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(bin(Opcode::SRem, 64, INT64_MIN, -1), 0);
  EXPECT_EQ(bin(Opcode::SDiv, 32, INT32_MIN, -1), INT32_MIN);
  EXPECT_EQ(bin(Opcode::SRem, 32, INT32_MIN, -1), 0);
  EXPECT_EQ(bin(Opcode::SDiv, 8, -128, -1), -128);
  EXPECT_EQ(bin(Opcode::SRem, 8, -128, -1), 0);
  EXPECT_EQ(bin(Opcode::SDiv, 8, -128, 2), -64);
  // i1 is signed -1 when true: -1 / -1 = 1 (true), remainder 0.
  EXPECT_EQ(bin(Opcode::SDiv, 1, 1, 1), 1);
  EXPECT_EQ(bin(Opcode::SRem, 1, 1, 1), 0);
  EXPECT_EQ(bin(Opcode::UDiv, 8, -1, 2), 127); // 255 / 2
  EXPECT_EQ(bin(Opcode::URem, 8, -1, 10), 5);
  EXPECT_EQ(bin(Opcode::UDiv, 32, -1, 1), -1);
  EXPECT_EQ(bin(Opcode::UDiv, 64, -1, 2), INT64_MAX);
  EXPECT_EQ(bin(Opcode::URem, 64, -1, 10), 5); // 18446744073709551615 % 10
}

TEST_F(InterpTest, DivisionByZeroPanics) {
  for (Opcode op : {Opcode::SDiv, Opcode::SRem, Opcode::UDiv, Opcode::URem})
    for (unsigned bits : {1u, 8u, 32u, 64u}) {
      InterpResult r = binop(op, bits, 5, 0);
      EXPECT_EQ(r.kind, InterpResult::Panicked);
      EXPECT_EQ(r.message, "division by zero");
      ASSERT_NE(r.inst, nullptr);
      EXPECT_EQ(r.inst->opcode(), op);
    }
  // An i8 divisor of 256 is 0 after normalisation.
  EXPECT_EQ(binop(Opcode::SDiv, 8, 5, 256).kind, InterpResult::Panicked);
}

TEST_F(InterpTest, ShiftsTakeTheAmountModuloTheWidth) {
  EXPECT_EQ(bin(Opcode::Shl, 8, 1, 7), -128);
  EXPECT_EQ(bin(Opcode::Shl, 8, 1, 8), 1);
  EXPECT_EQ(bin(Opcode::Shl, 8, 1, -1), -128); // 255 % 8 = 7
  EXPECT_EQ(bin(Opcode::Shl, 64, 1, 65), 2);
  EXPECT_EQ(bin(Opcode::Shl, 32, 3, 31), INT32_MIN);
  EXPECT_EQ(bin(Opcode::LShr, 8, -128, 7), 1);
  EXPECT_EQ(bin(Opcode::AShr, 8, -128, 7), -1);
  EXPECT_EQ(bin(Opcode::LShr, 32, -1, 28), 15);
  EXPECT_EQ(bin(Opcode::LShr, 32, -1, 32), -1);
  EXPECT_EQ(bin(Opcode::AShr, 64, INT64_MIN, 63), -1);
  EXPECT_EQ(bin(Opcode::LShr, 64, INT64_MIN, 63), 1);
  EXPECT_EQ(bin(Opcode::Shl, 1, 1, 1), 1); // amount 1 % 1 = 0
}

TEST_F(InterpTest, ComparisonsAreSignedOrUnsignedAtTheWidth) {
  EXPECT_EQ(cmp(ICmpPred::SLT, 8, -1, 0), 1);
  EXPECT_EQ(cmp(ICmpPred::ULT, 8, -1, 0), 0);
  EXPECT_EQ(cmp(ICmpPred::UGT, 32, -1, 1), 1);
  EXPECT_EQ(cmp(ICmpPred::SGT, 32, -1, 1), 0);
  EXPECT_EQ(cmp(ICmpPred::ULE, 64, 5, 5), 1);
  EXPECT_EQ(cmp(ICmpPred::UGE, 64, INT64_MIN, INT64_MAX), 1);
  EXPECT_EQ(cmp(ICmpPred::SGE, 64, INT64_MIN, INT64_MAX), 0);
  EXPECT_EQ(cmp(ICmpPred::SLE, 8, -128, 127), 1);
  EXPECT_EQ(cmp(ICmpPred::EQ, 8, 255, -1), 1); // same i8 value
  EXPECT_EQ(cmp(ICmpPred::NE, 32, 1, 2), 1);
  // i1 true is -1 signed and 1 unsigned.
  EXPECT_EQ(cmp(ICmpPred::SLT, 1, 1, 0), 1);
  EXPECT_EQ(cmp(ICmpPred::ULT, 1, 0, 1), 1);
}

TEST_F(InterpTest, Casts) {
  EXPECT_EQ(castOp(Opcode::ZExt, 8, 64, -1), 255);
  EXPECT_EQ(castOp(Opcode::SExt, 8, 64, -1), -1);
  EXPECT_EQ(castOp(Opcode::ZExt, 32, 64, INT32_MIN), int64_t(1) << 31);
  EXPECT_EQ(castOp(Opcode::Trunc, 64, 8, 0x1ff), -1);
  EXPECT_EQ(castOp(Opcode::Trunc, 64, 32, 0x80000000), INT32_MIN);
  EXPECT_EQ(castOp(Opcode::Trunc, 64, 1, 2), 0);
  EXPECT_EQ(castOp(Opcode::Trunc, 64, 1, 3), 1);
  EXPECT_EQ(castOp(Opcode::ZExt, 1, 32, 1), 1);
  EXPECT_EQ(castOp(Opcode::SExt, 1, 8, 1), -1);
}

TEST_F(InterpTest, SelectAndUndef) {
  Function *f = fn("f", {t.i1()}, t.i64());
  entry(f);
  Value *u = m.undef(t.i64());
  Instruction *s = b.select(f->arg(0), b.i64(7), b.add(u, b.i64(5)));
  b.ret(s);
  EXPECT_EQ(value(f, {1}), 7);
  EXPECT_EQ(value(f, {0}), 5);

  // An undef struct reads as all zeroes.
  const Type *st = t.literalStruct({t.i64(), t.i32()});
  Function *g = fn("g", {}, t.i32());
  entry(g);
  b.ret(b.structExtract(m.undef(st), 1));
  EXPECT_EQ(value(g), 0);
}

TEST_F(InterpTest, LoopWithBlockArguments) {
  // sum of 0..n-1 in block arguments
  Function *f = fn("sum", {t.i64()}, t.i64());
  entry(f);
  Block *loop = f->createBlock("loop");
  BlockArg *i = loop->addArg(t.i64(), "i");
  BlockArg *acc = loop->addArg(t.i64(), "acc");
  Block *body = f->createBlock("body");
  Block *done = f->createBlock("done");
  b.br(loop, {b.i64(0), b.i64(0)});
  b.setInsertPoint(loop);
  b.condBr(b.icmp(ICmpPred::SLT, i, f->arg(0)), body, done);
  b.setInsertPoint(body);
  Instruction *acc2 = b.add(acc, i);
  b.br(loop, {b.add(i, b.i64(1)), acc2});
  b.setInsertPoint(done);
  b.ret(acc);
  EXPECT_EQ(value(f, {100}), 4950);
  EXPECT_EQ(value(f, {0}), 0);
}

TEST_F(InterpTest, EdgeArgumentsAreAParallelAssignment) {
  // loop(%k, %a, %b, %x, %y, %z): swap a/b, rotate x/y/z, and fan %a out.
  // Returns a*100000 + b*10000 + x*1000 + y*100 + z*10 + w.
  Function *f = fn("swap", {t.i64()}, t.i64());
  entry(f);
  Block *loop = f->createBlock("loop");
  BlockArg *k = loop->addArg(t.i64(), "k");
  BlockArg *a = loop->addArg(t.i64(), "a");
  BlockArg *bb = loop->addArg(t.i64(), "b");
  BlockArg *x = loop->addArg(t.i64(), "x");
  BlockArg *y = loop->addArg(t.i64(), "y");
  BlockArg *z = loop->addArg(t.i64(), "z");
  BlockArg *w = loop->addArg(t.i64(), "w");
  Block *body = f->createBlock("body");
  Block *done = f->createBlock("done");
  b.br(loop, {b.i64(0), b.i64(1), b.i64(2), b.i64(3), b.i64(4), b.i64(5), b.i64(0)});
  b.setInsertPoint(loop);
  b.condBr(b.icmp(ICmpPred::SLT, k, f->arg(0)), body, done);
  b.setInsertPoint(body);
  Instruction *k1 = b.add(k, b.i64(1));
  // w receives the *old* a: a parallel assignment reads before writing.
  b.br(loop, {k1, bb, a, y, z, x, a});
  b.setInsertPoint(done);
  Value *r = b.add(b.mul(a, b.i64(100000)), b.mul(bb, b.i64(10000)));
  r = b.add(r, b.mul(x, b.i64(1000)));
  r = b.add(r, b.mul(y, b.i64(100)));
  r = b.add(r, b.mul(z, b.i64(10)));
  r = b.add(r, w);
  b.ret(r);
  EXPECT_EQ(value(f, {0}), 123450);
  EXPECT_EQ(value(f, {1}), 214531);
  EXPECT_EQ(value(f, {2}), 125342);
  EXPECT_EQ(value(f, {3}), 213451);
}

namespace {
Function *buildFib(Module &m, Builder &b) {
  TypeContext &t = m.types();
  Function *f = m.createFunction("fib", t.function({t.i64()}, t.i64()));
  Block *e = f->createBlock("entry");
  Block *rec = f->createBlock("rec");
  Block *base = f->createBlock("base");
  b.setInsertPoint(e);
  b.condBr(b.icmp(ICmpPred::SLT, f->arg(0), b.i64(2)), base, rec);
  b.setInsertPoint(base);
  b.ret(f->arg(0));
  b.setInsertPoint(rec);
  Instruction *x = b.call(f, {b.sub(f->arg(0), b.i64(1))});
  Instruction *y = b.call(f, {b.sub(f->arg(0), b.i64(2))});
  b.ret(b.add(x, y));
  return f;
}

/// depth(n) = n == 0 ? 0 : depth(n - 1) + 1, one frame per level.
Function *buildDepth(Module &m, Builder &b) {
  TypeContext &t = m.types();
  Function *f = m.createFunction("depth", t.function({t.i64()}, t.i64()));
  Block *e = f->createBlock("entry");
  Block *rec = f->createBlock("rec");
  Block *base = f->createBlock("base");
  b.setInsertPoint(e);
  b.condBr(b.icmp(ICmpPred::EQ, f->arg(0), b.i64(0)), base, rec);
  b.setInsertPoint(base);
  b.ret(b.i64(0));
  b.setInsertPoint(rec);
  Instruction *x = b.call(f, {b.sub(f->arg(0), b.i64(1))});
  b.ret(b.add(x, b.i64(1)));
  return f;
}
} // namespace

TEST_F(InterpTest, Recursion) {
  Function *f = buildFib(m, b);
  EXPECT_EQ(value(f, {0}), 0);
  EXPECT_EQ(value(f, {1}), 1);
  EXPECT_EQ(value(f, {20}), 6765);
}

TEST_F(InterpTest, DeepRecursionHitsTheLimitWithoutOverflowingTheHost) {
  Function *f = buildDepth(m, b);
  EXPECT_EQ(value(f, {9999}), 9999); // 10000 frames: exactly the default
  InterpResult r = run(f, {10000});
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_EQ(r.message, "call depth limit exceeded");
  ASSERT_NE(r.inst, nullptr);
  EXPECT_EQ(r.inst->opcode(), Opcode::Call);
  r = run(f, {100000000});
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  // Far deeper than a host stack would allow for recursive evaluation.
  InterpOptions deep;
  deep.maxCallDepth = 300001;
  r = run(f, {300000}, deep);
  EXPECT_EQ(r.kind, InterpResult::Returned) << r.message;
  EXPECT_EQ(r.value, 300000);
  // Without a depth limit, the interpreter's own memory bound still traps.
  deep.maxCallDepth = UINT32_MAX;
  r = run(f, {100000000}, deep);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_EQ(r.message, "call stack memory limit exceeded");
}

TEST_F(InterpTest, StructsInMemoryThroughFieldAddresses) {
  const Type *inner = t.literalStruct({t.i32(), t.i64()});
  const Type *outer = t.createNamedStruct("Outer");
  t.setStructBody(outer, {t.i64(), inner, t.i8()});
  Function *f = fn("f", {}, t.i64());
  entry(f);
  Instruction *p = b.alloc(outer);
  Instruction *pin = b.fieldAddr(outer, p, 1);
  Instruction *pin1 = b.fieldAddr(inner, pin, 1);
  b.store(b.i64(42), pin1);
  b.store(b.i32(-3), b.fieldAddr(inner, pin, 0));
  b.store(b.intConst(t.i8(), 9), b.fieldAddr(outer, p, 2));
  // Load the whole struct and take it apart.
  Instruction *whole = b.load(outer, p);
  Instruction *in = b.structExtract(whole, 1);
  Value *sum = b.add(b.structExtract(in, 1),
                     b.cast(Opcode::SExt, b.structExtract(in, 0), t.i64()));
  sum = b.add(sum, b.cast(Opcode::SExt, b.structExtract(whole, 2), t.i64()));
  sum = b.add(sum, b.structExtract(whole, 0)); // zero-initialised
  // Store a modified copy back and read one field through its address;
  // the first field shares the struct's address.
  Instruction *mod = b.structInsert(whole, 0, b.i64(1000));
  b.store(mod, p);
  sum = b.add(sum, b.load(t.i64(), p));
  sum = b.add(sum, b.load(t.i64(), pin1));
  b.ret(sum); // 42 - 3 + 9 + 0 + 1000 + 42
  EXPECT_EQ(value(f), 1090);
}

TEST_F(InterpTest, StructValuesAreCopies) {
  const Type *st = t.literalStruct({t.i64(), t.i64()});
  Function *f = fn("f", {}, t.i64());
  entry(f);
  Instruction *s = b.structMake(st, {b.i64(1), b.i64(2)});
  Instruction *s2 = b.structInsert(s, 0, b.i64(10));
  b.ret(b.add(b.structExtract(s, 0), b.structExtract(s2, 0)));
  EXPECT_EQ(value(f), 11);
}

TEST_F(InterpTest, AllocaIsZeroedOnEveryCall) {
  Function *g = fn("g", {t.i64()}, t.i64());
  entry(g);
  Instruction *p = b.alloc(t.i64());
  Instruction *old = b.load(t.i64(), p);
  b.store(g->arg(0), p);
  b.ret(old);
  Function *f = fn("f", {}, t.i64());
  entry(f);
  b.call(g, {b.i64(5)});
  b.ret(b.call(g, {b.i64(6)}));
  EXPECT_EQ(value(f), 0);
}

TEST_F(InterpTest, AllocaInALoopGetsAFreshZeroedObjectEachTime) {
  // loop(%i, %acc, %old): %p = alloca i64; acc += load %p; store i, %p.
  // Every load sees 0, and memory stays bounded over millions of runs of
  // the alloca (the interpreter's cell limit is far smaller).
  Function *f = fn("f", {t.i64()}, t.i64());
  entry(f);
  Block *loop = f->createBlock("loop");
  BlockArg *i = loop->addArg(t.i64());
  BlockArg *acc = loop->addArg(t.i64());
  Block *done = f->createBlock("done");
  b.br(loop, {b.i64(0), b.i64(0)});
  b.setInsertPoint(loop);
  Instruction *p = b.alloc(t.i64());
  Instruction *acc2 = b.add(acc, b.load(t.i64(), p));
  b.store(i, p);
  Instruction *i2 = b.add(i, b.i64(1));
  b.condBr(b.icmp(ICmpPred::SLT, i2, f->arg(0)), loop, {i2, acc2}, done, {});
  b.setInsertPoint(done);
  b.ret(b.add(acc2, b.load(t.i64(), p)));
  EXPECT_EQ(value(f, {9000000}), 8999999);

  // A pointer from the previous run of the alloca is dangling.
  Function *g = fn("g", {}, t.i64());
  entry(g);
  Block *again = g->createBlock("again");
  BlockArg *first = again->addArg(t.i1());
  BlockArg *old = again->addArg(t.ptr());
  Block *use = g->createBlock("use");
  b.br(again, {b.boolean(true), m.undef(t.ptr())});
  b.setInsertPoint(again);
  Instruction *q = b.alloc(t.i64());
  b.condBr(first, again, {b.boolean(false), q}, use, {});
  b.setInsertPoint(use);
  b.ret(b.load(t.i64(), old));
  InterpResult r = run(g);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("dangling pointer"));
}

TEST_F(InterpTest, BadPointersTrap) {
  // A pointer to a returned frame's alloca.
  Function *leak = fn("leak", {}, t.ptr());
  entry(leak);
  b.ret(b.alloc(t.i64()));
  Function *f = fn("f", {}, t.i64());
  entry(f);
  b.ret(b.load(t.i64(), b.call(leak, {})));
  InterpResult r = run(f);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("dangling pointer"));

  // Null (undef) pointers.
  Function *g = fn("g", {}, t.voidTy());
  entry(g);
  b.store(b.i64(1), m.undef(t.ptr()));
  b.ret();
  r = run(g);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_EQ(r.message, "store through a null pointer");

  // The wrong type at the address.
  Function *h = fn("h", {}, t.i32());
  entry(h);
  b.ret(b.load(t.i32(), b.alloc(t.i64())));
  r = run(h);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("load of i32 through a pointer that does not point at one"));

  // A string constant is not loadable memory.
  Function *s = fn("s", {}, t.i8());
  entry(s);
  b.ret(b.load(t.i8(), b.str("abc")));
  r = run(s);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("string constant"));
}

namespace {
struct EnumTypes {
  const Type *inner, *outer, *opt;
};
EnumTypes makeEnums(TypeContext &t) {
  EnumTypes e;
  // type Inner = enum { A(i64), B(i64, i64) }
  // type Outer = enum { X(Inner, i64), Y }
  // type Opt = enum { None, Some(i64) }
  e.inner = t.createNamedEnum("Inner");
  const Type *a[] = {t.i64()};
  const Type *bb[] = {t.i64(), t.i64()};
  t.setEnumBody(e.inner, {EnumVariant{"A", a}, EnumVariant{"B", bb}});
  e.outer = t.createNamedEnum("Outer");
  const Type *x[] = {e.inner, t.i64()};
  t.setEnumBody(e.outer, {EnumVariant{"X", x}, EnumVariant{"Y", {}}});
  e.opt = t.createNamedEnum("Opt");
  t.setEnumBody(e.opt, {EnumVariant{"None", {}}, EnumVariant{"Some", a}});
  return e;
}
} // namespace

TEST_F(InterpTest, NestedMatchWithBindings) {
  EnumTypes e = makeEnums(t);
  // classify(sel, p, q) builds an Outer from its arguments and matches:
  //   X(B(%p, %q), %r) -> b3(p, q, r) = p*100 + q*10 + r
  //   X(A(5), _)       -> five        = 555
  //   X(_, %z)         -> any(z)      = z + 1000
  //   default          -> dflt(7)     = 7 (Y)
  Function *f = fn("classify", {t.i64(), t.i64(), t.i64()}, t.i64());
  entry(f);
  Block *mk = b.insertBlock();
  Block *b3 = f->createBlock("b3");
  BlockArg *bp = b3->addArg(t.i64()), *bq = b3->addArg(t.i64()),
           *br = b3->addArg(t.i64());
  Block *five = f->createBlock("five");
  Block *any = f->createBlock("any");
  BlockArg *az = any->addArg(t.i64());
  Block *dflt = f->createBlock("dflt");
  BlockArg *dv = dflt->addArg(t.i64());
  Block *mkA = f->createBlock("mkA"), *mkB = f->createBlock("mkB"),
        *mkY = f->createBlock("mkY"), *go = f->createBlock("go");
  BlockArg *val = go->addArg(e.outer);
  b.setInsertPoint(mk);
  b.switchOn(f->arg(0), mkY, {},
             {Builder::SwitchCase{0, mkA, {}}, Builder::SwitchCase{1, mkB, {}}});
  b.setInsertPoint(mkA);
  b.br(go, {b.enumMake(e.outer, 0, {b.enumMake(e.inner, 0, {f->arg(1)}), f->arg(2)})});
  b.setInsertPoint(mkB);
  b.br(go, {b.enumMake(e.outer, 0,
                       {b.enumMake(e.inner, 1, {f->arg(1), f->arg(2)}), b.i64(9)})});
  b.setInsertPoint(mkY);
  b.br(go, {b.enumMake(e.outer, 1, {})});
  b.setInsertPoint(go);
  const Pattern *pB = m.makeVariantPattern(
      0, {m.makeVariantPattern(1, {m.makeBind("p"), m.makeBind("q")}), m.makeBind("r")});
  const Pattern *pA5 = m.makeVariantPattern(
      0, {m.makeVariantPattern(0, {m.makeIntPattern(5)}), m.makeWildcard()});
  const Pattern *pAny = m.makeVariantPattern(0, {m.makeWildcard(), m.makeBind("z")});
  b.match(val, {{pB, b3}, {pA5, five}, {pAny, any}}, dflt, {b.i64(7)});
  b.setInsertPoint(b3);
  b.ret(b.add(b.add(b.mul(bp, b.i64(100)), b.mul(bq, b.i64(10))), br));
  b.setInsertPoint(five);
  b.ret(b.i64(555));
  b.setInsertPoint(any);
  b.ret(b.add(az, b.i64(1000)));
  b.setInsertPoint(dflt);
  b.ret(dv);

  EXPECT_EQ(value(f, {1, 3, 4}), 349);
  EXPECT_EQ(value(f, {0, 5, 2}), 555);
  EXPECT_EQ(value(f, {0, 6, 2}), 1002);
  EXPECT_EQ(value(f, {2, 0, 0}), 7);
}

TEST_F(InterpTest, IntegerMatchAndMissingArmTraps) {
  Function *f = fn("f", {t.i8()}, t.i64());
  entry(f);
  Block *zero = f->createBlock("zero");
  Block *neg = f->createBlock("neg");
  Block *bound = f->createBlock("bound");
  BlockArg *x = bound->addArg(t.i8());
  Block *dflt = f->createBlock("dflt");
  b.match(f->arg(0), {{m.makeIntPattern(0), zero}, {m.makeIntPattern(255), neg}}, dflt);
  b.setInsertPoint(zero);
  b.ret(b.i64(100));
  b.setInsertPoint(neg);
  b.ret(b.i64(200));
  b.setInsertPoint(dflt);
  b.match(f->arg(0), {{m.makeIntPattern(7), zero}, {m.makeBind("x"), bound}}, nullptr);
  b.setInsertPoint(bound);
  b.ret(b.cast(Opcode::SExt, x, t.i64()));
  EXPECT_EQ(value(f, {0}), 100);
  EXPECT_EQ(value(f, {-1}), 200); // the i8 literal 255 is -1
  EXPECT_EQ(value(f, {7}), 100);
  EXPECT_EQ(value(f, {-5}), -5);

  EnumTypes e = makeEnums(t);
  Function *g = fn("g", {}, t.i64());
  entry(g);
  Block *some = g->createBlock("some");
  some->addArg(t.i64());
  b.match(b.enumMake(e.opt, 0, {}), {{m.makeVariantPattern(1, {m.makeBind("v")}), some}},
          nullptr);
  b.setInsertPoint(some);
  b.ret(some->arg(0));
  InterpResult r = run(g);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("no arm matches"));
}

TEST_F(InterpTest, EnumTagPayloadAndMemory) {
  EnumTypes e = makeEnums(t);
  Function *f = fn("f", {}, t.i64());
  entry(f);
  Instruction *p = b.alloc(e.opt);
  // Zero-initialised memory holds variant 0.
  Instruction *tag0 = b.enumTag(b.load(e.opt, p));
  b.store(b.enumMake(e.opt, 1, {b.i64(41)}), p);
  Instruction *v = b.load(e.opt, p);
  Value *r = b.add(b.enumPayload(v, 1, 0), b.cast(Opcode::SExt, b.enumTag(v), t.i64()));
  b.ret(b.add(r, b.cast(Opcode::SExt, tag0, t.i64())));
  EXPECT_EQ(value(f), 42);

  // Enums inside structs in memory.
  const Type *st = t.literalStruct({t.i64(), e.opt});
  Function *h = fn("h", {}, t.i64());
  entry(h);
  Instruction *q = b.alloc(st);
  b.store(b.enumMake(e.opt, 1, {b.i64(8)}), b.fieldAddr(st, q, 1));
  b.ret(b.enumPayload(b.structExtract(b.load(st, q), 1), 1, 0));
  EXPECT_EQ(value(h), 8);

  Function *g = fn("g", {}, t.i64());
  entry(g);
  b.ret(b.enumPayload(b.enumMake(e.opt, 0, {}), 1, 0));
  InterpResult res = run(g);
  EXPECT_EQ(res.kind, InterpResult::Trapped);
  EXPECT_EQ(res.message, "enum.payload of variant Some on a value holding None");
}

TEST_F(InterpTest, RuntimePrints) {
  const Type *v = t.voidTy();
  Function *pi = fn("qz_print_i64", {t.i64()}, v);
  Function *pli = fn("qz_println_i64", {t.i64()}, v);
  Function *pb = fn("qz_print_bool", {t.i1()}, v);
  Function *plb = fn("qz_println_bool", {t.i1()}, v);
  Function *ps = fn("qz_print_str", {t.ptr()}, v);
  Function *pls = fn("qz_println_str", {t.ptr()}, v);
  Function *f = fn("main", {}, v);
  entry(f);
  b.call(pi, {b.i64(-5)});
  b.call(ps, {b.str(" ")});
  b.call(pli, {b.i64(INT64_MIN)});
  b.call(pb, {b.boolean(true)});
  b.call(plb, {b.boolean(false)});
  b.call(pls, {b.str("hi\tthere")});
  b.ret();
  EXPECT_EQ(runMain(m, out, err), 0);
  EXPECT_EQ(outText, "-5 -9223372036854775808\ntruefalse\nhi\tthere\n");
  EXPECT_EQ(errText, "");
}

TEST_F(InterpTest, UnknownRuntimeFunctionTraps) {
  Function *sleep = fn("qz_usleep", {t.i64()}, t.voidTy());
  Function *f = fn("main", {}, t.i64());
  entry(f);
  b.call(sleep, {b.i64(1)});
  b.ret(b.i64(0));
  EXPECT_EQ(runMain(m, out, err), 70);
  EXPECT_THAT(errText, HasSubstr("error: interpreter: call to runtime function "
                                 "@qz_usleep, which the interpreter does not implement"));
}

TEST_F(InterpTest, RuntimeFunctionMisuseTraps) {
  // qz_print_str needs a string constant, not stack memory.
  Function *ps = fn("qz_print_str", {t.ptr()}, t.voidTy());
  Function *f = fn("f", {}, t.voidTy());
  entry(f);
  b.call(ps, {b.alloc(t.i64())});
  b.ret();
  InterpResult r = run(f);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("does not point at a string constant"));

  // A known runtime function declared with another signature.
  Function *pi = fn("qz_print_i64", {t.i32()}, t.voidTy());
  Function *g = fn("g", {}, t.voidTy());
  entry(g);
  b.call(pi, {b.i32(1)});
  b.ret();
  r = run(g);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("declared as fn(i32) -> void"));
  EXPECT_EQ(outText, "");
}

TEST_F(InterpTest, PanicWithAndWithoutLocation) {
  Function *f = fn("main", {}, t.voidTy());
  entry(f);
  b.panic("boom");
  EXPECT_EQ(runMain(m, out, err), 101);
  EXPECT_EQ(errText, "panic: boom\n");

  Module m2;
  Builder b2(m2);
  m2.addSourceFile("lib.qz");
  m2.addSourceFile("main.qz");
  Function *g = m2.createFunction(
      "main", m2.types().function({}, m2.types().i64()));
  b2.setInsertPoint(g->createBlock("entry"));
  Instruction *d = b2.sdiv(b2.i64(1), m2.undef(m2.types().i64()));
  d->setLoc(m2.addLoc(SourceLoc{1, 12, 5}));
  b2.ret(d);
  errText.clear();
  EXPECT_EQ(runMain(m2, out, err), 101);
  EXPECT_EQ(errText, "panic: division by zero at main.qz:12:5\n");

  Module m3;
  Builder b3(m3);
  m3.addSourceFile("p.qz");
  Function *h = m3.createFunction("main", m3.types().function({}, m3.types().voidTy()));
  b3.setInsertPoint(h->createBlock("entry"));
  b3.setLoc(m3.addLoc(SourceLoc{0, 3, 9}));
  b3.panic("index out of bounds");
  errText.clear();
  EXPECT_EQ(runMain(m3, out, err), 101);
  EXPECT_EQ(errText, "panic: index out of bounds at p.qz:3:9\n");
}

TEST_F(InterpTest, RunMainStatuses) {
  EXPECT_EQ(runMain(m, out, err), 1);
  EXPECT_THAT(errText, HasSubstr("no @main"));
  Function *f = fn("main", {}, t.i64());
  entry(f);
  b.ret(b.i64(3));
  EXPECT_EQ(runMain(m, out, err), 3);

  Module m2;
  Builder b2(m2);
  Function *g = m2.createFunction("main", m2.types().function({}, m2.types().voidTy()));
  b2.setInsertPoint(g->createBlock("entry"));
  b2.unreachable();
  errText.clear();
  EXPECT_EQ(runMain(m2, out, err), 70);
  EXPECT_EQ(errText, "error: interpreter: unreachable executed (in @main)\n");
}

TEST_F(InterpTest, InstructionLimit) {
  Function *f = fn("spin", {}, t.voidTy());
  entry(f);
  Block *loop = f->createBlock("loop");
  b.br(loop);
  b.setInsertPoint(loop);
  b.br(loop);
  InterpOptions opts;
  opts.instructionLimit = 1000;
  Interpreter interp(m, out, err, opts);
  InterpResult r = interp.run(*f);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_EQ(r.message, "instruction limit exceeded");
  EXPECT_EQ(interp.instructionsExecuted(), 1000u);

  // Exactly at the limit is fine.
  Function *g = fn("three", {}, t.i64());
  entry(g);
  b.ret(b.add(b.add(b.i64(1), b.i64(2)), b.i64(3)));
  InterpOptions three;
  three.instructionLimit = 3;
  Interpreter i3(m, out, err, three);
  r = i3.run(*g);
  EXPECT_EQ(r.kind, InterpResult::Returned) << r.message;
  EXPECT_EQ(r.value, 6);
  EXPECT_EQ(i3.instructionsExecuted(), 3u);
  three.instructionLimit = 2;
  Interpreter i2(m, out, err, three);
  EXPECT_EQ(i2.run(*g).kind, InterpResult::Trapped);
}

TEST_F(InterpTest, MalformedIRTrapsInsteadOfCrashing) {
  // A block without a terminator, an edge with the wrong arity, and a bad
  // argument count to run().
  Function *f = fn("f", {}, t.i64());
  entry(f);
  b.add(b.i64(1), b.i64(2));
  InterpResult r = run(f);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("does not end with a terminator"));

  Function *g = fn("g", {}, t.i64());
  entry(g);
  Block *next = g->createBlock("next");
  next->addArg(t.i64());
  b.br(next, {});
  b.setInsertPoint(next);
  b.ret(next->arg(0));
  r = run(g);
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("malformed IR: br instruction passes 0 arguments"));

  r = run(g, {1, 2});
  EXPECT_EQ(r.kind, InterpResult::Trapped);
  EXPECT_THAT(r.message, HasSubstr("takes 0 arguments"));
}

TEST_F(InterpTest, Throughput) {
  // for (i = 0; i < n; ++i) acc = acc + (i ^ 3): about 4 instructions per
  // iteration. Printed for information, never asserted.
  Function *f = fn("hot", {t.i64()}, t.i64());
  entry(f);
  Block *loop = f->createBlock("loop");
  BlockArg *i = loop->addArg(t.i64());
  BlockArg *acc = loop->addArg(t.i64());
  Block *done = f->createBlock("done");
  b.br(loop, {b.i64(0), b.i64(0)});
  b.setInsertPoint(loop);
  Instruction *acc2 = b.add(acc, b.binary(Opcode::Xor, i, b.i64(3)));
  Instruction *i2 = b.add(i, b.i64(1));
  b.condBr(b.icmp(ICmpPred::SLT, i2, f->arg(0)), loop, {i2, acc2}, done, {});
  b.setInsertPoint(done);
  b.ret(acc2);
  Interpreter interp(m, out, err);
  auto start = std::chrono::steady_clock::now();
  InterpResult r = interp.run(*f, {10000000});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.kind, InterpResult::Returned) << r.message;
  int64_t expect = 0;
  for (int64_t k = 0; k < 10000000; ++k)
    expect += k ^ 3;
  EXPECT_EQ(r.value, expect);
  uint64_t n = interp.instructionsExecuted();
  std::printf("[ info     ] %llu instructions in %.3f s: %.1f M instructions/s\n",
              static_cast<unsigned long long>(n), secs, n / secs / 1e6);
}

} // namespace
