// Expands $unwrap / `e!`, $try and $assert into Match expressions with
// hygienic bindings (see Macros.h). Every node an expansion creates gets the
// macro use's source range, so a panic inside it reports the use's location.
#include "frontend/Macros.h"

#include "llvm/ADT/SmallVector.h"

using namespace qmir;
using namespace qmir::ast;
using namespace qmir::frontend;
using llvm::ArrayRef;

namespace {

class Expander {
public:
  Expander(AstContext &ctx, const Module &m, DiagEngine &diags)
      : ctx_(ctx), m_(m), diags_(diags) {}

  void decl(Decl *d) {
    switch (d->kind) {
    case Decl::Kind::Func:
      func(static_cast<FuncDecl *>(d));
      break;
    case Decl::Kind::Actor: {
      auto *a = static_cast<ActorDecl *>(d);
      result_ = nullptr; // a field initialiser is in no function
      for (VarDecl *f : a->fields)
        expr(f->init);
      for (FuncDecl *f : a->methods)
        func(f);
      break;
    }
    default:
      break;
    }
  }

private:
  void func(FuncDecl *f) {
    result_ = f->resultExpr;
    block(f->body);
  }
  void block(ArrayRef<Stmt *> stmts) {
    forEachStmtPrefetched(stmts, [&](Stmt *s) { stmt(s); });
  }
  void stmt(Stmt *s) {
    if (!s)
      return;
    switch (s->kind) {
    case Stmt::VarDef:
      expr(s->decl->init);
      break;
    case Stmt::Assign:
      expr(s->target);
      expr(s->value);
      break;
    case Stmt::ExprStmt:
    case Stmt::Return:
      expr(s->value);
      break;
    case Stmt::If:
    case Stmt::While:
      for (Expr *c : s->conds)
        expr(c);
      for (ArrayRef<Stmt *> b : s->blocks)
        block(b);
      block(s->elseBody);
      break;
    case Stmt::Break:
    case Stmt::Continue:
      break;
    }
  }
  void expr(Expr *e) {
    if (!e)
      return;
    switch (e->kind) {
    case Expr::IntLit:
    case Expr::BoolLit:
    case Expr::StringLit:
    case Expr::Name:
      return;
    case Expr::Spawn:
      // args (if set) holds the same call as lhs: visit it once.
      expr(e->lhs);
      return;
    case Expr::Unary:
    case Expr::Binary:
    case Expr::Field:
    case Expr::Index:
      // No args (not reading them spares a cache miss: see Expr's layout).
      expr(e->lhs);
      expr(e->rhs);
      return;
    case Expr::Match:
      expr(e->lhs);
      for (MatchArm *a : e->arms) {
        expr(a->guard);
        expr(a->body);
        stmt(a->stmt);
      }
      return;
    case Expr::Do:
      block(e->stmts);
      expr(e->rhs);
      return;
    case Expr::MacroCall:
      for (Expr *a : e->args)
        expr(a);
      if (!e->expansion)
        expand(e);
      return;
    default:
      expr(e->lhs);
      expr(e->rhs);
      for (Expr *a : e->args)
        expr(a);
      return;
    }
  }

  //===--- Building the expansion ----------------------------------------===//
  Expr *mk(Expr::Kind k, SrcRange r) {
    Expr *e = ctx_.make<Expr>();
    e->kind = k;
    e->range = r;
    e->nameRange = r;
    return e;
  }
  Pattern *variant(llvm::StringRef name, SrcRange r,
                   ArrayRef<Pattern *> subs = {}) {
    Pattern *p = ctx_.make<Pattern>();
    p->kind = Pattern::Variant;
    p->range = r;
    p->variantName = Symbol{name, 0};
    p->subpatterns = ctx_.copy(subs);
    return p;
  }
  MatchArm *arm(Pattern *p, Expr *body, SrcRange r) {
    MatchArm *a = ctx_.make<MatchArm>();
    a->range = r;
    a->pattern = p;
    a->body = body;
    return a;
  }
  Expr *panicCall(llvm::StringRef msg, SrcRange r) {
    Expr *s = mk(Expr::StringLit, r);
    s->text = msg;
    Expr *c = mk(Expr::Call, r);
    c->name = Symbol{"panic", 0};
    c->args = ctx_.copy(ArrayRef<Expr *>(s));
    return c;
  }
  Expr *match(Expr *subject, MatchArm *a, MatchArm *b, SrcRange r) {
    Expr *m = mk(Expr::Match, r);
    m->lhs = subject;
    MatchArm *arms[] = {a, b};
    m->arms = ctx_.copy(ArrayRef<MatchArm *>(arms));
    return m;
  }
  /// `Some(v#m) => v#m`, with a fresh mark and scope per expansion.
  MatchArm *someArm(SrcRange r) {
    Symbol v{"v", ctx_.freshMark()};
    VarDecl *d = ctx_.make<VarDecl>();
    d->kind = Decl::Kind::Var;
    d->name = v;
    d->range = d->nameRange = r;
    d->scope = ctx_.freshScope();
    Pattern *bind = ctx_.make<Pattern>();
    bind->kind = Pattern::Binding;
    bind->range = r;
    bind->binding = d;
    Expr *use = mk(Expr::Name, r);
    use->name = v;
    return arm(variant("Some", r, ArrayRef<Pattern *>(bind)), use, r);
  }

  void expand(Expr *e) {
    llvm::StringRef name = e->name.spelling;
    bool known = name == "$unwrap" || name == "$try" || name == "$assert";
    if (!known) {
      diags_.error(e->nameRange, "unknown macro '" + name +
                                     "' (expected $unwrap, $try or $assert)");
      return;
    }
    if (e->args.size() != 1) {
      diags_.error(e->nameRange, "wrong number of arguments to '" + name +
                                     "': expected 1, found " +
                                     llvm::Twine(e->args.size()));
      return;
    }
    SrcRange r = e->range;
    Expr *arg = e->args[0];
    if (name == "$unwrap") {
      e->expansion = match(arg, someArm(r),
                           arm(variant("None", r),
                               panicCall("unwrap on None", r), r),
                           r);
      return;
    }
    if (name == "$try") {
      if (!result_ || result_->name != "Option") {
        diags_.error(e->nameRange, "$try outside a function returning Option");
        return;
      }
      Expr *none = mk(Expr::EnumCtor, r);
      none->name = Symbol{"None", 0};
      Stmt *ret = ctx_.make<Stmt>();
      ret->kind = Stmt::Return;
      ret->range = r;
      ret->value = none;
      Expr *d = mk(Expr::Do, r);
      d->stmts = ctx_.copy(ArrayRef<Stmt *>(ret));
      e->expansion = match(arg, someArm(r), arm(variant("None", r), d, r), r);
      return;
    }
    // $assert(c)
    llvm::StringRef text = e->text;
    if (text.empty() && arg->range.end <= m_.source.size())
      text = m_.source.slice(arg->range.begin, arg->range.end);
    auto boolPat = [&](bool v) {
      Pattern *p = ctx_.make<Pattern>();
      p->kind = Pattern::Bool;
      p->range = r;
      p->intValue = v;
      return p;
    };
    std::string msg = ("assertion failed: " + text).str();
    e->expansion =
        match(arg, arm(boolPat(true), mk(Expr::Do, r), r),
              arm(boolPat(false), panicCall(ctx_.save(msg), r), r), r);
  }

  AstContext &ctx_;
  const Module &m_;
  DiagEngine &diags_;
  const TypeExpr *result_ = nullptr;
};

} // namespace

void qmir::frontend::expandMacros(AstContext &ctx, Module &m,
                                  DiagEngine &diags) {
  Expander x(ctx, m, diags);
  for (Decl *d : m.decls)
    x.decl(d);
}

void qmir::frontend::expandMacrosIn(AstContext &ctx, Module &m, Decl *d,
                                    DiagEngine &diags) {
  Expander x(ctx, m, diags);
  x.decl(d);
}
