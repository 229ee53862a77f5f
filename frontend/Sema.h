// The Quartz core checker: name resolution, type checking and match
// exhaustiveness over the parsed (and macro-expanded) AST.
//
// It fills every "Filled by the checker" field of lowering/AST.h, so that the
// lowering never has to look a name up or guess a type. Choices the lowering
// relies on:
// - Names resolve by full Symbol (spelling and hygiene mark); globals
//   (functions, enums, structs, actors), builtins and enum variants resolve by
//   spelling, since they are never bindings a macro could introduce.
// - Bare variants are rewritten in place: an Expr::Name or Expr::Call that
//   denotes a variant (`None`, `Empty`, `Circle(2)`) becomes an Expr::EnumCtor;
//   a Pattern::Binding whose user-written name is a variant of the type expected
//   there becomes a Pattern::Variant, and a payload-less bare Pattern::Variant
//   that is no such variant becomes a Pattern::Binding (with a new VarDecl).
// - In an or-pattern every alternative binds the same names; the checker points
//   the Binding patterns of all alternatives at the first alternative's VarDecl,
//   so one binding identity reaches the arm body whichever alternative matched.
// - A MacroCall is checked through its expansion and gets the expansion's type.
// - A statement `match` has type Void (Never if every arm diverges).
#pragma once

#include "frontend/Diagnostics.h"
#include "lowering/AST.h"

#include <memory>

namespace qmir::frontend {

/// Resolves names, checks types and match exhaustiveness, fills the checker
/// fields of the AST. Reports every error it can (with follow-on errors
/// suppressed through Ty::Error). Returns true if there were no errors.
bool checkModule(ast::AstContext &ctx, ast::Module &m, DiagEngine &diags);

/// checkModule in steps, for checkAndLowerModule (frontend/Pipeline.h): checkGlobals() once (names,
/// signatures, type declarations), then checkDecl() on each declaration in
/// module order. The diagnostics are those of checkModule.
class ModuleChecker {
public:
  ModuleChecker(ast::AstContext &ctx, ast::Module &m, DiagEngine &diags);
  ~ModuleChecker();
  ModuleChecker(const ModuleChecker &) = delete;
  ModuleChecker &operator=(const ModuleChecker &) = delete;
  void checkGlobals();
  void checkDecl(ast::Decl *d);
  unsigned errorCount() const; ///< errors this checker reported so far

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qmir::frontend
