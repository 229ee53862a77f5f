// qmir-bench: Google Benchmark timings of the MIR text pipeline on a generated
// frontend-style module (GenModule.h, ~1M instructions by default): parse,
// print, verify, parse+verify, and interpretation of its loop-heavy @main.
// Rates are instructions per second (items_per_second). BM_IRMemory measures
// how many bytes of heap the parsed IR takes per instruction.
//
// QMIR_BENCH_INSTRUCTIONS=N overrides the module size (the ctest smoke run
// uses a small module). The process exits 1 if any benchmark hit an error
// (parse or verifier failure, interpreter trap), so a smoke run is a test.
#include "GenModule.h"

#include "mir/Cage.h"
#include "mir/IR.h"
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <malloc.h>
#include <map>
#include <memory>
#include <string>

using namespace qmir;

namespace {

bool anyError = false;

void fail(benchmark::State &state, const std::string &what) {
  anyError = true;
  llvm::errs() << "qmir-bench: " << what << "\n";
  state.SkipWithError(what.c_str());
}

uint64_t requestedInstructions() {
  if (const char *s = std::getenv("QMIR_BENCH_INSTRUCTIONS")) {
    char *end = nullptr;
    unsigned long long n = std::strtoull(s, &end, 10);
    if (end != s && *end == '\0' && n > 0)
      return n;
    llvm::errs() << "qmir-bench: ignoring bad QMIR_BENCH_INSTRUCTIONS='" << s
                 << "'\n";
  }
  return 1000000;
}

/// The benchmark module's MIR text, generated once per variant.
const bench::GenResult &moduleText(bool locations) {
  static std::map<bool, bench::GenResult> cache;
  auto it = cache.find(locations);
  if (it == cache.end()) {
    bench::GenOptions o;
    o.instructions = requestedInstructions();
    o.locations = locations;
    it = cache.emplace(locations, bench::generateModule(o)).first;
  }
  return it->second;
}

std::unique_ptr<Module> parse(const std::string &text, std::string &errors) {
  llvm::SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(text, "bench.mir",
                                       /*RequiresNullTerminator=*/true),
      llvm::SMLoc());
  llvm::raw_string_ostream es(errors);
  return parseMIR(sm, id, es);
}

uint64_t countInstructions(const Module &m) {
  uint64_t n = 0;
  for (const Function &f : m.functions())
    n += f.instructionCount();
  return n;
}

/// Parses the benchmark module for benchmarks that time something else.
std::unique_ptr<Module> parseOrFail(benchmark::State &state, bool locations) {
  std::string errors;
  std::unique_ptr<Module> m = parse(moduleText(locations).text, errors);
  if (!m)
    fail(state, "the generated module does not parse:\n" + errors);
  return m;
}

void BM_Parse(benchmark::State &state) {
  const std::string &text = moduleText(state.range(0)).text;
  uint64_t insts = 0;
  for (auto _ : state) {
    std::string errors;
    std::unique_ptr<Module> m = parse(text, errors);
    if (!m) {
      fail(state, "the generated module does not parse:\n" + errors);
      break;
    }
    state.PauseTiming(); // freeing the module is not parsing
    insts = countInstructions(*m);
    m.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * insts);
  state.SetBytesProcessed(state.iterations() * text.size());
  state.counters["instructions"] = double(insts);
}

void BM_Print(benchmark::State &state) {
  std::unique_ptr<Module> m = parseOrFail(state, false);
  if (!m)
    return;
  uint64_t insts = countInstructions(*m);
  std::string out;
  for (auto _ : state) {
    out.clear();
    llvm::raw_string_ostream os(out);
    printModule(os, *m);
    os.flush();
    benchmark::DoNotOptimize(out.data());
  }
  if (out.empty())
    fail(state, "printModule printed nothing");
  state.SetItemsProcessed(state.iterations() * insts);
  state.SetBytesProcessed(state.iterations() * out.size());
}

void BM_Verify(benchmark::State &state) {
  std::unique_ptr<Module> m = parseOrFail(state, false);
  if (!m)
    return;
  uint64_t insts = countInstructions(*m);
  for (auto _ : state) {
    std::vector<VerifierError> errors;
    if (!verifyModule(*m, &errors)) {
      std::string s;
      llvm::raw_string_ostream os(s);
      printVerifierErrors(os, errors);
      fail(state, "the generated module does not verify:\n" + s);
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * insts);
}

// What a tool does with a .mir file before anything else: the headline number.
void BM_ParseVerify(benchmark::State &state) {
  const std::string &text = moduleText(state.range(0)).text;
  uint64_t insts = 0;
  for (auto _ : state) {
    std::string errors;
    std::unique_ptr<Module> m = parse(text, errors);
    if (!m) {
      fail(state, "the generated module does not parse:\n" + errors);
      break;
    }
    if (!verifyModule(*m)) {
      fail(state, "the generated module does not verify");
      break;
    }
    state.PauseTiming();
    insts = countInstructions(*m);
    m.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * insts);
}

void BM_Interpret(benchmark::State &state) {
  std::unique_ptr<Module> m = parseOrFail(state, false);
  if (!m)
    return;
  const Function *main = m->function("main");
  if (!main) {
    fail(state, "the generated module has no @main");
    return;
  }
  Interpreter interp(*m, llvm::nulls(), llvm::errs());
  // Translation is cached per function; keep it out of the timed runs.
  InterpResult warm = interp.run(*main);
  if (warm.kind != InterpResult::Returned) {
    fail(state, "@main did not return: " + warm.message);
    return;
  }
  uint64_t executed = 0;
  for (auto _ : state) {
    InterpResult r = interp.run(*main);
    if (r.kind != InterpResult::Returned || r.value != warm.value) {
      fail(state, "@main did not return the same value twice: " + r.message);
      break;
    }
    executed += interp.instructionsExecuted();
  }
  state.SetItemsProcessed(executed);
  state.counters["result"] = double(warm.value);
  state.counters["executed_per_run"] =
      state.iterations() ? double(executed) / double(state.iterations()) : 0;
}

size_t heapInUse() {
  struct mallinfo2 mi = mallinfo2();
  // uordblks: bytes in use from the main arena and thread arenas;
  // hblkhd: bytes in blocks malloc got from mmap; plus the IR cage's slabs
  // (mir/Cage.h), which come from their own mapping.
  return mi.uordblks + mi.hblkhd + cage::bytesInUse();
}

// Heap growth caused by parsing, i.e. what the parsed IR keeps alive (the text
// buffer is allocated before the first sample and not counted).
void BM_IRMemory(benchmark::State &state) {
  const bench::GenResult &gen = moduleText(state.range(0));
  double perInst = 0, total = 0;
  uint64_t insts = 0;
  for (auto _ : state) {
    size_t before = heapInUse();
    std::string errors;
    std::unique_ptr<Module> m = parse(gen.text, errors);
    size_t after = heapInUse();
    if (!m) {
      fail(state, "the generated module does not parse:\n" + errors);
      break;
    }
    insts = countInstructions(*m);
    total = double(after - before);
    perInst = total / double(insts);
    state.PauseTiming();
    m.reset();
    state.ResumeTiming();
  }
  state.counters["bytes_per_inst"] = perInst;
  state.counters["ir_bytes"] = total;
  state.counters["text_bytes_per_inst"] = insts ? double(gen.text.size()) / insts : 0;
  // The fixed part of the per-instruction cost, to read bytes_per_inst against.
  state.counters["sizeof_Instruction"] = double(sizeof(Instruction));
  state.counters["sizeof_Use"] = double(sizeof(Use));
}

} // namespace

BENCHMARK(BM_Parse)->Arg(0)->Arg(1)->ArgName("locs")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Print)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Verify)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseVerify)->Arg(0)->Arg(1)->ArgName("locs")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Interpret)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IRMemory)->Arg(0)->Arg(1)->ArgName("locs")->Iterations(1)->Unit(benchmark::kMillisecond);

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return anyError ? 1 : 0;
}
