// Maps pass names to factories, so that tools build pipelines from text.
//
// Registration is explicit: each pass file defines a `registerXPass` function
// listed in passes/Passes.def, and registerAllPasses() calls them all. Static
// constructors would be dropped by the linker when the pass library is linked
// statically and nothing else references the pass's object file.
#pragma once

#include "passes/Pass.h"

#include "llvm/ADT/StringMap.h"

#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace qmir {

using PassFactory = std::function<std::unique_ptr<Pass>(PassOptions &)>;

struct PassInfo {
  std::string name;
  std::string description; ///< one line, shown by `mir-opt --list-passes`
  PassFactory factory;
  /// Test-only passes (e.g. one that breaks the IR to exercise --verify-each)
  /// are listed separately.
  bool testOnly = false;
};

class PassRegistry {
public:
  /// The registry tools use; registerAllPasses() fills it.
  static PassRegistry &global();

  /// Registering a name twice is a programming error (fatal).
  void add(llvm::StringRef name, llvm::StringRef description, PassFactory f,
           bool testOnly = false);

  /// Registers P, constructed from the PassOptions when P accepts them,
  /// default-constructed otherwise (then any option is an error).
  template <typename P>
  void add(llvm::StringRef name, llvm::StringRef description,
           bool testOnly = false) {
    add(name, description,
        [](PassOptions &opts) -> std::unique_ptr<Pass> {
          if constexpr (std::is_constructible_v<P, PassOptions &>)
            return std::make_unique<P>(opts);
          else
            return std::make_unique<P>();
        },
        testOnly);
  }

  const PassInfo *lookup(llvm::StringRef name) const;
  /// Every registered pass, sorted by name.
  std::vector<const PassInfo *> passes() const;

private:
  llvm::StringMap<std::unique_ptr<PassInfo>> passes_;
};

/// Registers every pass of the library in PassRegistry::global(). Idempotent.
void registerAllPasses();

// One registration function per pass file (see Passes.def).
#define QMIR_PASS(fn) void fn(PassRegistry &registry);
#include "passes/Passes.def"
#undef QMIR_PASS

} // namespace qmir
