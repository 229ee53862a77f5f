// The pass registry and registerAllPasses(), which calls the registration
// function of every pass listed in Passes.def.
#include "passes/PassRegistry.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <mutex>

using namespace llvm;

namespace qmir {

PassRegistry &PassRegistry::global() {
  static PassRegistry r;
  return r;
}

void PassRegistry::add(StringRef name, StringRef description, PassFactory f,
                       bool testOnly) {
  auto info = std::make_unique<PassInfo>();
  info->name = name.str();
  info->description = description.str();
  info->factory = std::move(f);
  info->testOnly = testOnly;
  if (!passes_.try_emplace(name, std::move(info)).second)
    report_fatal_error(Twine("pass '") + name + "' registered twice");
}

const PassInfo *PassRegistry::lookup(StringRef name) const {
  auto it = passes_.find(name);
  return it == passes_.end() ? nullptr : it->second.get();
}

std::vector<const PassInfo *> PassRegistry::passes() const {
  std::vector<const PassInfo *> out;
  for (auto &e : passes_)
    out.push_back(e.second.get());
  std::sort(out.begin(), out.end(), [](const PassInfo *a, const PassInfo *b) {
    return a->name < b->name;
  });
  return out;
}

void registerAllPasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    PassRegistry &r = PassRegistry::global();
#define QMIR_PASS(fn) fn(r);
#include "passes/Passes.def"
#undef QMIR_PASS
  });
}

} // namespace qmir
