// The Quartz core checker: resolves every name to its declaration, computes and
// checks every expression's type, and rejects non-exhaustive matches.
//
// One pass over the declarations collects the globals and their signatures (so
// functions, types and actors can be used in any order), then each body is
// checked with a stack of block scopes. Types flow both ways: an expected type,
// when the context has one, is passed down (so `None`, `Some(None)` and arm
// bodies get their full Option type), and results flow up. Option<Never>
// stands for "an Option whose payload type is not known yet"; once the
// context fixes it, `refine` writes the full type back into the subtree. After
// an error the offending expression gets Ty::Error, which is compatible with
// everything, so one mistake produces one diagnostic.
#include "frontend/Sema.h"

#include "frontend/Exhaustiveness.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <string>
#include <vector>

using namespace qmir;
using namespace qmir::ast;
using namespace qmir::frontend;

namespace {

bool isNeverOrError(const Ty *t) {
  return !t || t->kind == Ty::Never || t->kind == Ty::Error;
}

/// An Option whose payload type is not known yet (`None` with no context).
bool incomplete(const Ty *t) {
  return t && t->kind == Ty::Option && (t->elem->kind == Ty::Never || incomplete(t->elem));
}

/// Never fits anywhere; Error suppresses follow-on errors; an incomplete Option
/// fits any Option.
bool compatible(const Ty *have, const Ty *want) {
  if (have == want || isNeverOrError(have) || isNeverOrError(want))
    return true;
  return have->kind == Ty::Option && want->kind == Ty::Option &&
         compatible(have->elem, want->elem);
}

/// Type names as users write them; an unknown Option payload prints as `?`.
std::string tyName(const Ty *t) {
  if (!t)
    return "?";
  if (t->kind == Ty::Option)
    return "Option<" + (t->elem->kind == Ty::Never ? std::string("?") : tyName(t->elem)) + ">";
  return t->str();
}

SrcRange nameLoc(const Expr *e) { return e->nameRange.line ? e->nameRange : e->range; }
SrcRange nameLoc(const Decl *d) { return d->nameRange.line ? d->nameRange : d->range; }

class Checker {
public:
  Checker(AstContext &ctx, Module &m, DiagEngine &diags) : ctx(ctx), mod(m), diags(diags) {}

  bool run() {
    checkGlobals();
    for (Decl *d : mod.decls)
      checkDecl(d);
    return errors == 0;
  }

  /// run() in steps: checkGlobals(), then checkDecl() on each declaration in
  /// module order.
  void checkGlobals() {
    collectGlobals();
    resolveSignatures();
    checkRecursiveTypes();
  }
  void checkDecl(Decl *d) {
    if (d->kind == Decl::Kind::Func)
      checkFunction(static_cast<FuncDecl *>(d));
    else if (d->kind == Decl::Kind::Actor)
      checkActor(static_cast<ActorDecl *>(d));
  }
  unsigned errorCount() const { return errors; }

private:
  AstContext &ctx;
  Module &mod;
  DiagEngine &diags;
  unsigned errors = 0;

  llvm::StringMap<FuncDecl *> funcs;
  llvm::StringMap<Decl *> types; // enums, structs, actors
  struct VariantRef {
    const EnumDecl *decl;
    int index;
  };
  llvm::StringMap<llvm::SmallVector<VariantRef, 1>> variants;

  struct Binding {
    Symbol name;
    Decl *decl;
  };
  std::vector<Binding> bindings;
  std::vector<size_t> scopeStarts;
  std::vector<uint32_t> scopeIds;

  FuncDecl *curFunc = nullptr;
  const Ty *curResult = nullptr;
  const ActorDecl *curActor = nullptr;
  unsigned loopDepth = 0;
  /// A match subject checkMacro has already checked (it is the macro's argument).
  Expr *preChecked = nullptr;

  //===--------------------------------------------------------------------===//
  // Diagnostics and scopes
  //===--------------------------------------------------------------------===//

  void error(SrcRange r, const llvm::Twine &msg) {
    ++errors;
    diags.error(r, msg);
  }

  void mismatch(SrcRange r, const Ty *want, const Ty *have) {
    error(r, "type mismatch: expected " + tyName(want) + ", found " + tyName(have));
  }

  void pushScope() {
    scopeStarts.push_back(bindings.size());
    scopeIds.push_back(ctx.freshScope());
  }
  void popScope() {
    bindings.resize(scopeStarts.back());
    scopeStarts.pop_back();
    scopeIds.pop_back();
  }
  void declare(Decl *d) {
    if (d->kind == Decl::Kind::Var) {
      auto *v = static_cast<VarDecl *>(d);
      if (!v->scope && !scopeIds.empty())
        v->scope = scopeIds.back();
    }
    bindings.push_back({d->name, d});
  }
  Decl *lookupLocal(Symbol s) {
    for (size_t i = bindings.size(); i-- > 0;)
      if (bindings[i].name == s)
        return bindings[i].decl;
    if (curActor)
      for (VarDecl *f : curActor->fields)
        if (f->name == s)
          return f;
    return nullptr;
  }
  static const Ty *declType(const Decl *d) {
    if (d->kind == Decl::Kind::Var)
      return static_cast<const VarDecl *>(d)->type;
    if (d->kind == Decl::Kind::Param)
      return static_cast<const Param *>(d)->type;
    return nullptr;
  }

  //===--------------------------------------------------------------------===//
  // Globals and signatures
  //===--------------------------------------------------------------------===//

  void collectGlobals() {
    llvm::StringMap<Decl *> seen;
    for (Decl *d : mod.decls) {
      auto [it, fresh] = seen.try_emplace(d->name.spelling, d);
      if (!fresh) {
        error(nameLoc(d), "redefinition of '" + d->name.spelling + "'");
        continue;
      }
      switch (d->kind) {
      case Decl::Kind::Func:
        funcs[d->name.spelling] = static_cast<FuncDecl *>(d);
        break;
      case Decl::Kind::Enum: {
        types[d->name.spelling] = d;
        auto *e = static_cast<EnumDecl *>(d);
        llvm::StringMap<bool> names;
        for (size_t i = 0; i < e->variants.size(); ++i) {
          const auto &v = e->variants[i];
          if (!names.try_emplace(v.name.spelling, true).second) {
            error(v.range, "duplicate variant '" + v.name.spelling + "' in enum " +
                               e->name.spelling);
            continue;
          }
          variants[v.name.spelling].push_back({e, static_cast<int>(i)});
        }
        break;
      }
      case Decl::Kind::Struct:
      case Decl::Kind::Actor:
        types[d->name.spelling] = d;
        break;
      default:
        break;
      }
    }
  }

  const Ty *resolveType(const TypeExpr *te) {
    if (!te)
      return ctx.voidTy();
    auto noArgs = [&](const Ty *t) -> const Ty * {
      if (!te->args.empty()) {
        error(te->range, "type '" + te->name + "' takes no type arguments");
        return ctx.errorTy();
      }
      return t;
    };
    if (te->name == "Int")
      return noArgs(ctx.intTy());
    if (te->name == "Bool")
      return noArgs(ctx.boolTy());
    if (te->name == "Void")
      return noArgs(ctx.voidTy());
    if (te->name == "String")
      return noArgs(ctx.stringTy());
    if (te->name == "Option") {
      if (te->args.size() != 1) {
        error(te->range, "type 'Option' takes one type argument");
        return ctx.errorTy();
      }
      const Ty *elem = resolveType(te->args[0]);
      if (elem->kind == Ty::Error)
        return elem;
      if (elem->kind == Ty::Void) {
        error(te->args[0]->range, "Option<Void> is not a type");
        return ctx.errorTy();
      }
      return ctx.optionTy(elem);
    }
    if (te->name == "Vec" || te->name == "Channel") {
      const Ty *t = te->name == "Vec" ? ctx.vecTy() : ctx.channelTy();
      if (te->args.empty())
        return t;
      if (te->args.size() != 1) {
        error(te->range, "type '" + te->name + "' takes one type argument");
        return ctx.errorTy();
      }
      const Ty *elem = resolveType(te->args[0]);
      if (elem->kind == Ty::Error)
        return elem;
      if (elem->kind != Ty::Int) {
        error(te->args[0]->range, te->name + " holds Int only, not " + tyName(elem));
        return ctx.errorTy();
      }
      return t;
    }
    auto it = types.find(te->name);
    if (it == types.end()) {
      error(te->range, "undefined type '" + te->name + "'");
      return ctx.errorTy();
    }
    return noArgs(ctx.declTy(it->second));
  }

  /// A value of type `t` can be stored in a variable, field or parameter.
  bool checkValueType(SrcRange r, const Ty *t) {
    if (t->kind == Ty::Void) {
      error(r, "a value cannot have type Void");
      return false;
    }
    return true;
  }

  void resolveFuncSignature(FuncDecl *f) {
    llvm::SmallVector<Symbol, 4> seen;
    for (Param *p : f->params) {
      p->type = resolveType(p->typeExpr);
      if (!checkValueType(p->typeExpr ? p->typeExpr->range : p->range, p->type))
        p->type = ctx.errorTy();
      for (Symbol s : seen)
        if (s == p->name)
          error(nameLoc(p), "duplicate parameter '" + p->name.spelling + "'");
      seen.push_back(p->name);
    }
    f->resultType = resolveType(f->resultExpr);
  }

  void resolveSignatures() {
    for (Decl *d : mod.decls) {
      switch (d->kind) {
      case Decl::Kind::Enum: {
        auto *e = static_cast<EnumDecl *>(d);
        for (const EnumDecl::Variant &cv : e->variants) {
          auto &v = const_cast<EnumDecl::Variant &>(cv);
          llvm::SmallVector<const Ty *, 4> fields;
          for (const TypeExpr *te : v.fieldExprs) {
            const Ty *t = resolveType(te);
            if (!checkValueType(te->range, t))
              t = ctx.errorTy();
            fields.push_back(t);
          }
          v.fields = ctx.copy(llvm::ArrayRef<const Ty *>(fields));
        }
        break;
      }
      case Decl::Kind::Struct: {
        auto *s = static_cast<StructDecl *>(d);
        llvm::StringMap<bool> names;
        for (const StructDecl::Field &cf : s->fields) {
          auto &f = const_cast<StructDecl::Field &>(cf);
          f.type = resolveType(f.typeExpr);
          if (!checkValueType(f.typeExpr ? f.typeExpr->range : f.range, f.type))
            f.type = ctx.errorTy();
          if (!names.try_emplace(f.name.spelling, true).second)
            error(f.range, "duplicate field '" + f.name.spelling + "' in struct " +
                               s->name.spelling);
        }
        break;
      }
      case Decl::Kind::Func: {
        auto *f = static_cast<FuncDecl *>(d);
        resolveFuncSignature(f);
        if (f->name.spelling == "main" &&
            (!f->params.empty() ||
             (f->resultType->kind != Ty::Int && f->resultType->kind != Ty::Void &&
              f->resultType->kind != Ty::Error)))
          error(nameLoc(f), "'main' must be declared 'def main(): Int' or 'def main()'");
        break;
      }
      case Decl::Kind::Actor: {
        auto *a = static_cast<ActorDecl *>(d);
        llvm::StringMap<bool> names;
        for (VarDecl *v : a->fields) {
          v->isActorField = true;
          if (v->typeExpr) {
            v->type = resolveType(v->typeExpr);
            if (!checkValueType(v->typeExpr->range, v->type))
              v->type = ctx.errorTy();
          }
          if (!names.try_emplace(v->name.spelling, true).second)
            error(nameLoc(v), "duplicate field '" + v->name.spelling + "' in actor " +
                                  a->name.spelling);
        }
        llvm::StringMap<bool> methods;
        for (FuncDecl *m : a->methods) {
          m->actor = a;
          resolveFuncSignature(m);
          if (!methods.try_emplace(m->name.spelling, true).second)
            error(nameLoc(m), "redefinition of method '" + m->name.spelling + "' in actor " +
                                  a->name.spelling);
        }
        // Field types without annotation come from their initializers, which
        // may only use literals, globals and builtins (no other fields).
        for (VarDecl *v : a->fields)
          if (!v->typeExpr)
            checkVarInit(v);
        break;
      }
      default:
        break;
      }
    }
  }

  /// Enums and structs are value types: containing themselves by value (also
  /// through Option or another value type) would make them infinitely large.
  void checkRecursiveTypes() {
    for (Decl *d : mod.decls) {
      if (d->kind != Decl::Kind::Enum && d->kind != Decl::Kind::Struct)
        continue;
      llvm::SmallPtrSet<const Decl *, 8> visited;
      if (containsByValue(ctx.declTy(d), d, visited))
        error(nameLoc(d), "recursive type '" + d->name.spelling +
                              "' has infinite size (enums and structs are values)");
    }
  }
  bool containsByValue(const Ty *t, const Decl *target,
                       llvm::SmallPtrSetImpl<const Decl *> &visited) {
    if (!t)
      return false;
    if (t->kind == Ty::Option)
      return containsByValue(t->elem, target, visited);
    if (t->kind != Ty::Enum && t->kind != Ty::Struct)
      return false;
    auto visitFields = [&](llvm::ArrayRef<const Ty *> fields) {
      for (const Ty *f : fields) {
        if (f && (f->kind == Ty::Enum || f->kind == Ty::Struct) && f->decl == target)
          return true;
        if (containsByValue(f, target, visited))
          return true;
      }
      return false;
    };
    if (!visited.insert(t->decl).second)
      return false;
    if (t->kind == Ty::Enum) {
      for (const auto &v : static_cast<const EnumDecl *>(t->decl)->variants)
        if (visitFields(v.fields))
          return true;
      return false;
    }
    llvm::SmallVector<const Ty *, 8> fields;
    for (const auto &f : static_cast<const StructDecl *>(t->decl)->fields)
      fields.push_back(f.type);
    return visitFields(fields);
  }

  //===--------------------------------------------------------------------===//
  // Bodies
  //===--------------------------------------------------------------------===//

  void checkFunction(FuncDecl *f) {
    curFunc = f;
    curResult = f->resultType;
    loopDepth = 0;
    pushScope();
    for (Param *p : f->params)
      declare(p);
    checkStmts(f->body);
    popScope();
    if (curResult->kind != Ty::Void && curResult->kind != Ty::Error &&
        !terminates(f->body))
      error(nameLoc(f), "missing return: function '" + f->name.spelling +
                            "' returns " + tyName(curResult) +
                            " but its body can reach the end");
    curFunc = nullptr;
    curResult = nullptr;
  }

  void checkActor(ActorDecl *a) {
    for (VarDecl *v : a->fields)
      if (v->typeExpr)
        checkVarInit(v);
    curActor = a;
    for (FuncDecl *m : a->methods)
      checkFunction(m);
    curActor = nullptr;
  }

  /// Checks a variable's initializer against its annotation, or infers the
  /// variable's type from it.
  void checkVarInit(VarDecl *v) {
    const Ty *annot = v->typeExpr ? v->type : nullptr;
    if (v->typeExpr && !annot)
      annot = v->type = resolveType(v->typeExpr);
    if (!v->init) {
      if (!annot) {
        error(nameLoc(v), "cannot infer type of '" + v->name.spelling +
                              "': it needs a type annotation or an initializer");
        v->type = ctx.errorTy();
      }
      return;
    }
    if (annot) {
      expect(v->init, annot);
      return;
    }
    const Ty *t = check(v->init, nullptr);
    if (t->kind == Ty::Error) {
      v->type = t;
    } else if (t->kind == Ty::Void) {
      error(v->init->range, "cannot assign a Void value to '" + v->name.spelling + "'");
      v->type = ctx.errorTy();
    } else if (t->kind == Ty::Never || incomplete(t)) {
      error(nameLoc(v), "cannot infer type of '" + v->name.spelling +
                            "' from " + tyName(t) + "; add a type annotation");
      v->type = ctx.errorTy();
    } else {
      v->type = t;
    }
  }

  void checkStmts(llvm::ArrayRef<Stmt *> stmts) {
    forEachStmtPrefetched(stmts, [&](Stmt *s) { checkStmt(s); });
  }
  void checkBlock(llvm::ArrayRef<Stmt *> stmts) {
    pushScope();
    checkStmts(stmts);
    popScope();
  }

  void checkStmt(Stmt *s) {
    switch (s->kind) {
    case Stmt::VarDef: {
      VarDecl *v = s->decl;
      if (v->typeExpr) {
        v->type = resolveType(v->typeExpr);
        if (!checkValueType(v->typeExpr->range, v->type))
          v->type = ctx.errorTy();
      }
      // The initializer sees the outer binding of a shadowed name.
      checkVarInit(v);
      declare(v);
      return;
    }
    case Stmt::Assign:
      checkAssign(s);
      return;
    case Stmt::ExprStmt:
      check(s->value, nullptr);
      return;
    case Stmt::If:
      for (size_t i = 0; i < s->conds.size(); ++i) {
        expect(s->conds[i], ctx.boolTy());
        if (i < s->blocks.size())
          checkBlock(s->blocks[i]);
      }
      checkBlock(s->elseBody);
      return;
    case Stmt::While:
      for (Expr *c : s->conds)
        expect(c, ctx.boolTy());
      ++loopDepth;
      for (auto b : s->blocks)
        checkBlock(b);
      --loopDepth;
      return;
    case Stmt::Break:
    case Stmt::Continue:
      if (!loopDepth)
        error(s->range, llvm::Twine("'") + (s->kind == Stmt::Break ? "break" : "continue") +
                            "' outside a loop");
      return;
    case Stmt::Return:
      if (!curResult) {
        error(s->range, "'return' outside a function");
        if (s->value)
          check(s->value, nullptr);
        return;
      }
      if (s->value) {
        if (curResult->kind == Ty::Void) {
          const Ty *t = check(s->value, nullptr);
          if (!isNeverOrError(t) && t->kind != Ty::Void)
            mismatch(s->value->range, curResult, t);
        } else {
          expect(s->value, curResult);
        }
      } else if (!isNeverOrError(curResult) && curResult->kind != Ty::Void) {
        mismatch(s->range, curResult, ctx.voidTy());
      }
      return;
    }
  }

  void checkAssign(Stmt *s) {
    const Ty *t = checkTarget(s->target);
    if (s->op != Expr::None) {
      if (!isNeverOrError(t) && t->kind != Ty::Int)
        mismatch(s->target->range, ctx.intTy(), t);
      expect(s->value, ctx.intTy());
      return;
    }
    expect(s->value, isNeverOrError(t) ? nullptr : t);
  }

  /// An assignment target: a variable, a field of an assignable struct value,
  /// or an element of a vector.
  const Ty *checkTarget(Expr *e) {
    switch (e->kind) {
    case Expr::Name: {
      Decl *d = lookupLocal(e->name);
      if (!d) {
        error(nameLoc(e), "undefined name '" + e->name.spelling + "'");
        return e->type = ctx.errorTy();
      }
      e->resolved = d;
      const Ty *t = declType(d);
      return e->type = t ? t : ctx.errorTy();
    }
    case Expr::Field: {
      if (e->lhs->kind != Expr::Name && e->lhs->kind != Expr::Field &&
          e->lhs->kind != Expr::Index) {
        check(e, nullptr);
        error(e->range, "cannot assign to a field of a temporary value");
        return ctx.errorTy();
      }
      const Ty *base = checkTarget(e->lhs);
      return e->type = fieldOf(e, base);
    }
    case Expr::Index:
      return check(e, nullptr);
    default:
      check(e, nullptr);
      error(e->range, "cannot assign to this expression");
      return ctx.errorTy();
    }
  }

  //===--------------------------------------------------------------------===//
  // Expressions
  //===--------------------------------------------------------------------===//

  /// Checks `e` where a value of type `want` is needed (null: anything).
  const Ty *expect(Expr *e, const Ty *want) {
    if (isNeverOrError(want))
      return check(e, nullptr);
    const Ty *t = check(e, want);
    if (!compatible(t, want)) {
      mismatch(e->range, want, t);
      return t;
    }
    if (incomplete(t) && !incomplete(want))
      refine(e, want);
    return e->type;
  }

  /// Writes a now-known full Option type into a subtree checked without it.
  void refine(Expr *e, const Ty *t) {
    if (!e || !incomplete(e->type) || incomplete(t) || t->kind != Ty::Option)
      return;
    switch (e->kind) {
    case Expr::EnumCtor:
      e->type = t;
      e->resolved = ctx.optionDecl(t->elem);
      if (!e->args.empty())
        refine(e->args[0], t->elem);
      return;
    case Expr::Match:
      e->type = t;
      for (MatchArm *a : e->arms)
        refine(a->body, t);
      return;
    case Expr::Do:
      e->type = t;
      refine(e->rhs, t);
      return;
    case Expr::MacroCall:
      e->type = t;
      refine(e->expansion, t);
      return;
    default:
      return;
    }
  }

  /// Computes, records and returns the type of `e`; `hint` is the type the
  /// context expects (null if none), used to type `None` and bare variants.
  const Ty *check(Expr *e, const Ty *hint) {
    prefetchOperands(e);
    if (isNeverOrError(hint))
      hint = nullptr;
    const Ty *t = checkImpl(e, hint);
    e->type = t ? t : ctx.errorTy();
    return e->type;
  }

  const Ty *checkImpl(Expr *e, const Ty *hint) {
    switch (e->kind) {
    case Expr::IntLit:
      return ctx.intTy();
    case Expr::BoolLit:
      return ctx.boolTy();
    case Expr::StringLit:
      return ctx.stringTy();
    case Expr::Name:
      return checkName(e, hint);
    case Expr::Unary:
      if (e->op == Expr::Neg) {
        expect(e->lhs, ctx.intTy());
        return ctx.intTy();
      }
      expect(e->lhs, ctx.boolTy());
      return ctx.boolTy();
    case Expr::Binary:
      return checkBinary(e);
    case Expr::Call:
      return checkCall(e, hint);
    case Expr::MethodCall:
      return checkMethodCall(e);
    case Expr::Field:
      return fieldOf(e, check(e->lhs, nullptr));
    case Expr::Index: {
      const Ty *base = check(e->lhs, nullptr);
      if (!isNeverOrError(base) && base->kind != Ty::Vec)
        mismatch(e->lhs->range, ctx.vecTy(), base);
      expect(e->rhs, ctx.intTy());
      return ctx.intTy();
    }
    case Expr::EnumCtor:
      return checkEnumCtor(e, hint);
    case Expr::StructLit:
      return checkStructLit(e);
    case Expr::Match:
      return checkMatch(e, hint);
    case Expr::Do:
      return checkDo(e, hint);
    case Expr::MacroCall:
      return checkMacro(e, hint);
    case Expr::Spawn:
      return checkSpawn(e);
    }
    return ctx.errorTy();
  }

  const Ty *checkName(Expr *e, const Ty *hint) {
    if (Decl *d = lookupLocal(e->name)) {
      e->resolved = d;
      const Ty *t = declType(d);
      return t ? t : ctx.errorTy();
    }
    if (variants.count(e->name.spelling) || e->name.spelling == "None" ||
        e->name.spelling == "Some") {
      e->kind = Expr::EnumCtor;
      e->args = {};
      e->qualifier = {};
      return checkEnumCtor(e, hint);
    }
    if (funcs.count(e->name.spelling)) {
      error(nameLoc(e), "'" + e->name.spelling + "' is a function, not a value; call it");
      return ctx.errorTy();
    }
    if (types.count(e->name.spelling)) {
      error(nameLoc(e), "'" + e->name.spelling + "' is a type, not a value");
      return ctx.errorTy();
    }
    error(nameLoc(e), "undefined name '" + e->name.spelling + "'");
    return ctx.errorTy();
  }

  const Ty *checkBinary(Expr *e) {
    switch (e->op) {
    case Expr::Add:
    case Expr::Sub:
    case Expr::Mul:
    case Expr::Div:
    case Expr::Rem:
      expect(e->lhs, ctx.intTy());
      expect(e->rhs, ctx.intTy());
      return ctx.intTy();
    case Expr::Lt:
    case Expr::Le:
    case Expr::Gt:
    case Expr::Ge:
      expect(e->lhs, ctx.intTy());
      expect(e->rhs, ctx.intTy());
      return ctx.boolTy();
    case Expr::Eq:
    case Expr::Ne: {
      const Ty *l = check(e->lhs, nullptr);
      if (isNeverOrError(l)) {
        check(e->rhs, nullptr);
      } else if (l->kind == Ty::Int || l->kind == Ty::Bool) {
        expect(e->rhs, l);
      } else {
        error(e->lhs->range,
              "type mismatch: expected Int or Bool, found " + tyName(l) +
                  " (only Int and Bool values can be compared)");
        check(e->rhs, nullptr);
      }
      return ctx.boolTy();
    }
    case Expr::And:
    case Expr::Or:
      expect(e->lhs, ctx.boolTy());
      expect(e->rhs, ctx.boolTy());
      return ctx.boolTy();
    default:
      error(e->range, "invalid binary operator");
      return ctx.errorTy();
    }
  }

  /// Checks call arguments against parameter types; reports a count mismatch
  /// at the callee's name and still checks every argument.
  void checkArgs(Expr *e, llvm::ArrayRef<const Ty *> params) {
    if (e->args.size() != params.size())
      error(nameLoc(e), "wrong number of arguments: expected " + llvm::Twine(params.size()) +
                            ", found " + llvm::Twine(e->args.size()));
    for (size_t i = 0; i < e->args.size(); ++i)
      expect(e->args[i], i < params.size() ? params[i] : nullptr);
  }
  static llvm::SmallVector<const Ty *, 4> paramTypes(const FuncDecl *f) {
    llvm::SmallVector<const Ty *, 4> out;
    for (const Param *p : f->params)
      out.push_back(p->type);
    return out;
  }

  const Ty *checkCall(Expr *e, const Ty *hint) {
    llvm::StringRef name = e->name.spelling;
    if (auto it = funcs.find(name); it != funcs.end()) {
      e->resolved = it->second;
      checkArgs(e, paramTypes(it->second));
      return it->second->resultType;
    }
    if (auto it = types.find(name); it != types.end()) {
      if (it->second->kind == Decl::Kind::Actor) {
        e->resolved = it->second;
        checkArgs(e, {});
        return ctx.declTy(it->second);
      }
      if (it->second->kind == Decl::Kind::Struct) {
        error(nameLoc(e), "struct '" + name + "' is built with '" + name + " { field: value }'");
        for (Expr *a : e->args)
          check(a, nullptr);
        return ctx.errorTy();
      }
    }
    if (name == "println" || name == "print") {
      checkArgs(e, {nullptr});
      if (e->args.size() == 1) {
        const Ty *t = e->args[0]->type;
        if (!isNeverOrError(t) && t->kind != Ty::Int && t->kind != Ty::Bool &&
            t->kind != Ty::String)
          error(e->args[0]->range,
                "type mismatch: expected Int, Bool or String, found " + tyName(t));
      }
      return ctx.voidTy();
    }
    if (name == "panic") {
      const Ty *s = ctx.stringTy();
      checkArgs(e, {s});
      return ctx.neverTy();
    }
    if (name == "usleep") {
      const Ty *i = ctx.intTy();
      checkArgs(e, {i});
      return ctx.voidTy();
    }
    if (name == "vec_new") {
      checkArgs(e, {});
      return ctx.vecTy();
    }
    if (name == "channel") {
      const Ty *i = ctx.intTy();
      checkArgs(e, {i});
      return ctx.channelTy();
    }
    if (variants.count(name) || name == "Some" || name == "None") {
      e->kind = Expr::EnumCtor;
      e->qualifier = {};
      return checkEnumCtor(e, hint);
    }
    error(nameLoc(e), "undefined name '" + name + "'");
    for (Expr *a : e->args)
      check(a, nullptr);
    return ctx.errorTy();
  }

  const Ty *checkMethodCall(Expr *e) {
    const Ty *recv = check(e->lhs, nullptr);
    llvm::StringRef m = e->name.spelling;
    auto unknown = [&]() -> const Ty * {
      error(nameLoc(e), "unknown method '" + m + "'");
      for (Expr *a : e->args)
        check(a, nullptr);
      return ctx.errorTy();
    };
    const Ty *i = ctx.intTy();
    switch (recv->kind) {
    case Ty::Error:
    case Ty::Never:
      for (Expr *a : e->args)
        check(a, nullptr);
      return recv;
    case Ty::Vec:
      if (m == "push") {
        checkArgs(e, {i});
        return ctx.voidTy();
      }
      if (m == "pop") {
        checkArgs(e, {});
        return ctx.optionTy(i);
      }
      if (m == "len") {
        checkArgs(e, {});
        return i;
      }
      return unknown();
    case Ty::Option:
      if (m == "unwrap") {
        checkArgs(e, {});
        return recv->elem;
      }
      if (m == "unwrap_or") {
        const Ty *elem = recv->elem->kind == Ty::Never ? nullptr : recv->elem;
        checkArgs(e, {elem});
        return elem ? elem : (e->args.size() == 1 ? e->args[0]->type : ctx.errorTy());
      }
      if (m == "is_some" || m == "is_none") {
        checkArgs(e, {});
        return ctx.boolTy();
      }
      return unknown();
    case Ty::Channel:
      if (m == "send") {
        checkArgs(e, {i});
        return ctx.voidTy();
      }
      if (m == "recv" || m == "try_recv") {
        checkArgs(e, {});
        return ctx.optionTy(i);
      }
      if (m == "close") {
        checkArgs(e, {});
        return ctx.voidTy();
      }
      return unknown();
    case Ty::Actor: {
      auto *a = static_cast<const ActorDecl *>(recv->decl);
      for (FuncDecl *f : a->methods) {
        if (f->name.spelling != m)
          continue;
        e->resolved = f;
        checkArgs(e, paramTypes(f));
        return f->resultType ? f->resultType : ctx.errorTy();
      }
      if (m == "link") {
        checkArgs(e, {nullptr});
        if (e->args.size() == 1) {
          const Ty *t = e->args[0]->type;
          if (!isNeverOrError(t) && t->kind != Ty::Actor)
            error(e->args[0]->range, "type mismatch: expected an actor, found " + tyName(t));
        }
        return ctx.voidTy();
      }
      if (m == "stop") {
        checkArgs(e, {});
        return ctx.voidTy();
      }
      return unknown();
    }
    default:
      return unknown();
    }
  }

  const Ty *fieldOf(Expr *e, const Ty *base) {
    if (isNeverOrError(base))
      return ctx.errorTy();
    if (base->kind == Ty::Struct) {
      auto *s = static_cast<const StructDecl *>(base->decl);
      for (size_t i = 0; i < s->fields.size(); ++i) {
        if (s->fields[i].name.spelling == e->name.spelling) {
          e->resolved = s;
          e->index = static_cast<int>(i);
          return s->fields[i].type ? s->fields[i].type : ctx.errorTy();
        }
      }
    }
    error(nameLoc(e), "unknown field '" + e->name.spelling + "'");
    return ctx.errorTy();
  }

  /// Finds the enum a bare or qualified variant name refers to, given the type
  /// the context expects. Reports and returns false on failure.
  bool resolveVariant(SrcRange where, llvm::StringRef qualifier, llvm::StringRef name,
                      const Ty *hint, const EnumDecl *&enumOut, int &index,
                      bool &isOption) {
    isOption = false;
    if (qualifier == "Option" || (qualifier.empty() && (name == "Some" || name == "None") &&
                                  !(hint && hint->kind == Ty::Enum))) {
      if (name != "Some" && name != "None") {
        error(where, "unknown variant '" + name + "' of Option");
        return false;
      }
      isOption = true;
      index = name == "Some" ? 1 : 0;
      return true;
    }
    if (!qualifier.empty()) {
      auto it = types.find(qualifier);
      if (it == types.end() || it->second->kind != Decl::Kind::Enum) {
        error(where, "undefined name '" + qualifier + "'");
        return false;
      }
      auto *d = static_cast<const EnumDecl *>(it->second);
      for (size_t i = 0; i < d->variants.size(); ++i)
        if (d->variants[i].name.spelling == name) {
          enumOut = d;
          index = static_cast<int>(i);
          return true;
        }
      error(where, "unknown variant '" + name + "' of enum " + qualifier);
      return false;
    }
    if (hint && hint->kind == Ty::Enum) {
      auto *d = static_cast<const EnumDecl *>(hint->decl);
      for (size_t i = 0; i < d->variants.size(); ++i)
        if (d->variants[i].name.spelling == name) {
          enumOut = d;
          index = static_cast<int>(i);
          return true;
        }
    }
    auto it = variants.find(name);
    if (it == variants.end() || it->second.empty()) {
      if (name == "Some" || name == "None") {
        isOption = true;
        index = name == "Some" ? 1 : 0;
        return true;
      }
      error(where, "undefined name '" + name + "'");
      return false;
    }
    if (it->second.size() > 1) {
      std::string msg = "ambiguous variant '" + name.str() + "': write one of";
      for (size_t i = 0; i < it->second.size(); ++i)
        msg += (i ? ", " : " ") + it->second[i].decl->name.spelling.str() + "::" + name.str();
      error(where, msg);
      return false;
    }
    enumOut = it->second[0].decl;
    index = it->second[0].index;
    return true;
  }

  const Ty *checkEnumCtor(Expr *e, const Ty *hint) {
    const EnumDecl *d = nullptr;
    int index = -1;
    bool isOption = false;
    if (!resolveVariant(nameLoc(e), e->qualifier, e->name.spelling, hint, d, index, isOption)) {
      for (Expr *a : e->args)
        check(a, nullptr);
      return ctx.errorTy();
    }
    e->index = index;
    if (isOption) {
      const Ty *want = hint && hint->kind == Ty::Option && !incomplete(hint) ? hint : nullptr;
      if (index == 0) {
        checkArgs(e, {});
        const Ty *t = want ? want : ctx.optionTy(ctx.neverTy());
        e->resolved = ctx.optionDecl(t->elem);
        return t;
      }
      const Ty *elemHint = hint && hint->kind == Ty::Option ? hint->elem : nullptr;
      if (e->args.size() != 1) {
        checkArgs(e, {elemHint});
        return ctx.errorTy();
      }
      const Ty *elem = want ? expect(e->args[0], want->elem) : check(e->args[0], elemHint);
      if (elem->kind == Ty::Error)
        return elem;
      if (want)
        elem = want->elem;
      if (elem->kind == Ty::Void) {
        error(e->args[0]->range, "type mismatch: expected a value, found Void");
        return ctx.errorTy();
      }
      const Ty *t = ctx.optionTy(elem);
      e->resolved = ctx.optionDecl(elem);
      return t;
    }
    e->resolved = d;
    checkArgs(e, d->variants[index].fields);
    return ctx.declTy(d);
  }

  const Ty *checkStructLit(Expr *e) {
    auto it = types.find(e->name.spelling);
    if (it == types.end() || it->second->kind != Decl::Kind::Struct) {
      error(nameLoc(e), it == types.end()
                            ? "undefined name '" + e->name.spelling + "'"
                            : "'" + e->name.spelling + "' is not a struct");
      for (Expr *a : e->args)
        check(a, nullptr);
      return ctx.errorTy();
    }
    auto *s = static_cast<const StructDecl *>(it->second);
    e->resolved = s;
    llvm::SmallVector<int, 8> order(s->fields.size(), -1);
    bool ok = true;
    for (size_t i = 0; i < e->args.size(); ++i) {
      llvm::StringRef fname = i < e->fieldNames.size() ? e->fieldNames[i].spelling : "";
      SrcRange where = i < e->fieldRanges.size() ? e->fieldRanges[i] : e->args[i]->range;
      int found = -1;
      for (size_t j = 0; j < s->fields.size(); ++j)
        if (s->fields[j].name.spelling == fname)
          found = static_cast<int>(j);
      if (found < 0) {
        error(where, "unknown field '" + fname + "'");
        check(e->args[i], nullptr);
        ok = false;
        continue;
      }
      if (order[found] >= 0) {
        error(where, "field '" + fname + "' is given twice");
        ok = false;
      }
      order[found] = static_cast<int>(i);
      expect(e->args[i], s->fields[found].type);
    }
    for (size_t j = 0; j < s->fields.size(); ++j)
      if (order[j] < 0 && ok) {
        error(nameLoc(e), "missing field '" + s->fields[j].name.spelling + "' in " +
                              s->name.spelling + " literal");
        ok = false;
      }
    e->fieldOrder = ctx.copy(llvm::ArrayRef<int>(order));
    // Even a literal with bad fields has a known type: later uses get checked.
    return ctx.declTy(s);
  }

  const Ty *checkDo(Expr *e, const Ty *hint) {
    pushScope();
    checkStmts(e->stmts);
    const Ty *t;
    if (e->rhs)
      t = hint ? expect(e->rhs, hint) : check(e->rhs, nullptr);
    else
      t = stmtsDiverge(e->stmts) ? ctx.neverTy() : ctx.voidTy();
    popScope();
    return t;
  }

  const Ty *checkSpawn(Expr *e) {
    Expr *call = e->lhs;
    if (!call)
      return ctx.voidTy();
    check(call, nullptr);
    if (call->type->kind == Ty::Error)
      return ctx.voidTy();
    if (call->kind != Expr::Call || !call->resolved ||
        call->resolved->kind != Decl::Kind::Func)
      error(call->range, "spawn needs a call of a function defined with 'def'");
    return ctx.voidTy();
  }

  const Ty *checkMacro(Expr *e, const Ty *hint) {
    if (!e->expansion) {
      // The expander has reported why (unknown macro, arity, $try outside an
      // Option function); still resolve the arguments to find their errors.
      if (diags.errorCount() == 0)
        error(e->nameRange.line ? e->nameRange : e->range,
              "macro '" + e->name.spelling + "' was not expanded");
      for (Expr *a : e->args)
        check(a, nullptr);
      return ctx.errorTy();
    }
    if (e->name.spelling == "$try" && curResult && !isNeverOrError(curResult) &&
        curResult->kind != Ty::Option) {
      error(e->nameRange.line ? e->nameRange : e->range,
            "$try outside a function returning Option");
      return ctx.errorTy();
    }
    Expr *x = e->expansion;
    if ((e->name.spelling == "$unwrap" || e->name.spelling == "$try") &&
        x->kind == Expr::Match && x->lhs) {
      // Say "expected an Option" at the argument rather than letting the
      // expansion's `Some(v)` pattern complain about a type the user never wrote.
      const Ty *t = check(x->lhs, nullptr);
      if (!isNeverOrError(t) && t->kind != Ty::Option) {
        error(x->lhs->range, "type mismatch: expected an Option, found " + tyName(t));
        return ctx.errorTy();
      }
      preChecked = x->lhs;
    }
    return check(x, hint);
  }

  //===--------------------------------------------------------------------===//
  // Match and patterns
  //===--------------------------------------------------------------------===//

  const Ty *join(const Ty *a, const Ty *b) {
    if (isNeverOrError(a))
      return b;
    if (isNeverOrError(b))
      return a;
    if (a->kind == Ty::Option && b->kind == Ty::Option && a != b)
      return ctx.optionTy(join(a->elem, b->elem));
    return a;
  }

  const Ty *checkMatch(Expr *e, const Ty *hint) {
    prefetchArms(e);
    const Ty *subj = e->lhs == preChecked && e->lhs->type ? e->lhs->type : check(e->lhs, nullptr);
    preChecked = nullptr;
    for (MatchArm *arm : e->arms) // loaded while checking the subject
      prefetchOperands(arm);
    if (incomplete(subj)) {
      error(e->lhs->range, "cannot infer the type of the matched value " + tyName(subj));
      subj = ctx.errorTy();
    }
    unsigned patternErrors = 0;
    const Ty *result = e->isStatement ? nullptr : hint;
    const Ty *joined = ctx.neverTy();
    bool allDiverge = true;
    llvm::SmallVector<const Pattern *, 8> unguarded;
    for (MatchArm *arm : e->arms) {
      pushScope();
      llvm::SmallVector<VarDecl *, 4> bound;
      if (arm->pattern) {
        unsigned before = errors;
        arm->pattern = checkPattern(arm->pattern, subj, bound);
        patternErrors += errors - before;
        for (VarDecl *v : bound)
          declare(v);
      }
      if (arm->guard)
        expect(arm->guard, ctx.boolTy());
      else if (arm->pattern)
        unguarded.push_back(arm->pattern);
      const Ty *bt;
      if (arm->stmt) {
        checkStmt(arm->stmt);
        bt = stmtDiverges(arm->stmt) ? ctx.neverTy() : ctx.voidTy();
      } else if (arm->body) {
        if (e->isStatement)
          bt = check(arm->body, nullptr);
        else if (result)
          bt = expect(arm->body, result);
        else if (!isNeverOrError(joined))
          bt = expect(arm->body, joined);
        else
          bt = check(arm->body, nullptr);
      } else {
        bt = ctx.voidTy();
      }
      popScope();
      if (bt->kind != Ty::Never)
        allDiverge = false;
      if (!e->isStatement)
        joined = join(joined, bt);
    }
    if (patternErrors == 0 && subj->kind != Ty::Error) {
      bool tooComplex = false;
      if (auto missing = findUncovered(subj, unguarded, &tooComplex))
        error(e->range, "non-exhaustive match: " + *missing + " not covered");
      else if (tooComplex)
        error(e->range, "match too complex to check for exhaustiveness; simplify its patterns");
    }
    if (e->isStatement)
      return allDiverge && !e->arms.empty() ? ctx.neverTy() : ctx.voidTy();
    if (e->arms.empty())
      return ctx.neverTy();
    const Ty *t = result ? result : joined;
    if (!result && joined->kind == Ty::Error)
      t = ctx.errorTy();
    if (!incomplete(t))
      for (MatchArm *arm : e->arms)
        refine(arm->body, t);
    return t;
  }

  static void collectAllBindings(Pattern *p, llvm::SmallVectorImpl<Pattern *> &out) {
    if (p->kind == Pattern::Binding)
      out.push_back(p);
    for (Pattern *s : p->subpatterns)
      collectAllBindings(s, out);
  }

  /// Checks pattern `p` against type `t`, appending the variables it binds to
  /// `bound`. Returns the pattern (the same node, possibly re-kinded).
  Pattern *checkPattern(Pattern *p, const Ty *t, llvm::SmallVectorImpl<VarDecl *> &bound) {
    prefetchOperands(p);
    p->type = t;
    switch (p->kind) {
    case Pattern::Wildcard:
      return p;
    case Pattern::Binding: {
      VarDecl *v = p->binding;
      // A user-written bare name that is a variant of the expected enum is that
      // variant; macro-introduced names are always fresh bindings.
      if (v && v->name.mark == 0 && (t->kind == Ty::Option || t->kind == Ty::Enum) &&
          variantIndexIn(t, v->name.spelling) >= 0) {
        p->kind = Pattern::Variant;
        p->variantName = v->name;
        p->enumName = {};
        p->subpatterns = {};
        p->binding = nullptr;
        return checkPattern(p, t, bound);
      }
      if (!v) {
        v = ctx.make<VarDecl>();
        v->kind = Decl::Kind::Var;
        v->range = v->nameRange = p->range;
        p->binding = v;
      }
      v->type = t->kind == Ty::Never ? ctx.errorTy() : t;
      addBinding(v, bound);
      return p;
    }
    case Pattern::Int:
    case Pattern::Bool: {
      const Ty *lit = p->kind == Pattern::Int ? ctx.intTy() : ctx.boolTy();
      if (!compatible(lit, t))
        mismatch(p->range, t, lit);
      return p;
    }
    case Pattern::Variant:
      return checkVariantPattern(p, t, bound);
    case Pattern::Or: {
      llvm::SmallVector<VarDecl *, 4> first;
      for (size_t i = 0; i < p->subpatterns.size(); ++i) {
        llvm::SmallVector<VarDecl *, 4> mine;
        auto subs = const_cast<Pattern **>(p->subpatterns.data());
        subs[i] = checkPattern(subs[i], t, mine);
        if (i == 0) {
          first = mine;
          continue;
        }
        unifyAlternative(subs[i], first, mine);
      }
      for (VarDecl *v : first)
        addBinding(v, bound);
      return p;
    }
    }
    return p;
  }

  void addBinding(VarDecl *v, llvm::SmallVectorImpl<VarDecl *> &bound) {
    for (VarDecl *b : bound)
      if (b->name == v->name) {
        error(nameLoc(v), "'" + v->name.spelling + "' is bound twice in this pattern");
        return;
      }
    bound.push_back(v);
  }

  /// Checks that an or-pattern alternative binds exactly the names of the
  /// first one, with the same types, and points its bindings at the first
  /// alternative's VarDecls.
  void unifyAlternative(Pattern *alt, llvm::ArrayRef<VarDecl *> first,
                        llvm::ArrayRef<VarDecl *> mine) {
    for (VarDecl *f : first) {
      VarDecl *m = nullptr;
      for (VarDecl *x : mine)
        if (x->name == f->name)
          m = x;
      if (!m) {
        error(alt->range, "'" + f->name.spelling +
                              "' is not bound in every alternative of this or-pattern");
        continue;
      }
      if (!compatible(m->type, f->type))
        mismatch(nameLoc(m), f->type, m->type);
    }
    for (VarDecl *m : mine) {
      bool found = false;
      for (VarDecl *f : first)
        found |= f->name == m->name;
      if (!found)
        error(nameLoc(m), "'" + m->name.spelling +
                              "' is not bound in every alternative of this or-pattern");
    }
    llvm::SmallVector<Pattern *, 4> binds;
    collectAllBindings(alt, binds);
    for (Pattern *b : binds)
      for (VarDecl *f : first)
        if (b->binding && b->binding->name == f->name)
          b->binding = f;
  }

  int variantIndexIn(const Ty *t, llvm::StringRef name) {
    if (t->kind == Ty::Option)
      return name == "None" ? 0 : name == "Some" ? 1 : -1;
    if (t->kind == Ty::Enum) {
      auto *d = static_cast<const EnumDecl *>(t->decl);
      for (size_t i = 0; i < d->variants.size(); ++i)
        if (d->variants[i].name.spelling == name)
          return static_cast<int>(i);
    }
    return -1;
  }

  Pattern *checkVariantPattern(Pattern *p, const Ty *t, llvm::SmallVectorImpl<VarDecl *> &bound) {
    llvm::StringRef name = p->variantName.spelling;
    auto subs = const_cast<Pattern **>(p->subpatterns.data());
    auto checkSubsAgainst = [&](auto typeOf) {
      for (size_t i = 0; i < p->subpatterns.size(); ++i)
        subs[i] = checkPattern(subs[i], typeOf(i), bound);
    };
    auto errorSubs = [&] { checkSubsAgainst([&](size_t) { return ctx.errorTy(); }); };

    if (isNeverOrError(t)) {
      errorSubs();
      return p;
    }
    bool qualifierOk = p->enumName.empty() ||
                       (t->kind == Ty::Option && p->enumName == "Option") ||
                       (t->kind == Ty::Enum && p->enumName == t->decl->name.spelling);
    int idx = qualifierOk ? variantIndexIn(t, name) : -1;
    if (idx < 0) {
      // A payload-less bare name that is no variant here is a binding.
      if (p->enumName.empty() && p->subpatterns.empty() &&
          (t->kind == Ty::Option || t->kind == Ty::Enum || !variants.count(name)) &&
          name != "Some" && name != "None") {
        auto *v = ctx.make<VarDecl>();
        v->kind = Decl::Kind::Var;
        v->name = p->variantName;
        v->range = v->nameRange = p->range;
        p->kind = Pattern::Binding;
        p->binding = v;
        return checkPattern(p, t, bound);
      }
      // Say what the pattern is, if it is a variant of some other type.
      const Ty *other = nullptr;
      if (p->enumName == "Option" || (p->enumName.empty() && (name == "Some" || name == "None")))
        other = ctx.optionTy(ctx.neverTy());
      else if (!p->enumName.empty()) {
        auto it = types.find(p->enumName);
        if (it == types.end() || it->second->kind != Decl::Kind::Enum) {
          error(p->range, "undefined name '" + p->enumName + "'");
          errorSubs();
          return p;
        }
        if (variantIndexIn(ctx.declTy(it->second), name) < 0) {
          error(p->range, "unknown variant '" + name + "' of enum " + p->enumName);
          errorSubs();
          return p;
        }
        other = ctx.declTy(it->second);
      } else if (auto it = variants.find(name); it != variants.end() && it->second.size() == 1)
        other = ctx.declTy(it->second[0].decl);
      if (other)
        mismatch(p->range, t, other);
      else if (t->kind == Ty::Option || t->kind == Ty::Enum)
        error(p->range, "unknown variant '" + name + "' of " + tyName(t));
      else
        error(p->range, "undefined name '" + name + "'");
      errorSubs();
      return p;
    }
    p->variantIndex = idx;
    llvm::SmallVector<const Ty *, 4> fields;
    if (t->kind == Ty::Option) {
      if (idx == 1)
        fields.push_back(t->elem);
    } else {
      auto f = static_cast<const EnumDecl *>(t->decl)->variants[idx].fields;
      fields.append(f.begin(), f.end());
    }
    if (fields.size() != p->subpatterns.size()) {
      error(p->range, "wrong number of fields in pattern " + name + ": expected " +
                          llvm::Twine(fields.size()) + ", found " +
                          llvm::Twine(p->subpatterns.size()));
      p->variantIndex = -1;
    }
    checkSubsAgainst(
        [&](size_t i) { return i < fields.size() ? fields[i] : ctx.errorTy(); });
    return p;
  }

  //===--------------------------------------------------------------------===//
  // Control flow: does a body always end in return (or never end)?
  //===--------------------------------------------------------------------===//

  static bool exprDiverges(const Expr *e) { return e && e->type && e->type->kind == Ty::Never; }

  static bool stmtDiverges(const Stmt *s) {
    switch (s->kind) {
    case Stmt::Return:
    case Stmt::Break:
    case Stmt::Continue:
      return true;
    case Stmt::ExprStmt:
      return exprDiverges(s->value);
    default:
      return false;
    }
  }
  static bool stmtsDiverge(llvm::ArrayRef<Stmt *> stmts) {
    return !stmts.empty() && stmtDiverges(stmts.back());
  }

  /// The function cannot fall off the end of `stmts`: the last statement
  /// returns, panics, or is an if/else or match whose every branch does, or a
  /// `while true` loop without a break.
  static bool terminates(llvm::ArrayRef<Stmt *> stmts) {
    if (stmts.empty())
      return false;
    const Stmt *s = stmts.back();
    switch (s->kind) {
    case Stmt::Return:
      return true;
    case Stmt::ExprStmt:
      return exprTerminates(s->value);
    case Stmt::If:
      if (!s->hasElse || !terminates(s->elseBody))
        return false;
      for (auto b : s->blocks)
        if (!terminates(b))
          return false;
      return true;
    case Stmt::While:
      return s->conds.size() == 1 && s->conds[0]->kind == Expr::BoolLit &&
             s->conds[0]->intValue != 0 && !s->blocks.empty() && !hasBreak(s->blocks[0]);
    default:
      return false;
    }
  }
  static bool exprTerminates(const Expr *e) {
    if (!e)
      return false;
    if (e->kind == Expr::MacroCall)
      return exprTerminates(e->expansion);
    if (e->kind == Expr::Match) {
      if (e->arms.empty())
        return false;
      for (const MatchArm *a : e->arms) {
        bool ok = a->stmt ? terminates(llvm::ArrayRef<Stmt *>(a->stmt))
                          : exprTerminates(a->body);
        if (!ok)
          return false;
      }
      return true;
    }
    if (e->kind == Expr::Do)
      return terminates(e->stmts) || exprTerminates(e->rhs);
    // A call of panic, or anything else that cannot produce a value. A `break`
    // hidden in such an expression would only leave a loop, which the caller
    // rules out through hasBreak.
    return exprDiverges(e) && e->kind == Expr::Call;
  }

  /// A `break` that leaves the loop whose body is `stmts`.
  static bool hasBreak(llvm::ArrayRef<Stmt *> stmts) {
    for (const Stmt *s : stmts)
      if (stmtHasBreak(s))
        return true;
    return false;
  }
  static bool stmtHasBreak(const Stmt *s) {
    switch (s->kind) {
    case Stmt::Break:
      return true;
    case Stmt::If:
      for (auto b : s->blocks)
        if (hasBreak(b))
          return true;
      return hasBreak(s->elseBody) || exprsHaveBreak(s->conds);
    case Stmt::While: // a break in a nested loop leaves that loop
      return exprsHaveBreak(s->conds);
    case Stmt::VarDef:
      return exprHasBreak(s->decl ? s->decl->init : nullptr);
    case Stmt::Assign:
      return exprHasBreak(s->target) || exprHasBreak(s->value);
    case Stmt::ExprStmt:
    case Stmt::Return:
      return exprHasBreak(s->value);
    default:
      return false;
    }
  }
  static bool exprsHaveBreak(llvm::ArrayRef<Expr *> es) {
    for (const Expr *e : es)
      if (exprHasBreak(e))
        return true;
    return false;
  }
  static bool exprHasBreak(const Expr *e) {
    if (!e)
      return false;
    if (e->kind == Expr::MacroCall)
      return exprHasBreak(e->expansion);
    if (exprHasBreak(e->lhs) || exprHasBreak(e->rhs) || exprsHaveBreak(e->args))
      return true;
    for (const MatchArm *a : e->arms)
      if (exprHasBreak(a->guard) || exprHasBreak(a->body) || (a->stmt && stmtHasBreak(a->stmt)))
        return true;
    return hasBreak(e->stmts);
  }
};

} // namespace

bool qmir::frontend::checkModule(AstContext &ctx, Module &m, DiagEngine &diags) {
  Checker c(ctx, m, diags);
  return c.run();
}

struct qmir::frontend::ModuleChecker::Impl {
  Checker checker;
  Impl(AstContext &ctx, Module &m, DiagEngine &diags) : checker(ctx, m, diags) {}
};

ModuleChecker::ModuleChecker(AstContext &ctx, Module &m, DiagEngine &diags)
    : impl_(std::make_unique<Impl>(ctx, m, diags)) {}
ModuleChecker::~ModuleChecker() = default;
void ModuleChecker::checkGlobals() { impl_->checker.checkGlobals(); }
void ModuleChecker::checkDecl(Decl *d) { impl_->checker.checkDecl(d); }
unsigned ModuleChecker::errorCount() const { return impl_->checker.errorCount(); }
