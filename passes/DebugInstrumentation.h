// Pass instrumentations for debugging passes with mir-opt: what a pass changed
// (--dump-changed as a unified diff, --dump-dir files, a --dump-html page per
// function, --dump-dot CFGs), what it cost (--time-passes, --stats), which
// application broke a program (--bisect-limit) and where a pass crashed or
// broke the IR (a reproducer .mir file). All of them only use the
// PassInstrumentation hooks, so the pass manager knows nothing about them.
#pragma once

#include "mir/Printer.h"
#include "passes/PassManager.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/GlobPattern.h"
#include "llvm/Support/PrettyStackTrace.h"
#include "llvm/Support/WithColor.h"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace qmir {

//===----------------------------------------------------------------------===//
// Line diff
//===----------------------------------------------------------------------===//

/// One line of a diff between two texts.
struct DiffLine {
  enum Kind : uint8_t { Same, Removed, Added } kind;
  llvm::StringRef text;
  unsigned oldLine; ///< 1-based line in the old text (Same and Removed)
  unsigned newLine; ///< 1-based line in the new text (Same and Added)
};

/// Splits a text into lines (without their newlines).
std::vector<llvm::StringRef> splitLines(llvm::StringRef text);

/// A shortest edit script from `a` to `b` (Myers' O(ND) algorithm), as the
/// sequence of kept, removed and added lines. The returned lines refer to the
/// strings of `a` and `b`.
std::vector<DiffLine> diffLines(llvm::ArrayRef<llvm::StringRef> a,
                                llvm::ArrayRef<llvm::StringRef> b);

/// Prints `--- fromLabel`, `+++ toLabel` and the hunks of `diff` with
/// `context` unchanged lines around each change, like `diff -u`. Removed lines
/// are red and added ones green when `color` allows colours (see WithColor).
void printUnifiedDiff(llvm::raw_ostream &os, llvm::ArrayRef<DiffLine> diff,
                      llvm::StringRef fromLabel, llvm::StringRef toLabel,
                      unsigned context = 3,
                      llvm::ColorMode color = llvm::ColorMode::Auto);

/// Instructions removed and added by a diff of printed functions (lines that
/// are indented, i.e. neither block labels nor the function's braces).
std::pair<unsigned, unsigned> countChangedInstructions(llvm::ArrayRef<DiffLine> diff);

//===----------------------------------------------------------------------===//
// Which functions to dump
//===----------------------------------------------------------------------===//

/// Function names or glob patterns (`*`, `?`, `[a-z]`, `{a,b}`); empty
/// matches every function.
class FunctionFilter {
public:
  /// Adds a name (a leading '@' is ignored) or a glob; an error for a
  /// malformed glob.
  llvm::Error add(llvm::StringRef pattern);
  bool empty() const { return patterns_.empty(); }
  bool matches(llvm::StringRef name) const;
  /// The patterns that match none of `names`, as given (without '@').
  std::vector<std::string> unmatched(llvm::ArrayRef<llvm::StringRef> names) const;

private:
  struct Entry {
    std::string text;
    std::optional<llvm::GlobPattern> glob; ///< null for a plain name
  };
  std::vector<Entry> patterns_;
};

//===----------------------------------------------------------------------===//
// The debugging instrumentation
//===----------------------------------------------------------------------===//

struct DebugDumpOptions {
  FunctionFilter functions;
  /// Dumps and files show the whole module instead of one function.
  bool moduleScope = false;
  PrintOptions print;
  llvm::ColorMode color = llvm::ColorMode::Auto;

  bool dumpChanged = false;
  std::string dumpDir;   ///< empty: no --dump-dir
  std::string htmlFile;  ///< empty: no --dump-html
  std::string dotDir;    ///< empty: no --dump-dot
  bool dotEachPass = false;
  bool timePasses = false;
  bool stats = false;
};

/// Implements --dump-changed, --dump-dir, --dump-html, --dump-dot,
/// --time-passes and --stats, which all need the same thing: the text of the
/// functions an application touches, before and after it. One object
/// snapshots once for all of them.
///
/// The driver calls beginModule() before running the pipeline on a module,
/// endModule() after, and finish() once at the end (it writes the HTML pages
/// and prints the reports). Files are written as the pipeline runs, so a
/// pipeline that crashes leaves its --dump-dir files behind.
class DebugInstrumentation : public PassInstrumentation {
public:
  DebugInstrumentation(llvm::raw_ostream &dumps, DebugDumpOptions opts);
  ~DebugInstrumentation() override;

  /// `unit` names the module in file names when there are several (the
  /// chunks of --split-input-file); empty for a single module.
  void beginModule(Module &m, llvm::StringRef unit);
  void endModule(Module &m);
  /// Writes the HTML pages and prints the reports to `reports`. Returns false
  /// if a file could not be written (after reporting it).
  bool finish(llvm::raw_ostream &reports);
  /// False once writing a file failed (it was reported on `dumps`).
  bool ok() const { return ok_; }

  void beforePass(const PassRunInfo &info) override;
  bool afterPass(const PassRunInfo &info, const PreservedAnalyses &pa) override;

  /// An instrumentation to register *first*: its afterPass stops the clock
  /// of --time-passes before any other instrumentation's afterPass runs
  /// (DebugInstrumentation itself is registered last, so that its clock
  /// starts after every other beforePass).
  PassInstrumentation &stopClock() { return *stopClock_; }

private:
  struct Page;
  struct PassTotals;
  class StopClock;
  bool needsSnapshots() const;
  bool wantsFunction(llvm::StringRef name) const;
  std::string fileStem(unsigned number, llvm::StringRef pass, llvm::StringRef fn) const;
  void writeFile(const std::string &path, llvm::StringRef text);
  void writeDot(const Function &f, const std::string &path);
  Page &page(llvm::StringRef fn);
  void countModule(const Module &m, bool after);

  llvm::raw_ostream &os_;
  DebugDumpOptions opts_;
  bool ok_ = true;
  std::string unit_;

  // Snapshot of the current application.
  std::map<std::string, std::string> before_; ///< wanted function -> text
  std::string moduleBefore_;
  std::chrono::steady_clock::time_point start_, stop_;

  // --dump-html: one page per (unit, function), in first-seen order.
  std::vector<std::unique_ptr<Page>> pages_;
  // --time-passes and --stats, per pass name in first-run order.
  std::vector<std::unique_ptr<PassTotals>> totals_;
  llvm::StringMap<PassTotals *> totalsByName_;
  PassTotals &totals(llvm::StringRef pass);
  // --stats: module sizes before and after the pipeline.
  uint64_t fnsBefore_ = 0, blocksBefore_ = 0, instsBefore_ = 0;
  uint64_t fnsAfter_ = 0, blocksAfter_ = 0, instsAfter_ = 0;
  std::unique_ptr<PassInstrumentation> stopClock_;
};

/// Writes a Graphviz DOT graph of a function's CFG: one box per block with its
/// printed instructions, edges labelled T/F for condbr.
void printFunctionDot(llvm::raw_ostream &os, const Function &f,
                      const PrintOptions &opts = {});

/// The HTML page of --dump-html for one function: `columns` are (title, text,
/// changed) in pipeline order, the first being the input.
struct HTMLColumn {
  std::string title;
  std::string text;
  bool changed = false;
};
void printFunctionHTML(llvm::raw_ostream &os, llvm::StringRef fnName,
                       llvm::ArrayRef<HTMLColumn> columns);

//===----------------------------------------------------------------------===//
// Bisection and crash reporting
//===----------------------------------------------------------------------===//

/// --bisect-limit=N: runs only the pass applications with index < N (all when
/// N is negative) and prints one line per application to `os`, so that a
/// script can find the first application that breaks a program.
class BisectInstrumentation : public PassInstrumentation {
public:
  BisectInstrumentation(llvm::raw_ostream &os, int64_t limit)
      : os_(os), limit_(limit) {}
  bool shouldRun(const PassRunInfo &info) override;

private:
  llvm::raw_ostream &os_;
  int64_t limit_;
};

/// Names the pass and function being run when mir-opt crashes (through LLVM's
/// pretty stack trace) and writes a reproducer: the module as it was before
/// the pipeline, with a RUN line holding the pipeline up to the failing pass.
/// The driver calls writeReproducer() itself when a pass leaves invalid IR.
class CrashReproducer : public PassInstrumentation {
public:
  /// `path`: where to write reproducers; empty for a fresh temporary file.
  CrashReproducer(const PassManager &pm, std::string path, std::string toolName);
  ~CrashReproducer() override;

  /// Records the text of the module the pipeline is about to run on (the
  /// input as parsed: printing a large module again would cost as much as
  /// parsing it). The text must outlive the reproducer's use of it.
  void beginModule(llvm::StringRef inputText);
  void beforePass(const PassRunInfo &info) override;
  bool afterPass(const PassRunInfo &info, const PreservedAnalyses &pa) override;
  /// It only remembers the application in flight.
  bool observesOrder() const override { return false; }

  /// Writes a reproducer for the last pass application (or, without one, for
  /// the whole pipeline) and returns its path, or "" (after reporting to
  /// `errs`) if it could not be written. `what` says what went wrong.
  std::string writeReproducer(llvm::StringRef what, llvm::raw_ostream &errs,
                              bool wholePipeline = false) const;

private:
  class Entry;
  std::string pipelineUpTo(unsigned position) const;

  const PassManager &pm_;
  std::string path_, tool_;
  llvm::StringRef input_;
  // The last application seen (the failing one after a stopped pipeline).
  bool haveLast_ = false;
  std::string lastPass_, lastFunction_;
  unsigned lastIndex_ = 0, lastPosition_ = 0;
  std::unique_ptr<Entry> entry_;
};

} // namespace qmir
