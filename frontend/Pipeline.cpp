// checkAndLowerModule and expandCheckAndLowerModule: the phases after parsing,
// one declaration at a time.
#include "frontend/Pipeline.h"

#include "frontend/Macros.h"
#include "frontend/Sema.h"
#include "lowering/Lower.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cassert>
#include <string>

using namespace qmir;

std::unique_ptr<qmir::Module>
qmir::frontend::checkAndLowerModule(ast::AstContext &ctx, ast::Module &m,
                                    DiagEngine &diags) {
  ModuleChecker c(ctx, m, diags);
  c.checkGlobals();
  // An actor's field types are inferred from the fields' initialisers while
  // its declaration is checked, and lowering declares the actor's state type
  // up front: with actors, check everything first.
  bool actors = llvm::any_of(
      m.decls, [](const ast::Decl *d) { return d->kind == ast::Decl::Kind::Actor; });
  if (c.errorCount() || actors) {
    for (ast::Decl *d : m.decls)
      c.checkDecl(d);
    return c.errorCount() ? nullptr : lowerToMIR(m, ctx);
  }
  // Lowering a function reads only its own body (checked just before) and
  // the signatures and types resolved above, so the module lowered one
  // declaration at a time is the one lowerToMIR makes after checking it all.
  // Checking never reads MIR, so diagnostics are those of checkModule.
  IncrementalLowering lowering(m, ctx);
  for (ast::Decl *d : m.decls) {
    c.checkDecl(d);
    if (!c.errorCount())
      lowering.lower(d);
  }
  return c.errorCount() ? nullptr : lowering.finish();
}

std::unique_ptr<qmir::Module>
qmir::frontend::expandCheckAndLowerModule(ast::AstContext &ctx, ast::Module &m,
                                          DiagEngine &diags) {
  if (diags.errorCount())
    return nullptr;
  bool actors = llvm::any_of(
      m.decls, [](const ast::Decl *d) { return d->kind == ast::Decl::Kind::Actor; });
  if (actors) { // see checkAndLowerModule
    expandMacros(ctx, m, diags);
    return diags.errorCount() ? nullptr : checkAndLowerModule(ctx, m, diags);
  }
  // One after the other, the checker would run only after every function is
  // expanded, and only if that reported no error: hold its diagnostics back
  // (printed the same way: same buffer, same error limit, counting from the
  // same zero) until then.
  std::string held;
  llvm::raw_string_ostream heldOs(held);
  heldOs.enable_colors(diags.stream().has_colors());
  DiagEngine checkDiags(diags.sourceMgr(), diags.bufferId(), heldOs);
  checkDiags.setErrorLimit(diags.errorLimit());
  ModuleChecker c(ctx, m, checkDiags);
  // Scope ids: one after the other, expansion takes one fresh scope per
  // $unwrap / `!` / $try and the checker numbers its scopes after all of
  // them. Keep two counters and switch between them.
  uint32_t macroScope = ctx.lastScope();
  const uint32_t macroScopesEnd = macroScope + m.scopedMacroCalls;
  uint32_t checkScope = macroScopesEnd;
  auto checking = [&](auto &&fn) {
    ctx.setLastScope(checkScope);
    fn();
    checkScope = ctx.lastScope();
  };
  checking([&] { c.checkGlobals(); });
  std::unique_ptr<IncrementalLowering> lowering;
  if (!c.errorCount())
    lowering = std::make_unique<IncrementalLowering>(m, ctx);
  for (ast::Decl *d : m.decls) {
    ctx.setLastScope(macroScope);
    expandMacrosIn(ctx, m, d, diags);
    macroScope = ctx.lastScope();
    if (diags.errorCount())
      continue; // the checker would not run: only expand the rest
    checking([&] { c.checkDecl(d); });
    if (!c.errorCount())
      lowering->lower(d);
  }
  if (diags.errorCount()) {
    ctx.setLastScope(macroScope);
    return nullptr;
  }
  assert(macroScope == macroScopesEnd &&
         "Module::scopedMacroCalls does not match the expansions");
  (void)macroScopesEnd;
  ctx.setLastScope(checkScope);
  diags.replay(held, checkDiags.errorCount());
  return c.errorCount() ? nullptr : lowering->finish();
}
