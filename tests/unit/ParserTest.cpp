// Tests of the MIR parser: exact round trips, every diagnostic at its exact
// position, error recovery and limits, and robustness against hostile input
// (deep nesting, random bytes, truncation at every byte, huge lines/literals).
#include "mir/Parser.h"
#include "mir/Printer.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

using namespace qmir;

namespace {

// Every instruction, type form, constant form and item kind, in exactly the
// form the printer writes.
const char *kAllInstructions = R"MIR(source "all.qz"
source "other.qz"
bind #1 "n" scope 1
bind #2 "tmp" scope 2 gensym 1

type Point = {i64, i64}
type Option.i64 = enum { None, Some(i64) }
type Shape = enum { Circle(i64), Rect(i64, i64), Empty }
type Nested = {Point, {i1, i8}, fn(i64) -> i64}

declare fn @qz_println_i64(i64) -> void
declare fn @"odd name"(ptr) -> i32 noreturn

fn @arith(%a: i64 #1, %b: i64) -> i64 {
entry:
  %0 = add i64 %a, %b
  %1 = sub i64 %0, 1
  %2 = mul i64 %1, -3
  %3 = sdiv i64 %2, 7
  %4 = srem i64 %3, 16
  %5 = udiv i64 %4, -1
  %6 = urem i64 %5, 3
  %7 = and i64 %6, 255
  %8 = or i64 %7, 1
  %9 = xor i64 %8, -1
  %10 = shl i64 %9, 2
  %11 = lshr i64 %10, 1
  %12 = ashr i64 %11, 1
  %13 = icmp uge i64 %12, %a
  %14 = select %13, i64 %12, %a
  %15 = trunc i64 %14 to i8
  %16 = zext i8 %15 to i32
  %17 = sext i32 %16 to i64
  %18 = trunc i64 %17 to i1
  %19 = select %18, i8 -1, 127
  call @qz_println_i64(%17)
  ret %17
}

fn @memory(%p: ptr) -> Point {
entry:
  %x = alloca i64, bind #1
  %s = alloca Point
  store i64 42, %x
  %0 = load i64, %x
  %1 = struct.make Point (%0, 2)
  %2 = struct.extract Point %1, 0
  %3 = struct.insert Point %1, 1, %2
  %4 = struct.addr Point %s, 1
  store i64 %2, %4
  store Point %3, %s
  store ptr "hi\n\t\\\"\01", %p
  dbg #2, %0
  dbg #1, 5
  dbg #1, i32 7
  dbg #1, true
  dbg #2, ptr undef
  dbg #2, "str"
  %5 = struct.make {} ()
  %6 = struct.make Nested (%3, undef, undef)
  ret %3
}

fn @enums(%o: Option.i64) -> i64 {
entry:
  %0 = enum.make Option.i64 None
  %1 = enum.make Option.i64 Some(3)
  %2 = enum.tag Option.i64 %o
  %3 = enum.payload Option.i64 %1, Some, 0
  %4 = icmp eq i32 %2, 1
  condbr %4, yes(%3), no
yes(%v: i64 #1):
  ret %v
no:
  switch i32 %2, default other, [0 -> zero, -5 -> other, 7 -> zero]
zero:
  br yes(0)
other:
  panic "no value"
}

fn @matches(%s: Shape, %b: i1, %n: i8) -> i64 {
entry:
  match Shape %s, [Circle(%r) -> circle, Rect(%w, _) -> rect, Rect(_, %w) -> rect, Empty -> empty]
circle(%r: i64):
  match i1 %b, [true -> empty, false -> empty]
rect(%w: i64):
  match i8 %n, [-1 -> empty, 3 -> empty, %k -> byte]
byte(%k: i8):
  switch i1 %b, default empty, [true -> empty]
empty:
  match Shape %s, [Circle(_) -> empty], default fallback(%s)
fallback(%t: Shape):
  unreachable
}

fn @calls() -> void noreturn {
entry:
  %0 = call @"odd name"("x")
  br loop(%0, 0)
loop(%i: i32, %j: i64):
  %1 = add i64 %j, 1 !3:5
  %2 = add i64 %1, 1 !1:3:5
  br loop(%i, %2)
}
)MIR";

const char *kSumFrontend = R"MIR(source "sum.qz"
bind #1 "n" scope 1
bind #2 "i" scope 1
bind #3 "total" scope 1

fn @sum(%n: i64 #1) -> i64 {
entry:
  %i = alloca i64, bind #2
  %total = alloca i64, bind #3
  store i64 0, %i
  store i64 0, %total
  br loop
loop:
  %0 = load i64, %i
  %1 = icmp slt i64 %0, %n
  condbr %1, body, done
body:
  %2 = load i64, %total
  %3 = add i64 %2, %0
  store i64 %3, %total
  %4 = add i64 %0, 1
  store i64 %4, %i
  br loop
done:
  %5 = load i64, %total
  ret %5
}
)MIR";

const char *kArea = R"MIR(type Shape = enum { Circle(i64), Rect(i64, i64), Empty }

fn @area(%s: Shape) -> i64 {
entry:
  match Shape %s, [Circle(%r) -> circle, Rect(%w, %h) -> rect, Empty -> empty]
circle(%r: i64):
  %0 = mul i64 %r, %r
  ret %0
rect(%w: i64, %h: i64):
  %1 = mul i64 %w, %h
  ret %1
empty:
  ret 0
}
)MIR";

struct ParseResult {
  std::unique_ptr<Module> module;
  std::string errors;
};

ParseResult parse(llvm::StringRef text) {
  ParseResult r;
  llvm::raw_string_ostream os(r.errors);
  r.module = parseMIRString(text, os, "t.mir");
  return r;
}

std::string roundTrip(llvm::StringRef text) {
  ParseResult r = parse(text);
  EXPECT_TRUE(r.module) << r.errors;
  if (!r.module)
    return "";
  return moduleToString(*r.module, PrintOptions{true});
}

/// Parses `text`, expecting failure with exactly the given diagnostics
/// (the "t.mir:L:C: error: MSG" lines, in order).
void expectErrors(llvm::StringRef text, std::vector<std::string> want) {
  ParseResult r = parse(text);
  EXPECT_FALSE(r.module) << "parsed unexpectedly:\n" << text.str();
  std::vector<std::string> got;
  llvm::SmallVector<llvm::StringRef, 16> lines;
  llvm::StringRef(r.errors).split(lines, '\n');
  for (llvm::StringRef l : lines)
    if (l.contains("error: "))
      got.push_back(l.str());
  EXPECT_EQ(got, want) << "for input:\n" << text.str() << "\nfull output:\n" << r.errors;
}

void expectOneError(llvm::StringRef text, const std::string &want) {
  expectErrors(text, {want});
}

} // namespace

TEST(Parser, CanonicalTextRoundTripsExactly) {
  EXPECT_EQ(roundTrip(kAllInstructions), kAllInstructions);
  EXPECT_EQ(roundTrip(kSumFrontend), kSumFrontend);
  EXPECT_EQ(roundTrip(kArea), kArea);
}

TEST(Parser, StructureOfParsedModule) {
  ParseResult r = parse(kAllInstructions);
  ASSERT_TRUE(r.module) << r.errors;
  Module &m = *r.module;
  EXPECT_EQ(m.sourceFiles().size(), 2u);
  ASSERT_EQ(m.numBindings(), 2u);
  EXPECT_EQ(m.binding(2).name, "tmp");
  EXPECT_EQ(m.binding(2).gensym, 1u);
  const Type *opt = m.types().named("Option.i64");
  ASSERT_TRUE(opt && opt->isEnum());
  EXPECT_EQ(opt->variants().size(), 2u);
  Function *odd = m.function("odd name");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->isDeclaration());
  EXPECT_TRUE(odd->isNoReturn());

  Function *arith = m.function("arith");
  ASSERT_TRUE(arith);
  EXPECT_EQ(arith->arg(0)->binding(), 1u);
  EXPECT_EQ(arith->arg(0)->name(), "a");
  const Instruction &first = arith->entry()->front();
  EXPECT_EQ(first.opcode(), Opcode::Add);
  EXPECT_EQ(first.operand(0), arith->arg(0));
  EXPECT_EQ(first.operand(1), arith->arg(1));
  // Unnamed values do not keep their number as a name.
  EXPECT_TRUE(first.name().empty());

  Function *enums = m.function("enums");
  Block *entry = enums->entry();
  Instruction *condbr = entry->terminator();
  ASSERT_TRUE(condbr && condbr->opcode() == Opcode::CondBr);
  EXPECT_EQ(condbr->successor(0)->name(), "yes");
  ASSERT_EQ(condbr->successorArgs(0).size(), 1u);
  // A forward edge argument resolved to the value defined before it.
  EXPECT_EQ(condbr->successorArgs(0)[0]->type(), m.types().i64());
  // Switch: default first, then the cases with their values.
  Block *no = condbr->successor(1);
  Instruction *sw = no->terminator();
  ASSERT_EQ(sw->numSuccessors(), 4u);
  EXPECT_TRUE(sw->successors()[0].isDefault);
  EXPECT_EQ(sw->successors()[2].caseValue, -5);

  Function *matches = m.function("matches");
  Instruction *match = matches->entry()->terminator();
  ASSERT_EQ(match->numSuccessors(), 4u);
  const Pattern *rect = match->successors()[1].pattern;
  ASSERT_TRUE(rect);
  EXPECT_EQ(rect->kind, Pattern::Variant);
  EXPECT_EQ(rect->variant, 1u);
  EXPECT_EQ(rect->numBindings(), 1u);

  Function *calls = m.function("calls");
  const Instruction &add = calls->blocks().back().front();
  ASSERT_NE(add.loc(), 0u);
  EXPECT_EQ(m.loc(add.loc()).line, 3u);
  EXPECT_EQ(m.loc(add.loc()).col, 5u);
  const Instruction &add2 = *std::next(calls->blocks().back().insts().begin());
  EXPECT_EQ(m.loc(add2.loc()).file, 1u);
}

TEST(Parser, ForwardReferencesEverywhere) {
  // Functions, types, blocks and values all used before their definitions.
  const char *text = R"MIR(fn @main() -> i64 {
entry:
  %r = call @later(%x)
  %u = alloca Pair
  br next(%r, -5)
next(%a: i64, %b: i8):
  %x = add i64 %a, 1
  ret %x
}

type Pair = {Inner, i64}
type Inner = enum { A, B(i64) }

fn @later(%v: i64) -> i64 {
entry:
  ret %v
}
)MIR";
  ParseResult r = parse(text);
  ASSERT_TRUE(r.module) << r.errors;
  Function *main = r.module->function("main");
  Instruction *br = main->entry()->terminator();
  // An edge constant takes the type of the target's parameter.
  Value *five = br->successorArgs(0)[1];
  EXPECT_EQ(five->type(), r.module->types().i8());
  EXPECT_EQ(cast<ConstInt>(five)->value(), -5);
  // The printer puts types first; the result is stable.
  const char *want = R"MIR(type Pair = {Inner, i64}
type Inner = enum { A, B(i64) }

fn @main() -> i64 {
entry:
  %r = call @later(%x)
  %u = alloca Pair
  br next(%r, -5)
next(%a: i64, %b: i8):
  %x = add i64 %a, 1
  ret %x
}

fn @later(%v: i64) -> i64 {
entry:
  ret %v
}
)MIR";
  EXPECT_EQ(roundTrip(text), want);
  EXPECT_EQ(roundTrip(want), want);
}

TEST(Parser, ValuesAreResolvedAcrossBlocks) {
  const char *text = R"MIR(fn @f(%c: i1) -> i64 {
entry:
  condbr %c, a, b(%late)
a:
  %late = add i64 1, 2
  br b(%late)
b(%p: i64):
  ret %p
}
)MIR";
  ParseResult r = parse(text);
  ASSERT_TRUE(r.module) << r.errors;
  Function *f = r.module->function("f");
  Instruction *br = f->entry()->terminator();
  Block *a = br->successor(0);
  EXPECT_EQ(br->successorArgs(1)[0], &a->front());
  EXPECT_EQ(a->front().numUses(), 2u);
  EXPECT_EQ(roundTrip(text), text);
}

TEST(Parser, LiteralForms) {
  const char *text = R"MIR(fn @f() -> i64 {
entry:
  %0 = add i64 0xff, -0x10
  %1 = add i64 18446744073709551615, -9223372036854775808
  %2 = add i8 255, -128
  %3 = add i1 1, 0
  %4 = add i32 4294967295, 0
  ret %0
}
)MIR";
  ParseResult r = parse(text);
  ASSERT_TRUE(r.module) << r.errors;
  auto it = r.module->function("f")->entry()->insts().begin();
  auto val = [&](unsigned k) { return cast<ConstInt>(it->operand(k))->value(); };
  EXPECT_EQ(val(0), 255);
  EXPECT_EQ(val(1), -16);
  ++it;
  EXPECT_EQ(val(0), -1);
  EXPECT_EQ(val(1), INT64_MIN);
  ++it;
  EXPECT_EQ(val(0), -1); // i8 255 is stored sign-extended
  EXPECT_EQ(val(1), -128);
  ++it;
  EXPECT_EQ(val(0), 1);
  ++it;
  EXPECT_EQ(val(0), -1);
  std::string once = roundTrip(text);
  EXPECT_NE(once.find("%2 = add i8 -1, -128"), std::string::npos) << once;
  EXPECT_NE(once.find("%3 = add i1 true, false"), std::string::npos) << once;
  EXPECT_EQ(roundTrip(once), once);
}

TEST(Parser, StringEscapes) {
  ParseResult r = parse("fn @f(%p: ptr) -> void {\nentry:\n"
                        "  store ptr \"a\\n\\t\\\\\\\"\\7f\\00z\", %p\n  ret\n}\n");
  ASSERT_TRUE(r.module) << r.errors;
  const Instruction &st = r.module->function("f")->entry()->front();
  auto *s = cast<ConstString>(st.operand(0));
  EXPECT_EQ(s->text(), llvm::StringRef("a\n\t\\\"\x7f\0z", 8));
}

TEST(Parser, RetOperandOnlyOnSameLine) {
  const char *text = "fn @f() -> void {\nentry:\n  ret\n}\n";
  EXPECT_EQ(roundTrip(text), text);
}

TEST(Parser, SourceMapRecordsDefinitions) {
  const char *text = "fn @f() -> i64 {\nentry:\n  %x = add i64 1, 2\n  ret %x\n}\n";
  llvm::SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(text, "m.mir"),
                                      llvm::SMLoc());
  MIRSourceMap map;
  std::string errs;
  llvm::raw_string_ostream eos(errs);
  auto m = parseMIR(sm, id, eos, &map);
  ASSERT_TRUE(m) << errs;
  Function *f = m->function("f");
  auto lc = [&](const void *p) {
    llvm::SMLoc l = map.lookup(p);
    EXPECT_TRUE(l.isValid());
    auto [line, col] = sm.getLineAndColumn(l, id);
    return std::make_pair(line, col);
  };
  EXPECT_EQ(lc(f), std::make_pair(1u, 4u));
  EXPECT_EQ(lc(f->entry()), std::make_pair(2u, 1u));
  EXPECT_EQ(lc(&f->entry()->front()), std::make_pair(3u, 3u));
  EXPECT_EQ(lc(&f->entry()->back()), std::make_pair(4u, 3u));
  EXPECT_FALSE(map.lookup(m.get()).isValid());
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

TEST(ParserErrors, TopLevel) {
  expectOneError("type Point = {i64}\ntype Point = {i64}\n",
                 "t.mir:2:6: error: redefinition of type 'Point'");
  expectOneError("type i64 = {i64}\n", "t.mir:1:6: error: 'i64' is a reserved name");
  expectOneError("type T = {Nope}\n", "t.mir:1:11: error: unknown type 'Nope'");
  expectOneError("type T = {i64, T}\n",
                 "t.mir:1:6: error: type 'T' contains itself (use a ptr to refer to it)");
  expectOneError("type A = {B}\ntype B = enum { X(A) }\n",
                 "t.mir:1:6: error: type 'A' contains itself (use a ptr to refer to it)");
  expectOneError("type E = enum { X, X }\n", "t.mir:1:20: error: duplicate variant 'X'");
  expectOneError("type T = {void}\n", "t.mir:1:11: error: a struct field cannot have type void");
  expectOneError("bind #2 \"x\" scope 1\n",
                 "t.mir:1:6: error: expected binding #1 (bindings are numbered in order from #1)");
  expectOneError("bind #1 \"x\" scope 4294967296\n",
                 "t.mir:1:19: error: integer literal out of range");
  expectOneError("source \"a\"\nsource \"a\"\n", "t.mir:2:8: error: duplicate source file 'a'");
  expectOneError("source \"a\" junk\n", "t.mir:1:12: error: expected end of line, found 'junk'");
  expectOneError("declare fn @f() -> void\ndeclare fn @f() -> void\n",
                 "t.mir:2:12: error: redefinition of function '@f'");
  expectOneError("hello world\n",
                 "t.mir:1:1: error: expected a top-level item ('source', 'bind', "
                 "'type', 'declare', 'actor' or 'fn')");
  expectOneError("fn @f(%a: i64 #3) -> void {\nentry:\n  ret\n}\n",
                 "t.mir:1:15: error: use of undefined binding '#3'");
  expectOneError("fn @f() -> void {\n}\n",
                 "t.mir:1:17: error: a function body needs at least one block");
  expectOneError("fn @f() -> void {\nentry:\n  ret\n",
                 "t.mir:4:1: error: expected '}' at the end of the body of '@f'");
  expectOneError("fn @f() -> void {\n  ret\n}\n", "t.mir:2:3: error: expected a block label");
}

TEST(ParserErrors, Lexical) {
  auto body = [](const std::string &inst) {
    return "fn @f(%p: ptr) -> void {\nentry:\n  " + inst + "\n  ret\n}\n";
  };
  expectOneError(body("store ptr \"abc, %p"),
                 "t.mir:3:13: error: unterminated string literal");
  expectOneError(body("store ptr \"a\\qb\", %p"),
                 "t.mir:3:15: error: invalid escape sequence (use \\n, \\t, \\\\, \\\" "
                 "or \\xx with two hex digits)");
  expectOneError(body("%1x = add i64 1, 2"),
                 "t.mir:3:3: error: invalid value name (a name is an identifier or a number)");
  expectOneError(body("%x = add i64 12ab, 2"), "t.mir:3:16: error: invalid integer literal");
  expectOneError(body("%x = add i64 $, 2"), "t.mir:3:16: error: unexpected character '$'");
  expectOneError(body("%x = add i64 \x01, 2"), "t.mir:3:16: error: unexpected byte 0x01");
  expectOneError(body("%x = add i64 0x, 2"), "t.mir:3:16: error: expected hex digits after '0x'");
}

TEST(ParserErrors, Instructions) {
  auto body = [](const std::string &inst) {
    return "type P = {i64, i64}\ntype E = enum { A, B(i64) }\n"
           "declare fn @g(i64) -> i64\n"
           "fn @f(%p: ptr, %e: E, %s: P) -> i64 {\nentry:\n  " +
           inst + "\n  ret 0\n}\n";
  };
  expectOneError(body("%x = add i64 %p, 99999999999999999999"),
                 "t.mir:6:20: error: integer literal out of range");
  expectOneError(body("%x = add i8 1, 256"),
                 "t.mir:6:18: error: integer literal out of range for i8");
  expectOneError(body("%x = add i8 1, -129"),
                 "t.mir:6:18: error: integer literal out of range for i8");
  expectOneError(body("%x = add i1 1, 2"),
                 "t.mir:6:18: error: integer literal out of range for i1");
  expectOneError(body("store i64 1, 5"),
                 "t.mir:6:16: error: integer literal cannot have type ptr");
  expectOneError(body("store i64 \"s\", %p"),
                 "t.mir:6:13: error: string literal cannot have type i64");
  expectOneError(body("%c = select true, i64 false, 1"),
                 "t.mir:6:25: error: 'false' cannot have type i64");
  expectOneError(body("%x = frob i64 1"), "t.mir:6:8: error: unknown instruction 'frob'");
  expectOneError(body("%x = icmp lt i64 1, 2"),
                 "t.mir:6:13: error: expected a predicate (eq ne slt sle sgt sge ult "
                 "ule ugt uge), found 'lt'");
  expectOneError(body("%x = add i64 %nope, 1"),
                 "t.mir:6:16: error: use of undefined value '%nope'");
  expectOneError(body("%p = add i64 1, 1"), "t.mir:6:3: error: redefinition of value '%p'");
  expectOneError(body("%x = store i64 1, %p"),
                 "t.mir:6:3: error: 'store' does not produce a value to name");
  expectOneError(body("%x = call @h()"), "t.mir:6:13: error: use of undefined function '@h'");
  expectOneError(body("%x = call @g(1, 2)"),
                 "t.mir:6:15: error: '@g' takes 1 argument(s), got 2");
  expectOneError(body("%x = struct.make P (1)"),
                 "t.mir:6:22: error: struct.make of P needs 2 field value(s), got 1");
  expectOneError(body("%x = struct.make E (1)"),
                 "t.mir:6:20: error: struct.make needs a struct type, not E");
  expectOneError(body("%x = struct.extract P %s, 2"),
                 "t.mir:6:29: error: field index 2 out of range for P (2 fields)");
  expectOneError(body("%x = enum.make E C"), "t.mir:6:20: error: enum E has no variant 'C'");
  expectOneError(body("%x = enum.make E B"),
                 "t.mir:6:20: error: variant 'B' has 1 payload field(s), got 0");
  expectOneError(body("%x = enum.payload E %e, B, 1"),
                 "t.mir:6:30: error: field index 1 out of range for variant 'B' (1 payload fields)");
  expectOneError(body("%x = alloca i64, bind #1"),
                 "t.mir:6:25: error: use of undefined binding '#1'");
  expectOneError(body("dbg #1, %p"), "t.mir:6:7: error: use of undefined binding '#1'");
  expectOneError(body("%x = add i64 1, 2 %y"),
                 "t.mir:6:21: error: expected end of line, found '%y'");
  expectOneError(body("%x = add i64 1, 2 !1:2:3"),
                 "t.mir:6:22: error: source file 1 is not declared (there are 0 'source' lines)");
  expectOneError(body("br nowhere"), "t.mir:6:6: error: use of undefined block 'nowhere'");
  expectOneError(body("br entry(1)"), "t.mir:6:6: error: block 'entry' takes 0 argument(s), got 1");
  expectOneError(body("ret\nentry:\n  ret 0"), "t.mir:7:1: error: redefinition of block 'entry'");
  expectOneError(body("match E %e, [B(%a, %b) -> entry]"),
                 "t.mir:6:22: error: variant 'B' has 1 payload field(s)");
  expectOneError(body("match E %e, [B(%a) -> entry]"),
                 "t.mir:6:25: error: block 'entry' has 0 parameter(s) but the pattern binds 1 value(s)");
  expectOneError(body("match i64 1, [A -> entry]"),
                 "t.mir:6:17: error: a variant pattern cannot match type i64");
  expectOneError(body("switch P %s, default entry, [1 -> entry]"),
                 "t.mir:6:32: error: switch needs an integer type, not P");
  expectOneError(body("dbg #0, undef"), "t.mir:6:7: error: use of undefined binding '#0'");
}

TEST(ParserErrors, RecoversAtNextLineAndReportsAll) {
  expectErrors("fn @f() -> i64 {\nentry:\n"
               "  %a = add i64 1, %nope\n"
               "  %b = bogus\n"
               "  %c = add i64 %b, 1\n" // %b failed: no cascade error
               "  %d = add i8 1000, 1\n"
               "  ret %c\n}\n"
               "junk\n"
               "fn @g() -> i64 {\nentry:\n  ret %zz\n}\n",
               {"t.mir:3:19: error: use of undefined value '%nope'",
                "t.mir:4:8: error: unknown instruction 'bogus'",
                "t.mir:6:15: error: integer literal out of range for i8",
                "t.mir:9:1: error: expected a top-level item ('source', 'bind', "
                "'type', 'declare', 'actor' or 'fn')",
                "t.mir:12:7: error: use of undefined value '%zz'"});
}

TEST(ParserErrors, StopsAfterTwentyErrors) {
  std::string text = "fn @f() -> void {\nentry:\n";
  for (int i = 0; i < 50; ++i)
    text += "  bogus\n";
  text += "  ret\n}\n";
  ParseResult r = parse(text);
  EXPECT_FALSE(r.module);
  size_t n = 0;
  for (size_t p = 0; (p = r.errors.find("error: unknown instruction", p)) != std::string::npos; ++p)
    ++n;
  EXPECT_EQ(n, 20u);
  EXPECT_NE(r.errors.find("error: too many errors, stopping now"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Hostile input
//===----------------------------------------------------------------------===//

TEST(ParserRobustness, DeepNestingIsAnError) {
  for (const char *prefix : {"type T = ", "fn @f() -> void {\nentry:\n  %x = alloca ",
                             "declare fn @f() -> "}) {
    std::string text = prefix + std::string(100000, '{');
    ParseResult r = parse(text);
    EXPECT_FALSE(r.module);
    EXPECT_NE(r.errors.find("error: nesting too deep"), std::string::npos) << prefix;
  }
  std::string fnTypes = "type T = {";
  for (int i = 0; i < 100000; ++i)
    fnTypes += "fn(";
  EXPECT_NE(parse(fnTypes).errors.find("nesting too deep"), std::string::npos);
  // Patterns nest through variants.
  std::string pat = "type E = enum { A(E2), B }\ntype E2 = enum { C(i64) }\n"
                    "fn @f(%e: E) -> void {\nentry:\n  match E %e, [";
  for (int i = 0; i < 100000; ++i)
    pat += "A(";
  ParseResult r = parse(pat);
  EXPECT_FALSE(r.module);
  // 256 levels of nesting are fine.
  std::string ok = "type T = " + std::string(200, '{') + std::string(200, '}') + "\n";
  EXPECT_TRUE(parse(ok).module) << parse(ok).errors;
}

TEST(ParserRobustness, LongChainsOfTypesDoNotRecurse) {
  // A chain of 100,000 named types, each containing the next, is checked for
  // cycles without recursion.
  std::string text;
  for (int i = 0; i < 100000; ++i)
    text += "type T" + std::to_string(i) + " = {T" + std::to_string(i + 1) + "}\n";
  text += "type T100000 = {T0}\n";
  ParseResult r = parse(text);
  EXPECT_FALSE(r.module);
  EXPECT_NE(r.errors.find("contains itself"), std::string::npos);
}

TEST(ParserRobustness, RandomBytes) {
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 300; ++iter) {
    std::string text(1 + rng() % 2000, '\0');
    for (char &c : text)
      c = static_cast<char>(rng());
    ParseResult r = parse(text);
    if (r.module)
      EXPECT_TRUE(r.errors.empty());
    else
      EXPECT_NE(r.errors.find("error: "), std::string::npos);
  }
  // Random tokens of the language: the parser's deeper paths.
  const char *words[] = {"fn", "@f", "(", ")", "{", "}", "[", "]", "->", "i64", "%x",
                         "%0", ":", ",", "=", "entry", "\n", "add", "ret", "br",
                         "match", "switch", "type", "enum", "declare", "1", "-1",
                         "\"s\"", "#1", "!", "bind", "source", "_", "undef", "call",
                         "struct.make", "default", "condbr", "true"};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string text;
    unsigned n = 1 + rng() % 60;
    for (unsigned k = 0; k < n; ++k) {
      text += words[rng() % (sizeof(words) / sizeof(words[0]))];
      text += ' ';
    }
    ParseResult r = parse(text);
    EXPECT_EQ(r.module == nullptr, !r.errors.empty()) << text;
  }
}

TEST(ParserRobustness, TruncationAtEveryByte) {
  std::string full = kAllInstructions;
  for (size_t n = 0; n <= full.size(); ++n) {
    ParseResult r = parse(llvm::StringRef(full).take_front(n));
    // Either an error, or a module (when cut at an item boundary) that
    // prints and re-parses.
    if (r.module) {
      std::string once = moduleToString(*r.module);
      EXPECT_EQ(roundTrip(once), once) << "cut at " << n;
    } else {
      EXPECT_NE(r.errors.find("error: "), std::string::npos);
    }
  }
}

TEST(ParserRobustness, HugeLinesAndLiterals) {
  std::string ident(10 << 20, 'a');
  ParseResult r = parse(ident);
  EXPECT_FALSE(r.module);
  // Messages quote at most 64 characters of the offending token.
  EXPECT_LT(r.errors.size(), 1000u);
  std::string digits = "fn @f() -> i64 {\nentry:\n  ret " + std::string(10 << 20, '9') + "\n}\n";
  r = parse(digits);
  EXPECT_NE(r.errors.find("integer literal out of range"), std::string::npos);
  std::string str = "fn @f(%p: ptr) -> void {\nentry:\n  store ptr \"" +
                    std::string(10 << 20, 'x') + "\", %p\n  ret\n}\n";
  r = parse(str);
  ASSERT_TRUE(r.module) << r.errors.substr(0, 500);
  EXPECT_EQ(cast<ConstString>(r.module->function("f")->entry()->front().operand(0))
                ->text()
                .size(),
            size_t(10 << 20));
  EXPECT_TRUE(parse("").module);
  EXPECT_TRUE(parse("; only a comment").module);
}

TEST(ParserRobustness, LargeModuleRoundTrips) {
  // 200,000 instructions; mostly a check that nothing is quadratic.
  std::string text = "fn @big(%a: i64) -> i64 {\nentry:\n";
  std::string prev = "%a";
  for (int i = 0; i < 200000; ++i) {
    std::string v = "%" + std::to_string(i);
    text += "  " + v + " = add i64 " + prev + ", " + std::to_string(i) + "\n";
    prev = v;
  }
  text += "  ret " + prev + "\n}\n";
  EXPECT_EQ(roundTrip(text), text);
}
