// The MIR text parser: reads the format of docs/mir.md into a Module.
//
// Errors are reported clang-style (FILE:LINE:COL, the line, a caret) through
// the SourceMgr; the parser recovers at the next line or top-level item and
// stops after 20 errors. Any input, including random bytes and truncated or
// deeply nested text, yields either a module or errors: never a crash or hang.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>

namespace qmir {

/// Where each Function, Block and Instruction was defined in the parsed text.
/// The locations point into the SourceMgr's buffer, so they are valid as long
/// as that SourceMgr lives.
struct MIRSourceMap {
  llvm::DenseMap<const void *, llvm::SMLoc> locs;
  /// The definition's location, or an invalid SMLoc if `p` was not parsed.
  llvm::SMLoc lookup(const void *p) const;
};

/// Parses buffer `bufferId` of `sm`. Errors are printed clang-style through
/// sm.PrintMessage(errs, ...) ("FILE:LINE:COL: error: ..." + line + caret);
/// returns nullptr if there was any error.
///
/// `onFunctionBody`, if given, is called with each function right after its
/// body is parsed, as long as nothing in the module so far had an error,
/// while the function is still in the cache:
/// tools verify it there instead of walking the whole module again later.
/// By then every module-level item (types, bindings, declarations, actors)
/// is parsed. It also gets the body's position among the module's bodies and
/// their number (bodies with errors count too). It may optimize, print and
/// drop the body (Function::dropBody): the parser does not look at a body
/// again once it has handed it over.
using FunctionBodyCallback =
    llvm::function_ref<void(Function &, unsigned bodyIndex, unsigned numBodies)>;
std::unique_ptr<Module>
parseMIR(llvm::SourceMgr &sm, unsigned bufferId, llvm::raw_ostream &errs,
         MIRSourceMap *map = nullptr, FunctionBodyCallback onFunctionBody = nullptr);

/// Convenience for tests: parses `text` (buffer name `name`).
std::unique_ptr<Module> parseMIRString(llvm::StringRef text,
                                       llvm::raw_ostream &errs,
                                       llvm::StringRef name = "<string>");

} // namespace qmir
