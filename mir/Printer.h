// The MIR text printer: writes modules, functions and instructions in the text
// format of docs/mir.md. The output always re-parses to the same structure:
// values and blocks that would print with the same name get a `.N` suffix, and
// names that are not valid identifiers are sanitised. Printing never fails, so
// the verifier and debuggers can print broken IR too (missing pieces print as
// `<null>` and the like).
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Allocator.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <string>
#include <vector>

#include "llvm/ADT/STLFunctionalExtras.h"

namespace qmir {

struct PrintOptions {
  bool printLocs = false;
};

/// `printedBody`, if given, may return the already printed text of a
/// function (printFunction's output): that text stands in for the function,
/// which then counts as a definition even if its body was dropped since
/// (mir-opt's streaming mode prints each function before freeing it).
using PrintedBodyLookup = llvm::function_ref<std::optional<llvm::StringRef>(const Function &)>;
void printModule(llvm::raw_ostream &os, const Module &m,
                 const PrintOptions &opts = {}, PrintedBodyLookup printedBody = nullptr);
void printFunction(llvm::raw_ostream &os, const Function &f,
                   const PrintOptions &opts = {});
/// One instruction, with the same value names printFunction would use.
/// (Names the whole function each call; use the SlotNames overload in loops.)
void printInstruction(llvm::raw_ostream &os, const Instruction &inst,
                      const PrintOptions &opts = {});
std::string moduleToString(const Module &m, const PrintOptions &opts = {});
std::string functionToString(const Function &f, const PrintOptions &opts = {});

/// The names printFunction gives a function's values and blocks. Computing
/// them is O(function size); build one and reuse it to print many
/// instructions of the same (unchanged) function.
class SlotNames {
public:
  explicit SlotNames(const Function &f);
  /// Names nothing: every non-constant value prints as foreign/detached.
  SlotNames() = default;
  const Function *function() const { return f_; }
  /// Prints `%name` for an argument, block argument or instruction, or the
  /// constant's text (`42`, `true`, `"s"`, `undef`). Values of other functions
  /// or detached instructions print as `%<foreign:...>` / `%<detached:...>`.
  void printValue(llvm::raw_ostream &os, const Value *v) const;
  /// The label of a block of this function (`entry`, `bb3`, `loop.1`).
  void printBlock(llvm::raw_ostream &os, const Block *b) const;
  std::string valueName(const Value *v) const;
  std::string blockName(const Block *b) const;

private:
  bool owns(const Value *v) const;
  const Function *f_ = nullptr;
  llvm::BumpPtrAllocator arena_;
  std::vector<llvm::StringRef> valueNames_; // by value id; empty = numbered
  std::vector<uint32_t> valueNums_;         // by value id
  std::vector<llvm::StringRef> blockNames_; // by block id
};

void printInstruction(llvm::raw_ostream &os, const Instruction &inst,
                      const SlotNames &names, const PrintOptions &opts = {});

/// `"..."` with the escapes of the text format.
void printQuoted(llvm::raw_ostream &os, llvm::StringRef s);
/// A type as the text format spells it (named types by name).
void printType(llvm::raw_ostream &os, const Type *t);
/// True if `s` matches [A-Za-z_][A-Za-z0-9_.]*.
bool isIdentifier(llvm::StringRef s);

} // namespace qmir
