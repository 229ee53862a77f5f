// checkAndLowerModule: checking and lowering one declaration at a time.
#include "frontend/Pipeline.h"

#include "frontend/Sema.h"
#include "lowering/Lower.h"

#include "llvm/ADT/STLExtras.h"

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
