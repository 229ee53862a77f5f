// pass-harness: the semantic half of the pass-verification suite.
//
// For each input module it runs a pipeline one pass application at a time and,
// around every pass, runs @main in the reference interpreter: exit status,
// stdout and the panic/trap report must be identical before and after, and the
// verifier must accept the result. Inputs are .mir files, .qz programs (lowered
// by the Quartz frontend at -O0), or random modules from tests/support
// (--random=N --seed=S). On a mismatch it prints the seed (for random inputs),
// the pass, the function-level difference, and a reduced input: the module
// given to the failing pass, shrunk by deleting instructions and blocks while
// the mismatch persists, ready for `mir-opt reduced.mir -p PASS --run`.
#include "frontend/Diagnostics.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "lowering/Lower.h"
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/PassManager.h"
#include "passes/PassRegistry.h"
#include "passes/Pipelines.h"
#include "tests/support/RandomMIR.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <string>
#include <vector>

using namespace llvm;
using namespace qmir;

static cl::OptionCategory Cat("pass-harness options");
static cl::list<std::string> Inputs(cl::Positional, cl::desc("<file.mir|file.qz>..."),
                                   cl::cat(Cat));
static cl::opt<std::string> Pipeline(
    "pipeline", cl::desc("Passes to check, one at a time: O0, O1, O2 or a pipeline"),
    cl::init("O2"), cl::cat(Cat));
static cl::opt<unsigned> Random("random", cl::desc("Also check N random modules"),
                                cl::init(0), cl::cat(Cat));
static cl::opt<unsigned> RandomAwaits(
    "random-awaits",
    cl::desc("Random modules: percent of statements that are suspension points "
             "(await @qz_yield_poll), so coro-split rewrites them"),
    cl::init(0), cl::cat(Cat));
static cl::opt<uint64_t> Seed("seed", cl::desc("First seed for --random"), cl::init(1),
                              cl::cat(Cat));
static cl::opt<uint64_t> Limit("limit",
                               cl::desc("Interpreter instruction limit per run"),
                               cl::init(20'000'000), cl::cat(Cat));
static cl::opt<unsigned> SchedulerSeeds(
    "scheduler-seeds",
    cl::desc("Run concurrent modules under this many scheduler seeds (1..N) around every "
             "pass; each seed's run must be unchanged"),
    cl::init(1), cl::cat(Cat));
static cl::opt<bool> Verbose("v", cl::desc("Print every module checked"), cl::cat(Cat));
static cl::opt<bool> PrintModules("print-modules",
                                  cl::desc("Print each input module and what it does"),
                                  cl::cat(Cat));
static cl::opt<std::string> ReducedOut(
    "reduced-out", cl::desc("Write the reduced input of the first mismatch here"),
    cl::cat(Cat));

namespace {

struct Observation {
  int status = 0;
  std::string out, err;
  bool diverged = false; // hit the instruction limit: not comparable
  bool operator==(const Observation &o) const {
    return status == o.status && out == o.out && err == o.err;
  }
};

/// Whether the module has tasks or actors (then the scheduler's seed matters).
bool isConcurrent(const Module &m) {
  if (!m.actors().empty() || m.function("main.task"))
    return true;
  for (const Function &f : m.functions()) {
    if (f.isDeclaration() && f.name().starts_with("qz.spawn"))
      return true;
    for (const Block &b : f.blocks())
      for (const Instruction &i : b.insts())
        if (i.opcode() == Opcode::Await)
          return true;
  }
  return false;
}

/// Runs per observation of the module being checked: the scheduler seeds for
/// a concurrent input, else 1. Chosen once per input (checkModule), since a
/// pass may delete the last await of a module (unreachable code) without
/// changing what it does.
unsigned g_runsPerObservation = 1;

Observation observe(const Module &m) {
  Observation o;
  raw_string_ostream out(o.out), err(o.err);
  InterpOptions opts;
  opts.instructionLimit = Limit;
  // A concurrent module runs once per seed; every run is part of what it
  // does, so a pass that changes the outcome under any seed is caught.
  unsigned seeds = g_runsPerObservation;
  for (unsigned k = 1; k <= seeds; ++k) {
    opts.seed = k;
    int status = runMain(m, out, err, opts);
    if (k == 1)
      o.status = status;
    else if (status != o.status)
      err << "[seed " << k << ": exit " << status << "]";
    if (seeds > 1)
      out << "[end of seed " << k << "]\n";
  }
  out.flush();
  err.flush();
  // Runs that hit the limit, or call a runtime function the interpreter does
  // not implement (it runs tasks, channels and actors), are not comparable.
  o.diverged = o.err.find("instruction limit exceeded") != std::string::npos ||
               o.err.find("which the interpreter does not implement") != std::string::npos;
  return o;
}

std::unique_ptr<Module> cloneModule(const Module &m) {
  std::string text = moduleToString(m);
  std::string errs;
  raw_string_ostream es(errs);
  auto copy = parseMIRString(text, es, "<clone>");
  if (!copy) {
    llvm::errs() << "pass-harness: internal error: printed module does not re-parse:\n"
                 << es.str() << "\n";
    std::exit(2);
  }
  return copy;
}

/// Splits "a,b<x=1;y>,c" at top-level commas.
std::vector<std::string> splitPipeline(StringRef text) {
  std::vector<std::string> out;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '<')
      ++depth;
    else if (c == '>')
      --depth;
    if (c == ',' && depth == 0) {
      if (!StringRef(cur).trim().empty())
        out.push_back(StringRef(cur).trim().str());
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!StringRef(cur).trim().empty())
    out.push_back(StringRef(cur).trim().str());
  return out;
}

/// Runs one pass; returns "" or a description of what went wrong.
std::string applyPass(Module &m, StringRef pass) {
  PassManager pm;
  if (Error e = parsePassPipeline(pm, pass))
    return "bad pipeline: " + toString(std::move(e));
  pm.run(m);
  std::vector<VerifierError> errors;
  if (!verifyModule(m, &errors)) {
    std::string s;
    raw_string_ostream os(s);
    printVerifierErrors(os, errors);
    return "the result does not verify:\n" + os.str();
  }
  return "";
}

/// True if `pass` still breaks `m` (a clone of the input to the pass).
bool stillFails(const Module &input, StringRef pass) {
  Observation before = observe(input);
  if (before.diverged)
    return false;
  auto m = cloneModule(input);
  if (!applyPass(*m, pass).empty())
    return true;
  return !(observe(*m) == before);
}

/// Greedy reduction: erase instructions (replacing uses of integer results by
/// 0) and redirect conditional branches, keeping each step that still
/// verifies and still shows the mismatch.
std::unique_ptr<Module> reduce(const Module &input, StringRef pass) {
  auto best = cloneModule(input);
  bool progress = true;
  unsigned attempts = 0;
  while (progress && attempts < 2000) {
    progress = false;
    // Enumerate candidate (function, instruction index) positions afresh each
    // round, since every accepted step renumbers.
    std::vector<std::pair<std::string, unsigned>> candidates;
    for (Function &f : best->functions()) {
      unsigned idx = 0;
      for (Block &b : f.blocks())
        for (Instruction &i : b.insts()) {
          if (!i.isTerminator() && (i.type()->isVoid() || i.type()->isInt()))
            candidates.push_back({f.name().str(), idx});
          ++idx;
        }
    }
    for (auto &[fname, target] : candidates) {
      if (++attempts > 2000)
        break;
      auto trial = cloneModule(*best);
      Function *f = trial->function(fname);
      unsigned idx = 0;
      Instruction *victim = nullptr;
      for (Block &b : f->blocks())
        for (Instruction &i : b.insts())
          if (idx++ == target)
            victim = &i;
      if (!victim)
        continue;
      if (!victim->type()->isVoid())
        victim->replaceAllUsesWith(trial->constInt(victim->type(), 0));
      victim->eraseFromParent();
      if (!verifyModule(*trial))
        continue;
      if (stillFails(*trial, pass)) {
        best = std::move(trial);
        progress = true;
        break; // candidates are stale now
      }
    }
  }
  return best;
}

/// Checks one module; returns false on a mismatch (after reporting it).
bool checkModule(std::unique_ptr<Module> m, const std::string &name,
                 const std::vector<std::string> &passes, const std::string &reproHint) {
  std::vector<VerifierError> errors;
  if (!verifyModule(*m, &errors)) {
    errs() << "pass-harness: " << name << ": the input does not verify\n";
    printVerifierErrors(errs(), errors);
    return false;
  }
  g_runsPerObservation = isConcurrent(*m) ? std::max(1u, unsigned(SchedulerSeeds)) : 1;
  Observation before = observe(*m);
  if (PrintModules)
    outs() << "; " << name << reproHint << ": exit " << before.status << ", "
           << before.out.size() << " bytes of stdout, stderr '"
           << StringRef(before.err).trim() << "'\n"
           << moduleToString(*m) << "\n";
  if (before.diverged) {
    if (Verbose)
      outs() << "skip " << name
             << " (does not terminate within the limit, or calls a runtime function the "
                "interpreter does not implement)\n";
    return true;
  }
  for (const std::string &pass : passes) {
    auto input = cloneModule(*m);
    std::string problem = applyPass(*m, pass);
    Observation after;
    if (problem.empty()) {
      after = observe(*m);
      if (after == before) {
        before = std::move(after);
        continue;
      }
      problem = "behaviour changed:\n  before: exit " + std::to_string(before.status) +
                ", stdout " + std::to_string(before.out.size()) + " bytes, stderr '" +
                StringRef(before.err).trim().str() + "'\n  after:  exit " +
                std::to_string(after.status) + ", stdout " +
                std::to_string(after.out.size()) + " bytes, stderr '" +
                StringRef(after.err).trim().str() + "'";
      if (before.out != after.out)
        problem += "\n  stdout differs";
    }
    errs() << "MISMATCH in " << name << reproHint << "\n  pass: " << pass << "\n  "
           << problem << "\n";
    auto reduced = reduce(*input, pass);
    std::string text = moduleToString(*reduced);
    errs() << "  reduced input (run: mir-opt reduced.mir -p '" << pass
           << "' --run):\n" << text << "\n";
    if (!ReducedOut.empty()) {
      std::error_code ec;
      raw_fd_ostream f(ReducedOut, ec);
      if (!ec)
        f << "; pass-harness: " << name << reproHint << ", pass " << pass << "\n"
          << text;
    }
    return false;
  }
  if (Verbose)
    outs() << "ok " << name << "\n";
  return true;
}

std::unique_ptr<Module> loadInput(const std::string &path) {
  auto buf = MemoryBuffer::getFile(path);
  if (!buf) {
    errs() << "pass-harness: error: cannot read '" << path
           << "': " << buf.getError().message() << "\n";
    return nullptr;
  }
  SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(std::move(*buf), SMLoc());
  if (StringRef(path).ends_with(".qz")) {
    frontend::DiagEngine diags(sm, id, errs());
    ast::AstContext ctx;
    ast::Module *am = frontend::parseQuartz(ctx, diags);
    if (diags.errorCount() == 0)
      frontend::expandMacros(ctx, *am, diags);
    if (diags.errorCount() == 0)
      frontend::checkModule(ctx, *am, diags);
    if (diags.errorCount() != 0)
      return nullptr;
    return lowerToMIR(*am, ctx);
  }
  return parseMIR(sm, id, errs());
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(Cat);
  cl::ParseCommandLineOptions(argc, argv,
                              "pass-harness: checks that passes preserve behaviour\n");
  registerAllPasses();
  std::string text = Pipeline;
  if (text == "O0" || text == "O1" || text == "O2")
    text = pipelineForLevel(text[1] - '0').str();
  std::vector<std::string> passes = splitPipeline(text);
  for (const std::string &p : passes) {
    PassManager pm;
    if (Error e = parsePassPipeline(pm, p)) {
      errs() << "pass-harness: error: " << toString(std::move(e)) << "\n";
      return 2;
    }
  }

  unsigned checked = 0, failed = 0;
  for (const std::string &path : Inputs) {
    auto m = loadInput(path);
    if (!m) {
      ++failed;
      continue;
    }
    ++checked;
    if (!checkModule(std::move(m), path, passes, ""))
      ++failed;
  }
  for (unsigned k = 0; k < Random; ++k) {
    uint64_t seed = Seed + k;
    ++checked;
    testing::RandomMIROptions ro;
    ro.awaitPercent = RandomAwaits;
    if (!checkModule(testing::generateRandomModule(seed, ro), "random module",
                     passes, " (seed " + std::to_string(seed) + ")"))
      ++failed;
  }
  outs() << "pass-harness: " << checked - failed << " passed, " << failed
         << " failed (pipeline '" << text << "')\n";
  return failed ? 1 : 0;
}
