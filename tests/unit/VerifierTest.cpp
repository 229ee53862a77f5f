// Verifier tests: valid IR of every shape passes, and each rule, broken on
// its own, produces exactly the expected error attached to the right
// function, block and instruction.
#include "mir/Builder.h"
#include "mir/Verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

using namespace qmir;

namespace {

class VerifierTest : public testing::Test {
protected:
  Module m;
  Builder b{m};
  TypeContext &t = m.types();
  std::vector<VerifierError> errs;

  Function *fn(llvm::StringRef name, llvm::ArrayRef<const Type *> params,
               const Type *ret) {
    return m.createFunction(name, t.function(params, ret));
  }

  std::vector<std::string> messages(const Function &f) {
    errs.clear();
    bool ok = verifyFunction(f, &errs);
    EXPECT_EQ(ok, errs.empty());
    EXPECT_EQ(ok, verifyFunction(f)); // same verdict without an error list
    std::vector<std::string> out;
    for (const VerifierError &e : errs)
      out.push_back(e.message);
    return out;
  }

  /// Exactly one error, with this message, about this instruction (or, for
  /// block-level errors, inst == nullptr and this block).
  void expectOne(const Function &f, const std::string &msg,
                 const Instruction *inst, const Block *block = nullptr) {
    auto ms = messages(f);
    ASSERT_EQ(ms.size(), 1u) << (ms.empty() ? "no error" : ms[0] + " ...");
    EXPECT_EQ(ms[0], msg);
    EXPECT_EQ(errs[0].function, &f);
    EXPECT_EQ(errs[0].inst, inst);
    if (inst) {
      EXPECT_EQ(errs[0].block, inst->parent());
    }
    if (block) {
      EXPECT_EQ(errs[0].block, block);
    }
  }

  void expectValid(const Function &f) {
    auto ms = messages(f);
    EXPECT_TRUE(ms.empty()) << ms[0];
  }

  /// fn @f(%a: i64, %c: i1) -> i64 with one block `entry`, builder inside.
  Function *simple(const Type *ret = nullptr) {
    Function *f = fn("f", {t.i64(), t.i1()}, ret ? ret : t.i64());
    f->arg(0)->setName("a");
    f->arg(1)->setName("c");
    b.setInsertPoint(f->createBlock("entry"));
    return f;
  }

  /// type Shape = enum { Circle(i64), Rect(i64, i32), Empty }
  const Type *shapeTy() {
    if (const Type *s = t.named("Shape"))
      return s;
    const Type *s = t.createNamedEnum("Shape");
    const Type *circle[] = {t.i64()};
    const Type *rect[] = {t.i64(), t.i32()};
    EnumVariant vs[] = {{"Circle", circle}, {"Rect", rect}, {"Empty", {}}};
    t.setEnumBody(s, vs);
    return s;
  }
  const Type *pairTy() { return t.literalStruct({t.i64(), t.i32()}); }
};

//===----------------------------------------------------------------------===//
// Valid IR
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, ValidFrontendStyleSum) {
  BindingId n = m.addBinding("n", 1, 0);
  BindingId i = m.addBinding("i", 1, 0);
  Function *f = fn("sum", {t.i64()}, t.i64());
  f->arg(0)->setBinding(n);
  Block *entry = f->createBlock("entry");
  Block *loop = f->createBlock("loop");
  Block *body = f->createBlock("body");
  Block *done = f->createBlock("done");
  b.setInsertPoint(entry);
  Instruction *pi = b.alloc(t.i64(), i);
  Instruction *pt = b.alloc(t.i64());
  b.store(b.i64(0), pi);
  b.store(b.i64(0), pt);
  b.br(loop);
  b.setInsertPoint(loop);
  Instruction *iv = b.load(t.i64(), pi);
  Instruction *c = b.icmp(ICmpPred::SLT, iv, f->arg(0));
  b.condBr(c, body, done);
  b.setInsertPoint(body);
  Instruction *tot = b.load(t.i64(), pt);
  b.store(b.add(tot, iv), pt);
  b.store(b.add(iv, b.i64(1)), pi);
  b.dbgValue(i, iv);
  b.br(loop);
  b.setInsertPoint(done);
  b.ret(b.load(t.i64(), pt));
  expectValid(*f);
  EXPECT_TRUE(verifyModule(m));
}

TEST_F(VerifierTest, ValidSsaWithBlockArgsSwitchAndAggregates) {
  Function *callee = fn("g", {t.i64(), pairTy()}, t.i32());
  Function *f = fn("f", {t.i64()}, t.i64());
  Block *entry = f->createBlock("entry");
  Block *loop = f->createBlock("loop");
  Block *body = f->createBlock("body");
  Block *done = f->createBlock("done");
  Block *other = f->createBlock("other");
  BlockArg *i = loop->addArg(t.i64(), "i");
  BlockArg *s = loop->addArg(t.i64(), "s");
  BlockArg *r = done->addArg(t.i64(), "r");
  b.setInsertPoint(entry);
  b.br(loop, {b.i64(0), b.i64(0)});
  b.setInsertPoint(loop);
  Instruction *c = b.icmp(ICmpPred::SLT, i, f->arg(0));
  b.condBr(c, body, {}, done, {s});
  b.setInsertPoint(body);
  Instruction *p = b.structMake(pairTy(), {i, b.i32(7)});
  Instruction *p2 = b.structInsert(p, 1, b.i32(9));
  Instruction *x = b.structExtract(p2, 0);
  Instruction *w = b.cast(Opcode::Trunc, x, t.i32());
  Instruction *z = b.cast(Opcode::SExt, w, t.i64());
  Instruction *sel = b.select(c, z, i);
  Instruction *e = b.enumMake(shapeTy(), 0, {sel});
  Instruction *tag = b.enumTag(e);
  Instruction *pl = b.enumPayload(e, 0, 0);
  Instruction *slot = b.alloc(pairTy());
  Instruction *fa = b.fieldAddr(pairTy(), slot, 1);
  b.store(tag, fa);
  b.call(callee, {pl, p2});
  Instruction *n = b.add(s, pl);
  Instruction *i2 = b.add(i, b.i64(1));
  b.switchOn(tag, loop, {i2, n},
             {{0, other, {}}, {1, done, {n}}, {-1, done, {i}}});
  b.setInsertPoint(other);
  b.unreachable();
  b.setInsertPoint(done);
  b.ret(r);
  // callee is a declaration: nothing to check but its signature.
  expectValid(*f);
  expectValid(*callee);
  EXPECT_TRUE(verifyModule(m));
}

TEST_F(VerifierTest, ValidMatchWithNestedPatterns) {
  const Type *shape = shapeTy();
  const Type *opt = t.createNamedEnum("Opt");
  const Type *someF[] = {shape};
  EnumVariant ov[] = {{"None", {}}, {"Some", someF}};
  t.setEnumBody(opt, ov);
  Function *f = fn("area", {opt}, t.i64());
  Block *entry = f->createBlock("entry");
  Block *circle = f->createBlock("circle");
  Block *rect = f->createBlock("rect");
  Block *rest = f->createBlock("rest");
  Block *ints = f->createBlock("ints");
  circle->addArg(t.i64(), "r");
  rect->addArg(t.i64(), "w");
  rect->addArg(t.i32(), "h");
  BlockArg *v = rest->addArg(opt, "v");
  b.setInsertPoint(entry);
  auto *circ = m.makeVariantPattern(1, {m.makeVariantPattern(0, {m.makeBind("r")})});
  auto *rec = m.makeVariantPattern(
      1, {m.makeVariantPattern(1, {m.makeBind("w"), m.makeBind("h")})});
  b.match(f->arg(0), {{circ, circle}, {rec, rect}}, rest, {f->arg(0)});
  b.setInsertPoint(circle);
  b.ret(circle->arg(0));
  b.setInsertPoint(rect);
  b.ret(rect->arg(0));
  b.setInsertPoint(rest);
  Instruction *tag = b.enumTag(v);
  b.match(tag, {{m.makeIntPattern(0), ints}, {m.makeWildcard(), ints}}, nullptr);
  b.setInsertPoint(ints);
  b.ret(b.i64(0));
  expectValid(*f);
}

TEST_F(VerifierTest, UnreachableBlockMayUseNonDominatingValues) {
  Function *f = simple();
  Block *dead = f->createBlock("dead");
  Block *other = f->createBlock("other");
  Instruction *x = b.add(f->arg(0), b.i64(1));
  b.ret(x);
  b.setInsertPoint(other);
  Instruction *y = b.add(f->arg(0), b.i64(2));
  b.ret(y);
  b.setInsertPoint(dead);
  b.ret(y); // `other` is unreachable too, and does not dominate `dead`
  expectValid(*f);
}

//===----------------------------------------------------------------------===//
// Block structure
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, EmptyBlock) {
  Function *f = simple();
  b.ret(f->arg(0));
  Block *empty = f->createBlock("empty");
  expectOne(*f, "block has no terminator", nullptr, empty);
}

TEST_F(VerifierTest, BlockWithoutTerminator) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i64(1));
  expectOne(*f, "block does not end in a terminator", x);
}

TEST_F(VerifierTest, TerminatorInTheMiddle) {
  Function *f = simple();
  Instruction *r = b.ret(f->arg(0));
  b.ret(f->arg(0));
  expectOne(*f, "terminator 'ret' must be the last instruction of its block", r);
}

TEST_F(VerifierTest, EntryBlockWithParameters) {
  Function *f = simple();
  f->entry()->addArg(t.i64(), "p");
  b.ret(f->arg(0));
  expectOne(*f, "the entry block must not have parameters (it has 1)", nullptr,
            f->entry());
}

TEST_F(VerifierTest, VoidBlockParameter) {
  Function *f = simple();
  Block *next = f->createBlock("next");
  next->addArg(t.voidTy());
  b.br(next, {b.i64(0)});
  b.setInsertPoint(next);
  b.ret(f->arg(0));
  auto ms = messages(*f);
  EXPECT_NE(std::find(ms.begin(), ms.end(), "block parameter 0 has type void"),
            ms.end());
}

//===----------------------------------------------------------------------===//
// Operands: presence, ownership, dominance
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, NullOperand) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), nullptr);
  b.ret(x);
  expectOne(*f, "operand 1 is null", x);
}

TEST_F(VerifierTest, ArgumentOfAnotherFunction) {
  Function *g = fn("g", {t.i64()}, t.i64());
  Function *f = simple();
  Instruction *x = b.add(g->arg(0), b.i64(1));
  b.ret(x);
  expectOne(*f, "operand 0 is an argument of function @g", x);
}

TEST_F(VerifierTest, InstructionOfAnotherFunction) {
  Function *g = fn("g", {t.i64()}, t.i64());
  b.setInsertPoint(g->createBlock("entry"));
  Instruction *gx = b.add(g->arg(0), b.i64(1));
  b.ret(gx);
  Function *f = simple();
  Instruction *x = b.add(gx, b.i64(1));
  b.ret(x);
  expectOne(*f, "operand 0 is defined in function @g", x);
}

TEST_F(VerifierTest, BlockParameterOfAnotherFunction) {
  Function *g = fn("g", {}, t.voidTy());
  Block *gb = g->createBlock("entry");
  BlockArg *ga = gb->addArg(t.i64(), "p");
  Function *f = simple();
  Instruction *x = b.add(ga, b.i64(1));
  b.ret(x);
  expectOne(*f, "operand 0 is a block parameter of function @g", x);
}

TEST_F(VerifierTest, DetachedInstructionOperand) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i64(1));
  Instruction *y = b.add(x, b.i64(1));
  b.ret(y);
  x->removeFromParent();
  expectOne(*f, "operand 0 is an instruction that is not in any block", y);
}

TEST_F(VerifierTest, RemovedBlockParameter) {
  Function *f = simple();
  Block *next = f->createBlock("next");
  BlockArg *p = next->addArg(t.i64(), "p");
  next->addArg(t.i64(), "q");
  b.br(next, {b.i64(1), b.i64(2)});
  b.setInsertPoint(next);
  Instruction *r = b.ret(p);
  // Simulate a pass that dropped the parameter but forgot its use: eraseArg
  // asserts there are no uses, so detach the use around the call.
  r->setOperand(0, nullptr);
  next->eraseArg(0);
  r->setOperand(0, p);
  f->entry()->terminator()->setSuccessorArgs(0, {b.i64(2)});
  expectOne(*f, "operand 0 is a removed parameter of block 'next'", r);
}

TEST_F(VerifierTest, UseNotDominatedAcrossBlocks) {
  Function *f = simple();
  Block *then = f->createBlock("then");
  Block *join = f->createBlock("join");
  b.condBr(f->arg(1), then, join);
  b.setInsertPoint(then);
  Instruction *x = b.add(f->arg(0), b.i64(1));
  x->setName("x");
  b.br(join);
  b.setInsertPoint(join);
  Instruction *r = b.ret(x);
  expectOne(*f,
            "operand 0 (%x) is not dominated by its definition: block 'then' "
            "does not dominate this block",
            r);
}

TEST_F(VerifierTest, UseBeforeDefinitionInSameBlock) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i64(1));
  Instruction *y = b.add(x, b.i64(1)); // unnamed: prints as %0 or %1
  Instruction *r = b.ret(y);
  // Move the user above its operand.
  x->moveBefore(r);
  auto ms = messages(*f);
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0], "operand 0 (%1) is used before its definition");
  EXPECT_EQ(errs[0].inst, y);
}

TEST_F(VerifierTest, InstructionUsingItself) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i64(1));
  x->setOperand(1, x);
  b.ret(x);
  expectOne(*f, "instruction uses its own result (operand 1)", x);
}

TEST_F(VerifierTest, BlockParameterNotDominating) {
  Function *f = simple();
  Block *then = f->createBlock("then");
  Block *join = f->createBlock("join");
  BlockArg *p = then->addArg(t.i64(), "p");
  b.condBr(f->arg(1), then, {f->arg(0)}, join, {});
  b.setInsertPoint(then);
  b.br(join);
  b.setInsertPoint(join);
  Instruction *r = b.ret(p);
  expectOne(*f,
            "operand 0 (%p) is not dominated by its definition: block 'then' "
            "does not dominate this block",
            r);
}

TEST_F(VerifierTest, EdgeArgumentIsAUseAtTheEndOfThePredecessor) {
  // loop(%i): %n = add %i, 1; condbr %c, loop(%n), exit  -- valid, although
  // %n is defined after the block's parameter and passed back to it.
  Function *f = simple();
  Block *loop = f->createBlock("loop");
  Block *exit = f->createBlock("exit");
  BlockArg *i = loop->addArg(t.i64(), "i");
  b.br(loop, {b.i64(0)});
  b.setInsertPoint(loop);
  Instruction *n = b.add(i, b.i64(1));
  b.condBr(f->arg(1), loop, {n}, exit, {});
  b.setInsertPoint(exit);
  b.ret(i);
  expectValid(*f);
}

TEST_F(VerifierTest, EdgeArgumentFromSiblingBlock) {
  Function *f = simple();
  Block *then = f->createBlock("then");
  Block *els = f->createBlock("else");
  Block *join = f->createBlock("join");
  BlockArg *p = join->addArg(t.i64(), "p");
  b.condBr(f->arg(1), then, els);
  b.setInsertPoint(then);
  Instruction *s = b.add(f->arg(0), b.i64(1));
  s->setName("s");
  b.br(join, {s});
  b.setInsertPoint(els);
  Instruction *bad = b.br(join, {s});
  b.setInsertPoint(join);
  b.ret(p);
  expectOne(*f,
            "operand 0 (%s) is not dominated by its definition: block 'then' "
            "does not dominate this block",
            bad);
}

TEST_F(VerifierTest, VoidValueAsOperand) {
  Function *f = simple();
  Instruction *slot = b.alloc(t.i64());
  Instruction *st = b.store(f->arg(0), slot);
  Instruction *x = b.add(f->arg(0), st);
  b.ret(x);
  expectOne(*f, "operand 1 is a 'store' instruction, which has no value", x);
}

//===----------------------------------------------------------------------===//
// Arithmetic, comparisons, casts
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, BinaryOperandTypeMismatch) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i32(1));
  b.ret(x);
  expectOne(*f, "'add' operand 1 has type i32, expected i64 (the result type)", x);
}

TEST_F(VerifierTest, BinaryOnNonIntegers) {
  Function *f = simple();
  Instruction *slot = b.alloc(t.i64());
  Instruction *x = b.binary(Opcode::Xor, slot, slot);
  b.ret(f->arg(0));
  expectOne(*f, "'xor' result type must be an integer type, not ptr", x);
}

TEST_F(VerifierTest, BinaryArity) {
  Function *f = simple();
  Instruction *x =
      b.insert(f->createInst(Opcode::Mul, t.i64(), {f->arg(0)}));
  b.ret(f->arg(0));
  expectOne(*f, "'mul' takes 2 operands, has 1", x);
}

TEST_F(VerifierTest, ICmpOperandsDiffer) {
  Function *f = simple();
  Instruction *x = b.icmp(ICmpPred::EQ, f->arg(0), b.i32(0));
  b.ret(f->arg(0));
  expectOne(*f, "'icmp' operands must have the same integer type, got i64 and i32", x);
}

TEST_F(VerifierTest, ICmpResultNotBool) {
  Function *f = simple();
  Instruction *x = b.insert(
      f->createInst(Opcode::ICmp, t.i64(), {f->arg(0), f->arg(0)}));
  b.ret(f->arg(0));
  expectOne(*f, "'icmp' result type must be i1, not i64", x);
}

TEST_F(VerifierTest, SelectConditionNotBool) {
  Function *f = simple();
  Instruction *x = b.select(f->arg(0), f->arg(0), f->arg(0));
  b.ret(x);
  expectOne(*f, "'select' condition has type i64, expected i1", x);
}

TEST_F(VerifierTest, SelectArmsDiffer) {
  Function *f = simple();
  Instruction *x = b.select(f->arg(1), f->arg(0), b.i32(3));
  b.ret(x);
  expectOne(*f, "'select' operand 2 has type i32, expected i64 (the result type)", x);
}

TEST_F(VerifierTest, ZExtMustWiden) {
  Function *f = simple();
  Instruction *x = b.cast(Opcode::ZExt, f->arg(0), t.i32());
  b.ret(f->arg(0));
  expectOne(*f, "'zext' must widen, but i64 to i32 does not", x);
}

TEST_F(VerifierTest, SExtSameWidth) {
  Function *f = simple();
  Instruction *x = b.cast(Opcode::SExt, f->arg(0), t.i64());
  b.ret(f->arg(0));
  expectOne(*f, "'sext' must widen, but i64 to i64 does not", x);
}

TEST_F(VerifierTest, TruncMustNarrow) {
  Function *f = simple();
  Instruction *x = b.cast(Opcode::Trunc, f->arg(1), t.i8());
  b.ret(f->arg(0));
  expectOne(*f, "'trunc' must narrow, but i1 to i8 does not", x);
}

TEST_F(VerifierTest, CastOfPointer) {
  Function *f = simple();
  Instruction *slot = b.alloc(t.i64());
  Instruction *x = b.cast(Opcode::ZExt, slot, t.i64());
  b.ret(x);
  expectOne(*f, "'zext' needs integer types, got ptr to i64", x);
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, LoadFromNonPointer) {
  Function *f = simple();
  Instruction *x = b.load(t.i64(), f->arg(0));
  b.ret(x);
  expectOne(*f, "'load' address has type i64, expected ptr", x);
}

TEST_F(VerifierTest, LoadOfVoid) {
  Function *f = simple();
  Instruction *slot = b.alloc(t.i64());
  Instruction *x = b.load(t.voidTy(), slot);
  b.ret(f->arg(0));
  expectOne(*f, "'load' must produce a value type, not void", x);
}

TEST_F(VerifierTest, StoreToNonPointer) {
  Function *f = simple();
  Instruction *x = b.store(f->arg(0), f->arg(0));
  b.ret(f->arg(0));
  expectOne(*f, "'store' address has type i64, expected ptr", x);
}

TEST_F(VerifierTest, AllocaOfVoid) {
  Function *f = simple();
  Instruction *x = b.alloc(t.voidTy());
  b.ret(f->arg(0));
  expectOne(*f, "'alloca' needs a value type to allocate, got void", x);
}

TEST_F(VerifierTest, AllocaBindingMissing) {
  m.addBinding("x", 1, 0);
  Function *f = simple();
  Instruction *x = b.alloc(t.i64(), 0, "slot");
  x->setBinding(2);
  b.ret(f->arg(0));
  expectOne(*f, "'alloca' refers to binding #2, but the module has 1 bindings", x);
}

TEST_F(VerifierTest, DbgBindingMissing) {
  Function *f = simple();
  Instruction *x = b.dbgValue(3, f->arg(0));
  Instruction *y = b.dbgValue(0, f->arg(0));
  b.ret(f->arg(0));
  auto ms = messages(*f);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0], "'dbg' refers to binding #3, but the module has 0 bindings");
  EXPECT_EQ(errs[0].inst, x);
  EXPECT_EQ(ms[1], "'dbg' names no binding");
  EXPECT_EQ(errs[1].inst, y);
}

TEST_F(VerifierTest, ArgumentBindingMissing) {
  Function *f = simple();
  f->arg(0)->setBinding(4);
  b.ret(f->arg(0));
  expectOne(*f, "parameter 0 refers to binding #4, but the module has 0 bindings",
            nullptr);
}

//===----------------------------------------------------------------------===//
// Structs and enums
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, StructMakeFieldCount) {
  Function *f = simple();
  Instruction *x = b.structMake(pairTy(), {f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "'struct.make' of {i64, i32} needs 2 fields, got 1", x);
}

TEST_F(VerifierTest, StructMakeFieldType) {
  Function *f = simple();
  Instruction *x = b.structMake(pairTy(), {f->arg(0), f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "'struct.make' field 1 has type i64, expected i32", x);
}

TEST_F(VerifierTest, StructMakeOfNonStruct) {
  Function *f = simple();
  Instruction *x = b.structMake(t.i64(), {f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "'struct.make' needs a struct type, got i64", x);
}

TEST_F(VerifierTest, StructExtractIndexOutOfRange) {
  Function *f = simple();
  Instruction *p = b.structMake(pairTy(), {f->arg(0), b.i32(1)});
  Instruction *x = b.structExtract(p, 2);
  b.ret(f->arg(0));
  expectOne(*f, "'struct.extract' field index 2 is out of range for {i64, i32} (2 fields)", x);
}

TEST_F(VerifierTest, StructExtractOfNonStruct) {
  Function *f = simple();
  Instruction *x = b.structExtract(f->arg(0), 0);
  b.ret(f->arg(0));
  expectOne(*f, "'struct.extract' needs a struct type, got i64", x);
}

TEST_F(VerifierTest, StructInsertValueType) {
  Function *f = simple();
  Instruction *p = b.structMake(pairTy(), {f->arg(0), b.i32(1)});
  Instruction *x = b.structInsert(p, 0, b.i32(5));
  b.ret(f->arg(0));
  expectOne(*f, "'struct.insert' value has type i32, expected field 0's type i64", x);
}

TEST_F(VerifierTest, StructInsertIndexOutOfRange) {
  Function *f = simple();
  Instruction *p = b.structMake(pairTy(), {f->arg(0), b.i32(1)});
  Instruction *x = b.structInsert(p, 7, b.i32(5));
  b.ret(f->arg(0));
  expectOne(*f, "'struct.insert' field index 7 is out of range for {i64, i32} (2 fields)", x);
}

TEST_F(VerifierTest, FieldAddrOfNonPointer) {
  Function *f = simple();
  Instruction *x = b.fieldAddr(pairTy(), f->arg(0), 0);
  b.ret(f->arg(0));
  expectOne(*f, "'struct.addr' address has type i64, expected ptr", x);
}

TEST_F(VerifierTest, FieldAddrIndexOutOfRange) {
  Function *f = simple();
  Instruction *slot = b.alloc(pairTy());
  Instruction *x = b.fieldAddr(pairTy(), slot, 5);
  b.ret(f->arg(0));
  expectOne(*f, "'struct.addr' field index 5 is out of range for {i64, i32} (2 fields)", x);
}

TEST_F(VerifierTest, EnumMakeVariantOutOfRange) {
  Function *f = simple();
  Instruction *x = b.enumMake(shapeTy(), 3, {});
  b.ret(f->arg(0));
  expectOne(*f, "'enum.make' variant index 3 is out of range for Shape (3 variants)", x);
}

TEST_F(VerifierTest, EnumMakePayloadCount) {
  Function *f = simple();
  Instruction *x = b.enumMake(shapeTy(), 1, {f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "'enum.make' variant Rect of Shape needs 2 payload values, got 1", x);
}

TEST_F(VerifierTest, EnumMakePayloadType) {
  Function *f = simple();
  Instruction *x = b.enumMake(shapeTy(), 1, {f->arg(0), f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "'enum.make' payload 1 of variant Rect has type i64, expected i32", x);
}

TEST_F(VerifierTest, EnumMakeOfNonEnum) {
  Function *f = simple();
  Instruction *x = b.enumMake(pairTy(), 0, {});
  b.ret(f->arg(0));
  expectOne(*f, "'enum.make' needs an enum type, got {i64, i32}", x);
}

TEST_F(VerifierTest, EnumMakeOfOpaqueEnum) {
  const Type *op = t.createNamedEnum("Later");
  Function *f = simple();
  Instruction *x = b.enumMake(op, 0, {});
  b.ret(f->arg(0));
  expectOne(*f, "'enum.make' uses type Later, which has no body", x);
}

TEST_F(VerifierTest, EnumTagOfNonEnum) {
  Function *f = simple();
  Instruction *x = b.enumTag(f->arg(0));
  b.ret(f->arg(0));
  expectOne(*f, "'enum.tag' operand has type i64, expected an enum", x);
}

TEST_F(VerifierTest, EnumPayloadVariantOutOfRange) {
  Function *f = simple();
  Instruction *e = b.enumMake(shapeTy(), 2, {});
  Instruction *x = b.enumPayload(e, 9, 0);
  b.ret(f->arg(0));
  expectOne(*f, "'enum.payload' variant index 9 is out of range for Shape (3 variants)", x);
}

TEST_F(VerifierTest, EnumPayloadFieldOutOfRange) {
  Function *f = simple();
  Instruction *e = b.enumMake(shapeTy(), 2, {});
  Instruction *x = b.enumPayload(e, 0, 1);
  b.ret(f->arg(0));
  expectOne(*f, "'enum.payload' field index 1 is out of range for variant Circle of Shape (1 fields)", x);
}

TEST_F(VerifierTest, EnumPayloadResultType) {
  Function *f = simple();
  Instruction *e = b.enumMake(shapeTy(), 2, {});
  Instruction *x = b.insert(f->createInst(Opcode::EnumPayload, t.i8(), {e}));
  x->setAuxType(shapeTy());
  x->setVariantIndex(1);
  x->setFieldIndex(1);
  b.ret(f->arg(0));
  expectOne(*f, "'enum.payload' result type i8 differs from field 1 of variant Rect, which has type i32", x);
}

//===----------------------------------------------------------------------===//
// Calls and returns
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, CallArity) {
  Function *g = fn("g", {t.i64(), t.i64()}, t.i64());
  Function *f = simple();
  Instruction *x = b.call(g, {f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "call to @g passes 1 argument, expected 2", x);
}

TEST_F(VerifierTest, CallArgumentType) {
  Function *g = fn("g", {t.i64(), t.i1()}, t.voidTy());
  Function *f = simple();
  Instruction *x = b.call(g, {f->arg(0), f->arg(0)});
  b.ret(f->arg(0));
  expectOne(*f, "argument 1 of call to @g has type i64, expected i1", x);
}

TEST_F(VerifierTest, CalleeFromAnotherModule) {
  Module other;
  Function *g = other.createFunction(
      "g", other.types().function({}, other.types().voidTy()));
  Function *f = simple();
  Instruction *x =
      b.insert(f->createInst(Opcode::Call, t.voidTy(), {}));
  x->setCallee(g);
  b.ret(f->arg(0));
  expectOne(*f, "callee @g is not in this module", x);
}

TEST_F(VerifierTest, CallResultType) {
  Function *g = fn("g weird", {}, t.i32());
  Function *f = simple();
  Instruction *x = b.insert(f->createInst(Opcode::Call, t.i64(), {}));
  x->setCallee(g);
  b.ret(f->arg(0));
  expectOne(*f, "call to @\"g weird\" has result type i64, but the callee returns i32", x);
}

TEST_F(VerifierTest, RetValueType) {
  Function *f = simple();
  Instruction *r = b.ret(b.i32(0));
  expectOne(*f, "'ret' value has type i32, but function @f returns i64", r);
}

TEST_F(VerifierTest, RetWithoutValue) {
  Function *f = simple();
  Instruction *r = b.ret();
  expectOne(*f, "'ret' without a value in function @f, which returns i64", r);
}

TEST_F(VerifierTest, RetValueFromVoidFunction) {
  Function *f = simple(t.voidTy());
  Instruction *r = b.ret(f->arg(0));
  expectOne(*f, "'ret' with a value in function @f, which returns void", r);
}

TEST_F(VerifierTest, RetFromNoReturnFunction) {
  Function *f = simple(t.voidTy());
  f->setNoReturn(true);
  Instruction *r = b.ret();
  expectOne(*f, "'ret' in function @f, which is declared noreturn", r);
}

//===----------------------------------------------------------------------===//
// Branches and edges
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, CondBrConditionNotBool) {
  Function *f = simple();
  Block *x = f->createBlock("x");
  Instruction *br = b.condBr(f->arg(0), x, x);
  b.setInsertPoint(x);
  b.ret(f->arg(0));
  expectOne(*f, "'condbr' condition has type i64, expected i1", br);
}

TEST_F(VerifierTest, EdgeArity) {
  Function *f = simple();
  Block *loop = f->createBlock("loop");
  loop->addArg(t.i64());
  loop->addArg(t.i64());
  Instruction *br = b.br(loop, {f->arg(0)});
  b.setInsertPoint(loop);
  b.ret(f->arg(0));
  expectOne(*f, "edge to 'loop' passes 1 argument, but the block has 2 parameters", br);
}

TEST_F(VerifierTest, EdgeArgumentType) {
  Function *f = simple();
  Block *next = f->createBlock("next");
  next->addArg(t.i64());
  Instruction *br = b.condBr(f->arg(1), next, {f->arg(1)}, next, {f->arg(0)});
  b.setInsertPoint(next);
  b.ret(f->arg(0));
  expectOne(*f, "argument 0 of edge to 'next' has type i1, but the parameter has type i64", br);
}

TEST_F(VerifierTest, BranchToBlockOfAnotherFunction) {
  Function *g = fn("g", {}, t.voidTy());
  Block *gb = g->createBlock("there");
  Function *f = simple();
  Instruction *br = b.br(gb);
  expectOne(*f, "edge 0 targets block 'there' of function @g", br);
}

TEST_F(VerifierTest, BranchToErasedBlock) {
  Function *f = simple();
  Block *gone = f->createBlock("gone");
  Instruction *br = b.br(gone);
  b.setInsertPoint(gone);
  b.ret(f->arg(0));
  gone->eraseFromParent();
  expectOne(*f, "edge 0 targets block 'gone', which is not in this function", br);
}

TEST_F(VerifierTest, BranchWithoutTarget) {
  Function *f = simple();
  Instruction *br = b.insert(f->createInst(Opcode::Br, t.voidTy(), {}, 1));
  expectOne(*f, "edge 0 has no target block", br);
}

TEST_F(VerifierTest, WrongSuccessorCount) {
  Function *f = simple();
  Instruction *br = b.insert(f->createInst(Opcode::CondBr, t.voidTy(), {f->arg(1)}, 1));
  br->successors()[0].firstArg = 1;
  br->setSuccessorBlock(0, f->entry());
  expectOne(*f, "'condbr' must have exactly 2 successors, has 1", br);
}

// Only br, condbr, switch and match have room for edges, so an edge on any
// other opcode is refused when the instruction is made, before a verifier
// could see it.
TEST_F(VerifierTest, NonTerminatorWithSuccessors) {
  Function *f = simple();
  EXPECT_DEATH(f->createInst(Opcode::Add, t.i64(), {f->arg(0), f->arg(0)}, 1),
               "createInst: 'add' cannot have successor edges");
  EXPECT_DEATH(f->createInst(Opcode::Ret, t.voidTy(), {}, 1),
               "createInst: 'ret' cannot have successor edges");
}

TEST_F(VerifierTest, SwitchOnNonInteger) {
  Function *f = simple();
  Block *d = f->createBlock("d");
  Instruction *slot = b.alloc(t.i64());
  Instruction *sw = b.switchOn(slot, d, {}, {});
  b.setInsertPoint(d);
  b.ret(f->arg(0));
  expectOne(*f, "'switch' value has type ptr, expected an integer type", sw);
}

TEST_F(VerifierTest, SwitchDuplicateCases) {
  Function *f = simple();
  Block *d = f->createBlock("d");
  Instruction *v = b.cast(Opcode::Trunc, f->arg(0), t.i8());
  // -1 and 255 are the same i8 value.
  Instruction *sw = b.switchOn(v, d, {}, {{1, d, {}}, {-1, d, {}}, {255, d, {}}, {2, d, {}}});
  b.setInsertPoint(d);
  b.ret(f->arg(0));
  expectOne(*f, "'switch' has duplicate case value -1", sw);
}

TEST_F(VerifierTest, SwitchCaseDoesNotFit) {
  Function *f = simple();
  Block *d = f->createBlock("d");
  Instruction *v = b.cast(Opcode::Trunc, f->arg(0), t.i8());
  Instruction *sw = b.switchOn(v, d, {}, {{256, d, {}}});
  b.setInsertPoint(d);
  b.ret(f->arg(0));
  expectOne(*f, "'switch' case value 256 does not fit in i8", sw);
}

TEST_F(VerifierTest, SwitchCaseEdgeArgs) {
  Function *f = simple();
  Block *d = f->createBlock("d");
  Block *c = f->createBlock("c");
  c->addArg(t.i64());
  Instruction *sw = b.switchOn(f->arg(0), d, {}, {{1, c, {}}});
  b.setInsertPoint(d);
  b.ret(f->arg(0));
  b.setInsertPoint(c);
  b.ret(f->arg(0));
  expectOne(*f, "edge to 'c' passes 0 arguments, but the block has 1 parameter", sw);
}

//===----------------------------------------------------------------------===//
// match
//===----------------------------------------------------------------------===//

class MatchTest : public VerifierTest {
protected:
  Function *f = nullptr;
  Block *target = nullptr;
  void SetUp() override {
    f = fn("m", {shapeTy(), t.i64()}, t.i64());
    b.setInsertPoint(f->createBlock("entry"));
    target = f->createBlock("arm");
  }
  /// Finishes the target block after the match was built.
  void finish() {
    b.setInsertPoint(target);
    b.ret(f->arg(1));
  }
};

TEST_F(MatchTest, ScrutineeNotEnumOrInt) {
  Instruction *slot = b.alloc(t.i64());
  Instruction *mt = b.match(slot, {{m.makeWildcard(), target}}, nullptr);
  finish();
  expectOne(*f, "'match' scrutinee has type ptr, expected an enum or an integer type", mt);
}

TEST_F(MatchTest, VariantOutOfRange) {
  Instruction *mt = b.match(f->arg(0), {{m.makeVariantPattern(5, {}), target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0: variant index 5 is out of range for Shape (3 variants)", mt);
}

TEST_F(MatchTest, PayloadArity) {
  Instruction *mt = b.match(
      f->arg(0), {{m.makeVariantPattern(0, {m.makeWildcard(), m.makeWildcard()}), target}},
      nullptr);
  finish();
  expectOne(*f, "'match' arm 0: pattern for variant Circle of Shape has 2 fields, expected 1", mt);
}

TEST_F(MatchTest, IntLiteralOnEnum) {
  Instruction *mt = b.match(f->arg(0), {{m.makeIntPattern(1), target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0: integer pattern 1 on a value of type Shape", mt);
}

TEST_F(MatchTest, VariantPatternOnInt) {
  Instruction *mt = b.match(f->arg(1), {{m.makeVariantPattern(0, {}), target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0: variant pattern on a value of type i64", mt);
}

TEST_F(MatchTest, NestedSubPatternTypedByField) {
  // Circle(Circle(_)): the payload of Circle is i64, not an enum.
  auto *p = m.makeVariantPattern(0, {m.makeVariantPattern(0, {m.makeWildcard()})});
  Instruction *mt = b.match(f->arg(0), {{p, target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0: variant pattern on a value of type i64", mt);
}

TEST_F(MatchTest, IntLiteralDoesNotFit) {
  Instruction *v = b.cast(Opcode::Trunc, f->arg(1), t.i1());
  Instruction *mt = b.match(v, {{m.makeIntPattern(2), target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0: integer pattern 2 does not fit in i1", mt);
}

TEST_F(MatchTest, TargetParameterCount) {
  auto *p = m.makeVariantPattern(1, {m.makeBind("w"), m.makeBind("h")});
  target->addArg(t.i64());
  Instruction *mt = b.match(f->arg(0), {{p, target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0 binds 2 values, but block 'arm' has 1 parameter", mt);
}

TEST_F(MatchTest, TargetParameterType) {
  auto *p = m.makeVariantPattern(1, {m.makeBind("w"), m.makeBind("h")});
  target->addArg(t.i64());
  target->addArg(t.i64());
  Instruction *mt = b.match(f->arg(0), {{p, target}}, nullptr);
  finish();
  expectOne(*f, "'match' arm 0 binds a value of type i32 to parameter 1 of block 'arm', which has type i64", mt);
}

TEST_F(MatchTest, WholeValueBinding) {
  target->addArg(shapeTy());
  b.match(f->arg(0), {{m.makeBind("s"), target}}, nullptr);
  finish();
  expectValid(*f);
}

TEST_F(MatchTest, ArmEdgeCarriesArguments) {
  Instruction *mt = b.match(f->arg(0), {{m.makeWildcard(), target}}, nullptr);
  mt->setSuccessorArgs(0, {f->arg(1)});
  finish();
  expectOne(*f, "'match' arm 0 passes 1 argument; an arm's target receives the pattern's bindings", mt);
}

TEST_F(MatchTest, DefaultEdgeArguments) {
  Block *other = f->createBlock("other");
  other->addArg(t.i64());
  Instruction *mt = b.match(f->arg(0), {{m.makeVariantPattern(2, {}), target}}, other, {});
  b.setInsertPoint(other);
  b.ret(f->arg(1));
  finish();
  expectOne(*f, "edge to 'other' passes 0 arguments, but the block has 1 parameter", mt);
}

TEST_F(MatchTest, ArmTargetInAnotherFunction) {
  Function *g = fn("g", {}, t.voidTy());
  Block *gb = g->createBlock("elsewhere");
  Instruction *mt = b.match(f->arg(0), {{m.makeWildcard(), gb}}, nullptr);
  finish();
  expectOne(*f, "edge 0 targets block 'elsewhere' of function @g", mt);
}

//===----------------------------------------------------------------------===//
// Modules, reporting, speed
//===----------------------------------------------------------------------===//

TEST_F(VerifierTest, ModuleCollectsErrorsOfEveryFunctionAndPrintsThem) {
  Function *g = fn("g", {t.i64()}, t.i64());
  b.setInsertPoint(g->createBlock("start"));
  b.ret(b.i32(1));
  Function *f = simple();
  Block *empty = f->createBlock();
  b.br(empty);
  std::vector<VerifierError> all;
  EXPECT_FALSE(verifyModule(m, &all));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].function, g);
  EXPECT_EQ(all[1].function, f);
  EXPECT_EQ(all[1].block, empty);

  std::string out;
  llvm::raw_string_ostream os(out);
  printVerifierErrors(os, all);
  EXPECT_EQ(out,
            "error: in function @g, block start: 'ret' value has type i32, but "
            "function @g returns i64\n"
            "  ret 1\n"
            "error: in function @f, block bb0: block has no terminator\n");
}

TEST_F(VerifierTest, PrintedInstructionUsesPrinterNames) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i32(2));
  b.ret(x);
  std::vector<VerifierError> e;
  EXPECT_FALSE(verifyFunction(*f, &e));
  std::string out;
  llvm::raw_string_ostream os(out);
  printVerifierErrors(os, e);
  EXPECT_EQ(out, "error: in function @f, block entry: 'add' operand 1 has type "
                 "i32, expected i64 (the result type)\n"
                 "  %0 = add i64 %a, 2\n");
}

TEST_F(VerifierTest, ReportsEveryErrorNotJustTheFirst) {
  Function *f = simple();
  Instruction *x = b.add(f->arg(0), b.i32(1));
  Instruction *y = b.icmp(ICmpPred::EQ, f->arg(0), b.intConst(t.i8(), 1));
  Instruction *r = b.ret(b.boolean(true));
  auto ms = messages(*f);
  ASSERT_EQ(ms.size(), 3u);
  EXPECT_EQ(errs[0].inst, x);
  EXPECT_EQ(errs[1].inst, y);
  EXPECT_EQ(errs[2].inst, r);
}

TEST_F(VerifierTest, LargeFunctionVerifiesQuickly) {
  // A long chain of blocks, each with arithmetic over block arguments: the
  // check must stay linear (a quadratic verifier takes minutes here).
  Function *f = fn("big", {t.i64()}, t.i64());
  Block *cur = f->createBlock("entry");
  b.setInsertPoint(cur);
  Value *acc = f->arg(0);
  const unsigned blocks = 20000, perBlock = 20;
  for (unsigned k = 0; k < blocks; ++k) {
    for (unsigned j = 0; j < perBlock; ++j)
      acc = b.add(acc, b.i64(j));
    Block *next = f->createBlock();
    BlockArg *p = next->addArg(t.i64());
    Instruction *c = b.icmp(ICmpPred::SLT, acc, f->arg(0));
    b.condBr(c, next, {acc}, next, {f->arg(0)});
    b.setInsertPoint(next);
    acc = p;
  }
  b.ret(acc);
  size_t n = f->instructionCount();
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(verifyFunction(*f));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Generous bound (shared, possibly unoptimised build): 0.5M inst/s.
  EXPECT_LT(secs, n / 500000.0) << n << " instructions in " << secs << " s";
}

} // namespace
