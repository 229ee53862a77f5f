// AST -> frontend-style MIR.
//
// The lowering is deliberately naive, the way a frontend author would write it,
// because making it fast is the passes' job and making it obviously right is
// ours: every variable (including each pattern binding and each macro gensym)
// gets its own `alloca` in the entry block with its own binding record, every
// read is a `load` and every write a `store`, so a loop-carried update is
// visible to the next iteration by construction. `match` lowers to the MIR
// `match` with one small "bind" block per pattern alternative that stores the
// bound values into their variables; guards fall through to a `match` over the
// remaining arms. Division and indexing get explicit checks that branch to a
// panicking path, so passes see the checks as control flow.
#include "lowering/Lower.h"

#include "mir/Builder.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

using namespace qmir;
namespace A = qmir::ast;

namespace {

class Lowerer {
public:
  explicit Lowerer(const A::Module &am)
      : am_(am), m_(std::make_unique<Module>()), b_(*m_) {
    file_ = m_->addSourceFile(am.fileName);
  }

  std::unique_ptr<Module> run();
  /// run() in steps: declare(), lowerDecl() per declaration, take().
  void declare() {
    declareTypes();
    declareFunctions();
  }
  void lowerDecl(const A::Decl *d);
  std::unique_ptr<Module> take() { return std::move(m_); }

private:
  // Types.
  const Type *mirType(const A::Ty *t);
  const Type *optionType(const Type *elem);
  void declareTypes();

  // Functions.
  Function *runtime(llvm::StringRef name, llvm::ArrayRef<const Type *> params,
                    const Type *result, bool noReturn = false);
  void declareFunctions();
  void lowerFunction(const A::FuncDecl *fd, Function *f);
  void lowerActorInit(const A::ActorDecl *ad, Function *f);

  // Statements and expressions.
  void lowerBlock(llvm::ArrayRef<A::Stmt *> stmts);
  void lowerStmt(const A::Stmt *s);
  Value *lowerExpr(const A::Expr *e);
  Value *lowerExprAs(const A::Expr *e, const Type *want);
  Value *lowerBinary(const A::Expr *e);
  Value *lowerShortCircuit(const A::Expr *e);
  Value *lowerCall(const A::Expr *e);
  Value *lowerMethodCall(const A::Expr *e);
  Value *lowerMatch(const A::Expr *e);
  Value *lowerIndex(const A::Expr *e);
  Value *address(const A::Expr *e); // an lvalue's address
  Value *checkedIndex(Value *vec, Value *idx);
  void divisionCheck(Value *divisor);

  // Helpers.
  void setLoc(const A::SrcRange &r) {
    if (r.line)
      b_.setLoc(m_->addLoc({file_, r.line, r.col}));
  }
  Block *newBlock(llvm::StringRef name) { return fn_->createBlock(name); }
  void enter(Block *bb) { b_.setInsertPoint(bb); }
  bool terminated() const { return b_.insertBlock()->terminator() != nullptr; }
  /// After a terminator, code that follows is unreachable: give it a block
  /// with no predecessors so that lowering can go on uniformly.
  void startDeadBlock() {
    deadBlock_ = newBlock("dead");
    enter(deadBlock_);
  }
  /// In the block opened by startDeadBlock, still empty: nothing branches
  /// there (only structured statements create branch targets), so what would
  /// be emitted here can never run.
  bool inDeadBlock() const {
    return b_.insertBlock() == deadBlock_ && deadBlock_->empty();
  }
  void finishFunction();
  Value *slotFor(const A::Decl *d);
  Value *makeSlot(const A::VarDecl *vd);
  Instruction *entryAlloca(const Type *t, BindingId bind, llvm::StringRef name);
  Value *actorFieldAddr(const A::VarDecl *field);

  const A::Module &am_;
  std::unique_ptr<Module> m_;
  Builder b_;
  uint32_t file_ = 0;

  llvm::DenseMap<const A::Decl *, const Type *> declTypes_;
  llvm::DenseMap<const A::Decl *, Function *> funcs_;
  llvm::DenseMap<const A::Decl *, Function *> actorInits_;
  llvm::DenseMap<const A::Decl *, const Type *> actorStates_;
  llvm::DenseMap<const Type *, const Type *> optionTypes_; // payload -> Option

  // Per function.
  Function *fn_ = nullptr;
  Block *allocaBlock_ = nullptr;
  Block *deadBlock_ = nullptr;
  const A::ActorDecl *actor_ = nullptr;
  Value *self_ = nullptr;
  llvm::DenseMap<const A::Decl *, Value *> slots_;
  struct LoopTargets {
    Block *continueTo, *breakTo;
  };
  llvm::SmallVector<LoopTargets, 4> loops_;
};

} // namespace

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

const Type *Lowerer::optionType(const Type *elem) {
  // Memoized: this runs for every Option-typed expression, and building the
  // name and looking it up allocates.
  const Type *&cached = optionTypes_[elem];
  if (cached)
    return cached;
  std::string name = "Option." + elem->str();
  TypeContext &tc = m_->types();
  if (const Type *t = tc.named(name))
    return cached = t;
  const Type *t = tc.createNamedEnum(name);
  const Type *payload[] = {elem};
  tc.setEnumBody(t, {EnumVariant{"None", {}}, EnumVariant{"Some", payload}});
  return cached = t;
}

const Type *Lowerer::mirType(const A::Ty *t) {
  TypeContext &tc = m_->types();
  if (!t)
    return tc.voidTy();
  switch (t->kind) {
  case A::Ty::Int:
    return tc.i64();
  case A::Ty::Bool:
    return tc.i1();
  case A::Ty::Void:
  case A::Ty::Never:
    return tc.voidTy();
  case A::Ty::String:
  case A::Ty::Vec:
  case A::Ty::Channel:
  case A::Ty::Actor:
    return tc.ptr();
  case A::Ty::Option:
    return optionType(mirType(t->elem));
  case A::Ty::Enum: {
    auto *ed = static_cast<const A::EnumDecl *>(t->decl);
    if (ed->builtinOption)
      return optionType(mirType(ed->variants[1].fields[0]));
    auto it = declTypes_.find(t->decl);
    return it != declTypes_.end() ? it->second : tc.i64();
  }
  case A::Ty::Struct: {
    auto it = declTypes_.find(t->decl);
    return it != declTypes_.end() ? it->second : tc.i64();
  }
  case A::Ty::Error:
    return tc.i64();
  }
  return tc.i64();
}

void Lowerer::declareTypes() {
  TypeContext &tc = m_->types();
  // Names first, so bodies may refer to any of them.
  for (const A::Decl *d : am_.decls) {
    if (d->kind == A::Decl::Kind::Enum)
      declTypes_[d] = tc.createNamedEnum(d->name.spelling);
    else if (d->kind == A::Decl::Kind::Struct)
      declTypes_[d] = tc.createNamedStruct(d->name.spelling);
    else if (d->kind == A::Decl::Kind::Actor)
      actorStates_[d] = tc.createNamedStruct((llvm::Twine(d->name.spelling) + ".state").str());
  }
  for (const A::Decl *d : am_.decls) {
    if (d->kind == A::Decl::Kind::Enum) {
      auto *ed = static_cast<const A::EnumDecl *>(d);
      llvm::SmallVector<llvm::SmallVector<const Type *, 4>, 8> fields;
      for (const auto &v : ed->variants) {
        fields.emplace_back();
        for (const A::Ty *f : v.fields)
          fields.back().push_back(mirType(f));
      }
      llvm::SmallVector<EnumVariant, 8> vs;
      for (unsigned i = 0; i < ed->variants.size(); ++i)
        vs.push_back(EnumVariant{ed->variants[i].name.spelling, fields[i]});
      tc.setEnumBody(declTypes_[d], vs);
    } else if (d->kind == A::Decl::Kind::Struct) {
      auto *sd = static_cast<const A::StructDecl *>(d);
      llvm::SmallVector<const Type *, 8> fields;
      for (const auto &f : sd->fields)
        fields.push_back(mirType(f.type));
      tc.setStructBody(declTypes_[d], fields);
    } else if (d->kind == A::Decl::Kind::Actor) {
      auto *ad = static_cast<const A::ActorDecl *>(d);
      llvm::SmallVector<const Type *, 8> fields;
      for (const A::VarDecl *f : ad->fields)
        fields.push_back(mirType(f->type));
      tc.setStructBody(actorStates_[d], fields);
    }
  }
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

Function *Lowerer::runtime(llvm::StringRef name, llvm::ArrayRef<const Type *> params,
                           const Type *result, bool noReturn) {
  if (Function *f = m_->function(name))
    return f;
  Function *f = m_->createFunction(name, m_->types().function(params, result));
  f->setNoReturn(noReturn);
  return f;
}

void Lowerer::declareFunctions() {
  TypeContext &tc = m_->types();
  for (const A::Decl *d : am_.decls) {
    if (d->kind == A::Decl::Kind::Func) {
      auto *fd = static_cast<const A::FuncDecl *>(d);
      llvm::SmallVector<const Type *, 8> params;
      for (const A::Param *p : fd->params)
        params.push_back(mirType(p->type));
      funcs_[d] = m_->createFunction(fd->name.spelling,
                                     tc.function(params, mirType(fd->resultType)));
    } else if (d->kind == A::Decl::Kind::Actor) {
      // An actor's methods take its state as their first argument. The message
      // stubs (`.send` / `.call`) and the constructor are declared here and
      // generated by the actor pass (docs/runtime-abi.md).
      auto *ad = static_cast<const A::ActorDecl *>(d);
      std::string an = ad->name.spelling.str();
      actorInits_[d] = m_->createFunction(an + ".init", tc.function({tc.ptr()}, tc.voidTy()));
      runtime(an + ".new", {}, tc.ptr());
      ActorDecl decl;
      decl.name = m_->save(an);
      decl.state = actorStates_[d];
      decl.init = actorInits_[d];
      for (const A::FuncDecl *md : ad->methods) {
        llvm::SmallVector<const Type *, 8> params{tc.ptr()};
        for (const A::Param *p : md->params)
          params.push_back(mirType(p->type));
        const Type *res = mirType(md->resultType);
        std::string mn = an + "." + md->name.spelling.str();
        funcs_[md] = m_->createFunction(mn, tc.function(params, res));
        runtime(mn + (res->isVoid() ? ".send" : ".call"), params, res);
        decl.methods.push_back(funcs_[md]);
      }
      m_->actors().push_back(std::move(decl));
    }
  }
}

Instruction *Lowerer::entryAlloca(const Type *t, BindingId bind, llvm::StringRef name) {
  Block *saved = b_.insertBlock();
  LocId loc = b_.loc();
  enter(allocaBlock_);
  Instruction *a = b_.alloc(t, bind, name);
  enter(saved);
  b_.setLoc(loc);
  return a;
}

Value *Lowerer::makeSlot(const A::VarDecl *vd) {
  BindingId bind = m_->addBinding(vd->name.spelling, vd->scope, vd->name.mark);
  Instruction *a = entryAlloca(mirType(vd->type), bind, {});
  slots_[vd] = a;
  return a;
}

Value *Lowerer::slotFor(const A::Decl *d) {
  auto it = slots_.find(d);
  if (it != slots_.end())
    return it->second;
  if (d->kind == A::Decl::Kind::Var)
    return makeSlot(static_cast<const A::VarDecl *>(d));
  return nullptr;
}

Value *Lowerer::actorFieldAddr(const A::VarDecl *field) {
  unsigned idx = 0;
  for (unsigned i = 0; i < actor_->fields.size(); ++i)
    if (actor_->fields[i] == field)
      idx = i;
  return b_.fieldAddr(actorStates_[actor_], self_, idx);
}

void Lowerer::lowerFunction(const A::FuncDecl *fd, Function *f) {
  fn_ = f;
  slots_.clear();
  loops_.clear();
  actor_ = fd->actor;
  allocaBlock_ = f->createBlock("entry");
  Block *start = f->createBlock("start");
  enter(allocaBlock_);
  setLoc(fd->range);
  unsigned argBase = 0;
  if (actor_) {
    self_ = f->arg(0);
    f->arg(0)->setName("self");
    argBase = 1;
  }
  for (unsigned i = 0; i < fd->params.size(); ++i) {
    const A::Param *p = fd->params[i];
    Argument *arg = f->arg(argBase + i);
    BindingId bind = m_->addBinding(p->name.spelling, 0, p->name.mark);
    arg->setName(f->save(p->name.spelling));
    arg->setBinding(bind);
    Instruction *slot = b_.alloc(arg->type(), bind, {});
    slot->setName(f->save((llvm::Twine(p->name.spelling) + ".addr").str()));
    b_.store(arg, slot);
    slots_[p] = slot;
  }
  enter(start);
  lowerBlock(fd->body);
  if (!terminated() && f->returnType()->isVoid())
    b_.ret();
  enter(allocaBlock_);
  b_.br(start);
  finishFunction();
}

void Lowerer::finishFunction() {
  // Blocks opened after a return, break or panic and left empty are dropped;
  // any other block without a terminator is a path the checker proved
  // cannot be taken (e.g. the end of a non-Void function).
  // One walk collects both the unterminated blocks and every branch target
  // (Block::predecessors() walks the whole function per call).
  llvm::SmallVector<Block *, 8> unterminated;
  llvm::SmallPtrSet<const Block *, 32> targets;
  for (Block &bb : fn_->blocks()) {
    if (const Instruction *t = bb.terminator()) {
      for (const Successor &s : t->successors())
        targets.insert(s.block);
    } else {
      unterminated.push_back(&bb);
    }
  }
  for (Block *bb : unterminated) {
    if (bb->empty() && !targets.count(bb)) {
      bb->eraseFromParent();
      continue;
    }
    enter(bb);
    b_.unreachable();
  }
  // The body is complete: the next function's objects may share its last
  // page.
  fn_->arena().trim();
}

void Lowerer::lowerActorInit(const A::ActorDecl *ad, Function *f) {
  fn_ = f;
  slots_.clear();
  actor_ = ad;
  self_ = f->arg(0);
  f->arg(0)->setName("self");
  allocaBlock_ = f->createBlock("entry");
  Block *start = f->createBlock("start");
  enter(start);
  for (const A::VarDecl *field : ad->fields) {
    setLoc(field->range);
    Value *v = lowerExprAs(field->init, mirType(field->type));
    if (v)
      b_.store(v, actorFieldAddr(field));
  }
  if (!terminated())
    b_.ret();
  enter(allocaBlock_);
  b_.br(start);
  finishFunction();
}

std::unique_ptr<Module> Lowerer::run() {
  declare();
  for (const A::Decl *d : am_.decls)
    lowerDecl(d);
  return take();
}

void Lowerer::lowerDecl(const A::Decl *d) {
  if (d->kind == A::Decl::Kind::Func) {
    lowerFunction(static_cast<const A::FuncDecl *>(d), funcs_[d]);
  } else if (d->kind == A::Decl::Kind::Actor) {
    auto *ad = static_cast<const A::ActorDecl *>(d);
    lowerActorInit(ad, actorInits_[d]);
    for (const A::FuncDecl *md : ad->methods)
      lowerFunction(md, funcs_[md]);
  }
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

void Lowerer::lowerBlock(llvm::ArrayRef<A::Stmt *> stmts) {
  A::forEachStmtPrefetched(stmts, [&](const A::Stmt *s) { lowerStmt(s); });
}

void Lowerer::lowerStmt(const A::Stmt *s) {
  setLoc(s->range);
  TypeContext &tc = m_->types();
  switch (s->kind) {
  case A::Stmt::VarDef: {
    Value *slot = makeSlot(s->decl);
    Value *v = lowerExprAs(s->decl->init, mirType(s->decl->type));
    setLoc(s->range);
    if (v)
      b_.store(v, slot);
    return;
  }
  case A::Stmt::Assign: {
    const A::Expr *t = s->target;
    if (t->kind == A::Expr::Index) {
      Value *vec = lowerExpr(t->lhs);
      Value *idx = lowerExpr(t->rhs);
      setLoc(t->range);
      Value *checked = checkedIndex(vec, idx);
      Value *v;
      if (s->op != A::Expr::None) {
        Value *old = b_.call(runtime("qz_vec_get", {tc.ptr(), tc.i64()}, tc.i64()),
                             {vec, checked});
        Value *rhs = lowerExpr(s->value);
        setLoc(s->range);
        v = b_.binary(s->op == A::Expr::Add   ? Opcode::Add
                      : s->op == A::Expr::Sub ? Opcode::Sub
                                              : Opcode::Mul,
                      old, rhs);
      } else {
        v = lowerExprAs(s->value, tc.i64());
      }
      setLoc(s->range);
      b_.call(runtime("qz_vec_set", {tc.ptr(), tc.i64(), tc.i64()}, tc.voidTy()),
              {vec, checked, v});
      return;
    }
    Value *addr = address(t);
    const Type *ty = mirType(t->type);
    Value *v;
    if (s->op != A::Expr::None) {
      Value *old = b_.load(ty, addr);
      Value *rhs = lowerExpr(s->value);
      setLoc(s->range);
      v = b_.binary(s->op == A::Expr::Add   ? Opcode::Add
                    : s->op == A::Expr::Sub ? Opcode::Sub
                                            : Opcode::Mul,
                    old, rhs);
    } else {
      v = lowerExprAs(s->value, ty);
    }
    setLoc(s->range);
    if (v)
      b_.store(v, addr);
    return;
  }
  case A::Stmt::ExprStmt:
    lowerExpr(s->value);
    return;
  case A::Stmt::If: {
    Block *end = newBlock("if.end");
    for (unsigned i = 0; i < s->conds.size(); ++i) {
      Value *c = lowerExpr(s->conds[i]);
      Block *then = newBlock("if.then");
      Block *next = (i + 1 < s->conds.size() || s->hasElse) ? newBlock("if.else") : end;
      setLoc(s->conds[i]->range);
      b_.condBr(c ? c : m_->undef(tc.i1()), then, next);
      enter(then);
      lowerBlock(s->blocks[i]);
      if (!terminated() && !inDeadBlock())
        b_.br(end);
      enter(next);
    }
    if (s->hasElse) {
      lowerBlock(s->elseBody);
      if (!terminated() && !inDeadBlock())
        b_.br(end);
      enter(end);
    }
    return;
  }
  case A::Stmt::While: {
    Block *header = newBlock("while.cond");
    Block *body = newBlock("while.body");
    Block *exit = newBlock("while.end");
    b_.br(header);
    enter(header);
    Value *c = lowerExpr(s->conds[0]);
    setLoc(s->range);
    b_.condBr(c ? c : m_->undef(tc.i1()), body, exit);
    enter(body);
    loops_.push_back({header, exit});
    lowerBlock(s->blocks[0]);
    loops_.pop_back();
    if (!terminated() && !inDeadBlock())
      b_.br(header);
    enter(exit);
    return;
  }
  case A::Stmt::Break:
  case A::Stmt::Continue:
    if (!loops_.empty())
      b_.br(s->kind == A::Stmt::Break ? loops_.back().breakTo : loops_.back().continueTo);
    else
      b_.unreachable();
    startDeadBlock();
    return;
  case A::Stmt::Return: {
    const Type *rt = fn_->returnType();
    if (s->value && !rt->isVoid()) {
      Value *v = lowerExprAs(s->value, rt);
      setLoc(s->range);
      b_.ret(v);
    } else {
      if (s->value)
        lowerExpr(s->value);
      setLoc(s->range);
      b_.ret();
    }
    startDeadBlock();
    return;
  }
  }
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

Value *Lowerer::lowerExprAs(const A::Expr *e, const Type *want) {
  Value *v = e ? lowerExpr(e) : nullptr;
  if (v || want->isVoid())
    return v;
  // The expression never produced a value (it panicked, returned or broke
  // out): what follows is unreachable, and any value of the right type does.
  return m_->undef(want);
}

Value *Lowerer::address(const A::Expr *e) {
  if (e->kind == A::Expr::Name) {
    const A::Decl *d = e->resolved;
    if (d && d->kind == A::Decl::Kind::Var &&
        static_cast<const A::VarDecl *>(d)->isActorField)
      return actorFieldAddr(static_cast<const A::VarDecl *>(d));
    if (Value *slot = d ? slotFor(d) : nullptr)
      return slot;
  } else if (e->kind == A::Expr::Field) {
    Value *base = address(e->lhs);
    setLoc(e->range);
    return b_.fieldAddr(mirType(e->lhs->type), base, e->index);
  }
  // Not an lvalue the checker accepts; materialise it in a temporary.
  const Type *t = mirType(e->type);
  Instruction *tmp = entryAlloca(t, 0, "tmp");
  if (Value *v = lowerExpr(e))
    b_.store(v, tmp);
  return tmp;
}

Value *Lowerer::lowerExpr(const A::Expr *e) {
  A::prefetchOperands(e);
  setLoc(e->range);
  TypeContext &tc = m_->types();
  switch (e->kind) {
  case A::Expr::IntLit:
    return b_.i64(e->intValue);
  case A::Expr::BoolLit:
    return b_.boolean(e->intValue != 0);
  case A::Expr::StringLit:
    return b_.str(e->text);
  case A::Expr::Name: {
    const A::Decl *d = e->resolved;
    if (!d)
      return m_->undef(mirType(e->type));
    Value *addr = address(e);
    setLoc(e->range);
    return b_.load(mirType(e->type), addr);
  }
  case A::Expr::Unary: {
    Value *v = lowerExpr(e->lhs);
    setLoc(e->range);
    if (e->op == A::Expr::Neg)
      return b_.sub(b_.i64(0), v);
    return b_.binary(Opcode::Xor, v, b_.boolean(true));
  }
  case A::Expr::Binary:
    return lowerBinary(e);
  case A::Expr::Call:
    return lowerCall(e);
  case A::Expr::MethodCall:
    return lowerMethodCall(e);
  case A::Expr::Field: {
    Value *base = lowerExpr(e->lhs);
    setLoc(e->range);
    return b_.structExtract(base, e->index);
  }
  case A::Expr::Index:
    return lowerIndex(e);
  case A::Expr::EnumCtor: {
    llvm::SmallVector<Value *, 4> args;
    const Type *et = mirType(e->type);
    for (unsigned i = 0; i < e->args.size(); ++i) {
      const Type *ft = et->isEnum() && e->index >= 0 &&
                               unsigned(e->index) < et->variants().size() &&
                               i < et->variants()[e->index].fields.size()
                           ? et->variants()[e->index].fields[i]
                           : tc.i64();
      args.push_back(lowerExprAs(e->args[i], ft));
    }
    setLoc(e->range);
    return b_.enumMake(et, e->index < 0 ? 0 : e->index, args);
  }
  case A::Expr::StructLit: {
    const Type *st = mirType(e->type);
    // Evaluate in source order, then assemble in declaration order.
    llvm::SmallVector<Value *, 8> vals;
    for (const A::Expr *a : e->args)
      vals.push_back(lowerExpr(a));
    llvm::SmallVector<Value *, 8> fields;
    for (unsigned k = 0; k < e->fieldOrder.size(); ++k) {
      Value *v = vals[e->fieldOrder[k]];
      fields.push_back(v ? v : m_->undef(st->fields()[k]));
    }
    setLoc(e->range);
    return b_.structMake(st, fields);
  }
  case A::Expr::Match:
    return lowerMatch(e);
  case A::Expr::Do: {
    lowerBlock(e->stmts);
    if (!e->rhs)
      return nullptr;
    return lowerExpr(e->rhs);
  }
  case A::Expr::MacroCall:
    return e->expansion ? lowerExpr(e->expansion) : m_->undef(mirType(e->type));
  case A::Expr::Spawn: {
    // `spawn f(a, b)`: the arguments are evaluated now, then the declared
    // entry `qz.spawn.f` (f's parameters, no body) starts the task; the
    // coro-split pass gives it a body that builds f's frame and spawns it.
    const A::Expr *call = e->lhs;
    llvm::SmallVector<Value *, 4> args;
    llvm::SmallVector<const Type *, 4> params;
    for (const A::Expr *a : call->args) {
      args.push_back(lowerExprAs(a, mirType(a->type)));
      params.push_back(mirType(a->type));
    }
    setLoc(e->range);
    b_.call(runtime((llvm::Twine("qz.spawn.") + call->name.spelling).str(), params, tc.voidTy()), args);
    return nullptr;
  }
  }
  return nullptr;
}

void Lowerer::divisionCheck(Value *divisor) {
  Value *isZero = b_.icmp(ICmpPred::EQ, divisor, b_.i64(0));
  Block *fail = newBlock("div.zero");
  Block *ok = newBlock("div.ok");
  b_.condBr(isZero, fail, ok);
  enter(fail);
  b_.panic("division by zero");
  enter(ok);
}

Value *Lowerer::lowerBinary(const A::Expr *e) {
  if (e->op == A::Expr::And || e->op == A::Expr::Or)
    return lowerShortCircuit(e);
  Value *l = lowerExpr(e->lhs);
  Value *r = lowerExpr(e->rhs);
  setLoc(e->range);
  const Type *ot = e->lhs->type ? mirType(e->lhs->type) : m_->types().i64();
  if (!l)
    l = m_->undef(ot);
  if (!r)
    r = m_->undef(ot);
  switch (e->op) {
  case A::Expr::Add: return b_.add(l, r);
  case A::Expr::Sub: return b_.sub(l, r);
  case A::Expr::Mul: return b_.mul(l, r);
  case A::Expr::Div:
    divisionCheck(r);
    return b_.sdiv(l, r);
  case A::Expr::Rem:
    divisionCheck(r);
    return b_.srem(l, r);
  case A::Expr::Eq: return b_.icmp(ICmpPred::EQ, l, r);
  case A::Expr::Ne: return b_.icmp(ICmpPred::NE, l, r);
  case A::Expr::Lt: return b_.icmp(ICmpPred::SLT, l, r);
  case A::Expr::Le: return b_.icmp(ICmpPred::SLE, l, r);
  case A::Expr::Gt: return b_.icmp(ICmpPred::SGT, l, r);
  case A::Expr::Ge: return b_.icmp(ICmpPred::SGE, l, r);
  default:
    return m_->undef(mirType(e->type));
  }
}

Value *Lowerer::lowerShortCircuit(const A::Expr *e) {
  TypeContext &tc = m_->types();
  bool isAnd = e->op == A::Expr::And;
  Value *l = lowerExpr(e->lhs);
  if (!l)
    l = m_->undef(tc.i1());
  Block *rhsBlock = newBlock(isAnd ? "and.rhs" : "or.rhs");
  Block *join = newBlock(isAnd ? "and.end" : "or.end");
  BlockArg *result = join->addArg(tc.i1());
  setLoc(e->range);
  if (isAnd)
    b_.condBr(l, rhsBlock, {}, join, {b_.boolean(false)});
  else
    b_.condBr(l, join, {b_.boolean(true)}, rhsBlock, {});
  enter(rhsBlock);
  Value *r = lowerExprAs(e->rhs, tc.i1());
  b_.br(join, {r});
  enter(join);
  return result;
}

Value *Lowerer::lowerCall(const A::Expr *e) {
  TypeContext &tc = m_->types();
  const A::Decl *d = e->resolved;
  if (d && d->kind == A::Decl::Kind::Func) {
    Function *callee = funcs_[d];
    llvm::SmallVector<Value *, 8> args;
    for (unsigned i = 0; i < e->args.size(); ++i)
      args.push_back(lowerExprAs(e->args[i], callee->type()->params()[i]));
    setLoc(e->range);
    Value *r = b_.call(callee, args);
    return callee->returnType()->isVoid() ? nullptr : r;
  }
  if (d && d->kind == A::Decl::Kind::Actor) {
    setLoc(e->range);
    return b_.call(m_->function((llvm::Twine(d->name.spelling) + ".new").str()), {});
  }
  llvm::StringRef name = e->name.spelling;
  llvm::SmallVector<Value *, 4> args;
  for (const A::Expr *a : e->args)
    args.push_back(lowerExprAs(a, mirType(a->type)));
  setLoc(e->range);
  if (name == "println" || name == "print") {
    const A::Ty *at = e->args.empty() ? nullptr : e->args[0]->type;
    llvm::StringRef kind = "i64";
    const Type *pt = tc.i64();
    if (at && at->kind == A::Ty::Bool) {
      kind = "bool";
      pt = tc.i1();
    } else if (at && at->kind == A::Ty::String) {
      kind = "str";
      pt = tc.ptr();
    }
    std::string fname = (llvm::Twine("qz_") + name + "_" + kind).str();
    b_.call(runtime(fname, {pt}, tc.voidTy()), args);
    return nullptr;
  }
  if (name == "panic") {
    if (!e->args.empty() && e->args[0]->kind == A::Expr::StringLit) {
      b_.panic(e->args[0]->text);
    } else {
      b_.call(runtime("qz_panic_str", {tc.ptr()}, tc.voidTy(), true), args);
      b_.unreachable();
    }
    startDeadBlock();
    return nullptr;
  }
  if (name == "usleep") {
    // A suspension point: the task sleeps without holding a worker.
    b_.await(runtime("qz_usleep_poll", {tc.i64(), tc.ptr()}, tc.i64()), args);
    return nullptr;
  }
  if (name == "vec_new")
    return b_.call(runtime("qz_vec_new", {}, tc.ptr()), {});
  if (name == "channel")
    return b_.call(runtime("qz_chan_new", {tc.i64()}, tc.ptr()), args);
  return m_->undef(mirType(e->type));
}

Value *Lowerer::checkedIndex(Value *vec, Value *idx) {
  TypeContext &tc = m_->types();
  Value *len = b_.call(runtime("qz_vec_len", {tc.ptr()}, tc.i64()), {vec});
  // One unsigned comparison rejects negative indexes too.
  Value *inBounds = b_.icmp(ICmpPred::ULT, idx, len);
  Block *fail = newBlock("bounds.fail");
  Block *ok = newBlock("bounds.ok");
  b_.condBr(inBounds, ok, fail);
  enter(fail);
  b_.call(runtime("qz_panic_bounds", {tc.i64(), tc.i64()}, tc.voidTy(), true), {idx, len});
  b_.unreachable();
  enter(ok);
  return idx;
}

Value *Lowerer::lowerIndex(const A::Expr *e) {
  TypeContext &tc = m_->types();
  Value *vec = lowerExpr(e->lhs);
  Value *idx = lowerExpr(e->rhs);
  setLoc(e->range);
  checkedIndex(vec, idx);
  return b_.call(runtime("qz_vec_get", {tc.ptr(), tc.i64()}, tc.i64()), {vec, idx});
}

Value *Lowerer::lowerMethodCall(const A::Expr *e) {
  TypeContext &tc = m_->types();
  const A::Ty *rt = e->lhs->type;
  llvm::StringRef name = e->name.spelling;
  Value *recv = lowerExpr(e->lhs);
  if (!recv)
    recv = m_->undef(mirType(rt));
  llvm::SmallVector<Value *, 4> args;
  for (const A::Expr *a : e->args)
    args.push_back(lowerExprAs(a, mirType(a->type)));
  setLoc(e->range);
  const A::Ty::Kind k = rt ? rt->kind : A::Ty::Error;

  if (k == A::Ty::Vec) {
    if (name == "push") {
      b_.call(runtime("qz_vec_push", {tc.ptr(), tc.i64()}, tc.voidTy()), {recv, args[0]});
      return nullptr;
    }
    if (name == "len")
      return b_.call(runtime("qz_vec_len", {tc.ptr()}, tc.i64()), {recv});
    if (name == "pop") {
      Value *len = b_.call(runtime("qz_vec_len", {tc.ptr()}, tc.i64()), {recv});
      Value *nonEmpty = b_.icmp(ICmpPred::NE, len, b_.i64(0));
      const Type *optTy = optionType(tc.i64());
      Block *some = newBlock("pop.some");
      Block *none = newBlock("pop.none");
      Block *join = newBlock("pop.end");
      BlockArg *res = join->addArg(optTy);
      b_.condBr(nonEmpty, some, none);
      enter(some);
      Value *x = b_.call(runtime("qz_vec_pop", {tc.ptr()}, tc.i64()), {recv});
      b_.br(join, {b_.enumMake(optTy, 1, {x})});
      enter(none);
      b_.br(join, {b_.enumMake(optTy, 0, {})});
      enter(join);
      return res;
    }
  }
  if (k == A::Ty::Option || (k == A::Ty::Enum && rt->decl &&
                             static_cast<const A::EnumDecl *>(rt->decl)->builtinOption)) {
    const Type *optTy = mirType(rt);
    const Type *elem = optTy->variants()[1].fields[0];
    if (name == "is_some" || name == "is_none") {
      Value *tag = b_.enumTag(recv);
      return b_.icmp(ICmpPred::EQ, tag, b_.i32(name == "is_some" ? 1 : 0));
    }
    if (name == "unwrap" || name == "unwrap_or") {
      Block *some = newBlock("unwrap.some");
      Block *none = newBlock("unwrap.none");
      Block *join = newBlock("unwrap.end");
      BlockArg *payload = some->addArg(elem, "v");
      BlockArg *res = join->addArg(elem);
      b_.match(recv,
               {{m_->makeVariantPattern(1, {m_->makeBind("v")}), some},
                {m_->makeVariantPattern(0, {}), none}},
               nullptr);
      enter(some);
      b_.br(join, {payload});
      enter(none);
      if (name == "unwrap")
        b_.panic("unwrap on None");
      else
        b_.br(join, {args[0]});
      enter(join);
      return res;
    }
  }
  if (k == A::Ty::Channel) {
    if (name == "send") {
      // A suspension point while the channel is full; status 2 (closed)
      // panics here, at the send's source location.
      Value *st = b_.await(runtime("qz_chan_send_poll", {tc.ptr(), tc.i64(), tc.ptr()},
                                   tc.i64()),
                           {recv, args[0]});
      Block *closed = newBlock("send.closed");
      Block *sent = newBlock("send.ok");
      b_.condBr(b_.icmp(ICmpPred::EQ, st, b_.i64(2)), closed, sent);
      enter(closed);
      b_.panic("send on closed channel");
      enter(sent);
      return nullptr;
    }
    if (name == "close") {
      b_.call(runtime("qz_chan_close", {tc.ptr()}, tc.voidTy()), {recv});
      return nullptr;
    }
    if (name == "recv" || name == "try_recv") {
      // The runtime writes the value through a pointer and says whether it
      // produced one; the Option is built here, in MIR the passes can see.
      Instruction *slot = entryAlloca(tc.i64(), 0, "recv.slot");
      Value *ok;
      if (name == "recv") {
        // A suspension point while the channel is empty; status 0 is a
        // value, 2 closed-and-drained.
        Value *st = b_.await(runtime("qz_chan_recv_poll", {tc.ptr(), tc.ptr(), tc.ptr()},
                                     tc.i64()),
                             {recv, slot});
        ok = b_.icmp(ICmpPred::EQ, st, b_.i64(0));
      } else {
        ok = b_.call(runtime("qz_chan_try_recv", {tc.ptr(), tc.ptr()}, tc.i1()),
                     {recv, slot});
      }
      const Type *optTy = optionType(tc.i64());
      Block *some = newBlock("recv.some");
      Block *none = newBlock("recv.none");
      Block *join = newBlock("recv.end");
      BlockArg *res = join->addArg(optTy);
      b_.condBr(ok, some, none);
      enter(some);
      Value *x = b_.load(tc.i64(), slot);
      b_.br(join, {b_.enumMake(optTy, 1, {x})});
      enter(none);
      b_.br(join, {b_.enumMake(optTy, 0, {})});
      enter(join);
      return res;
    }
  }
  if (k == A::Ty::Actor) {
    if (name == "link") {
      b_.call(runtime("qz_actor_link", {tc.ptr(), tc.ptr()}, tc.voidTy()), {recv, args[0]});
      return nullptr;
    }
    if (name == "stop") {
      // Synchronous: a suspension point until the actor has handled every
      // message sent before the stop; status 2: it was not running.
      Value *st = b_.await(runtime("qz_actor_stop_poll", {tc.ptr(), tc.ptr()}, tc.i64()),
                           {recv});
      Block *dead = newBlock("stop.notrunning");
      Block *done = newBlock("stop.ok");
      b_.condBr(b_.icmp(ICmpPred::EQ, st, b_.i64(2)), dead, done);
      enter(dead);
      b_.panic((llvm::Twine("actor ") +
                (rt->decl ? rt->decl->name.spelling : llvm::StringRef("?")) +
                " is not running")
                   .str());
      enter(done);
      return nullptr;
    }
    const A::Decl *md = e->resolved;
    if (md && md->kind == A::Decl::Kind::Func) {
      auto *fd = static_cast<const A::FuncDecl *>(md);
      Function *impl = funcs_[md];
      bool isVoid = impl->returnType()->isVoid();
      std::string stub = (llvm::Twine(impl->name()) + (isVoid ? ".send" : ".call")).str();
      llvm::SmallVector<Value *, 4> full{recv};
      full.append(args.begin(), args.end());
      (void)fd;
      Value *r = b_.call(m_->function(stub), full);
      return isVoid ? nullptr : r;
    }
  }
  return m_->undef(mirType(e->type));
}

namespace {
/// One alternative of a (possibly or-) pattern: its MIR pattern and the
/// variables it binds, in pre-order (the order of the arm block's parameters).
struct Alternative {
  const qmir::Pattern *pattern;
  llvm::SmallVector<const A::VarDecl *, 4> binds;
};
} // namespace

static void expandPattern(Module &m, const A::Pattern *p,
                          llvm::SmallVectorImpl<Alternative> &out) {
  A::prefetchOperands(p);
  switch (p->kind) {
  case A::Pattern::Wildcard:
    out.push_back({m.makeWildcard(), {}});
    return;
  case A::Pattern::Binding:
    out.push_back({m.makeBind(p->binding ? p->binding->name.spelling : "_"), {p->binding}});
    return;
  case A::Pattern::Int:
  case A::Pattern::Bool:
    out.push_back({m.makeIntPattern(p->intValue), {}});
    return;
  case A::Pattern::Or:
    for (const A::Pattern *alt : p->subpatterns)
      expandPattern(m, alt, out);
    return;
  case A::Pattern::Variant: {
    // The cartesian product of the fields' alternatives.
    llvm::SmallVector<Alternative, 4> partial;
    partial.push_back({nullptr, {}});
    llvm::SmallVector<llvm::SmallVector<const qmir::Pattern *, 4>, 4> fieldLists(1);
    for (const A::Pattern *sub : p->subpatterns) {
      llvm::SmallVector<Alternative, 4> subs;
      expandPattern(m, sub, subs);
      llvm::SmallVector<Alternative, 4> nextPartial;
      llvm::SmallVector<llvm::SmallVector<const qmir::Pattern *, 4>, 4> nextLists;
      for (unsigned i = 0; i < partial.size(); ++i)
        for (const Alternative &s : subs) {
          Alternative a{nullptr, partial[i].binds};
          a.binds.append(s.binds.begin(), s.binds.end());
          nextPartial.push_back(a);
          nextLists.push_back(fieldLists[i]);
          nextLists.back().push_back(s.pattern);
        }
      partial = std::move(nextPartial);
      fieldLists = std::move(nextLists);
    }
    for (unsigned i = 0; i < partial.size(); ++i) {
      partial[i].pattern = m.makeVariantPattern(
          p->variantIndex < 0 ? 0 : p->variantIndex, fieldLists[i]);
      out.push_back(std::move(partial[i]));
    }
    return;
  }
  }
}

Value *Lowerer::lowerMatch(const A::Expr *e) {
  A::prefetchArms(e);
  Value *subject = lowerExpr(e->lhs);
  if (!subject)
    subject = m_->undef(mirType(e->lhs->type));
  for (const A::MatchArm *arm : e->arms) // loaded while lowering the subject
    A::prefetchOperands(arm);
  const Type *resultTy = e->isStatement ? m_->types().voidTy() : mirType(e->type);

  // Per arm: the block that checks the guard and runs the body, and the
  // bind blocks of its alternatives (shared by every match of the chain).
  struct ArmBlocks {
    Block *body;
    llvm::SmallVector<Builder::MatchArm, 2> alts;
  };
  llvm::SmallVector<ArmBlocks, 8> arms;
  for (const A::MatchArm *arm : e->arms) {
    ArmBlocks ab;
    ab.body = newBlock("arm");
    llvm::SmallVector<Alternative, 2> alts;
    expandPattern(*m_, arm->pattern, alts);
    for (const Alternative &alt : alts) {
      Block *bind = newBlock("arm.bind");
      Block *saved = b_.insertBlock();
      enter(bind);
      setLoc(arm->range);
      for (const A::VarDecl *vd : alt.binds) {
        const Type *t = mirType(vd->type);
        BlockArg *param = bind->addArg(t, vd->name.spelling);
        Value *slot = slotFor(vd);
        param->setBinding(cast<Instruction>(slot)->binding());
        b_.store(param, slot);
      }
      b_.br(ab.body);
      enter(saved);
      ab.alts.push_back({alt.pattern, bind});
    }
    arms.push_back(std::move(ab));
  }
  Block *join = newBlock("match.end");
  BlockArg *result = resultTy->isVoid() ? nullptr : join->addArg(resultTy);

  // The chain: `match` over arms [first, end); a failing guard of arm i goes
  // to a `match` over arms (i, end).
  auto emitMatchFrom = [&](unsigned first) {
    llvm::SmallVector<Builder::MatchArm, 8> all;
    for (unsigned i = first; i < arms.size(); ++i)
      all.append(arms[i].alts.begin(), arms[i].alts.end());
    setLoc(e->range);
    b_.match(subject, all, nullptr);
  };
  emitMatchFrom(0);

  for (unsigned i = 0; i < arms.size(); ++i) {
    const A::MatchArm *arm = e->arms[i];
    enter(arms[i].body);
    if (arm->guard) {
      Value *g = lowerExprAs(arm->guard, m_->types().i1());
      Block *pass = newBlock("arm.guarded");
      Block *fail = newBlock("arm.next");
      setLoc(arm->guard->range);
      b_.condBr(g, pass, fail);
      enter(fail);
      if (i + 1 < arms.size())
        emitMatchFrom(i + 1);
      else
        b_.unreachable(); // the checker proved an unguarded arm covers this
      enter(pass);
    }
    if (arm->stmt) {
      lowerStmt(arm->stmt);
      if (!terminated() && !inDeadBlock())
        b_.br(join);
      continue;
    }
    Value *v = arm->body ? lowerExpr(arm->body) : nullptr;
    if (terminated() || inDeadBlock())
      continue;
    if (result)
      b_.br(join, {v ? v : m_->undef(resultTy)});
    else
      b_.br(join);
  }
  enter(join);
  return result;
}

std::unique_ptr<Module> qmir::lowerToMIR(const ast::Module &m, ast::AstContext &ctx) {
  return Lowerer(m).run();
}

struct qmir::IncrementalLowering::Impl {
  Lowerer lowerer;
  Impl(const ast::Module &m, ast::AstContext &) : lowerer(m) {}
};

qmir::IncrementalLowering::IncrementalLowering(const ast::Module &m,
                                               ast::AstContext &ctx)
    : impl_(std::make_unique<Impl>(m, ctx)) {
  impl_->lowerer.declare();
}

qmir::IncrementalLowering::~IncrementalLowering() = default;

void qmir::IncrementalLowering::lower(const ast::Decl *d) {
  impl_->lowerer.lowerDecl(d);
}

std::unique_ptr<Module> qmir::IncrementalLowering::finish() {
  return impl_->lowerer.take();
}
