// DiagEngine: clang-style error reporting for the Quartz frontend.
//
// Every frontend phase (lexer, parser, macro expander, checker) reports through
// one DiagEngine so that errors share one format ("FILE:LINE:COL: error: MSG",
// the source line, a caret), one error count and one error limit: a file of
// random bytes must not print a million errors.
#pragma once

#include "lowering/AST.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

namespace qmir::frontend {

class DiagEngine {
public:
  DiagEngine(llvm::SourceMgr &sm, unsigned bufferId, llvm::raw_ostream &errs);

  /// Prints "FILE:LINE:COL: error: MSG" + source line + caret at r.begin.
  /// Errors past the limit are counted but not printed (one note says so).
  void error(ast::SrcRange r, const llvm::Twine &msg);
  unsigned errorCount() const { return errors_; }
  /// Stop printing after this many errors (0: never stop). Default 50.
  void setErrorLimit(unsigned n) { limit_ = n; }
  unsigned errorLimit() const { return limit_; }
  /// True once the error limit has been reached: phases may stop early.
  bool limitReached() const { return limit_ && errors_ >= limit_; }

  /// Where errors are printed.
  llvm::raw_ostream &stream() { return errs_; }
  /// Prints `text` (what another DiagEngine on the same buffer printed, held
  /// back) and counts its `errors` as this engine's.
  void replay(llvm::StringRef text, unsigned errors) {
    errs_ << text;
    errors_ += errors;
  }

  llvm::SourceMgr &sourceMgr() { return sm_; }
  unsigned bufferId() const { return bufferId_; }
  /// The text of the buffer being compiled.
  llvm::StringRef buffer() const;
  /// The buffer's name (the file name), as diagnostics print it.
  llvm::StringRef bufferName() const;

  /// Line/col for a byte offset in the buffer.
  ast::SrcRange rangeAt(uint32_t begin, uint32_t end) const;

private:
  llvm::SourceMgr &sm_;
  unsigned bufferId_;
  llvm::raw_ostream &errs_;
  unsigned errors_ = 0;
  unsigned limit_ = 50;
};

} // namespace qmir::frontend
