// Unit tests for the Quartz core lexer and parser: the precedence table of
// language.md, statements and modifiers, match and patterns, scopes, source
// ranges, diagnostics with recovery, and robustness against hostile input
// (truncated programs, random bytes, extreme nesting, huge lines).
#include "frontend/Diagnostics.h"
#include "frontend/Lexer.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using namespace qmir;
using namespace qmir::ast;
using namespace qmir::frontend;

namespace {

/// Owns everything one parse needs; diagnostics go to `errs`.
struct Parse {
  explicit Parse(llvm::StringRef text, llvm::StringRef name = "t.qz",
                 bool expand = false)
      : os(errs) {
    id = sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, name),
                               llvm::SMLoc());
    diags = std::make_unique<DiagEngine>(sm, id, os);
    m = parseQuartz(ctx, *diags);
    if (expand && !diags->errorCount())
      expandMacros(ctx, *m, *diags);
    os.flush();
  }
  unsigned errors() const { return diags->errorCount(); }
  std::string dump() {
    std::string s;
    llvm::raw_string_ostream o(s);
    ast::dump(o, *m);
    return s;
  }
  FuncDecl *func(size_t i = 0) { return static_cast<FuncDecl *>(m->decls[i]); }

  llvm::SourceMgr sm;
  unsigned id = 0;
  std::string errs;
  llvm::raw_string_ostream os;
  AstContext ctx;
  std::unique_ptr<DiagEngine> diags;
  Module *m = nullptr;
};

const char *opStr(Expr::Op op) {
  switch (op) {
  case Expr::Add: return "+";
  case Expr::Sub: return "-";
  case Expr::Mul: return "*";
  case Expr::Div: return "/";
  case Expr::Rem: return "%";
  case Expr::Eq: return "==";
  case Expr::Ne: return "!=";
  case Expr::Lt: return "<";
  case Expr::Le: return "<=";
  case Expr::Gt: return ">";
  case Expr::Ge: return ">=";
  case Expr::And: return "and";
  case Expr::Or: return "or";
  case Expr::Neg: return "neg";
  case Expr::Not: return "not";
  default: return "?";
  }
}

/// A one-line S-expression, independent of ast::dump, for precise asserts.
std::string sx(const Expr *e) {
  if (!e)
    return "null";
  std::string s;
  auto args = [&](llvm::ArrayRef<Expr *> as) {
    for (const Expr *a : as)
      s += " " + sx(a);
  };
  switch (e->kind) {
  case Expr::IntLit: return std::to_string(e->intValue);
  case Expr::BoolLit: return e->intValue ? "true" : "false";
  case Expr::StringLit: return "\"" + e->text.str() + "\"";
  case Expr::Name: return e->name.spelling.str();
  case Expr::Unary: return std::string("(") + opStr(e->op) + " " + sx(e->lhs) + ")";
  case Expr::Binary:
    return std::string("(") + opStr(e->op) + " " + sx(e->lhs) + " " + sx(e->rhs) + ")";
  case Expr::Call: s = "(call " + e->name.spelling.str(); args(e->args); return s + ")";
  case Expr::MethodCall:
    s = "(method " + e->name.spelling.str() + " " + sx(e->lhs);
    args(e->args);
    return s + ")";
  case Expr::Field: return "(field " + e->name.spelling.str() + " " + sx(e->lhs) + ")";
  case Expr::Index: return "(index " + sx(e->lhs) + " " + sx(e->rhs) + ")";
  case Expr::EnumCtor:
    s = "(ctor " + (e->qualifier.empty() ? "" : e->qualifier.str() + "::") +
        e->name.spelling.str();
    args(e->args);
    return s + ")";
  case Expr::StructLit:
    s = "(struct " + e->name.spelling.str();
    for (size_t i = 0; i < e->args.size(); ++i)
      s += " " + e->fieldNames[i].spelling.str() + ":" + sx(e->args[i]);
    return s + ")";
  case Expr::Match: return std::string("(match ") + sx(e->lhs) + " ...)";
  case Expr::Do: return "(do " + std::to_string(e->stmts.size()) + " " + sx(e->rhs) + ")";
  case Expr::MacroCall:
    s = "(" + e->name.spelling.str() + (e->postfix ? "!" : "");
    args(e->args);
    return s + ")";
  case Expr::Spawn: return "(spawn " + sx(e->lhs) + ")";
  }
  return "?";
}

/// Parses `e` as the value of `x = e` and returns it as an S-expression.
std::string parseExpr(const std::string &e) {
  Parse p("def f()\n  x = " + e + "\nend\n");
  EXPECT_EQ(p.errors(), 0u) << e << "\n" << p.errs;
  if (p.errors() || p.m->decls.empty() || p.func()->body.size() != 1)
    return "<error>";
  Stmt *s = p.func()->body[0];
  EXPECT_EQ(s->kind, Stmt::Assign);
  return sx(s->value);
}

/// The first diagnostic line ("t.qz:L:C: error: ...") of a bad program.
std::string firstError(const std::string &text) {
  Parse p(text);
  EXPECT_GT(p.errors(), 0u) << text;
  return p.errs.substr(0, p.errs.find('\n'));
}

TEST(QuartzParser, Precedence) {
  EXPECT_EQ(parseExpr("not a == b"), "(not (== a b))");
  EXPECT_EQ(parseExpr("!a == b"), "(== (not a) b)");
  EXPECT_EQ(parseExpr("a or b and c"), "(or a (and b c))");
  EXPECT_EQ(parseExpr("a || b && not c"), "(or a (and b (not c)))");
  EXPECT_EQ(parseExpr("not a and b"), "(and (not a) b)");
  EXPECT_EQ(parseExpr("1 + 2 * 3 - 4"), "(- (+ 1 (* 2 3)) 4)");
  EXPECT_EQ(parseExpr("a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(parseExpr("a / b % c"), "(% (/ a b) c)");
  EXPECT_EQ(parseExpr("-x * y"), "(* (neg x) y)");
  EXPECT_EQ(parseExpr("-7 / 2"), "(/ -7 2)");
  EXPECT_EQ(parseExpr("- -x"), "(neg (neg x))");
  EXPECT_EQ(parseExpr("(1 + 2) * 3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(parseExpr("a + b < c * d"), "(< (+ a b) (* c d))");
  EXPECT_EQ(parseExpr("a.b.c(1)[2]!"),
            "($unwrap! (index (method c (field b a) 1) 2))");
  EXPECT_EQ(parseExpr("x!!"), "($unwrap! ($unwrap! x))");
  EXPECT_EQ(parseExpr("!x!"), "(not ($unwrap! x))");
  EXPECT_EQ(parseExpr("done.recv()! + done.recv()!"),
            "(+ ($unwrap! (method recv done)) ($unwrap! (method recv done)))");
  EXPECT_EQ(parseExpr("a != b"), "(!= a b)");
  EXPECT_EQ(firstError("def f()\n  x = a >= b == true\nend\n"),
            "t.qz:2:14: error: comparison operators cannot be chained; use "
            "'and' to combine comparisons");
  EXPECT_EQ(parseExpr("(a >= b) == true"), "(== (>= a b) true)");
}

TEST(QuartzParser, Literals) {
  EXPECT_EQ(parseExpr("1_000"), "1000");
  EXPECT_EQ(parseExpr("0xff"), "255");
  EXPECT_EQ(parseExpr("0x7fff_ffff_ffff_ffff"), "9223372036854775807");
  EXPECT_EQ(parseExpr("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(parseExpr("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(parseExpr("true"), "true");
  EXPECT_EQ(parseExpr("\"a\\n\\t\\\"\\\\\""), "\"a\n\t\"\\\"");
  EXPECT_EQ(parseExpr("\"plain\""), "\"plain\"");
  EXPECT_EQ(firstError("def f()\n  x = 9223372036854775808\nend\n"),
            "t.qz:2:7: error: integer literal out of range");
  EXPECT_EQ(firstError("def f()\n  x = 0x1_0000_0000_0000_0000\nend\n"),
            "t.qz:2:7: error: integer literal out of range");
  EXPECT_EQ(firstError("def f()\n  x = 12ab\nend\n"),
            "t.qz:2:7: error: invalid digit 'a' in integer literal");
  EXPECT_EQ(firstError("def f()\n  x = \"abc\nend\n"),
            "t.qz:2:7: error: unterminated string literal");
  EXPECT_EQ(firstError("def f()\n  x = \"a\\qb\"\nend\n"),
            "t.qz:2:9: error: unknown escape sequence in string literal");
}

TEST(QuartzParser, Constructors) {
  EXPECT_EQ(parseExpr("Option::Some(1)"), "(ctor Option::Some 1)");
  EXPECT_EQ(parseExpr("Option::None"), "(ctor Option::None)");
  EXPECT_EQ(parseExpr("Some(x)"), "(ctor Some x)");
  EXPECT_EQ(parseExpr("None"), "(ctor None)");
  EXPECT_EQ(parseExpr("Shape::Rect(1, 2)"), "(ctor Shape::Rect 1 2)");
  EXPECT_EQ(parseExpr("Shape::Empty"), "(ctor Shape::Empty)");
  EXPECT_EQ(parseExpr("Point { x: 1, y: 2 }"), "(struct Point x:1 y:2)");
  EXPECT_EQ(parseExpr("Point {\n x: 1,\n y: 2,\n}"), "(struct Point x:1 y:2)");
  EXPECT_EQ(parseExpr("Counter()"), "(call Counter)");
  EXPECT_EQ(parseExpr("Pinger().run(p, 3)"), "(method run (call Pinger) p 3)");
  EXPECT_EQ(parseExpr("spawn f(a, 1)"), "(spawn (call f a 1))");
  EXPECT_EQ(parseExpr("spawn a.run()"), "(spawn (method run a))");
  EXPECT_EQ(parseExpr("$unwrap(o)"), "($unwrap o)");
  EXPECT_EQ(parseExpr("$try(f(1))"), "($try (call f 1))");
  EXPECT_EQ(parseExpr("do 1 end"), "(do 0 1)");
  EXPECT_EQ(firstError("def f()\n  x = spawn 3\nend\n"),
            "t.qz:2:13: error: expected a function or method call after 'spawn'");
}

TEST(QuartzParser, NewlinesContinueExpressions) {
  EXPECT_EQ(parseExpr("1 +\n   2"), "(+ 1 2)");
  EXPECT_EQ(parseExpr("f(1,\n 2\n)"), "(call f 1 2)");
  EXPECT_EQ(parseExpr("(a\n or b)"), "(or a b)");
  EXPECT_EQ(parseExpr("v[\n1]"), "(index v 1)");
  EXPECT_EQ(parseExpr("a and\n\n b"), "(and a b)");
  // A newline ends the statement otherwise.
  Parse p("def f()\n  x = 1\n  - 2\nend\n");
  EXPECT_EQ(p.errors(), 0u) << p.errs;
  ASSERT_EQ(p.func()->body.size(), 2u);
  EXPECT_EQ(sx(p.func()->body[1]->value), "-2");
  // `;` separates statements too.
  Parse q("def f(); var a = 1; a += 2; return a; end");
  EXPECT_EQ(q.errors(), 0u) << q.errs;
  EXPECT_EQ(q.func()->body.size(), 3u);
}

TEST(QuartzParser, StatementsAndModifiers) {
  Parse p(R"(def f(a: Int, v: Vec<Int>): Int
  var x: Int = 1
  x += 1 unless done
  return 0 if a == 2
  p.x = 3
  v[a] -= 4
  x *= 2
  if a < 1
    return 1
  elsif a < 2
    return 2
  elsif a < 3
    break
  else
    continue
  end
  while true
    return
  end
end
)");
  ASSERT_EQ(p.errors(), 0u) << p.errs;
  FuncDecl *f = p.func();
  EXPECT_EQ(f->name.spelling, "f");
  ASSERT_EQ(f->params.size(), 2u);
  EXPECT_EQ(f->params[1]->typeExpr->name, "Vec");
  ASSERT_EQ(f->params[1]->typeExpr->args.size(), 1u);
  EXPECT_EQ(f->params[1]->typeExpr->args[0]->name, "Int");
  EXPECT_EQ(f->resultExpr->name, "Int");
  auto body = f->body;
  ASSERT_EQ(body.size(), 8u);
  EXPECT_EQ(body[0]->kind, Stmt::VarDef);
  EXPECT_EQ(body[0]->decl->name.spelling, "x");
  EXPECT_EQ(body[0]->decl->typeExpr->name, "Int");
  EXPECT_EQ(sx(body[0]->decl->init), "1");

  // `x += 1 unless done` -> If(not done) { x += 1 }
  ASSERT_EQ(body[1]->kind, Stmt::If);
  EXPECT_EQ(sx(body[1]->conds[0]), "(not done)");
  ASSERT_EQ(body[1]->blocks.size(), 1u);
  ASSERT_EQ(body[1]->blocks[0].size(), 1u);
  EXPECT_EQ(body[1]->blocks[0][0]->kind, Stmt::Assign);
  EXPECT_EQ(body[1]->blocks[0][0]->op, Expr::Add);
  EXPECT_FALSE(body[1]->hasElse);

  ASSERT_EQ(body[2]->kind, Stmt::If);
  EXPECT_EQ(sx(body[2]->conds[0]), "(== a 2)");
  EXPECT_EQ(body[2]->blocks[0][0]->kind, Stmt::Return);
  EXPECT_EQ(sx(body[2]->blocks[0][0]->value), "0");

  EXPECT_EQ(sx(body[3]->target), "(field x p)");
  EXPECT_EQ(body[3]->op, Expr::None);
  EXPECT_EQ(sx(body[4]->target), "(index v a)");
  EXPECT_EQ(body[4]->op, Expr::Sub);
  EXPECT_EQ(body[5]->op, Expr::Mul);

  Stmt *i = body[6];
  ASSERT_EQ(i->kind, Stmt::If);
  ASSERT_EQ(i->conds.size(), 3u);
  ASSERT_EQ(i->blocks.size(), 3u);
  EXPECT_EQ(sx(i->conds[2]), "(< a 3)");
  EXPECT_EQ(i->blocks[2][0]->kind, Stmt::Break);
  EXPECT_TRUE(i->hasElse);
  EXPECT_EQ(i->elseBody[0]->kind, Stmt::Continue);

  Stmt *w = body[7];
  ASSERT_EQ(w->kind, Stmt::While);
  EXPECT_EQ(sx(w->conds[0]), "true");
  ASSERT_EQ(w->blocks[0].size(), 1u);
  EXPECT_EQ(w->blocks[0][0]->kind, Stmt::Return);
  EXPECT_EQ(w->blocks[0][0]->value, nullptr);
}

TEST(QuartzParser, Declarations) {
  Parse p(R"(enum Shape
  Circle(Int)
  Rect(Int, Int)
  Empty
end

struct Point
  x: Int
  y: Int
end

actor Counter
  var n: Int = 0
  def bump(): Void
    n += 1
  end
  def get(): Int
    return n
  end
end

def main()
end
)");
  ASSERT_EQ(p.errors(), 0u) << p.errs;
  ASSERT_EQ(p.m->decls.size(), 4u);
  auto *e = static_cast<EnumDecl *>(p.m->decls[0]);
  ASSERT_EQ(e->kind, Decl::Kind::Enum);
  ASSERT_EQ(e->variants.size(), 3u);
  EXPECT_EQ(e->variants[1].name.spelling, "Rect");
  EXPECT_EQ(e->variants[1].fieldExprs.size(), 2u);
  EXPECT_EQ(e->variants[2].fieldExprs.size(), 0u);
  auto *s = static_cast<StructDecl *>(p.m->decls[1]);
  ASSERT_EQ(s->kind, Decl::Kind::Struct);
  ASSERT_EQ(s->fields.size(), 2u);
  EXPECT_EQ(s->fields[1].name.spelling, "y");
  auto *a = static_cast<ActorDecl *>(p.m->decls[2]);
  ASSERT_EQ(a->kind, Decl::Kind::Actor);
  ASSERT_EQ(a->fields.size(), 1u);
  EXPECT_TRUE(a->fields[0]->isActorField);
  EXPECT_EQ(sx(a->fields[0]->init), "0");
  ASSERT_EQ(a->methods.size(), 2u);
  EXPECT_EQ(a->methods[0]->actor, a);
  EXPECT_EQ(a->methods[1]->name.spelling, "get");
  auto *m = p.func(3);
  EXPECT_EQ(m->resultExpr, nullptr);
  EXPECT_TRUE(m->body.empty());
  // Ranges: the decl's name range points at the name.
  EXPECT_EQ(a->nameRange.line, 12u);
  EXPECT_EQ(a->nameRange.col, 7u);
  EXPECT_EQ(a->methods[0]->nameRange.line, 14u);
  EXPECT_EQ(a->methods[0]->nameRange.col, 7u);
  EXPECT_EQ(a->range.line, 12u);
  EXPECT_EQ(a->range.col, 1u);
}

TEST(QuartzParser, MatchExpressionAndStatement) {
  Parse p(R"(def f(o: Option<Shape>): Int
  var total = 0
  match o
    Some(x) if x > 5 => total += x
    Some(Shape::Rect(w, _)) | Some(Circle(w)) => return w
    Some(-3) => println("neg")
    None => do
      println("none")
    end
  end
  return match step
    Some(x) if x > 5 => x
    Some(_) => 5
    None => do
      println("empty")
      0
    end
  end
end
)");
  ASSERT_EQ(p.errors(), 0u) << p.errs;
  auto body = p.func()->body;
  ASSERT_EQ(body.size(), 3u);
  ASSERT_EQ(body[1]->kind, Stmt::ExprStmt);
  Expr *m = body[1]->value;
  ASSERT_EQ(m->kind, Expr::Match);
  EXPECT_TRUE(m->isStatement);
  ASSERT_EQ(m->arms.size(), 4u);
  // Arm 0: a statement body.
  MatchArm *a0 = m->arms[0];
  EXPECT_EQ(a0->body, nullptr);
  ASSERT_NE(a0->stmt, nullptr);
  EXPECT_EQ(a0->stmt->kind, Stmt::Assign);
  EXPECT_EQ(sx(a0->guard), "(> x 5)");
  ASSERT_EQ(a0->pattern->kind, Pattern::Variant);
  EXPECT_EQ(a0->pattern->variantName.spelling, "Some");
  ASSERT_EQ(a0->pattern->subpatterns.size(), 1u);
  ASSERT_EQ(a0->pattern->subpatterns[0]->kind, Pattern::Binding);
  VarDecl *x = a0->pattern->subpatterns[0]->binding;
  EXPECT_EQ(x->name.spelling, "x");
  EXPECT_EQ(x->name.mark, 0u);
  // Arm 1: or-pattern of nested variants, `return` statement body.
  MatchArm *a1 = m->arms[1];
  ASSERT_EQ(a1->pattern->kind, Pattern::Or);
  ASSERT_EQ(a1->pattern->subpatterns.size(), 2u);
  Pattern *rect = a1->pattern->subpatterns[0]->subpatterns[0];
  EXPECT_EQ(rect->kind, Pattern::Variant);
  EXPECT_EQ(rect->enumName, "Shape");
  EXPECT_EQ(rect->variantName.spelling, "Rect");
  EXPECT_EQ(rect->subpatterns[1]->kind, Pattern::Wildcard);
  Pattern *circle = a1->pattern->subpatterns[1]->subpatterns[0];
  EXPECT_EQ(circle->enumName, "");
  EXPECT_EQ(circle->variantName.spelling, "Circle");
  EXPECT_EQ(a1->stmt->kind, Stmt::Return);
  // The two `w` bindings share the arm's scope, which differs from arm 0's.
  VarDecl *w1 = rect->subpatterns[0]->binding;
  VarDecl *w2 = circle->subpatterns[0]->binding;
  EXPECT_EQ(w1->scope, w2->scope);
  EXPECT_NE(w1->scope, x->scope);
  EXPECT_NE(w1, w2);
  // Arm 2: a negative literal pattern and an expression body.
  EXPECT_EQ(m->arms[2]->pattern->subpatterns[0]->kind, Pattern::Int);
  EXPECT_EQ(m->arms[2]->pattern->subpatterns[0]->intValue, -3);
  EXPECT_EQ(sx(m->arms[2]->body), "(call println \"neg\")");
  // Arm 3: a do block whose last expression statement is its value.
  EXPECT_EQ(sx(m->arms[3]->body), "(do 0 (call println \"none\"))");

  Expr *e = body[2]->value;
  ASSERT_EQ(e->kind, Expr::Match);
  EXPECT_FALSE(e->isStatement);
  EXPECT_EQ(sx(e->arms[2]->body), "(do 1 0)");
  EXPECT_EQ(e->arms[1]->pattern->subpatterns[0]->kind, Pattern::Wildcard);
  EXPECT_EQ(e->range.line, 11u);
  EXPECT_EQ(e->range.col, 10u);
}

TEST(QuartzParser, MatchInsideParentheses) {
  EXPECT_EQ(parseExpr("f(match o\n  Some(x) => x\n  None => 0\nend, 2)"),
            "(call f (match o ...) 2)");
}

TEST(QuartzParser, ScopesAndShadowing) {
  Parse p(R"(def f(): Int
  var x = 1
  if x > 0
    var x = 2
    while x < 3
      var x = 3
    end
  else
    var x = 4
  end
  var y = do
    var x = 5
    x
  end
  return x
end
)");
  ASSERT_EQ(p.errors(), 0u) << p.errs;
  auto body = p.func()->body;
  uint32_t outer = body[0]->decl->scope;
  uint32_t inIf = body[1]->blocks[0][0]->decl->scope;
  uint32_t inWhile = body[1]->blocks[0][1]->blocks[0][0]->decl->scope;
  uint32_t inElse = body[1]->elseBody[0]->decl->scope;
  uint32_t inDo = body[2]->decl->init->stmts[0]->decl->scope;
  EXPECT_NE(outer, 0u);
  std::set<uint32_t> all{outer, inIf, inWhile, inElse, inDo};
  EXPECT_EQ(all.size(), 5u);
  EXPECT_EQ(body[2]->decl->scope, outer);
}

TEST(QuartzParser, SourceRanges) {
  Parse p("def main(): Int\n  var v = vec_new()\n  v.push(1)\n"
          "  return v.len + foo(2)\nend\n");
  ASSERT_EQ(p.errors(), 0u) << p.errs;
  auto body = p.func()->body;
  EXPECT_EQ(p.func()->nameRange.line, 1u);
  EXPECT_EQ(p.func()->nameRange.col, 5u);
  Stmt *var = body[0];
  EXPECT_EQ(var->range.line, 2u);
  EXPECT_EQ(var->range.col, 3u);
  EXPECT_EQ(var->decl->nameRange.col, 7u);
  Expr *call = var->decl->init;
  EXPECT_EQ(call->nameRange.col, 11u);
  EXPECT_EQ(call->range.col, 11u);
  EXPECT_EQ(p.m->source.slice(call->range.begin, call->range.end), "vec_new()");
  Expr *push = body[1]->value;
  EXPECT_EQ(push->kind, Expr::MethodCall);
  EXPECT_EQ(push->nameRange.line, 3u);
  EXPECT_EQ(push->nameRange.col, 5u);
  EXPECT_EQ(p.m->source.slice(push->range.begin, push->range.end), "v.push(1)");
  Expr *sum = body[2]->value;
  EXPECT_EQ(sum->range.col, 10u);
  EXPECT_EQ(sum->lhs->kind, Expr::Field);
  EXPECT_EQ(sum->lhs->nameRange.col, 12u);
  EXPECT_EQ(sum->rhs->nameRange.col, 18u);
  EXPECT_EQ(p.m->source.slice(sum->range.begin, sum->range.end),
            "v.len + foo(2)");
  EXPECT_EQ(p.m->fileName, "t.qz");
}

TEST(QuartzParser, DiagnosticsFormatAndRecovery) {
  Parse p(R"(def main(): Int
  var x = 1 +* 2
  var ok = 1
  if x < y < 3
    return 1
  end
  x = 1 @ 2
  foo(1, 2
  bar()
  f() = 3
  return 0
end

def g(a Int): Int
  return a
end
)");
  EXPECT_EQ(p.errors(), 6u) << p.errs;
  EXPECT_NE(p.errs.find("t.qz:2:14: error: expected an expression, found '*'\n"
                        "  var x = 1 +* 2\n"
                        "             ^\n"),
            std::string::npos)
      << p.errs;
  EXPECT_NE(p.errs.find("t.qz:4:12: error: comparison operators cannot be chained"),
            std::string::npos);
  EXPECT_NE(p.errs.find("t.qz:7:9: error: unexpected character '@'"),
            std::string::npos);
  EXPECT_NE(p.errs.find("t.qz:9:3: error: expected ')', found 'bar'"),
            std::string::npos);
  EXPECT_NE(p.errs.find("t.qz:10:3: error: invalid assignment target"),
            std::string::npos);
  EXPECT_NE(p.errs.find("t.qz:14:9: error: expected ':' and the parameter's type, found 'Int'"),
            std::string::npos);
  // Recovery keeps the good parts: both functions, `var ok` and `return 0`.
  ASSERT_EQ(p.m->decls.size(), 2u);
  bool sawOk = false;
  for (Stmt *s : p.func()->body)
    sawOk |= s->kind == Stmt::VarDef && s->decl->name.spelling == "ok";
  EXPECT_TRUE(sawOk);
  EXPECT_EQ(p.func()->body.back()->kind, Stmt::Return);
}

TEST(QuartzParser, MoreErrors) {
  EXPECT_EQ(firstError("def f()\n  return 1\n"),
            "t.qz:3:1: error: expected 'end' to close 'def' on line 1, found end of file");
  EXPECT_EQ(firstError("def f()\n  if x\n    return 1\nend\n"),
            "t.qz:5:1: error: expected 'end' to close 'def' on line 1, found end of file");
  EXPECT_EQ(firstError("x = 1\n"),
            "t.qz:1:1: error: expected a declaration ('def', 'enum', 'struct' "
            "or 'actor'), found 'x'");
  EXPECT_EQ(firstError("def f()\n  var = 1\nend\n"),
            "t.qz:2:7: error: expected variable name, found '='");
  EXPECT_EQ(firstError("def f()\n  var x 1\nend\n"),
            "t.qz:2:9: error: expected '=' and an initial value, found '1'");
  EXPECT_EQ(firstError("def f()\n  match x\n    1 -> 2\n  end\nend\n"),
            "t.qz:3:7: error: expected '=>', found '-'");
  EXPECT_EQ(firstError("def f()\n  x = $unwrap\nend\n"),
            "t.qz:2:14: error: expected '(' after macro name, found newline");
  EXPECT_EQ(firstError("def f()\n  x = a.\nend\n"),
            "t.qz:2:9: error: expected field or method name after '.', found newline");
  EXPECT_EQ(firstError("def f()\n  x = \x01\nend\n"),
            "t.qz:2:7: error: unexpected character 0x1");
  // A missing `end` before the next `def` costs one error, and the next
  // function still parses.
  Parse p("def f()\n  return 1\ndef g()\n  return 2\nend\n");
  EXPECT_EQ(p.errors(), 1u) << p.errs;
  EXPECT_EQ(p.m->decls.size(), 2u);
}

TEST(QuartzParser, ErrorCapAt50) {
  std::string text = "def f()\n";
  for (int i = 0; i < 1000; ++i)
    text += "  x = )\n";
  text += "end\n";
  Parse p(text);
  EXPECT_EQ(p.errors(), kMaxParseErrors);
  size_t lines = 0;
  for (char c : p.errs)
    lines += c == '\n';
  EXPECT_EQ(lines, 3 * kMaxParseErrors);
}

//===----------------------------------------------------------------------===//
// Robustness
//===----------------------------------------------------------------------===//

std::vector<std::string> specPrograms() {
  std::vector<std::string> dirs;
  if (const char *env = std::getenv("QMIR_SPEC_PROGRAMS"))
    dirs.push_back(env);
  dirs.push_back("/work/shared/spec/programs");
  std::filesystem::path here(__FILE__);
  dirs.push_back((here.parent_path().parent_path() / "programs").string());
  std::vector<std::string> texts;
  for (const std::string &d : dirs) {
    std::error_code ec;
    if (!std::filesystem::is_directory(d, ec))
      continue;
    for (auto it = std::filesystem::recursive_directory_iterator(d, ec);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
      if (it->path().extension() != ".qz")
        continue;
      std::ifstream in(it->path());
      std::stringstream ss;
      ss << in.rdbuf();
      texts.push_back(ss.str());
    }
    if (!texts.empty())
      break;
  }
  return texts;
}

const char *kSample = R"(# A sample with every construct.
enum Shape
  Circle(Int)
  Rect(Int, Int)
  Empty
end
struct Point
  x: Int
  y: Int
end
actor Counter
  var n: Int = 0
  def bump(): Void
    n += 1
  end
  def get(): Int
    return n
  end
end
def area(s: Shape): Int
  return match s
    Circle(r) => 3 * r * r
    Rect(w, h) if w == h => w * w
    Rect(w, h) => w * h
    Empty => 0
  end
end
def first(o: Option<Int>): Option<Int>
  var v = $try(o)
  $assert(v > 0 and not (v == 3))
  return Some(v + 0x10 + 1_000)
end
def main(): Int
  var p = Point { x: 1, y: 2 }
  var c = Counter()
  var ch = channel(0)
  spawn area(Shape::Rect(1, 2))
  var step = Option::Some(10)
  var sum = 0
  while sum < 100 && !false
    sum += step! + $unwrap(step)
    p.x = -p.y
    match step
      Some(x) => sum += x
      None => break
    end
    continue if sum > 1000
  end
  println("done\n")
  return 0 unless sum == 211
  return 1
end
)";

TEST(QuartzParser, SpecProgramsParseAndExpandCleanly) {
  Parse sample(kSample, "sample.qz", true);
  EXPECT_EQ(sample.errors(), 0u) << sample.errs;
  EXPECT_EQ(sample.m->decls.size(), 6u);
  auto texts = specPrograms();
  if (texts.empty())
    GTEST_SKIP() << "spec programs not found (set QMIR_SPEC_PROGRAMS)";
  for (const std::string &t : texts) {
    Parse p(t, "spec.qz", true);
    EXPECT_EQ(p.errors(), 0u) << p.errs;
    EXPECT_FALSE(p.m->decls.empty());
    EXPECT_FALSE(p.dump().empty());
  }
}

TEST(QuartzParser, TruncatedProgramsNeverCrash) {
  std::vector<std::string> texts = specPrograms();
  texts.push_back(kSample);
  size_t runs = 0;
  for (const std::string &t : texts) {
    for (size_t cut = 0; cut <= t.size(); cut += 3, ++runs) {
      Parse p(llvm::StringRef(t).take_front(cut), "cut.qz", true);
      // A prefix that ends inside a declaration must be reported.
      if (cut < t.size() && cut > 0 && p.errors() == 0)
        (void)p.dump(); // complete prefixes are fine; dump must not crash
    }
  }
  EXPECT_GT(runs, 500u);
}

TEST(QuartzParser, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 300; ++i) {
    std::string s(1 + rng() % 3000, '\0');
    for (char &c : s)
      c = static_cast<char>(rng());
    Parse p(s, "rand.qz", true);
    EXPECT_GT(p.errors(), 0u);
    EXPECT_LE(p.errors(), kMaxParseErrors + 1);
  }
}

TEST(QuartzParser, TokenSoupNeverCrashes) {
  // Random sequences of valid tokens reach far deeper into the grammar than
  // random bytes do.
  static const char *toks[] = {
      "def", "end", "var", "if", "elsif", "else", "unless", "while", "break",
      "continue", "return", "match", "do", "actor", "enum", "struct", "and",
      "or", "not", "spawn", "true", "false", "(", ")", "[", "]", "{", "}", ",",
      ":", "::", ";", ".", "=>", "=", "+=", "-=", "*=", "+", "-", "*", "/", "%",
      "==", "!=", "<", "<=", ">", ">=", "!", "&&", "||", "|", "\n", "\n", "\n",
      "x", "Foo", "Some", "None", "_", "42", "\"s\"", "$unwrap", "$try",
      "$assert", "f(", "Option<Int>"};
  std::mt19937 rng(777);
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    size_t n = 1 + rng() % 80;
    for (size_t k = 0; k < n; ++k) {
      s += toks[rng() % std::size(toks)];
      s += ' ';
    }
    Parse p(s, "soup.qz", true);
    (void)p.dump();
  }
}

TEST(QuartzParser, DeepNestingIsAnErrorNotACrash) {
  const size_t N = 100000;
  auto expectTooDeep = [](const std::string &text) {
    Parse p(text, "deep.qz", true);
    EXPECT_NE(p.errs.find("nesting too deep"), std::string::npos)
        << p.errs.substr(0, 300);
    EXPECT_LE(p.errors(), 3u);
  };
  expectTooDeep("def f()\n  x = " + std::string(N, '(') + "1" +
                std::string(N, ')') + "\nend\n");
  expectTooDeep("def f()\n  x = " + std::string(N, '(') + "\nend\n");
  std::string idx = "def f()\n  x = ";
  for (size_t i = 0; i < N; ++i)
    idx += "v[";
  expectTooDeep(idx + "\nend\n");
  std::string nots = "def f()\n  x = ";
  for (size_t i = 0; i < N; ++i)
    nots += "not ";
  expectTooDeep(nots + "a\nend\n");
  expectTooDeep("def f()\n  x = " + std::string(N, '-') + "a\nend\n");
  expectTooDeep("def f()\n  x = " + std::string(N, '!') + "a\nend\n");
  expectTooDeep("def f()\n  x = a" + std::string(N, '!') + "\nend\n");
  std::string sum = "def f()\n  x = a";
  for (size_t i = 0; i < N; ++i)
    sum += " + a";
  expectTooDeep(sum + "\nend\n");
  std::string ifs = "def f()\n";
  for (size_t i = 0; i < N; ++i)
    ifs += "if c\n";
  for (size_t i = 0; i < N; ++i)
    ifs += "end\n";
  expectTooDeep(ifs + "end\n");
  std::string dos = "def f()\n  x = ";
  for (size_t i = 0; i < N; ++i)
    dos += "do ";
  expectTooDeep(dos + "\nend\n");
  std::string macros = "def f()\n  x = ";
  for (size_t i = 0; i < N; ++i)
    macros += "$unwrap(";
  expectTooDeep(macros + "\nend\n");
  std::string pats = "def f()\n  match x\n    ";
  for (size_t i = 0; i < N; ++i)
    pats += "Some(";
  expectTooDeep(pats + "\nend\n");
  std::string types = "def f(a: ";
  for (size_t i = 0; i < N; ++i)
    types += "Option<";
  expectTooDeep(types + "\nend\n");

  // Moderate nesting is fine, and macros nested 100 deep expand.
  std::string ok = "def f(): Int\n  return " + std::string(100, '(') + "1" +
                   std::string(100, ')') + " + $unwrap(" +
                   std::string(100, '(') + "x" + std::string(100, ')') + ")" +
                   std::string(100, '!') + "\nend\n";
  Parse p(ok, "ok.qz", true);
  EXPECT_EQ(p.errors(), 0u) << p.errs.substr(0, 300);
}

TEST(QuartzParser, HugeInputs) {
  // A 10 MB line of valid statements.
  std::string line = "def f()\n  ";
  while (line.size() < 10'000'000)
    line += "x = y + 1; ";
  line += "\nend\n";
  {
    Parse p(line, "huge.qz");
    EXPECT_EQ(p.errors(), 0u);
    EXPECT_GT(p.func()->body.size(), 900'000u);
  }
  // A 10 MB line of junk: at most the error cap, and short messages.
  std::string junk = "def f()\n  " + std::string(10'000'000, '@') + "\nend\n";
  {
    Parse p(junk, "junk.qz");
    EXPECT_EQ(p.errors(), kMaxParseErrors);
    EXPECT_LT(p.errs.size(), 100'000u);
  }
  // A 1 MB integer literal and a 10 MB string literal.
  {
    Parse p("def f()\n  x = " + std::string(1'000'000, '9') + "\nend\n");
    EXPECT_EQ(p.errors(), 1u);
    EXPECT_NE(p.errs.find("integer literal out of range"), std::string::npos);
  }
  {
    Parse p("def f()\n  x = \"" + std::string(10'000'000, 'a') + "\"\nend\n");
    EXPECT_EQ(p.errors(), 0u);
    EXPECT_EQ(p.func()->body[0]->value->text.size(), 10'000'000u);
  }
  {
    Parse p("def f()\n  x = \"" + std::string(10'000'000, 'a'));
    EXPECT_NE(p.errs.find("unterminated string literal"), std::string::npos);
  }
}

TEST(QuartzParser, EmptyAndTrivialInputs) {
  for (const char *t : {"", "\n\n\n", "# only a comment", ";;;", "   \t  "}) {
    Parse p(t);
    EXPECT_EQ(p.errors(), 0u) << t;
    EXPECT_TRUE(p.m->decls.empty());
  }
  for (const char *t : {"def", "def f", "def f(", "def f(a", "def f(a:",
                        "enum", "enum E\n A(", "struct S\n x", "actor A\n var",
                        "end", ")", "def f()\n match", "def f()\n x = do"}) {
    Parse p(t, "t.qz", true);
    EXPECT_GT(p.errors(), 0u) << t;
  }
}

TEST(QuartzParser, DumpShowsStructureAndMarks) {
  Parse p("def main(): Int\n  var v = 1\n  return $unwrap(Some(v))\nend\n",
          "d.qz", true);
  ASSERT_EQ(p.errors(), 0u) << p.errs;
  std::string d = p.dump();
  EXPECT_NE(d.find("(module \"d.qz\""), std::string::npos) << d;
  EXPECT_NE(d.find("(def main -> Int"), std::string::npos) << d;
  EXPECT_NE(d.find("(var v scope="), std::string::npos) << d;
  EXPECT_NE(d.find("(bind v#1 scope="), std::string::npos) << d;
  EXPECT_NE(d.find("(name v#1)"), std::string::npos) << d;
  EXPECT_NE(d.find("(name v)"), std::string::npos) << d;
  EXPECT_NE(d.find("(string \"unwrap on None\")"), std::string::npos) << d;
  // Parentheses balance: it is an S-expression.
  int depth = 0;
  for (char c : d) {
    depth += c == '(';
    depth -= c == ')';
    EXPECT_GE(depth, 0);
  }
  EXPECT_EQ(depth, 0);
}

TEST(QuartzLexer, TokensAndPositions) {
  llvm::SourceMgr sm;
  std::string errs;
  llvm::raw_string_ostream os(errs);
  unsigned id = sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy("x += 0x1f # c\n\n  $try(\"a\\\"b\") =>!=!", "l.qz"),
      llvm::SMLoc());
  DiagEngine d(sm, id, os);
  Lexer lex(d);
  std::vector<std::pair<Tok, std::string>> got;
  std::vector<std::pair<unsigned, unsigned>> pos;
  for (Token t = lex.lex(); t.kind != Tok::Eof; t = lex.lex()) {
    got.push_back({t.kind, lex.text(t).str()});
    pos.push_back({t.line, t.col});
  }
  std::vector<std::pair<Tok, std::string>> want = {
      {Tok::Ident, "x"},        {Tok::PlusAssign, "+="},
      {Tok::IntLit, "0x1f"},    {Tok::Newline, "\n"},
      {Tok::MacroName, "$try"}, {Tok::LParen, "("},
      {Tok::StringLit, "\"a\\\"b\""}, {Tok::RParen, ")"},
      {Tok::FatArrow, "=>"},    {Tok::NotEq, "!="},
      {Tok::Bang, "!"}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(pos[4], std::make_pair(3u, 3u));
  EXPECT_EQ(d.errorCount(), 0u);
  ast::SrcRange r = d.rangeAt(pos.size() ? 17 : 0, 18);
  EXPECT_EQ(r.line, 3u);
  EXPECT_EQ(r.col, 3u);
}

} // namespace
