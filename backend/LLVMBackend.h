// The `llvm` backend: MIR -> LLVM IR (LLVM 19's C++ API) -> LLVM's own
// optimization pipeline (-O1/-O2) -> assembly or an object for the target ->
// an executable linked with qmir's native runtime (libqmir_runtime.a) by the
// system compiler driver. See docs/backends.md for the mapping of every MIR
// construct.
#pragma once

#include "backend/Backend.h"

#include "llvm/IR/DataLayout.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <string>

namespace qmir {

/// Registers `llvm` in the backend registry. Idempotent.
void registerLLVMBackend();

struct LLVMCodegenOptions {
  bool debugInfo = false;
  /// 0 turns a fall-through of an exhaustive `match` into a trap (llvm.trap)
  /// rather than `unreachable`, so that a frontend bug is caught at run time.
  unsigned optLevel = 0;
  /// Add a C `int main(void)`. In a task program (one with
  /// `fn @main.task(ptr, ptr) -> i64` and the struct type `main.frame`, as the
  /// coro-split pass makes them) it allocates a zeroed main.frame and calls
  /// the runtime's qz_main(@main.task, frame), which exits with the task's
  /// result. Otherwise it calls @main, flushes stdout (qz_flush) and returns
  /// @main's result (0 for a void or non-integer result).
  bool emitCMain = true;
};

/// The task code of `m` that the backend cannot compile, as an error message
/// naming the function it is in: an `await` (coro-split must have lowered it),
/// a call of a body-less `qz.spawn.*` entry (coro-split defines them), or an
/// actor operation (qz_actor_*, or the body-less `A.new` / `A.m.send` /
/// `A.m.call` stubs). The empty string if there is none.
std::string findUncompilableTaskCode(const Module &m);

/// True if `m` is a task program: it has `@main.task` (defined) and the
/// struct type `main.frame`, so its native entry is qz_main.
bool isTaskProgram(const Module &m);

/// Translates a verified module into an LLVM module for `dl` / `triple`
/// without optimizing it. On failure returns null and sets `error`;
/// `internal` tells whether the failure is a qmir bug (the LLVM verifier
/// rejected the generated IR: `error` then holds the MIR function and LLVM's
/// complaint) rather than an input the backend does not support.
std::unique_ptr<llvm::Module>
translateToLLVM(const Module &m, llvm::LLVMContext &ctx, const llvm::DataLayout &dl,
                llvm::StringRef triple, const LLVMCodegenOptions &opts,
                std::string &error, bool &internal);

} // namespace qmir
