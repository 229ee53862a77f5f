// Unit tests for hygienic macro expansion ($unwrap / `e!`, $try, $assert):
// the shape of each expansion, fresh marks per expansion, hygiene against user
// names, nesting, the contexts macros may appear in, and the errors.
#include "frontend/Diagnostics.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

using namespace qmir;
using namespace qmir::ast;
using namespace qmir::frontend;

namespace {

struct Expanded {
  explicit Expanded(llvm::StringRef text) : os(errs) {
    unsigned id = sm.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, "m.qz"), llvm::SMLoc());
    diags = std::make_unique<DiagEngine>(sm, id, os);
    m = parseQuartz(ctx, *diags);
    parseErrors = diags->errorCount();
    expandMacros(ctx, *m, *diags);
    os.flush();
  }
  unsigned macroErrors() const { return diags->errorCount() - parseErrors; }
  FuncDecl *func(size_t i = 0) { return static_cast<FuncDecl *>(m->decls[i]); }

  llvm::SourceMgr sm;
  std::string errs;
  llvm::raw_string_ostream os;
  AstContext ctx;
  std::unique_ptr<DiagEngine> diags;
  Module *m = nullptr;
  unsigned parseErrors = 0;
};

/// Collects every MacroCall reachable from the statements, outermost first.
struct MacroCollector {
  std::vector<Expr *> macros;
  void block(llvm::ArrayRef<Stmt *> b) {
    for (Stmt *s : b)
      stmt(s);
  }
  void stmt(Stmt *s) {
    if (!s)
      return;
    if (s->decl)
      expr(s->decl->init);
    expr(s->target);
    expr(s->value);
    for (Expr *c : s->conds)
      expr(c);
    for (auto b : s->blocks)
      block(b);
    block(s->elseBody);
  }
  void expr(Expr *e) {
    if (!e)
      return;
    if (e->kind == Expr::MacroCall)
      macros.push_back(e);
    if (e->kind == Expr::Spawn) {
      expr(e->lhs);
      return;
    }
    expr(e->lhs);
    expr(e->rhs);
    for (Expr *a : e->args)
      expr(a);
    for (MatchArm *a : e->arms) {
      expr(a->guard);
      expr(a->body);
      stmt(a->stmt);
    }
    block(e->stmts);
  }
};

std::vector<Expr *> macrosIn(llvm::ArrayRef<Stmt *> body) {
  MacroCollector c;
  c.block(body);
  return c.macros;
}

/// Checks the $unwrap shape and returns the binding's VarDecl.
VarDecl *checkUnwrap(Expr *mc, Expr *expectedArg) {
  EXPECT_EQ(mc->kind, Expr::MacroCall);
  Expr *x = mc->expansion;
  EXPECT_NE(x, nullptr);
  if (!x)
    return nullptr;
  EXPECT_EQ(x->kind, Expr::Match);
  EXPECT_EQ(x->lhs, expectedArg);
  EXPECT_FALSE(x->isStatement);
  EXPECT_EQ(x->arms.size(), 2u);
  if (x->arms.size() != 2)
    return nullptr;
  Pattern *some = x->arms[0]->pattern;
  EXPECT_EQ(some->kind, Pattern::Variant);
  EXPECT_EQ(some->variantName, (Symbol{"Some", 0}));
  EXPECT_EQ(some->subpatterns.size(), 1u);
  Pattern *bind = some->subpatterns[0];
  EXPECT_EQ(bind->kind, Pattern::Binding);
  VarDecl *v = bind->binding;
  EXPECT_EQ(v->name.spelling, "v");
  EXPECT_NE(v->name.mark, 0u);
  EXPECT_NE(v->scope, 0u);
  Expr *use = x->arms[0]->body;
  EXPECT_EQ(use->kind, Expr::Name);
  EXPECT_EQ(use->name, v->name);
  Pattern *none = x->arms[1]->pattern;
  EXPECT_EQ(none->kind, Pattern::Variant);
  EXPECT_EQ(none->variantName, (Symbol{"None", 0}));
  EXPECT_TRUE(none->subpatterns.empty());
  Expr *panic = x->arms[1]->body;
  EXPECT_EQ(panic->kind, Expr::Call);
  EXPECT_EQ(panic->name, (Symbol{"panic", 0}));
  EXPECT_EQ(panic->args.size(), 1u);
  EXPECT_EQ(panic->args[0]->kind, Expr::StringLit);
  EXPECT_EQ(panic->args[0]->text, "unwrap on None");
  // Every node of the expansion carries the macro use's range.
  for (const SrcRange &r :
       {x->range, some->range, bind->range, v->nameRange, use->range,
        none->range, panic->range, panic->args[0]->range}) {
    EXPECT_EQ(r.begin, mc->range.begin);
    EXPECT_EQ(r.end, mc->range.end);
    EXPECT_EQ(r.line, mc->range.line);
    EXPECT_EQ(r.col, mc->range.col);
  }
  return v;
}

TEST(Macros, UnwrapShapeAndFreshMarks) {
  Expanded p("def f(o: Option<Int>): Int\n  var a = $unwrap(o)\n"
             "  var b = o!\n  return a + b\nend\n");
  ASSERT_EQ(p.diags->errorCount(), 0u) << p.errs;
  auto ms = macrosIn(p.func()->body);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_FALSE(ms[0]->postfix);
  EXPECT_TRUE(ms[1]->postfix);
  VarDecl *v1 = checkUnwrap(ms[0], ms[0]->args[0]);
  VarDecl *v2 = checkUnwrap(ms[1], ms[1]->args[0]);
  ASSERT_TRUE(v1 && v2);
  // Two expansions: different marks, so different Symbols; different scopes.
  EXPECT_NE(v1->name.mark, v2->name.mark);
  EXPECT_FALSE(v1->name == v2->name);
  EXPECT_NE(v1->scope, v2->scope);
  // The user's argument keeps its own (zero) mark.
  EXPECT_EQ(ms[0]->args[0]->name, (Symbol{"o", 0}));
  // The location of the use: line 2, column of `$unwrap`; for `o!` the
  // range starts at `o` and the name range is the `!`.
  EXPECT_EQ(ms[0]->range.line, 2u);
  EXPECT_EQ(ms[0]->range.col, 11u);
  EXPECT_EQ(ms[1]->nameRange.col, 12u);
  EXPECT_EQ(ms[1]->range.col, 11u);
}

TEST(Macros, UserVariableNamedVIsADifferentSymbol) {
  Expanded p("def f(o: Option<Int>): Int\n  var v = 7\n"
             "  var w = $unwrap(Some(v)) + v\n  return w\nend\n");
  ASSERT_EQ(p.diags->errorCount(), 0u) << p.errs;
  VarDecl *user = p.func()->body[0]->decl;
  EXPECT_EQ(user->name, (Symbol{"v", 0}));
  Expr *sum = p.func()->body[1]->decl->init;
  ASSERT_EQ(sum->kind, Expr::Binary);
  Expr *mc = sum->lhs;
  VarDecl *macroV = checkUnwrap(mc, mc->args[0]);
  ASSERT_NE(macroV, nullptr);
  EXPECT_EQ(macroV->name.spelling, user->name.spelling);
  EXPECT_FALSE(macroV->name == user->name);
  // The user's `v`, inside the argument and next to the expansion, stays
  // the user's.
  EXPECT_EQ(mc->args[0]->args[0]->name, (Symbol{"v", 0}));
  EXPECT_EQ(sum->rhs->name, (Symbol{"v", 0}));
}

TEST(Macros, NestedExpansions) {
  Expanded p("def f(o: Option<Option<Int>>): Int\n"
             "  var a = $unwrap($unwrap(o))\n  var b = o!!\n"
             "  return a + b\nend\n");
  ASSERT_EQ(p.diags->errorCount(), 0u) << p.errs;
  for (int i = 0; i < 2; ++i) {
    Expr *outer = p.func()->body[i]->decl->init;
    ASSERT_EQ(outer->kind, Expr::MacroCall);
    Expr *inner = outer->args[0];
    ASSERT_EQ(inner->kind, Expr::MacroCall);
    VarDecl *vo = checkUnwrap(outer, inner);
    VarDecl *vi = checkUnwrap(inner, inner->args[0]);
    ASSERT_TRUE(vo && vi);
    EXPECT_NE(vo->name.mark, vi->name.mark);
  }
  // All four expansions have pairwise distinct marks.
  llvm::DenseSet<uint32_t> marks;
  for (Expr *mc : macrosIn(p.func()->body))
    marks.insert(mc->expansion->arms[0]->pattern->subpatterns[0]->binding->name.mark);
  EXPECT_EQ(marks.size(), 4u);
}

TEST(Macros, TryExpansionAndError) {
  Expanded ok("def f(o: Option<Int>): Option<Int>\n  var x = $try(o)\n"
              "  return Some(x)\nend\n");
  ASSERT_EQ(ok.diags->errorCount(), 0u) << ok.errs;
  Expr *mc = ok.func()->body[0]->decl->init;
  Expr *x = mc->expansion;
  ASSERT_NE(x, nullptr);
  ASSERT_EQ(x->kind, Expr::Match);
  EXPECT_EQ(x->lhs, mc->args[0]);
  ASSERT_EQ(x->arms.size(), 2u);
  EXPECT_EQ(x->arms[0]->pattern->variantName.spelling, "Some");
  Expr *d = x->arms[1]->body;
  ASSERT_EQ(d->kind, Expr::Do);
  EXPECT_EQ(d->rhs, nullptr);
  ASSERT_EQ(d->stmts.size(), 1u);
  EXPECT_EQ(d->stmts[0]->kind, Stmt::Return);
  ASSERT_NE(d->stmts[0]->value, nullptr);
  EXPECT_EQ(d->stmts[0]->value->kind, Expr::EnumCtor);
  EXPECT_EQ(d->stmts[0]->value->name, (Symbol{"None", 0}));
  EXPECT_TRUE(d->stmts[0]->value->args.empty());

  Expanded bad("def f(o: Option<Int>): Int\n  var x = 1 + $try(o)\n"
               "  return x\nend\n");
  EXPECT_EQ(bad.parseErrors, 0u);
  EXPECT_EQ(bad.macroErrors(), 1u);
  EXPECT_EQ(bad.errs.substr(0, bad.errs.find('\n')),
            "m.qz:2:15: error: $try outside a function returning Option");
  EXPECT_NE(bad.errs.find("  var x = 1 + $try(o)\n              ^"),
            std::string::npos)
      << bad.errs;
  Expr *badMc = bad.func()->body[0]->decl->init->rhs;
  EXPECT_EQ(badMc->expansion, nullptr);

  // A Void function and an actor field initialiser are not Option functions.
  Expanded v("def f(o: Option<Int>)\n  $try(o)\nend\n"
             "actor A\n  var n: Int = $try(Some(1))\nend\n");
  EXPECT_EQ(v.macroErrors(), 2u) << v.errs;
}

TEST(Macros, AssertExpansion) {
  Expanded p("def f(a: Int, b: Int)\n  $assert(a  ==  b + 1)\nend\n");
  ASSERT_EQ(p.diags->errorCount(), 0u) << p.errs;
  Expr *mc = p.func()->body[0]->value;
  EXPECT_EQ(mc->text, "a  ==  b + 1");
  Expr *x = mc->expansion;
  ASSERT_NE(x, nullptr);
  ASSERT_EQ(x->kind, Expr::Match);
  EXPECT_EQ(x->lhs, mc->args[0]);
  ASSERT_EQ(x->arms.size(), 2u);
  EXPECT_EQ(x->arms[0]->pattern->kind, Pattern::Bool);
  EXPECT_EQ(x->arms[0]->pattern->intValue, 1);
  EXPECT_EQ(x->arms[0]->body->kind, Expr::Do);
  EXPECT_TRUE(x->arms[0]->body->stmts.empty());
  EXPECT_EQ(x->arms[0]->body->rhs, nullptr);
  EXPECT_EQ(x->arms[1]->pattern->kind, Pattern::Bool);
  EXPECT_EQ(x->arms[1]->pattern->intValue, 0);
  Expr *panic = x->arms[1]->body;
  ASSERT_EQ(panic->kind, Expr::Call);
  EXPECT_EQ(panic->args[0]->text, "assertion failed: a  ==  b + 1");
}

TEST(Macros, EverywhereTheyMayAppear) {
  Expanded p(R"(actor Acc
  var total: Int = 0
  def add(o: Option<Int>): Void
    total += o!
    $assert(total >= 0)
  end
end
def g(xs: Option<Int>): Option<Int>
  var i = 0
  while i < 3
    match xs
      Some(x) if $unwrap(xs) > 1 => i += $try(xs)
      _ => i += do
        var t = xs!
        t
      end
    end
    i += 1 unless $unwrap(Some(i)) > 5
  end
  spawn h($unwrap(xs))
  return Some(i)
end
)");
  ASSERT_EQ(p.diags->errorCount(), 0u) << p.errs;
  auto *actor = static_cast<ActorDecl *>(p.m->decls[0]);
  auto am = macrosIn(actor->methods[0]->body);
  ASSERT_EQ(am.size(), 2u);
  for (Expr *mc : am)
    EXPECT_NE(mc->expansion, nullptr);
  auto gm = macrosIn(p.func(1)->body);
  ASSERT_EQ(gm.size(), 5u);
  llvm::DenseSet<uint32_t> marks;
  for (Expr *mc : gm) {
    ASSERT_NE(mc->expansion, nullptr) << mc->name.spelling.str();
    if (mc->name.spelling != "$assert")
      marks.insert(
          mc->expansion->arms[0]->pattern->subpatterns[0]->binding->name.mark);
  }
  EXPECT_EQ(marks.size(), 5u);
}

TEST(Macros, UnknownMacroAndArity) {
  Expanded p("def f(o: Option<Int>): Int\n  var a = $frob(o)\n"
             "  var b = $unwrap(o, o)\n  var c = $assert()\n  return 0\nend\n");
  EXPECT_EQ(p.parseErrors, 0u) << p.errs;
  EXPECT_EQ(p.macroErrors(), 3u) << p.errs;
  EXPECT_NE(p.errs.find("m.qz:2:11: error: unknown macro '$frob'"),
            std::string::npos)
      << p.errs;
  EXPECT_NE(p.errs.find("m.qz:3:11: error: wrong number of arguments to "
                        "'$unwrap': expected 1, found 2"),
            std::string::npos)
      << p.errs;
  EXPECT_NE(p.errs.find("m.qz:4:11: error: wrong number of arguments to "
                        "'$assert': expected 1, found 0"),
            std::string::npos)
      << p.errs;
  // Arguments of a bad macro are still expanded.
  Expanded q("def f(o: Option<Option<Int>>): Int\n  return $frob(o!)\nend\n");
  EXPECT_EQ(q.macroErrors(), 1u);
  Expr *bad = q.func()->body[0]->value;
  EXPECT_EQ(bad->expansion, nullptr);
  EXPECT_NE(bad->args[0]->expansion, nullptr);
}

TEST(Macros, ExpansionIsIdempotent) {
  Expanded p("def f(o: Option<Int>): Int\n  return o!\nend\n");
  ASSERT_EQ(p.diags->errorCount(), 0u);
  Expr *mc = p.func()->body[0]->value;
  Expr *first = mc->expansion;
  expandMacros(p.ctx, *p.m, *p.diags);
  EXPECT_EQ(mc->expansion, first);
  EXPECT_EQ(p.diags->errorCount(), 0u);
}

} // namespace
