// Match exhaustiveness and arm reachability for Quartz core patterns.
//
// Implements the usefulness algorithm of Maranget ("Warnings for pattern
// matching", JFP 2007) over the checked patterns of the AST. Kept apart from
// the type checker because it only needs the checker's results (Pattern::type,
// Pattern::variantIndex, EnumDecl::Variant::fields) and is easiest to test on
// its own.
#pragma once

#include "lowering/AST.h"

#include "llvm/ADT/ArrayRef.h"

#include <optional>
#include <string>

namespace qmir::frontend {

/// Returns one value of type `subject` that none of `rows` matches, printed as
/// a pattern with `_` for anything left open ("None", "Rect(_, _)",
/// "Some(false)", "_"), or std::nullopt if the rows are exhaustive. The caller
/// leaves out arms with guards. Patterns must have been checked: Binding and
/// Wildcard match anything, and a Variant with variantIndex -1 (a pattern the
/// checker rejected) is treated as a wildcard so no follow-on error appears.
/// The search is exponential in the worst case: past a fixed budget of steps
/// it stops, sets *tooComplex (if given) and returns std::nullopt.
std::optional<std::string> findUncovered(const ast::Ty *subject,
                                         llvm::ArrayRef<const ast::Pattern *> rows,
                                         bool *tooComplex = nullptr);

/// True if some value matched by `p` is matched by none of `previous`: the arm
/// with pattern `p` can be reached.
bool isUseful(const ast::Ty *subject, llvm::ArrayRef<const ast::Pattern *> previous,
              const ast::Pattern *p);

} // namespace qmir::frontend
