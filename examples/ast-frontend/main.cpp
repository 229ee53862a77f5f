// A frontend in 100 lines: builds qmir's AST for
//
//   def sum_to(n: Int): Int
//     var total = 0
//     var i = 0
//     while i < n
//       total += i
//       i += 1
//     end
//     return total
//   end
//
// fills in what a checker would (types and resolved names), lowers it to MIR,
// verifies, prints and interprets it. docs/frontend-guide.md walks through it.
#include "lowering/AST.h"
#include "lowering/Lower.h"
#include "mir/Interpreter.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"

#include "llvm/Support/raw_ostream.h"

using namespace qmir;
namespace A = qmir::ast;

int main() {
  A::AstContext ctx;
  const A::Ty *intTy = ctx.intTy();
  uint32_t bodyScope = ctx.freshScope();

  // Declarations: the parameter and the two variables. A name is a Symbol
  // (spelling + hygiene mark 0 for user-written names).
  auto *n = ctx.make<A::Param>();
  n->kind = A::Decl::Kind::Param;
  n->name = {"n", 0};
  n->type = intTy;
  auto var = [&](llvm::StringRef name) {
    auto *v = ctx.make<A::VarDecl>();
    v->kind = A::Decl::Kind::Var;
    v->name = {name, 0};
    v->scope = bodyScope;
    v->type = intTy;
    return v;
  };
  A::VarDecl *total = var("total"), *i = var("i");

  // Expressions. `resolved` and `type` are what a checker fills in.
  auto lit = [&](int64_t value) {
    auto *e = ctx.make<A::Expr>();
    e->kind = A::Expr::IntLit;
    e->intValue = value;
    e->type = intTy;
    return e;
  };
  auto use = [&](const A::Decl *d) {
    auto *e = ctx.make<A::Expr>();
    e->kind = A::Expr::Name;
    e->name = d->name;
    e->resolved = d;
    e->type = intTy;
    return e;
  };
  auto stmt = [&](A::Stmt::Kind k) {
    auto *s = ctx.make<A::Stmt>();
    s->kind = k;
    return s;
  };
  auto addAssign = [&](A::VarDecl *target, A::Expr *value) {
    A::Stmt *s = stmt(A::Stmt::Assign);
    s->target = use(target);
    s->op = A::Expr::Add;
    s->value = value;
    return s;
  };

  total->init = lit(0);
  i->init = lit(0);
  A::Stmt *defTotal = stmt(A::Stmt::VarDef);
  defTotal->decl = total;
  A::Stmt *defI = stmt(A::Stmt::VarDef);
  defI->decl = i;

  auto *cond = ctx.make<A::Expr>();
  cond->kind = A::Expr::Binary;
  cond->op = A::Expr::Lt;
  cond->lhs = use(i);
  cond->rhs = use(n);
  cond->type = ctx.boolTy();
  A::Stmt *loop = stmt(A::Stmt::While);
  A::Expr *conds[] = {cond};
  loop->conds = ctx.copy(llvm::ArrayRef<A::Expr *>(conds));
  A::Stmt *loopBody[] = {addAssign(total, use(i)), addAssign(i, lit(1))};
  llvm::ArrayRef<A::Stmt *> blocks[] = {ctx.copy(llvm::ArrayRef<A::Stmt *>(loopBody))};
  loop->blocks = ctx.copy(llvm::ArrayRef<llvm::ArrayRef<A::Stmt *>>(blocks));
  A::Stmt *ret = stmt(A::Stmt::Return);
  ret->value = use(total);

  auto *fn = ctx.make<A::FuncDecl>();
  fn->kind = A::Decl::Kind::Func;
  fn->name = {"sum_to", 0};
  A::Param *params[] = {n};
  fn->params = ctx.copy(llvm::ArrayRef<A::Param *>(params));
  fn->resultType = intTy;
  A::Stmt *body[] = {defTotal, defI, loop, ret};
  fn->body = ctx.copy(llvm::ArrayRef<A::Stmt *>(body));

  A::Module module;
  module.fileName = "sum_to.qz";
  A::Decl *decls[] = {fn};
  module.decls = ctx.copy(llvm::ArrayRef<A::Decl *>(decls));

  // Lower, verify, print, run.
  std::unique_ptr<Module> mir = lowerToMIR(module, ctx);
  std::vector<VerifierError> errors;
  if (!verifyModule(*mir, &errors)) {
    printVerifierErrors(llvm::errs(), errors);
    return 1;
  }
  printModule(llvm::outs(), *mir);
  Interpreter interp(*mir, llvm::outs(), llvm::errs());
  InterpResult r = interp.run(*mir->function("sum_to"), {10});
  llvm::outs() << "sum_to(10) = " << r.value << "\n";
  return r.kind == InterpResult::Returned && r.value == 45 ? 0 : 1;
}
