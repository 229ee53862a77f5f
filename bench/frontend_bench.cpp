// Frontend throughput: lex + parse + macro expansion + check + lowering to
// MIR, on a generated Quartz core program of about 100,000 lines (functions
// with loops, enums and matches, macros, structs and calls), reported as
// source lines per second of CPU time. The target is 1,000,000 lines/s on one
// core (bench/RESULTS.md). QMIR_BENCH_LINES changes the size. Expansion,
// checking and lowering run through expandCheckAndLowerModule (one function at
// a time): the same work, diagnostics and MIR as expandMacros, checkModule and
// lowerToMIR one after the other (tests/unit/QuartzPipelineTest.cpp).
#include "frontend/Diagnostics.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"
#include "frontend/Pipeline.h"
#include "frontend/Sema.h"
#include "lowering/Lower.h"
#include "mir/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

using namespace qmir;

namespace {

/// One function of about 40 lines; `k` varies the constants and names.
void emitFunction(std::string &out, unsigned k) {
  std::string n = std::to_string(k);
  out += "def f" + n + "(a: Int, b: Int): Int\n";
  out += "  var total = 0\n  var i = 0\n  var step = Some(a)\n";
  out += "  var p = Point { x: a, y: b }\n";
  out += "  while i < b\n";
  out += "    total += step!\n";
  out += "    step = Some(i + " + n + ")\n";
  out += "    if total > 1000\n      total -= 7\n    elsif total < 0\n"
         "      total = 0\n    else\n      total += 1\n    end\n";
  out += "    i += 1\n  end\n";
  out += "  var s = Shape::Rect(a, " + n + ")\n";
  out += "  total += match s\n    Circle(r) => r * r\n"
         "    Rect(w, h) if w == h => w\n    Rect(w, h) => w * h\n"
         "    Empty => 0\n  end\n";
  out += "  var o = $unwrap(Some(p.x)) + p.y\n";
  out += "  $assert(o == a + b)\n";
  out += "  total += o % 13\n";
  out += "  return total if total > 5\n";
  out += k ? "  return f" + std::to_string(k - 1) + "(total, 1)\n" : "  return total\n";
  out += "end\n\n";
}

std::string generateProgram(unsigned targetLines) {
  std::string out =
      "struct Point\n  x: Int\n  y: Int\nend\n\n"
      "enum Shape\n  Circle(Int)\n  Rect(Int, Int)\n  Empty\nend\n\n";
  unsigned k = 0;
  size_t counted = 0, lines = 0;
  while (lines < targetLines) {
    emitFunction(out, k++);
    lines += std::count(out.begin() + counted, out.end(), '\n');
    counted = out.size();
  }
  out += "def main(): Int\n  return f" + std::to_string(k - 1) + "(1, 3) % 7\nend\n";
  return out;
}

unsigned targetLines() {
  if (const char *s = std::getenv("QMIR_BENCH_LINES"))
    return static_cast<unsigned>(std::strtoul(s, nullptr, 10));
  return 100000;
}

const std::string &program() {
  static const std::string p = generateProgram(targetLines());
  return p;
}

void BM_FrontendToMIR(benchmark::State &state) {
  const std::string &src = program();
  size_t lines = std::count(src.begin(), src.end(), '\n');
  size_t instructions = 0;
  for (auto _ : state) {
    llvm::SourceMgr sm;
    unsigned id = sm.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(src, "bench.qz", false), llvm::SMLoc());
    frontend::DiagEngine diags(sm, id, llvm::errs());
    ast::AstContext ctx;
    ast::Module *m = frontend::parseQuartz(ctx, diags);
    std::unique_ptr<Module> mir = frontend::expandCheckAndLowerModule(ctx, *m, diags);
    if (diags.errorCount() || !mir) {
      state.SkipWithError("the generated program does not compile");
      return;
    }
    if (!instructions) // once: counting is not part of the measured work
      for (const Function &f : mir->functions())
        instructions += f.instructionCount();
    benchmark::DoNotOptimize(mir.get());
  }
  state.SetItemsProcessed(state.iterations() * lines);
  state.counters["lines"] = static_cast<double>(lines);
  state.counters["mir_instructions"] = static_cast<double>(instructions);
}
BENCHMARK(BM_FrontendToMIR)->Unit(benchmark::kMillisecond);

// The same, plus verifying the MIR: a check that the lowering is sound at
// scale (the benchmark fails if it is not).
void BM_FrontendToVerifiedMIR(benchmark::State &state) {
  const std::string &src = program();
  size_t lines = std::count(src.begin(), src.end(), '\n');
  for (auto _ : state) {
    llvm::SourceMgr sm;
    unsigned id = sm.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBuffer(src, "bench.qz", false), llvm::SMLoc());
    frontend::DiagEngine diags(sm, id, llvm::errs());
    ast::AstContext ctx;
    ast::Module *m = frontend::parseQuartz(ctx, diags);
    std::unique_ptr<Module> mir = frontend::expandCheckAndLowerModule(ctx, *m, diags);
    if (diags.errorCount() || !mir || !verifyModule(*mir)) {
      state.SkipWithError("the generated program does not lower to valid MIR");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * lines);
}
BENCHMARK(BM_FrontendToVerifiedMIR)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
