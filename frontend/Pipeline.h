// checkAndLowerModule: checking and lowering to MIR one function at a time.
#pragma once

#include "frontend/Diagnostics.h"
#include "lowering/AST.h"
#include "mir/IR.h"

#include <memory>

namespace qmir::frontend {

/// checkModule, then lowerToMIR if there were no errors (null if there were),
/// done one function at a time: each function is lowered right after it is
/// checked, while its tree is still in the cache (a large program's tree is
/// far larger than the caches, and walking it twice costs twice the misses).
/// The same diagnostics, in the same order, as checkModule; the same module,
/// byte for byte, as lowerToMIR after it.
std::unique_ptr<qmir::Module> checkAndLowerModule(ast::AstContext &ctx,
                                                  ast::Module &m,
                                                  DiagEngine &diags);

} // namespace qmir::frontend
