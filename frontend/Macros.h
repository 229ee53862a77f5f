// Hygienic expansion of Quartz core's builtin macros ($unwrap / postfix `!`,
// $try, $assert) into ordinary AST (a Match), before checking and lowering.
//
// Hygiene comes from marks: each expansion takes a fresh ctx.freshMark() and
// every name it introduces carries it, so it can neither capture nor be
// captured by a user's name of the same spelling, nor collide with another
// expansion. The argument expressions keep their own marks.
#pragma once

#include "frontend/Diagnostics.h"
#include "lowering/AST.h"

namespace qmir::frontend {

/// Expands every MacroCall in place by setting Expr::expansion (recursively:
/// nested macros inside arguments expand too). Reports unknown macros
/// ("unknown macro '$foo'"), `$try` in a function whose declared result type
/// is not Option ("$try outside a function returning Option", pointing at
/// `$try`), and wrong arity. A MacroCall whose expansion is null after this
/// had an error reported for it.
void expandMacros(ast::AstContext &ctx, ast::Module &m, DiagEngine &diags);

/// expandMacros on one declaration of `m` (expandMacros is this on each
/// declaration in module order).
void expandMacrosIn(ast::AstContext &ctx, ast::Module &m, ast::Decl *d,
                    DiagEngine &diags);

} // namespace qmir::frontend
