// ast::dump: prints the AST as an indented S-expression, one node per line, for
// `qzc --emit=ast` and for tests. Names print as `x` (user-written, mark 0) or
// `x#3` (introduced by a macro expansion with mark 3), so hygiene is visible;
// types filled in by the checker print after a colon.
#include "lowering/AST.h"


using namespace qmir;
using namespace qmir::ast;

namespace {

class Dumper {
public:
  explicit Dumper(llvm::raw_ostream &os) : os_(os) {}

  void module(const Module &m) {
    os_ << "(module \"";
    os_.write_escaped(m.fileName);
    os_ << "\"";
    ++indent_;
    for (const Decl *d : m.decls)
      decl(d);
    --indent_;
    os_ << ")\n";
  }

private:
  void line() {
    os_ << '\n';
    os_.indent(2 * indent_);
  }
  void sym(const Symbol &s) {
    os_ << s.spelling;
    if (s.mark)
      os_ << '#' << s.mark;
  }
  void type(const TypeExpr *t) {
    if (!t) {
      os_ << "?";
      return;
    }
    os_ << t->name;
    if (!t->args.empty()) {
      os_ << '<';
      for (size_t i = 0; i < t->args.size(); ++i) {
        if (i)
          os_ << ", ";
        type(t->args[i]);
      }
      os_ << '>';
    }
  }
  void ty(const Ty *t) {
    if (t)
      os_ << " : " << t->str();
  }
  /// Opens a child node on its own line; close() ends it.
  void open(llvm::StringRef head) {
    line();
    os_ << '(' << head;
    ++indent_;
  }
  void close() {
    --indent_;
    os_ << ')';
  }

  void decl(const Decl *d) {
    switch (d->kind) {
    case Decl::Kind::Func: func(static_cast<const FuncDecl *>(d)); break;
    case Decl::Kind::Enum: {
      auto *e = static_cast<const EnumDecl *>(d);
      open("enum ");
      sym(e->name);
      for (const auto &v : e->variants) {
        open("variant ");
        sym(v.name);
        for (const TypeExpr *f : v.fieldExprs) {
          os_ << ' ';
          type(f);
        }
        close();
      }
      close();
      break;
    }
    case Decl::Kind::Struct: {
      auto *s = static_cast<const StructDecl *>(d);
      open("struct ");
      sym(s->name);
      for (const auto &f : s->fields) {
        open("field ");
        sym(f.name);
        os_ << ' ';
        type(f.typeExpr);
        close();
      }
      close();
      break;
    }
    case Decl::Kind::Actor: {
      auto *a = static_cast<const ActorDecl *>(d);
      open("actor ");
      sym(a->name);
      for (const VarDecl *f : a->fields)
        varDecl(f, "field ");
      for (const FuncDecl *m : a->methods)
        func(m);
      close();
      break;
    }
    case Decl::Kind::Var:
      varDecl(static_cast<const VarDecl *>(d), "var ");
      break;
    case Decl::Kind::Param: {
      auto *p = static_cast<const Param *>(d);
      open("param ");
      sym(p->name);
      os_ << ' ';
      type(p->typeExpr);
      close();
      break;
    }
    }
  }

  void func(const FuncDecl *f) {
    open("def ");
    sym(f->name);
    if (f->resultExpr) {
      os_ << " -> ";
      type(f->resultExpr);
    }
    for (const Param *p : f->params)
      decl(p);
    block("body", f->body);
    close();
  }

  void varDecl(const VarDecl *v, llvm::StringRef head) {
    open(head);
    sym(v->name);
    if (v->typeExpr) {
      os_ << " : ";
      type(v->typeExpr);
    }
    if (v->type)
      os_ << " (" << v->type->str() << ")";
    os_ << " scope=" << v->scope;
    if (v->init)
      expr(v->init);
    close();
  }

  void block(llvm::StringRef head, llvm::ArrayRef<Stmt *> stmts) {
    open(head);
    for (const Stmt *s : stmts)
      stmt(s);
    close();
  }

  static const char *opName(Expr::Op op) {
    switch (op) {
    case Expr::None: return "=";
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
    case Expr::Neg: return "-";
    case Expr::Not: return "not";
    }
    return "?";
  }

  void stmt(const Stmt *s) {
    switch (s->kind) {
    case Stmt::VarDef:
      varDecl(s->decl, "var ");
      return;
    case Stmt::Assign:
      open("assign ");
      os_ << (s->op == Expr::None ? "=" : opName(s->op));
      if (s->op != Expr::None)
        os_ << '=';
      expr(s->target);
      expr(s->value);
      close();
      return;
    case Stmt::ExprStmt:
      open("expr");
      expr(s->value);
      close();
      return;
    case Stmt::If:
      open("if");
      for (size_t i = 0; i < s->conds.size(); ++i) {
        open(i == 0 ? "cond" : "elsif");
        expr(s->conds[i]);
        close();
        block("then", i < s->blocks.size() ? s->blocks[i]
                                           : llvm::ArrayRef<Stmt *>());
      }
      if (s->hasElse)
        block("else", s->elseBody);
      close();
      return;
    case Stmt::While:
      open("while");
      if (!s->conds.empty())
        expr(s->conds[0]);
      block("body", s->blocks.empty() ? llvm::ArrayRef<Stmt *>()
                                      : s->blocks[0]);
      close();
      return;
    case Stmt::Break:
      open("break");
      close();
      return;
    case Stmt::Continue:
      open("continue");
      close();
      return;
    case Stmt::Return:
      open("return");
      if (s->value)
        expr(s->value);
      close();
      return;
    }
  }

  void pattern(const Pattern *p) {
    switch (p->kind) {
    case Pattern::Wildcard:
      open("_");
      break;
    case Pattern::Binding:
      open("bind ");
      sym(p->binding->name);
      os_ << " scope=" << p->binding->scope;
      break;
    case Pattern::Int:
      open("pint ");
      os_ << p->intValue;
      break;
    case Pattern::Bool:
      open(p->intValue ? "pbool true" : "pbool false");
      break;
    case Pattern::Variant:
      open("variant ");
      if (!p->enumName.empty())
        os_ << p->enumName << "::";
      sym(p->variantName);
      for (const Pattern *s : p->subpatterns)
        pattern(s);
      break;
    case Pattern::Or:
      open("or");
      for (const Pattern *s : p->subpatterns)
        pattern(s);
      break;
    }
    if (p->type)
      os_ << " : " << p->type->str();
    close();
  }

  void expr(const Expr *e) {
    if (!e) {
      open("null");
      close();
      return;
    }
    switch (e->kind) {
    case Expr::IntLit:
      open("int ");
      os_ << e->intValue;
      break;
    case Expr::BoolLit:
      open(e->intValue ? "bool true" : "bool false");
      break;
    case Expr::StringLit:
      open("string \"");
      os_.write_escaped(e->text);
      os_ << '"';
      break;
    case Expr::Name:
      open("name ");
      sym(e->name);
      break;
    case Expr::Unary:
      open("unary ");
      os_ << opName(e->op);
      break;
    case Expr::Binary:
      open("binary ");
      os_ << opName(e->op);
      break;
    case Expr::Call:
      open("call ");
      sym(e->name);
      break;
    case Expr::MethodCall:
      open("method ");
      sym(e->name);
      break;
    case Expr::Field:
      open("field ");
      sym(e->name);
      break;
    case Expr::Index:
      open("index");
      break;
    case Expr::EnumCtor:
      open("enum-ctor ");
      if (!e->qualifier.empty())
        os_ << e->qualifier << "::";
      sym(e->name);
      break;
    case Expr::StructLit:
      open("struct-lit ");
      sym(e->name);
      break;
    case Expr::Match:
      open(e->isStatement ? "match-stmt" : "match");
      break;
    case Expr::Do:
      open("do");
      break;
    case Expr::MacroCall:
      open("macro ");
      sym(e->name);
      if (e->postfix)
        os_ << " postfix";
      break;
    case Expr::Spawn:
      open("spawn");
      break;
    }
    ty(e->type);
    children(e);
    close();
  }

  void children(const Expr *e) {
    switch (e->kind) {
    case Expr::IntLit:
    case Expr::BoolLit:
    case Expr::StringLit:
    case Expr::Name:
      return;
    case Expr::Unary:
      expr(e->lhs);
      return;
    case Expr::Binary:
    case Expr::Index:
      expr(e->lhs);
      expr(e->rhs);
      return;
    case Expr::Call:
    case Expr::EnumCtor:
      for (const Expr *a : e->args)
        expr(a);
      return;
    case Expr::MethodCall:
      expr(e->lhs);
      for (const Expr *a : e->args)
        expr(a);
      return;
    case Expr::Field:
    case Expr::Spawn:
      expr(e->lhs);
      return;
    case Expr::StructLit:
      for (size_t i = 0; i < e->args.size(); ++i) {
        open("init ");
        if (i < e->fieldNames.size())
          sym(e->fieldNames[i]);
        expr(e->args[i]);
        close();
      }
      return;
    case Expr::Match:
      expr(e->lhs);
      for (const MatchArm *a : e->arms) {
        open("arm");
        pattern(a->pattern);
        if (a->guard) {
          open("guard");
          expr(a->guard);
          close();
        }
        if (a->stmt)
          stmt(a->stmt);
        else
          expr(a->body);
        close();
      }
      return;
    case Expr::Do:
      for (const Stmt *s : e->stmts)
        stmt(s);
      if (e->rhs) {
        open("value");
        expr(e->rhs);
        close();
      }
      return;
    case Expr::MacroCall:
      // The expansion contains the arguments; printing both would show them
      // twice.
      if (e->expansion) {
        open("expansion");
        expr(e->expansion);
        close();
      } else {
        for (const Expr *a : e->args)
          expr(a);
      }
      return;
    }
  }

  llvm::raw_ostream &os_;
  unsigned indent_ = 0;
};

} // namespace

void qmir::ast::dump(llvm::raw_ostream &os, const Module &m) {
  Dumper(os).module(m);
}
