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

/// lowerToMIR one declaration at a time, for a driver that checks and lowers
/// each function while its tree is still in the cache (checkAndLowerModule in
/// frontend/Sema.h). Construct it once every type and signature of `m` is
/// resolved (enum and struct fields, parameter and result types, actor field
/// types), call lower() on each function and actor declaration in module
/// order, then finish(): the result is the same module lowerToMIR(m, ctx)
/// returns, byte for byte.
class IncrementalLowering {
public:
  IncrementalLowering(const ast::Module &m, ast::AstContext &ctx);
  ~IncrementalLowering();
  IncrementalLowering(const IncrementalLowering &) = delete;
  IncrementalLowering &operator=(const IncrementalLowering &) = delete;
  void lower(const ast::Decl *d); ///< no-op for types
  std::unique_ptr<Module> finish();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace qmir
