// Tests for checkAndLowerModule and expandCheckAndLowerModule
// (frontend/Pipeline.h): expanding, checking and lowering one function at a
// time must print the same diagnostics, in the same order, as expandMacros,
// checkModule and lowerToMIR one after the other (as qzc runs them), and make
// the same MIR, byte for byte (locations, binding records with their scope ids
// and hygiene marks included), on every Quartz program the repository and the
// spec have.
#include "frontend/Diagnostics.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"
#include "frontend/Pipeline.h"
#include "frontend/Sema.h"
#include "lowering/Lower.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace qmir;

namespace {

struct Result {
  std::string diags;
  std::string mir; ///< empty if there were errors
};

enum class Mode { OneAfterTheOther, CheckAndLower, ExpandCheckAndLower };

/// What qzc does: parse; expand if no errors; check if no errors; lower if
/// no errors. Mode: which of them run through frontend/Pipeline.h.
Result compile(const std::string &src, const std::string &name, Mode mode) {
  Result r;
  llvm::raw_string_ostream errs(r.diags);
  llvm::SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(src, name), llvm::SMLoc());
  frontend::DiagEngine diags(sm, id, errs);
  ast::AstContext ctx;
  ast::Module *m = frontend::parseQuartz(ctx, diags);
  std::unique_ptr<Module> mir;
  if (mode == Mode::ExpandCheckAndLower) {
    mir = frontend::expandCheckAndLowerModule(ctx, *m, diags);
    EXPECT_EQ(mir == nullptr, diags.errorCount() != 0) << name;
  }
  if (m && !diags.errorCount() && mode != Mode::ExpandCheckAndLower)
    frontend::expandMacros(ctx, *m, diags);
  if (!m || diags.errorCount())
    return r;
  if (mode == Mode::ExpandCheckAndLower) {
  } else if (mode == Mode::CheckAndLower) {
    mir = frontend::checkAndLowerModule(ctx, *m, diags);
    EXPECT_EQ(mir == nullptr, diags.errorCount() != 0) << name;
  } else if (frontend::checkModule(ctx, *m, diags)) {
    mir = lowerToMIR(*m, ctx);
  }
  if (mir && !diags.errorCount()) {
    EXPECT_TRUE(verifyModule(*mir)) << name;
    llvm::raw_string_ostream os(r.mir);
    PrintOptions opts;
    opts.printLocs = true;
    printModule(os, *mir, opts);
  }
  return r;
}

void expectSame(const std::string &src, const std::string &name) {
  Result a = compile(src, name, Mode::OneAfterTheOther);
  for (Mode mode : {Mode::CheckAndLower, Mode::ExpandCheckAndLower}) {
    Result b = compile(src, name, mode);
    EXPECT_EQ(a.diags, b.diags) << name << " mode " << int(mode);
    EXPECT_EQ(a.mir, b.mir) << name << " mode " << int(mode);
  }
}

std::string readFile(const std::filesystem::path &p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(QuartzPipeline, SameAsCheckThenLowerOnEveryProgram) {
  namespace fs = std::filesystem;
  fs::path tests = fs::path(__FILE__).parent_path().parent_path();
  std::vector<fs::path> dirs = {tests / "programs", tests / "lit",
                                tests.parent_path() / "examples",
                                "/work/shared/spec/programs",
                                tests.parent_path().parent_path() / "shared/spec/programs"};
  unsigned n = 0, lowered = 0;
  for (const fs::path &dir : dirs) {
    if (!fs::exists(dir))
      continue;
    for (auto &entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() != ".qz")
        continue;
      std::string src = readFile(entry.path());
      expectSame(src, entry.path().filename().string());
      ++n;
      lowered += !compile(src, "x.qz", Mode::ExpandCheckAndLower).mir.empty();
    }
  }
  EXPECT_GE(n, 40u);
  EXPECT_GE(lowered, 20u);
}

TEST(QuartzPipeline, ErrorsInSeveralFunctionsKeepTheirOrder) {
  // A good function before and after bad ones: the first is lowered before
  // the errors are seen, and no module comes back.
  const char *src = "def good(a: Int): Int\n  return a + 1\nend\n\n"
                    "def bad1(): Int\n  return true\nend\n\n"
                    "def mid(): Int\n  var x = Some(1)\n  return x!\nend\n\n"
                    "def bad2(b: Bool): Int\n  var y = b + 1\n  return nope\nend\n\n"
                    "def last(): Int\n  return good(1)\nend\n";
  expectSame(src, "errs.qz");
  Result r = compile(src, "errs.qz", Mode::ExpandCheckAndLower);
  EXPECT_TRUE(r.mir.empty());
  size_t first = r.diags.find("errs.qz:6:"), second = r.diags.find("errs.qz:15:");
  EXPECT_NE(first, std::string::npos) << r.diags;
  EXPECT_NE(second, std::string::npos) << r.diags;
  EXPECT_LT(first, second) << r.diags;
}

TEST(QuartzPipeline, MissingReturnAndGlobalErrors) {
  expectSame("def f(): Int\n  var x = 1\nend\n\ndef f(): Int\n  return 2\nend\n", "dup.qz");
  expectSame("def g(): Int\n  if true\n    return 1\n  end\nend\n\n"
             "def h(): Int\n  return g()\nend\n", "ret.qz");
  expectSame("struct P\n  x: Nope\nend\n\ndef k(): Int\n  return 1\nend\n", "ty.qz");
}

TEST(QuartzPipeline, MacroErrorAfterCheckErrors) {
  // One after the other, a macro error in a later function means the
  // checker never runs: its error in an earlier function is not printed.
  const char *src = "def a(): Int\n  return true\nend\n\n"
                    "def b(): Int\n  var x = Some(1)\n  return $nope(x)\nend\n\n"
                    "def c(): Option<Int>\n  var y = Some(2)\n  return Some($try(y) + $unwrap(y))\nend\n";
  expectSame(src, "mac.qz");
  Result r = compile(src, "mac.qz", Mode::ExpandCheckAndLower);
  EXPECT_NE(r.diags.find("unknown macro '$nope'"), std::string::npos) << r.diags;
  EXPECT_EQ(r.diags.find("mac.qz:2:"), std::string::npos) << r.diags;
}

TEST(QuartzPipeline, ErrorLimitAcrossFunctions) {
  std::string src;
  for (int i = 0; i < 80; ++i)
    src += "def f" + std::to_string(i) + "(): Int\n  var v = Some(1)\n  return v! + true\nend\n\n";
  expectSame(src, "many.qz");
  EXPECT_NE(compile(src, "many.qz", Mode::ExpandCheckAndLower).diags.find("too many errors"),
            std::string::npos);
}

TEST(QuartzPipeline, ScopeIdsAndMarksAsOneAfterTheOther) {
  // Macros (fresh scope and mark each) and checker scopes in many functions,
  // with pattern bindings the checker declares (`Big`: a bare name that is no
  // variant, so the checker makes its VarDecl and gives it a checker scope):
  // the binding records (name, scope, mark) must come out the same.
  std::string src = "enum E\n  A(Int)\n  B\nend\n\n";
  for (int i = 0; i < 6; ++i)
    src += "def g" + std::to_string(i) + "(e: E, o: Option<Int>): Int\n"
           "  var t = match e\n    A(n) => n + o!\n    B => $unwrap(o)\n  end\n"
           "  var u = do\n    var k = o!\n    k + t\n  end\n"
           "  var w = match t\n    Big => Big + 1\n  end\n" // the checker's own binding
           "  return match o\n    Some(q) => q + u + w\n    None => t\n  end\nend\n\n";
  expectSame(src, "scopes.qz");
  EXPECT_FALSE(compile(src, "scopes.qz", Mode::ExpandCheckAndLower).mir.empty());
}

TEST(QuartzPipeline, LargeGeneratedProgram) {
  // The shape of bench/frontend_bench.cpp's program, many functions over
  // shared types, macros and matches.
  std::string src = "struct Point\n  x: Int\n  y: Int\nend\n\n"
                    "enum Shape\n  Circle(Int)\n  Rect(Int, Int)\n  Empty\nend\n\n";
  for (unsigned k = 0; k < 50; ++k) {
    std::string n = std::to_string(k);
    src += "def f" + n + "(a: Int, b: Int): Int\n  var total = 0\n  var step = Some(a)\n"
           "  var p = Point { x: a, y: b }\n  total += step!\n"
           "  var s = Shape::Rect(a, " + n + ")\n"
           "  total += match s\n    Circle(r) => r * r\n    Rect(w, h) if w == h => w\n"
           "    Rect(w, h) => w * h\n    Empty => 0\n  end\n"
           "  var o = $unwrap(Some(p.x)) + p.y\n  $assert(o == a + b)\n";
    src += k ? "  return f" + std::to_string(k - 1) + "(total, 1)\n" : "  return total\n";
    src += "end\n\n";
  }
  src += "def main(): Int\n  return f49(1, 3) % 7\nend\n";
  expectSame(src, "gen.qz");
  EXPECT_FALSE(compile(src, "gen.qz", Mode::ExpandCheckAndLower).mir.empty());
}

} // namespace
