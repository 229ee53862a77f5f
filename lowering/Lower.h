// AST -> MIR lowering: the checked AST of lowering/AST.h becomes frontend-style
// MIR (docs/frontend-guide.md): every variable an `alloca` carrying its binding
// record, reads as `load`, writes as `store`, control flow as blocks, `match` as
// the high-level MIR `match`, bounds and division checks as explicit panicking
// paths, and runtime services (printing, vectors, channels, tasks, actors) as
// calls to declared runtime functions (docs/runtime-abi.md).
#pragma once

#include "lowering/AST.h"
#include "mir/IR.h"

#include <memory>

namespace qmir {

/// Lowers a module that the checker accepted (no errors reported). The result
/// verifies; lowering never reports errors of its own.
std::unique_ptr<Module> lowerToMIR(const ast::Module &m, ast::AstContext &ctx);

} // namespace qmir
