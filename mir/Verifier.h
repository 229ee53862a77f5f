// The MIR verifier: checks the structural and typing rules of docs/mir.md
// (terminators, operand ownership and types, SSA dominance, block-argument
// arity on every edge, match patterns) so that passes and the interpreter can
// assume well-formed IR. It never stops at the first problem: every error is
// collected, naming the function, block and instruction it is about.
//
// It is built to run after every pass: one linear walk per function plus a
// dominator tree, with all scratch tables reused across functions.
#pragma once

#include "mir/IR.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace qmir {

struct VerifierError {
  const Function *function = nullptr;
  const Block *block = nullptr;      ///< null for function-level errors
  const Instruction *inst = nullptr; ///< null for block-level errors
  std::string message;
};

/// True if valid. Appends every problem found to `errors` (if given).
bool verifyModule(const Module &m, std::vector<VerifierError> *errors = nullptr);
/// Only the module-level actor declarations (part of verifyModule).
bool verifyActors(const Module &m, std::vector<VerifierError> *errors = nullptr);
bool verifyFunction(const Function &f, std::vector<VerifierError> *errors = nullptr);

/// "error: in function @f, block bb1: MESSAGE" then the printed instruction,
/// one per error.
void printVerifierErrors(llvm::raw_ostream &os, llvm::ArrayRef<VerifierError> errors);

} // namespace qmir
