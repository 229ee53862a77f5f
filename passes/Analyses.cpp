// Keys of the analyses in Analyses.h (one static per analysis, so the address
// is the id).
#include "passes/Analyses.h"

namespace qmir {

const AnalysisKey *DominatorTreeAnalysis::key() {
  static const AnalysisKey k{"dominator-tree"};
  return &k;
}

} // namespace qmir
