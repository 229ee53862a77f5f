// DiagEngine: prints frontend errors through llvm::SourceMgr, so they look like
// clang's, and enforces the error limit.
#include "frontend/Diagnostics.h"

#include <algorithm>

using namespace qmir;
using namespace qmir::frontend;

DiagEngine::DiagEngine(llvm::SourceMgr &sm, unsigned bufferId,
                       llvm::raw_ostream &errs)
    : sm_(sm), bufferId_(bufferId), errs_(errs) {}

llvm::StringRef DiagEngine::buffer() const {
  return sm_.getMemoryBuffer(bufferId_)->getBuffer();
}

llvm::StringRef DiagEngine::bufferName() const {
  return sm_.getMemoryBuffer(bufferId_)->getBufferIdentifier();
}

ast::SrcRange DiagEngine::rangeAt(uint32_t begin, uint32_t end) const {
  llvm::StringRef buf = buffer();
  begin = std::min<uint32_t>(begin, buf.size());
  auto [line, col] = sm_.getLineAndColumn(
      llvm::SMLoc::getFromPointer(buf.data() + begin), bufferId_);
  return {begin, std::max(begin, end), line, col};
}

void DiagEngine::error(ast::SrcRange r, const llvm::Twine &msg) {
  ++errors_;
  if (limit_ && errors_ > limit_) {
    if (errors_ == limit_ + 1)
      errs_ << bufferName() << ": error: too many errors (" << limit_
            << "), stopping\n";
    return;
  }
  llvm::StringRef buf = buffer();
  uint32_t off = std::min<uint32_t>(r.begin, buf.size());
  llvm::SMLoc loc = llvm::SMLoc::getFromPointer(buf.data() + off);
  llvm::SMDiagnostic d = sm_.GetMessage(loc, llvm::SourceMgr::DK_Error, msg);
  // A caret under a megabyte-long line helps nobody: show a window around it.
  constexpr int kWindow = 100;
  llvm::StringRef line = d.getLineContents();
  int col = d.getColumnNo();
  if (line.size() > 2 * kWindow) {
    int from = std::max(0, col - kWindow);
    llvm::StringRef shown = line.substr(from, 2 * kWindow);
    errs_ << d.getFilename() << ":" << d.getLineNo() << ":" << col + 1
          << ": error: " << d.getMessage() << "\n"
          << shown << "\n"
          << std::string(col - from, ' ') << "^\n";
    return;
  }
  sm_.PrintMessage(errs_, d);
}
