// Unit tests for the MIR object model: type uniquing, constants, use lists,
// replace-all-uses, edge arguments, erasure and predecessors.
#include "mir/Builder.h"

#include "llvm/ADT/STLExtras.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

using namespace qmir;

TEST(Types, AreUniqued) {
  Module m;
  TypeContext &t = m.types();
  EXPECT_EQ(t.intTy(64), t.i64());
  EXPECT_EQ(t.intTy(7), nullptr);
  const Type *s1 = t.literalStruct({t.i64(), t.i1()});
  const Type *s2 = t.literalStruct({t.i64(), t.i1()});
  const Type *s3 = t.literalStruct({t.i1(), t.i64()});
  EXPECT_EQ(s1, s2);
  EXPECT_NE(s1, s3);
  EXPECT_EQ(s1->str(), "{i64, i1}");
  const Type *f1 = t.function({t.i64()}, t.i64());
  const Type *f2 = t.function({t.i64()}, t.i64());
  const Type *f3 = t.function({t.i64()}, t.voidTy());
  EXPECT_EQ(f1, f2);
  EXPECT_NE(f1, f3);
  EXPECT_EQ(f1->str(), "fn(i64) -> i64");
  // A function type is never confused with a struct of the same members.
  EXPECT_NE(static_cast<const Type *>(t.literalStruct({t.i64(), t.i64()})),
            t.function({t.i64()}, t.i64()));
}

TEST(Types, NamedEnumsAndStructs) {
  Module m;
  TypeContext &t = m.types();
  const Type *opt = t.createNamedEnum("Option.i64");
  ASSERT_TRUE(opt);
  EXPECT_TRUE(opt->isOpaque());
  EXPECT_EQ(t.createNamedEnum("Option.i64"), nullptr);
  EXPECT_EQ(t.createNamedStruct("Option.i64"), nullptr);
  const Type *payload[] = {t.i64()};
  t.setEnumBody(opt, {EnumVariant{"None", {}}, EnumVariant{"Some", payload}});
  EXPECT_FALSE(opt->isOpaque());
  EXPECT_EQ(opt->variantIndex("Some"), 1);
  EXPECT_EQ(opt->variantIndex("Nope"), -1);
  EXPECT_EQ(opt->variants()[1].fields[0], t.i64());
  EXPECT_EQ(t.named("Option.i64"), opt);
  EXPECT_EQ(opt->str(), "Option.i64");
}

TEST(Constants, AreUniquedAndNormalised) {
  Module m;
  EXPECT_EQ(m.constI64(5), m.constI64(5));
  EXPECT_NE(m.constI64(5), m.constI64(6));
  EXPECT_EQ(m.constBool(true)->value(), 1);
  EXPECT_EQ(m.constInt(m.types().i1(), 3)->value(), 1);
  // i8 255 is -1 once normalised, and equal to i8 -1.
  ConstInt *a = m.constInt(m.types().i8(), 255);
  EXPECT_EQ(a->sext(), -1);
  EXPECT_EQ(a->zext(), 255u);
  EXPECT_EQ(a, m.constInt(m.types().i8(), -1));
  // Same value, different types: different constants.
  EXPECT_NE(static_cast<Value *>(m.constInt(m.types().i32(), 1)),
            static_cast<Value *>(m.constI64(1)));
  EXPECT_EQ(m.constString("hi"), m.constString("hi"));
  EXPECT_EQ(m.undef(m.types().i64()), m.undef(m.types().i64()));
}

namespace {
struct Fixture : ::testing::Test {
  Module m;
  Builder b{m};
  Function *f = nullptr;
  void SetUp() override {
    f = m.createFunction("f", m.types().function({m.types().i64()}, m.types().i64()));
  }
};
} // namespace

TEST_F(Fixture, UseListsAndRAUW) {
  Block *entry = f->createBlock("entry");
  b.setInsertPoint(entry);
  Value *x = f->arg(0);
  Instruction *a = b.add(x, b.i64(1));
  Instruction *c = b.mul(a, a);
  Instruction *r = b.ret(c);
  EXPECT_EQ(a->numUses(), 2u);
  EXPECT_EQ(x->numUses(), 1u);
  for (Use &u : a->uses())
    EXPECT_EQ(u.user(), c);
  EXPECT_EQ(c->operandUse(1).operandNo(), 1u);

  a->replaceAllUsesWith(x);
  EXPECT_FALSE(a->hasUses());
  EXPECT_EQ(x->numUses(), 3u);
  EXPECT_EQ(c->operand(0), x);
  EXPECT_EQ(c->operand(1), x);
  a->eraseFromParent();
  EXPECT_EQ(entry->insts().size(), 2u);
  EXPECT_EQ(x->numUses(), 2u); // the erased add no longer uses x
  EXPECT_EQ(entry->terminator(), r);
}

// mir-opt --stream frees each body once printed: what is left is a
// declaration, the constants the body used no longer list its uses, and the
// function can get a new body.
TEST_F(Fixture, DropBodyLeavesADeclaration) {
  f->arg(0)->setName("x");
  f->arg(0)->setBinding(m.addBinding("x", 1, 0));
  ConstInt *seven = m.constI64(7);
  b.setInsertPoint(f->createBlock("entry"));
  Instruction *a = b.add(f->arg(0), seven);
  Block *next = f->createBlock("next");
  BlockArg *p = next->addArg(m.types().i64(), "p");
  b.br(next, {a});
  b.setInsertPoint(next);
  b.ret(b.mul(p, seven));
  EXPECT_EQ(seven->numUses(), 2u);

  f->dropBody();
  EXPECT_TRUE(f->isDeclaration());
  EXPECT_EQ(seven->numUses(), 0u);
  EXPECT_EQ(f->name(), "f");
  ASSERT_EQ(f->args().size(), 1u);
  EXPECT_EQ(f->arg(0)->name(), "x");
  EXPECT_EQ(f->arg(0)->binding(), 1u);
  EXPECT_EQ(f->arg(0)->type(), m.types().i64());
  EXPECT_EQ(f->arg(0)->parent(), f);
  EXPECT_EQ(m.function("f"), f);

  b.setInsertPoint(f->createBlock("again"));
  b.ret(b.add(f->arg(0), seven));
  EXPECT_EQ(seven->numUses(), 1u);
  EXPECT_EQ(f->instructionCount(), 2u);
}

TEST_F(Fixture, EdgeArgumentsAndPredecessors) {
  Block *entry = f->createBlock("entry");
  Block *loop = f->createBlock("loop");
  Block *exit = f->createBlock("exit");
  BlockArg *i = loop->addArg(m.types().i64(), "i");
  b.setInsertPoint(entry);
  b.br(loop, {b.i64(0)});
  b.setInsertPoint(loop);
  Instruction *next = b.add(i, b.i64(1));
  Instruction *cmp = b.icmp(ICmpPred::SLT, next, f->arg(0));
  Instruction *br = b.condBr(cmp, loop, {next}, exit, {});
  b.setInsertPoint(exit);
  b.ret(i);

  EXPECT_EQ(br->numMainOperands(), 1u);
  EXPECT_EQ(br->successorArgs(0).size(), 1u);
  EXPECT_EQ(br->successorArgs(0)[0], next);
  auto preds = loop->predecessors();
  ASSERT_EQ(preds.size(), 2u);
  EXPECT_EQ(preds[0], entry);
  EXPECT_EQ(preds[1], loop);
  EXPECT_EQ(exit->predecessors().size(), 1u);

  // Rewriting one edge's arguments keeps the other edge and the condition.
  br->setSuccessorArgs(1, {next});
  EXPECT_EQ(br->operand(0), cmp);
  EXPECT_EQ(br->successorArgs(0)[0], next);
  EXPECT_EQ(br->successorArgs(1)[0], next);
  EXPECT_EQ(next->numUses(), 3u);
  br->setSuccessorArgs(0, {});
  EXPECT_EQ(br->successorArgs(0).size(), 0u);
  EXPECT_EQ(next->numUses(), 2u);
  EXPECT_EQ(br->successor(1), exit);
}

TEST_F(Fixture, SideEffectsOfDivision) {
  Block *entry = f->createBlock("entry");
  b.setInsertPoint(entry);
  Instruction *byArg = b.sdiv(b.i64(10), f->arg(0));
  Instruction *byZero = b.sdiv(f->arg(0), b.i64(0));
  Instruction *byTwo = b.sdiv(f->arg(0), b.i64(2));
  b.ret(byTwo);
  EXPECT_TRUE(byArg->hasSideEffects());
  EXPECT_TRUE(byZero->hasSideEffects());
  EXPECT_FALSE(byTwo->hasSideEffects());
}

TEST_F(Fixture, BindingsAreIdentitiesNotSpellings) {
  BindingId user = m.addBinding("tmp", 1, 0);
  BindingId gensym = m.addBinding("tmp", 1, 7);
  EXPECT_NE(user, gensym);
  EXPECT_FALSE(m.binding(user).isGensym());
  EXPECT_TRUE(m.binding(gensym).isGensym());
  Block *entry = f->createBlock("entry");
  b.setInsertPoint(entry);
  Instruction *a1 = b.alloc(m.types().i64(), user);
  Instruction *a2 = b.alloc(m.types().i64(), gensym);
  EXPECT_EQ(a1->binding(), user);
  EXPECT_EQ(a2->binding(), gensym);
  EXPECT_EQ(a1->auxType(), m.types().i64());
  b.ret(b.i64(0));
}

TEST_F(Fixture, MatchEdgesCarryPatterns) {
  TypeContext &t = m.types();
  const Type *opt = t.createNamedEnum("Opt");
  const Type *p[] = {t.i64()};
  t.setEnumBody(opt, {EnumVariant{"None", {}}, EnumVariant{"Some", p}});
  Block *entry = f->createBlock("entry");
  Block *some = f->createBlock("some");
  Block *none = f->createBlock("none");
  BlockArg *x = some->addArg(t.i64(), "x");
  b.setInsertPoint(entry);
  Instruction *e = b.enumMake(opt, 1, {f->arg(0)});
  const Pattern *somePat = m.makeVariantPattern(1, {m.makeBind("x")});
  const Pattern *nonePat = m.makeVariantPattern(0, {});
  Instruction *mt = b.match(e, {{somePat, some}, {nonePat, none}}, nullptr);
  b.setInsertPoint(some);
  b.ret(x);
  b.setInsertPoint(none);
  b.ret(b.i64(0));
  ASSERT_EQ(mt->numSuccessors(), 2u);
  EXPECT_EQ(mt->successors()[0].pattern->numBindings(), 1u);
  EXPECT_EQ(mt->successors()[1].pattern->numBindings(), 0u);
  EXPECT_FALSE(mt->successors()[0].pattern->irrefutable(opt));
  EXPECT_TRUE(m.makeWildcard()->irrefutable(opt));
  EXPECT_EQ(mt->numMainOperands(), 1u);
}

TEST_F(Fixture, ErasingBlocksDropsReferences) {
  Block *entry = f->createBlock("entry");
  Block *dead = f->createBlock("dead");
  b.setInsertPoint(entry);
  b.ret(f->arg(0));
  b.setInsertPoint(dead);
  b.add(f->arg(0), b.i64(1));
  b.br(entry);
  EXPECT_EQ(f->arg(0)->numUses(), 2u);
  dead->eraseFromParent();
  EXPECT_EQ(f->arg(0)->numUses(), 1u);
  EXPECT_EQ(f->instructionCount(), 1u);
  EXPECT_TRUE(entry->predecessors().empty());
}

TEST(Locations, RepeatsShareAnId) {
  Module m;
  uint32_t file = m.addSourceFile("a.qz");
  EXPECT_EQ(m.addSourceFile("a.qz"), file);
  LocId l1 = m.addLoc({file, 3, 5});
  LocId l2 = m.addLoc({file, 3, 5});
  LocId l3 = m.addLoc({file, 3, 6});
  EXPECT_NE(l1, 0u);
  EXPECT_EQ(l1, l2);
  EXPECT_NE(l1, l3);
  EXPECT_EQ(m.loc(l3).col, 6u);
  EXPECT_EQ(m.loc(m.addLoc({file, 3, 5})), (SourceLoc{file, 3, 5}));
}

// A reverse iterator over a block points at the instruction it yields, so
// erasing it while walking backwards (as passes do forwards) is safe.
TEST(InstList, ErasingWhileWalkingBackwards) {
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({t.i64()}, t.i64()));
  Builder b(m);
  b.setInsertPoint(f->createBlock("entry"));
  Value *x = f->arg(0);
  for (int i = 0; i < 6; ++i)
    b.binary(Opcode::Add, x, m.constI64(i)); // all unused
  b.ret(x);
  std::vector<unsigned> seen;
  for (Instruction &i : llvm::make_early_inc_range(llvm::reverse(f->entry()->insts()))) {
    seen.push_back(i.id());
    if (!i.isTerminator())
      i.eraseFromParent();
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_TRUE(std::is_sorted(seen.rbegin(), seen.rend()));
  ASSERT_EQ(f->entry()->insts().size(), 1u);
  EXPECT_TRUE(f->entry()->front().isTerminator());
  const Block &cb = *f->entry();
  EXPECT_EQ(&*cb.insts().rbegin(), &cb.insts().back());
  EXPECT_EQ(std::next(cb.insts().rbegin()), cb.insts().rend());
}
