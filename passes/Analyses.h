// The analyses passes can ask the AnalysisManager for. Each wraps a class from
// mir/ (which does not know about pass management) with the key and the
// invalidation rules the AnalysisManager needs.
#pragma once

#include "mir/Dominators.h"
#include "passes/AnalysisManager.h"

namespace qmir {

/// Dominator tree of a function; depends only on the block graph.
struct DominatorTreeAnalysis {
  using Result = DominatorTree;
  static constexpr bool cfgOnly = true;
  static const AnalysisKey *key();
  static Result run(Function &f, AnalysisManager &) { return DominatorTree(f); }
};

} // namespace qmir
