// Tests for the Quartz core checker (frontend/Sema) and the exhaustiveness
// checker (frontend/Exhaustiveness): witnesses, hygiene on hand-built trees,
// every diagnostic's text and place on real source, and the spec programs.
#include "frontend/Diagnostics.h"
#include "frontend/Exhaustiveness.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "lowering/AST.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

using namespace qmir;
using namespace qmir::ast;
using namespace qmir::frontend;

namespace {

//===----------------------------------------------------------------------===//
// Exhaustiveness on hand-built patterns
//===----------------------------------------------------------------------===//

struct PatFixture {
  AstContext ctx;
  EnumDecl *shape = nullptr;
  const Ty *shapeTy = nullptr;

  PatFixture() {
    shape = ctx.make<EnumDecl>();
    shape->kind = Decl::Kind::Enum;
    shape->name = Symbol{"Shape", 0};
    const Ty *i = ctx.intTy();
    EnumDecl::Variant vs[3] = {};
    vs[0].name = Symbol{"Circle", 0};
    vs[0].fields = ctx.copy(llvm::ArrayRef<const Ty *>{i});
    vs[1].name = Symbol{"Rect", 0};
    vs[1].fields = ctx.copy(llvm::ArrayRef<const Ty *>{i, i});
    vs[2].name = Symbol{"Empty", 0};
    shape->variants = ctx.copy(llvm::ArrayRef<EnumDecl::Variant>(vs));
    shapeTy = ctx.declTy(shape);
  }
  Pattern *wild() {
    auto *p = ctx.make<Pattern>();
    p->kind = Pattern::Wildcard;
    return p;
  }
  Pattern *bind() {
    auto *p = ctx.make<Pattern>();
    p->kind = Pattern::Binding;
    return p;
  }
  Pattern *lit(Pattern::Kind k, int64_t v) {
    auto *p = ctx.make<Pattern>();
    p->kind = k;
    p->intValue = v;
    return p;
  }
  Pattern *var(int idx, std::initializer_list<Pattern *> subs) {
    auto *p = ctx.make<Pattern>();
    p->kind = Pattern::Variant;
    p->variantIndex = idx;
    p->subpatterns = ctx.copy(llvm::ArrayRef<Pattern *>(subs));
    return p;
  }
  Pattern *alt(std::initializer_list<Pattern *> subs) {
    auto *p = ctx.make<Pattern>();
    p->kind = Pattern::Or;
    p->subpatterns = ctx.copy(llvm::ArrayRef<Pattern *>(subs));
    return p;
  }
  std::string missing(const Ty *t, std::initializer_list<const Pattern *> rows) {
    auto w = findUncovered(t, llvm::ArrayRef<const Pattern *>(rows));
    return w ? *w : std::string("<exhaustive>");
  }
};

TEST(Exhaustiveness, OptionMissingNone) {
  PatFixture f;
  const Ty *o = f.ctx.optionTy(f.ctx.intTy());
  EXPECT_EQ(f.missing(o, {f.var(1, {f.bind()})}), "None");
  EXPECT_EQ(f.missing(o, {f.var(0, {})}), "Some(_)");
  EXPECT_EQ(f.missing(o, {f.var(1, {f.bind()}), f.var(0, {})}), "<exhaustive>");
  EXPECT_EQ(f.missing(o, {f.wild()}), "<exhaustive>");
  EXPECT_EQ(f.missing(o, {}), "_");
}

TEST(Exhaustiveness, EnumMissingVariantWithOpenFields) {
  PatFixture f;
  EXPECT_EQ(f.missing(f.shapeTy, {f.var(0, {f.bind()}), f.var(2, {})}), "Rect(_, _)");
  EXPECT_EQ(f.missing(f.shapeTy, {f.var(1, {f.bind(), f.wild()}), f.var(2, {})}), "Circle(_)");
  EXPECT_EQ(f.missing(f.shapeTy, {f.var(0, {f.wild()}), f.var(1, {f.wild(), f.wild()}),
                                  f.var(2, {})}),
            "<exhaustive>");
  // A literal in a payload leaves the other integers uncovered.
  EXPECT_EQ(f.missing(f.shapeTy, {f.var(0, {f.bind()}), f.var(1, {f.lit(Pattern::Int, 10), f.wild()}),
                                  f.var(2, {})}),
            "Rect(_, _)");
}

TEST(Exhaustiveness, BoolsAndNesting) {
  PatFixture f;
  const Ty *ob = f.ctx.optionTy(f.ctx.boolTy());
  EXPECT_EQ(f.missing(ob, {f.var(1, {f.lit(Pattern::Bool, 1)}), f.var(0, {})}), "Some(false)");
  EXPECT_EQ(f.missing(ob, {f.var(1, {f.lit(Pattern::Bool, 0)}), f.var(0, {})}), "Some(true)");
  EXPECT_EQ(f.missing(ob, {f.var(1, {f.alt({f.lit(Pattern::Bool, 0), f.lit(Pattern::Bool, 1)})}),
                           f.var(0, {})}),
            "<exhaustive>");
  const Ty *os = f.ctx.optionTy(f.shapeTy);
  EXPECT_EQ(f.missing(os, {f.var(1, {f.var(0, {f.bind()})}), f.var(1, {f.var(2, {})}), f.var(0, {})}),
            "Some(Rect(_, _))");
  EXPECT_EQ(f.missing(os, {f.var(1, {f.var(1, {f.lit(Pattern::Int, 10), f.wild()})}),
                           f.var(1, {f.bind()}), f.var(0, {})}),
            "<exhaustive>");
  // Option<Option<Bool>>: two levels.
  const Ty *oob = f.ctx.optionTy(ob);
  EXPECT_EQ(f.missing(oob, {f.var(0, {}), f.var(1, {f.var(0, {})}),
                            f.var(1, {f.var(1, {f.lit(Pattern::Bool, 1)})})}),
            "Some(Some(false))");
  // Ints need a wildcard; Bools are finite.
  EXPECT_EQ(f.missing(f.ctx.intTy(), {f.alt({f.lit(Pattern::Int, 0), f.lit(Pattern::Int, 1)})}), "_");
  EXPECT_EQ(f.missing(f.ctx.boolTy(), {f.lit(Pattern::Bool, 1), f.lit(Pattern::Bool, 0)}),
            "<exhaustive>");
  EXPECT_EQ(f.missing(f.ctx.boolTy(), {f.lit(Pattern::Bool, 1)}), "false");
}

TEST(Exhaustiveness, Usefulness) {
  PatFixture f;
  const Ty *o = f.ctx.optionTy(f.ctx.intTy());
  Pattern *some = f.var(1, {f.bind()});
  Pattern *none = f.var(0, {});
  EXPECT_TRUE(isUseful(o, {some}, none));
  EXPECT_FALSE(isUseful(o, {some, none}, f.wild()));
  EXPECT_FALSE(isUseful(o, {f.wild()}, some));
  EXPECT_TRUE(isUseful(o, {f.var(1, {f.lit(Pattern::Int, 3)})}, f.var(1, {f.lit(Pattern::Int, 4)})));
  EXPECT_FALSE(isUseful(o, {f.var(1, {f.lit(Pattern::Int, 3)})}, f.var(1, {f.lit(Pattern::Int, 3)})));
}

//===----------------------------------------------------------------------===//
// Hygiene on a hand-built tree: a user `v` and a macro's `v#3` in one scope.
//===----------------------------------------------------------------------===//

struct TreeFixture {
  llvm::SourceMgr sm;
  std::string out;
  llvm::raw_string_ostream os{out};
  unsigned buf;
  AstContext ctx;
  TreeFixture() {
    buf = sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy("hand-built\n", "t.qz"),
                                llvm::SMLoc());
  }
  Expr *intLit(int64_t v) {
    auto *e = ctx.make<Expr>();
    e->kind = Expr::IntLit;
    e->intValue = v;
    return e;
  }
  Expr *boolLit(bool v) {
    auto *e = ctx.make<Expr>();
    e->kind = Expr::BoolLit;
    e->intValue = v;
    return e;
  }
  Expr *name(llvm::StringRef s, uint32_t mark) {
    auto *e = ctx.make<Expr>();
    e->kind = Expr::Name;
    e->name = Symbol{s, mark};
    return e;
  }
  Stmt *varDef(llvm::StringRef s, uint32_t mark, Expr *init, VarDecl **out) {
    auto *v = ctx.make<VarDecl>();
    v->kind = Decl::Kind::Var;
    v->name = Symbol{s, mark};
    v->init = init;
    auto *st = ctx.make<Stmt>();
    st->kind = Stmt::VarDef;
    st->decl = v;
    *out = v;
    return st;
  }
  Stmt *exprStmt(Expr *e) {
    auto *st = ctx.make<Stmt>();
    st->kind = Stmt::ExprStmt;
    st->value = e;
    return st;
  }
  Module *module(llvm::ArrayRef<Stmt *> body) {
    auto *f = ctx.make<FuncDecl>();
    f->kind = Decl::Kind::Func;
    f->name = Symbol{"main", 0};
    f->body = ctx.copy(body);
    auto *m = ctx.make<Module>();
    Decl *ds[] = {f};
    m->decls = ctx.copy(llvm::ArrayRef<Decl *>(ds));
    return m;
  }
};

TEST(Sema, HygieneSameSpellingDifferentMarks) {
  TreeFixture t;
  VarDecl *user = nullptr, *macro = nullptr;
  Expr *useUser = t.name("v", 0), *useMacro = t.name("v", 3);
  Stmt *body[] = {t.varDef("v", 0, t.intLit(1), &user), t.varDef("v", 3, t.boolLit(true), &macro),
                  t.exprStmt(useUser), t.exprStmt(useMacro)};
  Module *m = t.module(body);
  DiagEngine diags(t.sm, t.buf, t.os);
  EXPECT_TRUE(checkModule(t.ctx, *m, diags)) << t.out;
  EXPECT_EQ(useUser->resolved, user);
  EXPECT_EQ(useMacro->resolved, macro);
  EXPECT_EQ(useUser->type, t.ctx.intTy());
  EXPECT_EQ(useMacro->type, t.ctx.boolTy());
}

TEST(Sema, HygieneMacroNameInvisibleToUser) {
  TreeFixture t;
  VarDecl *macro = nullptr;
  Expr *use = t.name("tmp", 0);
  Stmt *body[] = {t.varDef("tmp", 7, t.intLit(1), &macro), t.exprStmt(use)};
  Module *m = t.module(body);
  DiagEngine diags(t.sm, t.buf, t.os);
  EXPECT_FALSE(checkModule(t.ctx, *m, diags));
  EXPECT_NE(t.out.find("error: undefined name 'tmp'"), std::string::npos) << t.out;
}

//===----------------------------------------------------------------------===//
// Real source: parse, expand macros, check.
//===----------------------------------------------------------------------===//

struct Checked {
  llvm::SourceMgr sm;
  AstContext ctx;
  std::string diags;
  Module *module = nullptr;
  bool ok = false;
  bool parsed = false;
};

std::unique_ptr<Checked> checkSource(llvm::StringRef src, llvm::StringRef name = "t.qz") {
  auto c = std::make_unique<Checked>();
  unsigned id = c->sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(src, name),
                                         llvm::SMLoc());
  llvm::raw_string_ostream os(c->diags);
  DiagEngine d(c->sm, id, os);
  c->module = parseQuartz(c->ctx, d);
  c->parsed = d.errorCount() == 0;
  if (!c->parsed)
    return c;
  expandMacros(c->ctx, *c->module, d);
  c->ok = checkModule(c->ctx, *c->module, d) && d.errorCount() == 0;
  return c;
}

/// The diagnostics of `src`, which must parse.
std::string errorsOf(llvm::StringRef src) {
  auto c = checkSource(src);
  EXPECT_TRUE(c->parsed) << c->diags;
  return c->diags;
}

/// Only the "FILE:LINE:COL: error: ..." lines.
std::string headLines(const std::string &diags) {
  std::istringstream in(diags);
  std::string line, out;
  while (std::getline(in, line))
    if (line.find(": error: ") != std::string::npos)
      out += line + "\n";
  return out;
}

// Finds the first Expr/Pattern/VarDecl satisfying a predicate, and checks
// invariants the lowering relies on, by walking the whole module.
struct Walker {
  std::function<void(Expr *)> onExpr = [](Expr *) {};
  std::function<void(Pattern *)> onPattern = [](Pattern *) {};
  std::function<void(Stmt *)> onStmt = [](Stmt *) {};
  void module(Module &m) {
    for (Decl *d : m.decls) {
      if (d->kind == Decl::Kind::Func)
        stmts(static_cast<FuncDecl *>(d)->body);
      if (d->kind == Decl::Kind::Actor) {
        auto *a = static_cast<ActorDecl *>(d);
        for (VarDecl *v : a->fields)
          expr(v->init);
        for (FuncDecl *f : a->methods)
          stmts(f->body);
      }
    }
  }
  void stmts(llvm::ArrayRef<Stmt *> ss) {
    for (Stmt *s : ss)
      stmt(s);
  }
  void stmt(Stmt *s) {
    if (!s)
      return;
    onStmt(s);
    if (s->decl)
      expr(s->decl->init);
    expr(s->target);
    expr(s->value);
    for (Expr *c : s->conds)
      expr(c);
    for (auto b : s->blocks)
      stmts(b);
    stmts(s->elseBody);
  }
  void pattern(Pattern *p) {
    onPattern(p);
    for (Pattern *s : p->subpatterns)
      pattern(s);
  }
  void expr(Expr *e) {
    if (!e)
      return;
    onExpr(e);
    if (e->kind == Expr::MacroCall) {
      expr(e->expansion);
      return;
    }
    expr(e->lhs);
    if (e->kind != Expr::Spawn)
      for (Expr *a : e->args)
        expr(a);
    expr(e->rhs);
    for (MatchArm *a : e->arms) {
      pattern(a->pattern);
      expr(a->guard);
      expr(a->body);
      stmt(a->stmt);
    }
    stmts(e->stmts);
  }
};

/// Every checker field the lowering reads is filled, with no Error type.
void expectFullyChecked(Module &m, const std::string &what) {
  Walker w;
  w.onExpr = [&](Expr *e) {
    ASSERT_NE(e->type, nullptr) << what << ": untyped expression at " << e->range.line << ":"
                                << e->range.col;
    EXPECT_NE(e->type->kind, Ty::Error) << what << " at " << e->range.line << ":" << e->range.col;
    if (e->kind == Expr::Name) {
      EXPECT_NE(e->resolved, nullptr) << what << ": unresolved " << e->name.spelling.str();
    }
    if (e->kind == Expr::EnumCtor) {
      EXPECT_NE(e->resolved, nullptr);
      EXPECT_GE(e->index, 0);
      EXPECT_FALSE(e->type->kind == Ty::Option && e->type->elem->kind == Ty::Never)
          << what << ": Option of unknown payload at " << e->range.line << ":" << e->range.col;
    }
    if (e->kind == Expr::MethodCall && e->lhs->type->kind == Ty::Actor &&
        e->name.spelling != "link" && e->name.spelling != "stop") {
      EXPECT_NE(e->resolved, nullptr);
    }
    if (e->kind == Expr::Field) {
      EXPECT_GE(e->index, 0);
    }
  };
  w.onPattern = [&](Pattern *p) {
    ASSERT_NE(p->type, nullptr) << what;
    if (p->kind == Pattern::Variant) {
      EXPECT_GE(p->variantIndex, 0) << what;
    }
    if (p->kind == Pattern::Binding) {
      ASSERT_NE(p->binding, nullptr);
      EXPECT_NE(p->binding->type, nullptr);
    }
  };
  w.onStmt = [&](Stmt *s) {
    if (s->kind == Stmt::VarDef) {
      ASSERT_NE(s->decl->type, nullptr) << what;
      EXPECT_NE(s->decl->type->kind, Ty::Error) << what;
    }
  };
  w.module(m);
}

TEST(Sema, SpecDiagnostics) {
  // The exact texts and places of language.md's "Compile errors".
  EXPECT_EQ(headLines(errorsOf("def main(): Int\n  var total = 0\n  return totl\nend\n")),
            "t.qz:3:10: error: undefined name 'totl'\n");
  EXPECT_EQ(headLines(errorsOf("def main(): Int\n  var x: Int = true\n  return x\nend\n")),
            "t.qz:2:16: error: type mismatch: expected Int, found Bool\n");
  EXPECT_EQ(headLines(errorsOf("def f(a: Int): Int\n  return a\nend\n"
                               "def main(): Int\n  return  f(1, 2)\nend\n")),
            "t.qz:5:11: error: wrong number of arguments: expected 1, found 2\n");
  EXPECT_EQ(headLines(errorsOf("actor Counter\n  var n: Int = 0\n  def bump(): Void\n    n += 1\n"
                               "  end\nend\ndef main()\n  var c = Counter()\n  c.reset()\nend\n")),
            "t.qz:9:5: error: unknown method 'reset'\n");
  EXPECT_EQ(headLines(errorsOf("struct P\n  x: Int\nend\ndef main(): Int\n"
                               "  var p = P { x: 1 }\n  return p.z\nend\n")),
            "t.qz:6:12: error: unknown field 'z'\n");
  EXPECT_EQ(headLines(errorsOf("def main(): Int\n  var o = Some(3)\n  var x = 0\n"
                               "  x = match o\n    Some(v) => v\n  end\n  return x\nend\n")),
            "t.qz:4:7: error: non-exhaustive match: None not covered\n");
  EXPECT_EQ(headLines(errorsOf("def f(): Int\n  var o = Some(1)\n  return $try(o)\nend\n")),
            "t.qz:3:10: error: $try outside a function returning Option\n");
  // The full clang-style form: line, source line, caret.
  EXPECT_EQ(errorsOf("def main(): Int\n  return totl\nend\n"),
            "t.qz:2:10: error: undefined name 'totl'\n  return totl\n         ^\n");
}

TEST(Sema, MoreDiagnostics) {
  EXPECT_EQ(headLines(errorsOf("enum Shape\n  Circle(Int)\n  Rect(Int, Int)\n  Empty\nend\n"
                               "def f(s: Shape): Int\n  return match s\n    Circle(r) => r\n"
                               "    Empty => 0\n  end\nend\n")),
            "t.qz:7:10: error: non-exhaustive match: Rect(_, _) not covered\n");
  EXPECT_EQ(headLines(errorsOf("def f(b: Option<Bool>): Int\n  return match b\n    Some(true) => 1\n"
                               "    None => 0\n  end\nend\n")),
            "t.qz:2:10: error: non-exhaustive match: Some(false) not covered\n");
  EXPECT_EQ(headLines(errorsOf("def f(n: Int): Int\n  return match n\n    0 | 1 => 1\n  end\nend\n")),
            "t.qz:2:10: error: non-exhaustive match: _ not covered\n");
  // A guarded arm does not count.
  EXPECT_EQ(headLines(errorsOf("def f(o: Option<Int>): Int\n  return match o\n    Some(x) => x\n"
                               "    None if true => 0\n  end\nend\n")),
            "t.qz:2:10: error: non-exhaustive match: None not covered\n");
  EXPECT_EQ(headLines(errorsOf("def f(): Int\n  var o = None\n  return 0\nend\n")),
            "t.qz:2:7: error: cannot infer type of 'o' from Option<?>; add a type annotation\n");
  EXPECT_EQ(headLines(errorsOf("def f(b: Bool): Int\n  if b\n    return 1\n  end\nend\n")),
            "t.qz:1:5: error: missing return: function 'f' returns Int but its body can reach "
            "the end\n");
  EXPECT_EQ(headLines(errorsOf("def f(): Int\n  return 1 + true\nend\n")),
            "t.qz:2:14: error: type mismatch: expected Int, found Bool\n");
  EXPECT_EQ(headLines(errorsOf("def f()\n  x = 1\nend\n")), "t.qz:2:3: error: undefined name 'x'\n");
  EXPECT_EQ(headLines(errorsOf("def f()\n  break\nend\n")), "t.qz:2:3: error: 'break' outside a loop\n");
  EXPECT_EQ(headLines(errorsOf("def f(): Int\n  return 5!\nend\n")),
            "t.qz:2:10: error: type mismatch: expected an Option, found Int\n");
  EXPECT_EQ(headLines(errorsOf("enum S\n  A(Int)\n  B\nend\ndef f(s: S): Int\n  return match s\n"
                               "    A(x) | B => 1\n  end\nend\n")),
            "t.qz:7:12: error: 'x' is not bound in every alternative of this or-pattern\n");
  EXPECT_EQ(headLines(errorsOf("def main(x: Int): Bool\n  return true\nend\n")),
            "t.qz:1:5: error: 'main' must be declared 'def main(): Int' or 'def main()'\n");
  EXPECT_EQ(headLines(errorsOf("enum L\n  Nil\n  Cons(Int, L)\nend\n")),
            "t.qz:1:6: error: recursive type 'L' has infinite size (enums and structs are values)\n");
  // Every error is reported, and an error does not cascade.
  EXPECT_EQ(headLines(errorsOf("def f(): Int\n  var a = nope\n  var b = a + 1\n  var c: Bool = 3\n"
                               "  return a.foo()\nend\n")),
            "t.qz:2:11: error: undefined name 'nope'\n"
            "t.qz:4:17: error: type mismatch: expected Bool, found Int\n");
  // Errors in a macro expansion point at the macro use.
  EXPECT_EQ(headLines(errorsOf("def f(): Int\n  var o = Some(true)\n  return o!\nend\n")),
            "t.qz:3:10: error: type mismatch: expected Int, found Bool\n");
}

const Ty *typeOfVar(Module &m, llvm::StringRef name) {
  const Ty *found = nullptr;
  Walker w;
  w.onStmt = [&](Stmt *s) {
    if (s->kind == Stmt::VarDef && s->decl->name.spelling == name)
      found = s->decl->type;
  };
  w.module(m);
  return found;
}

TEST(Sema, BuiltinTyping) {
  auto c = checkSource(R"(actor A
  var n: Int = 0
  def get(): Int
    return n
  end
  def poke(): Void
    n += 1
  end
end
def worker(ch: Channel<Int>)
  ch.send(1)
end
def main(): Int
  var v = vec_new()
  v.push(1)
  var popped = v.pop()
  var len = v.len()
  var elem = v[0]
  v[0] = 5
  var ch = channel(2)
  spawn worker(ch)
  var got = ch.recv()
  var tried = ch.try_recv()
  ch.close()
  var u = got.unwrap()
  var d = tried.unwrap_or(7)
  var s = got.is_some()
  var n = got.is_none()
  var a = A()
  var b = A()
  a.link(b)
  var r = a.get()
  a.poke()
  a.stop()
  usleep(10)
  println(1)
  println(true)
  print("s")
  var bare = None
  return 0
end
)");
  // `var bare = None` is the one error: the rest is well typed.
  EXPECT_EQ(headLines(c->diags),
            "t.qz:39:7: error: cannot infer type of 'bare' from Option<?>; add a type annotation\n");
  Module &m = *c->module;
  AstContext &x = c->ctx;
  EXPECT_EQ(typeOfVar(m, "v"), x.vecTy());
  EXPECT_EQ(typeOfVar(m, "popped"), x.optionTy(x.intTy()));
  EXPECT_EQ(typeOfVar(m, "len"), x.intTy());
  EXPECT_EQ(typeOfVar(m, "elem"), x.intTy());
  EXPECT_EQ(typeOfVar(m, "ch"), x.channelTy());
  EXPECT_EQ(typeOfVar(m, "got"), x.optionTy(x.intTy()));
  EXPECT_EQ(typeOfVar(m, "tried"), x.optionTy(x.intTy()));
  EXPECT_EQ(typeOfVar(m, "u"), x.intTy());
  EXPECT_EQ(typeOfVar(m, "d"), x.intTy());
  EXPECT_EQ(typeOfVar(m, "s"), x.boolTy());
  EXPECT_EQ(typeOfVar(m, "n"), x.boolTy());
  ASSERT_NE(typeOfVar(m, "a"), nullptr);
  EXPECT_EQ(typeOfVar(m, "a")->kind, Ty::Actor);
  EXPECT_EQ(typeOfVar(m, "r"), x.intTy());
  // Builtins stay unresolved; user functions and methods resolve.
  Walker w;
  int builtinCalls = 0, methodCalls = 0;
  w.onExpr = [&](Expr *e) {
    if (e->kind == Expr::Call && (e->name.spelling == "println" || e->name.spelling == "usleep"))
      builtinCalls += e->resolved == nullptr;
    if (e->kind == Expr::MethodCall && e->name.spelling == "get")
      methodCalls += e->resolved && e->resolved->kind == Decl::Kind::Func;
    if (e->kind == Expr::Call && e->name.spelling == "worker") {
      EXPECT_TRUE(e->resolved && e->resolved->kind == Decl::Kind::Func);
    }
    if (e->kind == Expr::Spawn) {
      EXPECT_EQ(e->type, x.voidTy());
    }
    if (e->kind == Expr::Call && e->name.spelling == "A") {
      EXPECT_TRUE(e->resolved && e->resolved->kind == Decl::Kind::Actor);
    }
  };
  w.module(m);
  EXPECT_EQ(builtinCalls, 3);
  EXPECT_EQ(methodCalls, 1);
}

TEST(Sema, ShadowingAndActorFields) {
  auto c = checkSource(R"(actor C
  var n: Int = 0
  def f(): Int
    var r = n
    if true
      var n = false
      r = 1 if n
    end
    return n + r
  end
end
def main(): Int
  return 0
end
)");
  ASSERT_TRUE(c->ok) << c->diags;
  // The two `n` uses inside `if` see the Bool local; the others the field.
  Walker w;
  std::vector<std::pair<unsigned, const Decl *>> uses;
  w.onExpr = [&](Expr *e) {
    if (e->kind == Expr::Name && e->name.spelling == "n")
      uses.push_back({e->range.line, e->resolved});
  };
  w.module(*c->module);
  ASSERT_EQ(uses.size(), 3u);
  for (auto [line, d] : uses) {
    ASSERT_NE(d, nullptr);
    auto *v = static_cast<const VarDecl *>(d);
    if (line == 7) {
      EXPECT_FALSE(v->isActorField);
      EXPECT_EQ(v->type, c->ctx.boolTy());
    } else {
      EXPECT_TRUE(v->isActorField) << "line " << line;
    }
  }
}

TEST(Sema, MacroHygieneOnSource) {
  // A user `v` next to `$unwrap`'s `v`: each use resolves to its own binding.
  auto c = checkSource(R"(def main(): Int
  var v = 10
  var o = Some(true)
  var w = o!
  var x = $unwrap(Some(v))
  return v + x
end
)");
  ASSERT_TRUE(c->ok) << c->diags;
  const Decl *userV = nullptr;
  std::vector<const Expr *> vUses;
  Walker w;
  w.onStmt = [&](Stmt *s) {
    if (s->kind == Stmt::VarDef && s->decl->name.spelling == "v")
      userV = s->decl;
  };
  w.onExpr = [&](Expr *e) {
    if (e->kind == Expr::Name && e->name.spelling == "v")
      vUses.push_back(e);
  };
  w.module(*c->module);
  ASSERT_NE(userV, nullptr);
  int user = 0, macro = 0;
  for (const Expr *e : vUses) {
    if (e->name.mark == 0) {
      EXPECT_EQ(e->resolved, userV);
      ++user;
    } else {
      EXPECT_NE(e->resolved, userV);
      EXPECT_EQ(static_cast<const VarDecl *>(e->resolved)->name.mark, e->name.mark);
      ++macro;
    }
  }
  EXPECT_EQ(user, 2);
  EXPECT_EQ(macro, 2);
  EXPECT_EQ(typeOfVar(*c->module, "w"), c->ctx.boolTy());
  EXPECT_EQ(typeOfVar(*c->module, "x"), c->ctx.intTy());
}

TEST(Sema, OptionInferenceAndBareVariants) {
  auto c = checkSource(R"(enum Shape
  Circle(Int)
  Rect(Int, Int)
  Empty
end
def f(b: Bool): Option<Option<Int>>
  var q = match b
    true => None
    false => Some(3)
  end
  var s: Shape = Empty
  var t = Circle(2)
  var o: Option<Int> = None
  return Some(None) if b
  return Some(q)
end
def g(o: Option<Shape>): Int
  return match o
    Some(Circle(r)) | Some(Rect(r, _)) => r
    Some(Empty) => 0
    None => -1
  end
end
def main(): Int
  return 0
end
)");
  ASSERT_TRUE(c->ok) << c->diags;
  AstContext &x = c->ctx;
  EXPECT_EQ(typeOfVar(*c->module, "q"), x.optionTy(x.intTy()));
  ASSERT_NE(typeOfVar(*c->module, "t"), nullptr);
  EXPECT_EQ(typeOfVar(*c->module, "t")->kind, Ty::Enum);
  expectFullyChecked(*c->module, "OptionInference");
  // The or-pattern's two `r`s are one binding.
  Walker w;
  std::vector<VarDecl *> rs;
  w.onPattern = [&](Pattern *p) {
    if (p->kind == Pattern::Binding && p->binding->name.spelling == "r")
      rs.push_back(p->binding);
  };
  w.module(*c->module);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0], rs[1]);
}

TEST(Sema, SpecPrograms) {
  namespace fs = std::filesystem;
  fs::path dir = "/work/shared/spec/programs";
  if (!fs::exists(dir))
    GTEST_SKIP() << "no spec programs at " << dir;
  int good = 0, bad = 0;
  for (auto &entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".qz")
      continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    auto c = checkSource(ss.str(), entry.path().filename().string());
    EXPECT_TRUE(c->ok) << entry.path() << ":\n" << c->diags;
    if (c->ok)
      expectFullyChecked(*c->module, entry.path().string());
    ++good;
  }
  for (auto &entry : fs::directory_iterator(dir / "bad")) {
    if (entry.path().extension() != ".qz")
      continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string src = ss.str(), expectText, expectAt;
    std::istringstream lines(src);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("# expect-compile-error: ", 0) == 0)
        expectText = line.substr(24);
      if (line.rfind("# expect-error-at: ", 0) == 0)
        expectAt = line.substr(19);
    }
    std::string name = entry.path().filename().string();
    auto c = checkSource(src, name);
    EXPECT_FALSE(c->ok) << name;
    std::string heads = headLines(c->diags);
    // Exactly one diagnostic, with the expected place and text.
    std::string prefix = name + ":" + expectAt + ": error: " + expectText;
    EXPECT_EQ(heads.rfind(prefix, 0), 0u) << name << ": got\n" << c->diags;
    EXPECT_EQ(std::count(heads.begin(), heads.end(), '\n'), 1) << c->diags;
    ++bad;
  }
  EXPECT_GE(good, 8);
  EXPECT_GE(bad, 3);
}

} // namespace
