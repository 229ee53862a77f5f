// The Quartz frontend's phases after parsing (macro expansion, checking,
// lowering to MIR) run one function at a time, for speed: a large program's
// tree is far larger than the caches, and each whole-module pass over it
// waits on memory for nearly every node, while one function's tree stays in
// the cache from its expansion to its lowering.
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

/// What qzc does after parseQuartz, one function at a time: expandMacros;
/// if that reported no errors, checkModule; if that reported none either,
/// lowerToMIR. Does nothing and returns null if `diags` already holds errors
/// (from parsing). The same diagnostics, in the same order (the checker's are
/// held back until every function is expanded, and dropped if expansion
/// reported an error), the same hygiene marks and scope ids, and the same
/// MIR, byte for byte, as those phases one after the other. Null if any phase
/// reported an error. Needs Module::scopedMacroCalls as parseQuartz sets it.
std::unique_ptr<qmir::Module> expandCheckAndLowerModule(ast::AstContext &ctx,
                                                        ast::Module &m,
                                                        DiagEngine &diags);

} // namespace qmir::frontend
