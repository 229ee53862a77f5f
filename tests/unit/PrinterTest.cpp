// Tests of the MIR printer on modules built with the Builder: names that
// collide or are not identifiers, unnamed values and blocks, bindings,
// locations, patterns; and that print(parse(print(m))) == print(m).
#include "mir/Builder.h"
#include "mir/Parser.h"
#include "mir/Printer.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace qmir;

namespace {

/// Prints `m`, parses the text back and checks that it prints identically.
std::string printStable(const Module &m, PrintOptions opts = {}) {
  std::string once = moduleToString(m, opts);
  std::string errs;
  llvm::raw_string_ostream eos(errs);
  auto back = parseMIRString(once, eos);
  EXPECT_TRUE(back) << errs << "\nin:\n" << once;
  if (back) {
    EXPECT_EQ(moduleToString(*back, opts), once);
  }
  return once;
}

} // namespace

TEST(Printer, NamesAreMadeUniqueAndValid) {
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({t.i64(), t.i64()}, t.i64()));
  f->arg(0)->setName("x");
  f->arg(1)->setName("x"); // a second `x`
  Builder b(m);
  Block *entry = f->createBlock("entry");
  Block *other = f->createBlock("entry"); // duplicate label
  Block *anon = f->createBlock();
  Block *fake = f->createBlock("bb0"); // looks like an unnamed one
  b.setInsertPoint(entry);
  Instruction *a = b.add(f->arg(0), f->arg(1));
  a->setName("x.1"); // collides with the suffix the second arg got
  Instruction *c = b.add(a, b.i64(1));
  c->setName("has space");
  Instruction *d = b.add(c, b.i64(2));
  d->setName("7"); // all digits: numbered like an unnamed value
  Instruction *e = b.add(d, b.i64(3));
  e->setName("9lives");
  b.br(other);
  b.setInsertPoint(other);
  b.br(anon);
  b.setInsertPoint(anon);
  b.br(fake);
  b.setInsertPoint(fake);
  b.ret(e);
  std::string text = printStable(m);
  EXPECT_EQ(text, R"(fn @f(%x: i64, %x.1: i64) -> i64 {
entry:
  %x.1.1 = add i64 %x, %x.1
  %has_space = add i64 %x.1.1, 1
  %0 = add i64 %has_space, 2
  %_9lives = add i64 %0, 3
  br entry.1
entry.1:
  br bb0
bb0:
  br bb1
bb1:
  ret %_9lives
}
)");
}

TEST(Printer, EveryConstructFromTheBuilder) {
  Module m;
  TypeContext &t = m.types();
  m.addSourceFile("a.qz");
  m.addSourceFile("b.qz");
  BindingId bx = m.addBinding("x", 1, 0);
  BindingId by = m.addBinding("x", 2, 3); // same spelling, another variable
  const Type *pair = t.createNamedStruct("Pair");
  t.setStructBody(pair, {t.i64(), t.i1()});
  const Type *opt = t.createNamedEnum("Opt");
  const Type *payload[] = {pair};
  t.setEnumBody(opt, {EnumVariant{"None", {}}, EnumVariant{"Some", payload}});
  Function *print = m.createFunction("qz_println_i64", t.function({t.i64()}, t.voidTy()));
  (void)print;
  Function *f = m.createFunction("main", t.function({opt}, t.i64()));
  Builder b(m);
  Block *entry = f->createBlock("entry");
  Block *some = f->createBlock("some");
  BlockArg *p = some->addArg(pair, "p");
  p->setBinding(by);
  Block *none = f->createBlock();
  b.setInsertPoint(entry);
  b.setLoc(m.addLoc({0, 3, 7}));
  Instruction *slot = b.alloc(t.i64(), bx);
  b.setLoc(m.addLoc({1, 4, 1}));
  b.store(b.i64(-5), slot);
  b.setLoc(0);
  b.dbgValue(bx, b.i32(7));
  b.dbgValue(by, m.undef(t.ptr()));
  b.call(print, {b.i64(1)});
  const Pattern *fields[] = {m.makeBind("whatever")};
  Builder::MatchArm arms[] = {{m.makeVariantPattern(1, fields), some}};
  b.match(f->arg(0), arms, none);
  b.setInsertPoint(some);
  Instruction *v = b.structExtract(p, 0);
  Instruction *flag = b.structExtract(p, 1);
  Instruction *wide = b.cast(Opcode::ZExt, flag, t.i64());
  Instruction *sum = b.add(v, wide);
  b.switchOn(b.i64(2), none, {}, {{1, none, {}}, {2, none, {}}});
  (void)sum;
  b.setInsertPoint(none);
  b.panic("bad \"input\"\n\x01");
  std::string text = printStable(m, PrintOptions{true});
  EXPECT_EQ(text, R"(source "a.qz"
source "b.qz"
bind #1 "x" scope 1
bind #2 "x" scope 2 gensym 3

type Pair = {i64, i1}
type Opt = enum { None, Some(Pair) }

declare fn @qz_println_i64(i64) -> void

fn @main(%0: Opt) -> i64 {
entry:
  %x = alloca i64, bind #1 !3:7
  store i64 -5, %x !1:4:1
  dbg #1, i32 7
  dbg #2, ptr undef
  call @qz_println_i64(1)
  match Opt %0, [Some(%p) -> some], default bb0
some(%p: Pair #2):
  %1 = struct.extract Pair %p, 0
  %2 = struct.extract Pair %p, 1
  %3 = zext i1 %2 to i64
  %4 = add i64 %1, %3
  switch i64 2, default bb0, [1 -> bb0, 2 -> bb0]
bb0:
  panic "bad \"input\"\n\01"
}
)");
  // Without printLocs, no locations.
  EXPECT_EQ(moduleToString(m).find(" !"), std::string::npos);
}

TEST(Printer, PrintInstructionUsesFunctionNames) {
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({t.i64()}, t.i64()));
  Builder b(m);
  b.setInsertPoint(f->createBlock());
  Instruction *a = b.add(f->arg(0), b.i64(1));
  Instruction *c = b.mul(a, a);
  c->setName("sq");
  Instruction *r = b.ret(c);
  std::string s;
  llvm::raw_string_ostream os(s);
  printInstruction(os, *a);
  os << '|';
  printInstruction(os, *r);
  SlotNames names(*f);
  os << '|' << names.valueName(c) << '|' << names.blockName(f->entry());
  EXPECT_EQ(s, "%1 = add i64 %0, 1|ret %sq|%sq|bb0");
  // Each printed instruction is a line of printFunction.
  std::string fn = functionToString(*f);
  EXPECT_NE(fn.find("  %1 = add i64 %0, 1\n"), std::string::npos) << fn;
}

TEST(Printer, BrokenIRPrintsWithoutCrashing) {
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({t.i64()}, t.i64()));
  Function *g = m.createFunction("g", t.function({t.i64()}, t.i64()));
  Builder b(m);
  b.setInsertPoint(f->createBlock());
  Instruction *x = b.add(f->arg(0), f->arg(0));
  Instruction *dangling = b.add(x, x);
  b.setInsertPoint(g->createBlock("entry"));
  Instruction *foreign = b.add(f->arg(0), x); // values of another function
  b.ret(nullptr);
  dangling->removeFromParent();
  b.setInsertPoint(f->entry());
  Instruction *user = b.add(dangling, b.i64(1));
  std::string s = moduleToString(m);
  EXPECT_NE(s.find("%<foreign:#0>"), std::string::npos) << s;
  EXPECT_NE(s.find("%<detached:"), std::string::npos) << s;
  std::string one;
  llvm::raw_string_ostream os(one);
  printInstruction(os, *dangling); // not in any function
  EXPECT_NE(one.find("add i64"), std::string::npos);
  (void)foreign;
  (void)user;
}

TEST(Printer, QuotedNamesAndStrings) {
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("with space", t.function({}, t.voidTy()));
  Builder b(m);
  b.setInsertPoint(f->createBlock("entry"));
  b.ret();
  Function *g = m.createFunction("caller", t.function({t.ptr()}, t.voidTy()));
  b.setInsertPoint(g->createBlock("entry"));
  b.call(f, {});
  b.store(b.str(llvm::StringRef("\0\xff\t", 3)), g->arg(0));
  b.ret();
  std::string text = printStable(m);
  EXPECT_NE(text.find("fn @\"with space\"() -> void {"), std::string::npos) << text;
  EXPECT_NE(text.find("call @\"with space\"()"), std::string::npos) << text;
  EXPECT_NE(text.find("store ptr \"\\00\\ff\\t\", %0"), std::string::npos) << text;
}

TEST(Printer, GeneratedModuleIsStable) {
  // A larger module with many blocks and edges, built programmatically.
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("loop", t.function({t.i64()}, t.i64()));
  Builder b(m);
  Block *entry = f->createBlock("entry");
  std::vector<Block *> blocks;
  for (int i = 0; i < 50; ++i) {
    Block *blk = f->createBlock(i % 3 ? "" : "l");
    blk->addArg(t.i64(), i % 2 ? "acc" : "");
    blocks.push_back(blk);
  }
  b.setInsertPoint(entry);
  b.br(blocks[0], {f->arg(0)});
  for (int i = 0; i < 50; ++i) {
    b.setInsertPoint(blocks[i]);
    Instruction *v = b.add(blocks[i]->arg(0), b.i64(i));
    if (i + 1 < 50) {
      Instruction *c = b.icmp(ICmpPred::SLT, v, b.i64(100));
      b.condBr(c, blocks[i + 1], {v}, blocks[0], {b.i64(0)});
    } else {
      b.ret(v);
    }
  }
  std::string text = printStable(m);
  EXPECT_NE(text.find("l.1(%acc.1: i64):"), std::string::npos) << text;
}
