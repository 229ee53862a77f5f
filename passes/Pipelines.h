// The standard optimization pipelines, -O0 / -O1 / -O2, shared by qzc and
// mir-opt so that both mean the same thing by a level.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/StringRef.h"

#include <string>

namespace qmir {

/// The pipeline text of an optimization level (0, 1 or 2), in the syntax of
/// parsePassPipeline. -O0 holds only what code generation needs.
llvm::StringRef pipelineForLevel(unsigned level);

/// Runs the pipeline `text` (parsePassPipeline syntax; empty: no passes) on
/// `m`. Returns false and sets `error` if the pipeline cannot be built.
bool runPipeline(Module &m, llvm::StringRef text, std::string &error);

/// Runs the pipeline of `level` on `m`. Returns false and sets `error` if the
/// pipeline cannot be built.
bool runOptimizationPipeline(Module &m, unsigned level, std::string &error);

} // namespace qmir
