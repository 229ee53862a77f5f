// Folding.h against the interpreter, which defines what every instruction
// means: for each opcode and width, edge-case and random operands, the folded
// value must equal what a one-instruction function computes when interpreted,
// and "not foldable" must coincide exactly with the interpreter panicking
// (division by zero).
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Verifier.h"
#include "passes/Folding.h"

#include <gtest/gtest.h>

#include <random>

using namespace qmir;

namespace {

const unsigned kWidths[] = {1, 8, 32, 64};

std::vector<int64_t> operandsFor(unsigned bits, std::mt19937_64 &rng) {
  std::vector<int64_t> v = {0, 1, -1, 2, -2, 3, 7, 8, 63, 64, 65, 127, 128,
                            255, 256, -128, -129, 31, 32, 33,
                            INT32_MAX, INT32_MIN, (int64_t)UINT32_MAX,
                            INT64_MAX, INT64_MIN, INT64_MIN + 1};
  int64_t mn = bits == 64 ? INT64_MIN : -(int64_t(1) << (bits - 1));
  int64_t mx = bits == 64 ? INT64_MAX : (int64_t(1) << (bits - 1)) - 1;
  v.push_back(mn);
  v.push_back(mx);
  v.push_back(mn + 1);
  for (int k = 0; k < 14; ++k)
    v.push_back(static_cast<int64_t>(rng()));
  for (int k = 0; k < 6; ++k)
    v.push_back(static_cast<int64_t>(rng() % 200) - 100);
  return v;
}

struct OneInst {
  Module m;
  Builder b{m};
  Function *f = nullptr;
  Interpreter *interp = nullptr;
  std::string out, err;
  llvm::raw_string_ostream os{out}, es{err};
  std::unique_ptr<Interpreter> owned;

  /// fn(%a: from, %b: from, %c: i1) -> to, whose body `make` builds.
  template <typename F>
  OneInst(unsigned fromBits,
          unsigned toBits, F make) {
    TypeContext &t = m.types();
    const Type *from = t.intTy(fromBits), *to = t.intTy(toBits);
    f = m.createFunction("f", t.function({from, from, t.i1()}, to));
    b.setInsertPoint(f->createBlock("entry"));
    Value *r = make(b, f->arg(0), f->arg(1), f->arg(2), to);
    b.ret(r);
    owned = std::make_unique<Interpreter>(m, os, es);
    interp = owned.get();
  }
  InterpResult run(int64_t a, int64_t b2, int64_t c) {
    return interp->run(*f, {a, b2, c});
  }
};

} // namespace

TEST(Folding, BinaryOpsMatchInterpreter) {
  std::mt19937_64 rng(1234);
  const Opcode ops[] = {Opcode::Add,  Opcode::Sub,  Opcode::Mul,  Opcode::SDiv,
                        Opcode::SRem, Opcode::UDiv, Opcode::URem, Opcode::And,
                        Opcode::Or,   Opcode::Xor,  Opcode::Shl,  Opcode::LShr,
                        Opcode::AShr};
  unsigned checked = 0, panics = 0;
  for (unsigned w : kWidths)
    for (Opcode op : ops) {
      OneInst x(w, w, [&](Builder &b, Value *a, Value *c, Value *, const Type *) {
        return b.binary(op, a, c);
      });
      ASSERT_TRUE(verifyFunction(*x.f));
      const Type *t = x.m.types().intTy(w);
      std::vector<int64_t> vals = operandsFor(w, rng);
      for (int64_t a : vals)
        for (int64_t bb : vals) {
          InterpResult r = x.run(a, bb, 0);
          std::optional<int64_t> fv = foldIntOp(op, ICmpPred::EQ, t, t, {a, bb});
          ASSERT_NE(r.kind, InterpResult::Trapped) << r.message;
          if (r.kind == InterpResult::Panicked) {
            ++panics;
            EXPECT_EQ(r.message, "division by zero");
            EXPECT_FALSE(fv.has_value())
                << opcodeName(op).str() << " i" << w << " " << a << ", " << bb;
            continue;
          }
          ASSERT_TRUE(fv.has_value())
              << opcodeName(op).str() << " i" << w << " " << a << ", " << bb;
          EXPECT_EQ(*fv, r.value)
              << opcodeName(op).str() << " i" << w << " " << a << ", " << bb;
          ++checked;
        }
    }
  EXPECT_GT(checked, 10000u);
  EXPECT_GT(panics, 0u); // division by zero was exercised
}

TEST(Folding, ICmpMatchesInterpreter) {
  std::mt19937_64 rng(99);
  for (unsigned w : kWidths)
    for (unsigned p = 0; p < 10; ++p) {
      ICmpPred pred = static_cast<ICmpPred>(p);
      OneInst x(w, 1, [&](Builder &b, Value *a, Value *c, Value *, const Type *) {
        return b.icmp(pred, a, c);
      });
      ASSERT_TRUE(verifyFunction(*x.f));
      const Type *t = x.m.types().intTy(w);
      std::vector<int64_t> vals = operandsFor(w, rng);
      for (int64_t a : vals)
        for (int64_t bb : vals) {
          InterpResult r = x.run(a, bb, 0);
          ASSERT_EQ(r.kind, InterpResult::Returned);
          std::optional<int64_t> fv =
              foldIntOp(Opcode::ICmp, pred, t, x.m.types().i1(), {a, bb});
          ASSERT_TRUE(fv.has_value());
          EXPECT_EQ(*fv, r.value) << predName(pred).str() << " i" << w << " "
                                  << a << ", " << bb;
        }
    }
}

TEST(Folding, CastsMatchInterpreter) {
  std::mt19937_64 rng(7);
  for (unsigned from : kWidths)
    for (unsigned to : kWidths) {
      if (from == to)
        continue;
      for (Opcode op : {Opcode::ZExt, Opcode::SExt, Opcode::Trunc}) {
        if ((op == Opcode::Trunc) != (to < from))
          continue;
        OneInst x(from, to,
                  [&](Builder &b, Value *a, Value *, Value *, const Type *tt) {
                    return b.cast(op, a, tt);
                  });
        ASSERT_TRUE(verifyFunction(*x.f));
        const Type *ft = x.m.types().intTy(from), *tt = x.m.types().intTy(to);
        for (int64_t a : operandsFor(from, rng)) {
          InterpResult r = x.run(a, 0, 0);
          ASSERT_EQ(r.kind, InterpResult::Returned);
          std::optional<int64_t> fv = foldIntOp(op, ICmpPred::EQ, ft, tt, {a});
          ASSERT_TRUE(fv.has_value());
          EXPECT_EQ(*fv, r.value) << opcodeName(op).str() << " i" << from
                                  << " to i" << to << " " << a;
        }
      }
    }
}

TEST(Folding, SelectMatchesInterpreter) {
  std::mt19937_64 rng(5);
  for (unsigned w : kWidths) {
    OneInst x(w, w, [&](Builder &b, Value *a, Value *c, Value *cond, const Type *) {
      return b.select(cond, a, c);
    });
    ASSERT_TRUE(verifyFunction(*x.f));
    const Type *t = x.m.types().intTy(w);
    std::vector<int64_t> vals = operandsFor(w, rng);
    for (int64_t c : {0, 1})
      for (unsigned k = 0; k + 1 < vals.size(); ++k) {
        InterpResult r = x.run(vals[k], vals[k + 1], c);
        std::optional<int64_t> fv =
            foldIntOp(Opcode::Select, ICmpPred::EQ, t, t, {c, vals[k], vals[k + 1]});
        ASSERT_TRUE(fv.has_value());
        EXPECT_EQ(*fv, r.value);
      }
  }
}

TEST(Folding, EdgeCasesAreExact) {
  Module m;
  TypeContext &t = m.types();
  auto fold = [&](Opcode op, unsigned w, int64_t a, int64_t b) {
    return foldIntOp(op, ICmpPred::EQ, t.intTy(w), t.intTy(w), {a, b});
  };
  // MIN / -1 wraps to MIN, MIN % -1 is 0, at every width.
  EXPECT_EQ(fold(Opcode::SDiv, 64, INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(fold(Opcode::SRem, 64, INT64_MIN, -1), 0);
  EXPECT_EQ(fold(Opcode::SDiv, 8, -128, -1), -128);
  EXPECT_EQ(fold(Opcode::SDiv, 32, INT32_MIN, -1), INT32_MIN);
  // Truncating division.
  EXPECT_EQ(fold(Opcode::SDiv, 64, -7, 2), -3);
  EXPECT_EQ(fold(Opcode::SRem, 64, -7, 2), -1);
  // Division by zero is never folded, signed or not, at any width.
  for (unsigned w : kWidths)
    for (Opcode op : {Opcode::SDiv, Opcode::SRem, Opcode::UDiv, Opcode::URem}) {
      EXPECT_FALSE(fold(op, w, 5, 0).has_value());
      // 256 is 0 at i8: still a division by zero.
      if (w == 8) {
        EXPECT_FALSE(fold(op, w, 5, 256).has_value());
      }
    }
  // Wrapping and shifts modulo the width.
  EXPECT_EQ(fold(Opcode::Add, 8, 127, 1), -128);
  EXPECT_EQ(fold(Opcode::Shl, 64, 1, 65), 2);
  EXPECT_EQ(fold(Opcode::Shl, 8, 1, 9), 2);
  EXPECT_EQ(fold(Opcode::LShr, 8, -1, 4), 15);
  EXPECT_EQ(fold(Opcode::AShr, 8, -128, 7), -1);
  // i1 is 0/1; unsigned compares see the bit pattern.
  EXPECT_EQ(fold(Opcode::Add, 1, 1, 1), 0);
  EXPECT_EQ(foldIntOp(Opcode::ICmp, ICmpPred::ULT, t.i8(), t.i1(), {1, -1}), 1);
  EXPECT_EQ(foldIntOp(Opcode::ICmp, ICmpPred::SLT, t.i8(), t.i1(), {1, -1}), 0);
  EXPECT_EQ(foldIntOp(Opcode::SExt, ICmpPred::EQ, t.i1(), t.i64(), {1}), -1);
  EXPECT_EQ(foldIntOp(Opcode::ZExt, ICmpPred::EQ, t.i1(), t.i64(), {1}), 1);
  EXPECT_EQ(foldIntOp(Opcode::Trunc, ICmpPred::EQ, t.i64(), t.i8(), {0x1ff}), -1);
  // Not integer computation: not foldable.
  EXPECT_FALSE(foldIntOp(Opcode::Load, ICmpPred::EQ, t.i64(), t.i64(), {1}));
  EXPECT_FALSE(foldIntOp(Opcode::Add, ICmpPred::EQ, t.ptr(), t.ptr(), {1, 2}));
}

TEST(Folding, FoldInstructionNeedsConstIntOperands) {
  Module m;
  Builder b(m);
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({t.i64()}, t.i64()));
  b.setInsertPoint(f->createBlock("entry"));
  Instruction *c = b.add(b.i64(40), b.i64(2));
  Instruction *u = b.add(m.undef(t.i64()), b.i64(2));
  Instruction *a = b.add(f->arg(0), b.i64(2));
  Instruction *z = b.sdiv(b.i64(1), b.i64(0));
  Instruction *cmp = b.icmp(ICmpPred::SGT, b.i64(3), b.i64(-3));
  b.ret(c);
  ConstInt *fc = foldInstruction(*c);
  ASSERT_TRUE(fc);
  EXPECT_EQ(fc->value(), 42);
  EXPECT_EQ(fc->type(), t.i64());
  EXPECT_FALSE(foldInstruction(*u)); // undef is not a known constant
  EXPECT_FALSE(foldInstruction(*a));
  EXPECT_FALSE(foldInstruction(*z)); // the panic stays
  ConstInt *fcmp = foldInstruction(*cmp);
  ASSERT_TRUE(fcmp);
  EXPECT_EQ(fcmp->type(), t.i1());
  EXPECT_EQ(fcmp->value(), 1);
}
