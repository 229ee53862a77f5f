// mir-opt: the driver for testing and debugging the middle end. It parses a
// .mir file, verifies it (every problem reported at its FILE:LINE:COL), runs a
// textual pass pipeline with optional IR dumps and per-pass verification,
// verifies the result, and prints it or interprets @main. Every error exits 1;
// with --run the exit status is the program's. A pipeline of function passes
// streams (--stream): each function is optimized, verified and printed as
// soon as it is parsed, and its body freed (docs/passes.md).
//
// It is also the debugger for passes (docs/debugging-passes.md): what each
// pass changed (--dump-changed, --dump-dir, --dump-html, --dump-dot), what it
// cost (--time-passes, --stats), which application broke a program
// (--bisect-limit, driven by tools/bisect-passes), and a reproducer when a
// pass crashes or breaks the IR.
#include "mir/Cage.h"
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/DebugInstrumentation.h"
#include "passes/Instrumentation.h"
#include "passes/PassManager.h"
#include "passes/Pipelines.h"
#include "backend/Backend.h"

#include "llvm/ADT/Statistic.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Set by LLVM's own --time-passes option (declared in llvm/Pass.h, whose
// llvm::PassInfo and llvm::PassRegistry would clash with qmir's names here).
namespace llvm {
extern bool TimePassesIsEnabled;
}

using namespace llvm;
using namespace qmir;

namespace {

cl::OptionCategory toolCat("mir-opt options");
cl::OptionCategory dumpCat("Debugging options");

cl::opt<std::string> inputFilename(cl::Positional,
                                   cl::desc("<input .mir file, or - for stdin>"),
                                   cl::cat(toolCat));
cl::opt<std::string> pipelineText(
    "p", cl::desc("Pass pipeline to run, e.g. 'dce,dce' or 'inline<threshold=50>'"),
    cl::value_desc("pipeline"), cl::cat(toolCat));
cl::alias pipelineAlias("passes", cl::desc("Alias for -p"),
                        cl::aliasopt(pipelineText), cl::cat(toolCat));
cl::opt<unsigned> optLevel(
    "O", cl::desc("Run the standard pipeline of this level instead of -p: -O0, -O1, -O2 "
                  "(docs/passes.md)"),
    cl::Prefix, cl::cat(toolCat));
} // namespace
namespace qmir {
// From backend/LLVMBackend.h, which brings LLVM's own Module and Function
// into scope alongside qmir's.
void registerLLVMBackend();
} // namespace qmir
namespace {

cl::OptionCategory codegenCat("Code generation (after the pipeline)");
cl::opt<std::string> backendName(
    "backend",
    cl::desc("Hand the optimized module to this backend (interp, llvm; see "
             "--list-backends). With it, -o names the artifact and --run runs "
             "through the backend"),
    cl::value_desc("name"), cl::cat(codegenCat));
cl::opt<std::string> emitKind(
    "emit", cl::desc("Artifact to produce: llvm, asm, obj or exe (implies --backend=llvm)"),
    cl::value_desc("kind"), cl::cat(codegenCat));
cl::opt<bool> debugInfo("g", cl::desc("Emit debug information (with --backend)"),
                        cl::cat(codegenCat));
cl::opt<std::string> targetTriple("target", cl::desc("Target triple (default: the host)"),
                                  cl::value_desc("triple"), cl::cat(codegenCat));
cl::opt<bool> listBackends("list-backends", cl::desc("List the backends and exit"),
                           cl::cat(codegenCat));
cl::opt<bool> disableOutput(
    "disable-output", cl::desc("Do not print the resulting module (like opt's)"),
    cl::cat(toolCat));
cl::opt<std::string> outputFilename("o",
                                    cl::desc("Write the module here (default: stdout)"),
                                    cl::value_desc("file"), cl::cat(toolCat));
cl::opt<bool> listPasses("list-passes", cl::desc("List the available passes and exit"),
                         cl::cat(toolCat));
cl::opt<bool> runMainOpt("run",
                         cl::desc("Interpret @main after the pipeline and exit with its "
                                  "status; the module is printed only with -o"),
                         cl::cat(toolCat));
cl::opt<uint64_t> runLimit("run-limit",
                           cl::desc("With --run, trap after this many instructions "
                                    "(0: no limit)"),
                           cl::init(0), cl::value_desc("n"), cl::cat(toolCat));
cl::opt<uint64_t> seedOpt(
    "seed",
    cl::desc("Concurrent programs: the scheduler seed of deterministic runs "
             "(--run, --backend=interp; sets QMIR_SEED, whose value is the default)"),
    cl::value_desc("n"), cl::cat(toolCat));
cl::opt<bool> printLocs("print-locs", cl::desc("Print instruction source locations"),
                        cl::cat(toolCat));
cl::opt<bool> streamOpt(
    "stream",
    cl::desc("When the pipeline has only function passes and nothing needs the "
             "whole module afterwards (no --run, dumps, --verify-each, ...): "
             "optimize, verify and print each function as soon as it is parsed, "
             "then free its body. Same output; peak memory is the input text, the "
             "printed text and the largest function instead of the whole module "
             "(default on; --stream=false turns it off)"),
    cl::init(true), cl::cat(toolCat));
cl::opt<bool> splitInputFile(
    "split-input-file",
    cl::desc("Treat lines '; -----' as separators: process each chunk on its own "
             "and separate the outputs the same way"),
    cl::cat(toolCat));

cl::opt<bool> verifyEach("verify-each",
                         cl::desc("Verify the IR after every pass; stop at the first "
                                  "pass that breaks it"),
                         cl::cat(dumpCat));
cl::list<std::string> dumpBefore("dump-before",
                                 cl::desc("Print the IR (to stderr) before these passes"),
                                 cl::CommaSeparated, cl::value_desc("pass,..."),
                                 cl::cat(dumpCat));
cl::list<std::string> dumpAfter("dump-after",
                                cl::desc("Print the IR (to stderr) after these passes"),
                                cl::CommaSeparated, cl::value_desc("pass,..."),
                                cl::cat(dumpCat));
cl::opt<bool> dumpBeforeAll("dump-before-all",
                            cl::desc("Print the IR (to stderr) before every pass"),
                            cl::cat(dumpCat));
cl::opt<bool> dumpAfterAll("dump-after-all",
                           cl::desc("Print the IR (to stderr) after every pass"),
                           cl::cat(dumpCat));
cl::list<std::string> dumpFunc(
    "dump-func",
    cl::desc("Restrict every dump to these functions (names or globs such as "
             "'ma*'; repeatable)"),
    cl::CommaSeparated, cl::value_desc("name,..."), cl::cat(dumpCat));
cl::opt<bool> dumpModuleScope(
    "dump-module-scope",
    cl::desc("Dumps (--dump-before/after/changed, --dump-dir) show the whole "
             "module instead of one function"),
    cl::cat(dumpCat));
cl::opt<bool> dumpChanged(
    "dump-changed",
    cl::desc("After each pass, print (to stderr) a unified diff of each "
             "function it changed; nothing for passes that changed nothing. "
             "Coloured on a terminal (--color forces it)"),
    cl::cat(dumpCat));
cl::opt<std::string> dumpDir(
    "dump-dir",
    cl::desc("Write the IR after every pass application to DIR, one file per "
             "application and function, NNN-PASS-FUNCTION.mir in pipeline order "
             "(000-input-FUNCTION.mir is the input)"),
    cl::value_desc("dir"), cl::cat(dumpCat));
cl::opt<std::string> dumpHTML(
    "dump-html",
    cl::desc("Write an HTML page per function showing it after every pass, in "
             "columns (FILE for one function, else FILE's stem.FUNCTION.html)"),
    cl::value_desc("file"), cl::cat(dumpCat));
cl::opt<std::string> dumpDot(
    "dump-dot",
    cl::desc("Write the CFG of each function after the pipeline as Graphviz "
             "DOT, DIR/FUNCTION.dot"),
    cl::value_desc("dir"), cl::cat(dumpCat));
cl::opt<bool> dumpDotEachPass(
    "dump-dot-each-pass",
    cl::desc("With --dump-dot, write one CFG per pass application instead, "
             "DIR/NNN-PASS-FUNCTION.dot"),
    cl::cat(dumpCat));
cl::opt<int64_t> bisectLimit(
    "bisect-limit",
    cl::desc("Run only the first N pass applications (-1: all), printing one "
             "'BISECT:' line per application to stderr"),
    cl::init(-1), cl::value_desc("n"), cl::cat(dumpCat));
cl::opt<std::string> reproducerPath(
    "reproducer",
    cl::desc("Where to write the reproducer when a pass crashes or breaks the "
             "IR (default: a fresh file in the temporary directory)"),
    cl::value_desc("file"), cl::cat(dumpCat));

const char *toolName = "mir-opt";

raw_ostream &error() {
  return WithColor::error(errs(), toolName);
}

void listAllPasses() {
  std::vector<const PassInfo *> all = PassRegistry::global().passes();
  size_t width = 0;
  for (const PassInfo *p : all)
    width = std::max(width, p->name.size());
  for (bool testOnly : {false, true}) {
    outs() << (testOnly ? "\nTesting passes:\n" : "Passes:\n");
    for (const PassInfo *p : all)
      if (p->testOnly == testOnly)
        outs() << "  " << left_justify(p->name, width) << "  " << p->description
               << '\n';
  }
}

/// One chunk of the input (the whole file without --split-input-file).
struct Chunk {
  SourceMgr sm;
  MIRSourceMap map;
  std::unique_ptr<Module> module;
};

/// Splits at lines that are exactly "; -----" (blanks around allowed). Each
/// chunk is padded with the newlines that precede it, so that diagnostics
/// carry the line numbers of the original file.
std::vector<std::string> splitChunks(StringRef text) {
  std::vector<std::string> chunks;
  std::string cur;
  unsigned line = 0;
  while (!text.empty()) {
    auto [l, rest] = text.split('\n');
    bool hadNewline = text.size() != l.size();
    text = rest;
    ++line;
    if (l.trim() == "; -----") {
      chunks.push_back(std::move(cur));
      cur.assign(line, '\n'); // this line and the ones before it
      continue;
    }
    cur += l;
    if (hadNewline)
      cur += '\n';
  }
  chunks.push_back(std::move(cur));
  return chunks;
}

/// Reports verifier errors at the failing instruction (or block, or function)
/// in the source, then the verifier's own detail.
void reportVerifierErrors(const Chunk &c, ArrayRef<VerifierError> errors) {
  for (const VerifierError &e : errors) {
    SMLoc loc;
    for (const void *p : {static_cast<const void *>(e.inst),
                          static_cast<const void *>(e.block),
                          static_cast<const void *>(e.function)})
      if (p && !loc.isValid())
        loc = c.map.lookup(p);
    if (loc.isValid())
      c.sm.PrintMessage(errs(), loc, SourceMgr::DK_Error, e.message);
    else
      error() << e.message << '\n';
    printVerifierErrors(errs(), e);
  }
}

/// Streaming (--stream): each function's body is optimized, verified and
/// printed right after it is parsed, then freed; the module keeps the
/// declarations, types, bindings and constants, and the printed text stands
/// in for each body when the module is printed at the end.
class StreamingRun {
public:
  /// `print`: keep each function's text for the output (not with
  /// --disable-output).
  StreamingRun(PassManager &pm, CrashReproducer &reproducer, PrintOptions po, bool print)
      : pm_(pm), reproducer_(reproducer), po_(po), print_(print), os_(text_) {}

  /// The parser's body callback, after the body verified.
  void process(Function &f, unsigned bodyIndex, unsigned numBodies) {
    if (!decided_) {
      // Actors are checked against their methods' bodies once the module is
      // parsed: such a module goes the ordinary way.
      decided_ = true;
      active_ = f.parent()->actors().empty();
    }
    if (!active_ || stopped_)
      return;
    if (!pm_.runOnFunction(f, am_, bodyIndex, numBodies)) {
      stopped_ = invalid_ = true;
      return;
    }
    am_.clear();
    std::vector<VerifierError> errors;
    if (!verifyFunction(f, &errors)) {
      // As without streaming: one header, then every function's errors; held
      // back until the input is known to parse (an error further on is all
      // that is reported then, as without streaming).
      raw_string_ostream os(invalidReport_);
      if (!invalid_) {
        WithColor::error(os, toolName);
        os << "the IR is invalid after the pipeline '" << pipelineText
           << "' (use --verify-each to find the pass)\n";
      }
      printVerifierErrors(os, errors);
      invalid_ = true;
      return;
    }
    if (invalid_)
      return; // nothing will be printed
    size_t start = text_.size();
    if (print_)
      printFunction(os_, f, po_);
    spans_[&f] = {start, text_.size() - start}; // empty when not printing
    f.dropBody();
  }

  /// False if the module is processed the ordinary way (it has actors).
  bool active() const { return active_; }
  /// A pass left invalid IR (reported; the reproducer is written here).
  bool finish() {
    if (invalid_) {
      errs() << invalidReport_;
      reproducer_.writeReproducer("left invalid IR", errs(), /*wholePipeline=*/true);
    }
    return !invalid_;
  }
  bool streamed(const Function &f) const { return spans_.count(&f); }
  std::optional<StringRef> printed(const Function &f) const {
    auto it = spans_.find(&f);
    if (it == spans_.end())
      return std::nullopt;
    return StringRef(text_).substr(it->second.first, it->second.second);
  }

private:
  PassManager &pm_;
  CrashReproducer &reproducer_;
  PrintOptions po_;
  bool print_;
  AnalysisManager am_;
  std::string text_;
  raw_string_ostream os_;
  std::string invalidReport_;
  /// Each streamed function's text in text_ (offset, length).
  DenseMap<const Function *, std::pair<size_t, size_t>> spans_;
  bool decided_ = false, active_ = true, stopped_ = false, invalid_ = false;
};

/// Parses and verifies one chunk; false (after reporting) on any error.
/// With `stream`, each verified body also goes through it.
bool parseChunk(Chunk &c, std::unique_ptr<MemoryBuffer> buf,
                StreamingRun *stream = nullptr) {
  unsigned id = c.sm.AddNewSourceBuffer(std::move(buf), SMLoc());
  // The source map (a location per instruction) is only needed to point at
  // a verifier error, and costs a hash-table entry per instruction; so the
  // common, valid case parses without it and a failing input is parsed again
  // with it to report the errors.
  // Each body is verified as soon as it is parsed, while it is in the cache.
  bool bodiesOk = true;
  c.module = parseMIR(c.sm, id, errs(), nullptr,
                      [&](Function &f, unsigned bodyIndex, unsigned numBodies) {
                        bodiesOk &= verifyFunction(f);
                        // After a bad body nothing more is optimized: the
                        // input is reported and that is all.
                        if (stream && bodiesOk)
                          stream->process(f, bodyIndex, numBodies);
                      });
  if (!c.module)
    return false;
  bool declarationsOk = true;
  for (const Function &f : c.module->functions())
    if (f.isDeclaration() && !(stream && stream->streamed(f)))
      declarationsOk &= verifyFunction(f);
  declarationsOk &= verifyActors(*c.module);
  if (bodiesOk && declarationsOk)
    return true;
  std::string ignored;
  raw_string_ostream quiet(ignored);
  c.module = parseMIR(c.sm, id, quiet, &c.map);
  std::vector<VerifierError> errors;
  if (c.module)
    verifyModule(*c.module, &errors);
  reportVerifierErrors(c, errors);
  c.module.reset();
  return false;
}

bool isGlobText(StringRef s) { return s.find_first_of("*?[{\\") != StringRef::npos; }

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  qmir::cage::installOutOfMemoryHandlers("mir-opt");
  registerAllPasses();
  // LLVM itself defines --time-passes and --stats (for its own pass managers
  // and statistics), so defining them again would abort at startup. mir-opt
  // adopts them instead: it moves them into its "Debugging options" with its
  // own descriptions and reads their values after parsing. --stats is only
  // created by the first ParseCommandLineOptions call, hence the empty one.
  {
    const char *progOnly[] = {argv[0]};
    cl::ParseCommandLineOptions(1, progOnly);
    StringMap<cl::Option *> &all = cl::getRegisteredOptions();
    auto adopt = [&](StringRef name, StringRef desc) {
      auto it = all.find(name);
      if (it == all.end())
        return;
      it->second->setDescription(desc);
      it->second->addCategory(dumpCat);
      it->second->setHiddenFlag(cl::NotHidden);
    };
    adopt("time-passes", "Print (to stderr) the wall time, runs and instructions "
                         "changed of each pass");
    adopt("stats", "Print (to stderr) pass and module statistics");
  }
  cl::HideUnrelatedOptions({&toolCat, &dumpCat, &codegenCat});
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << "mir-opt (qmir), built with LLVM " LLVM_VERSION_STRING "\n";
  });
  cl::ParseCommandLineOptions(
      argc, argv,
      "qmir MIR optimizer\n\n"
      "  Parses and verifies a .mir module, runs a pass pipeline on it, and\n"
      "  prints the result (or interprets @main with --run).\n\n"
      "  mir-opt FILE|- [-p PIPELINE] [-o OUT]\n"
      "  mir-opt --list-passes\n");
  // Runs of concurrent programs read the seed from the environment (the
  // interp backend and native executables alike).
  if (seedOpt.getNumOccurrences())
    setenv("QMIR_SEED", std::to_string(seedOpt.getValue()).c_str(), 1);

  if (listPasses) {
    listAllPasses();
    return 0;
  }
  registerInterpBackend();
  registerLLVMBackend();
  if (listBackends) {
    for (const BackendInfo &b : registeredBackends())
      outs() << "  " << left_justify(b.name, 10) << " " << b.description << "\n";
    return 0;
  }
  std::optional<EmitKind> artifact;
  if (!emitKind.empty()) {
    if (emitKind == "llvm")
      artifact = EmitKind::LLVMIR;
    else if (emitKind == "asm")
      artifact = EmitKind::Assembly;
    else if (emitKind == "obj")
      artifact = EmitKind::Object;
    else if (emitKind == "exe")
      artifact = EmitKind::Executable;
    else {
      error() << "unknown --emit kind '" << emitKind << "' (llvm, asm, obj, exe)\n";
      return 1;
    }
    if (backendName.empty())
      backendName = "llvm";
  }
  std::unique_ptr<Backend> backend;
  if (!backendName.empty()) {
    backend = createBackend(backendName);
    if (!backend) {
      error() << "unknown backend '" << backendName << "' (see --list-backends)\n";
      return 1;
    }
    if (!artifact && !runMainOpt) {
      error() << "--backend needs --emit=KIND or --run\n";
      return 1;
    }
    if (artifact && runMainOpt) {
      error() << "give either --emit or --run with --backend, not both\n";
      return 1;
    }
    if (artifact && (*artifact == EmitKind::Object || *artifact == EmitKind::Executable) &&
        outputFilename.empty()) {
      error() << "--emit=" << emitKind << " needs -o FILE\n";
      return 1;
    }
  }
  if (inputFilename.empty()) {
    error() << "no input file (give a .mir file, or - for stdin; see --help)\n";
    return 1;
  }

  if (optLevel.getNumOccurrences()) {
    if (pipelineText.getNumOccurrences()) {
      error() << "give either -p or -O, not both\n";
      return 1;
    }
    if (optLevel > 2) {
      error() << "optimization level must be 0, 1 or 2 (got -O" << optLevel << ")\n";
      return 1;
    }
    pipelineText = pipelineForLevel(optLevel).str();
  }
  PassManager pm;
  if (Error e = parsePassPipeline(pm, pipelineText)) {
    error() << toString(std::move(e)) << '\n';
    return 1;
  }
  auto checkPassNames = [](const cl::list<std::string> &names) {
    for (const std::string &name : names)
      if (!PassRegistry::global().lookup(name)) {
        error() << "unknown pass '" << name << "' in --" << names.ArgStr << '\n';
        return false;
      }
    return true;
  };
  if (!checkPassNames(dumpBefore) || !checkPassNames(dumpAfter))
    return 1;

  // Read, not mapped (IsVolatile): -o may name the input, and the crash
  // reproducer and diagnostics read the input after the output is opened.
  ErrorOr<std::unique_ptr<MemoryBuffer>> file =
      inputFilename == "-"
          ? MemoryBuffer::getSTDIN()
          : MemoryBuffer::getFile(inputFilename, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/true, /*IsVolatile=*/true);
  if (!file) {
    error() << "cannot read '" << inputFilename << "': " << file.getError().message()
            << '\n';
    return 1;
  }
  StringRef bufferName = (*file)->getBufferIdentifier();

  // Streaming needs a pipeline of function passes and nothing that looks at
  // the whole module, or at the order of pass applications, afterwards.
  const bool streaming =
      streamOpt && !splitInputFile && pm.onlyFunctionPasses() && !runMainOpt && !backend &&
      !verifyEach && dumpBefore.empty() && dumpAfter.empty() && !dumpBeforeAll &&
      !dumpAfterAll && dumpFunc.empty() && !dumpChanged && dumpDir.empty() &&
      dumpHTML.empty() && dumpDot.empty() && !dumpDotEachPass && !TimePassesIsEnabled &&
      !AreStatisticsEnabled() && !bisectLimit.getNumOccurrences();

  // Parse and verify every chunk before running anything, so that --dump-func
  // names can be checked against all of them (streaming parses later).
  std::vector<std::unique_ptr<Chunk>> chunks;
  bool failed = false;
  if (streaming) {
    // Parsed below, once the instrumentation (the crash reproducer) is in place.
  } else if (splitInputFile) {
    for (std::string &text : splitChunks((*file)->getBuffer())) {
      auto c = std::make_unique<Chunk>();
      failed |= !parseChunk(*c, MemoryBuffer::getMemBufferCopy(text, bufferName));
      chunks.push_back(std::move(c));
    }
  } else {
    auto c = std::make_unique<Chunk>();
    failed |= !parseChunk(*c, std::move(*file));
    chunks.push_back(std::move(c));
  }

  IRDumpOptions dumps;
  DebugDumpOptions debug;
  dumps.before = std::vector<std::string>(dumpBefore.begin(), dumpBefore.end());
  dumps.after = std::vector<std::string>(dumpAfter.begin(), dumpAfter.end());
  dumps.beforeAll = dumpBeforeAll;
  dumps.afterAll = dumpAfterAll;
  dumps.print.printLocs = printLocs;
  dumps.moduleScope = dumpModuleScope;
  std::vector<StringRef> known;
  for (auto &c : chunks)
    if (c->module)
      for (const Function &f : c->module->functions())
        known.push_back(f.name());
  for (const std::string &n : dumpFunc) {
    if (Error e = dumps.functions.add(n)) {
      error() << "--dump-func: " << toString(std::move(e)) << '\n';
      return 1;
    }
    cantFail(debug.functions.add(n));
  }
  // Only a complete parse can prove that a name does not exist.
  if (!failed)
    for (const std::string &name : dumps.functions.unmatched(known)) {
      error() << "--dump-func: " << (isGlobText(name) ? "pattern '" : "no function named '@")
              << name << (isGlobText(name) ? "' matches no function" : "'") << " in "
              << bufferName << '\n';
      return 1;
    }
  debug.moduleScope = dumpModuleScope;
  debug.print.printLocs = printLocs;
  debug.dumpChanged = dumpChanged;
  debug.dumpDir = dumpDir;
  debug.htmlFile = dumpHTML;
  debug.dotDir = dumpDot;
  debug.dotEachPass = dumpDotEachPass;
  const bool timePasses = TimePassesIsEnabled;
  const bool printStats = AreStatisticsEnabled();
  debug.timePasses = timePasses;
  debug.stats = printStats;
  if (dumpDotEachPass && dumpDot.empty()) {
    error() << "--dump-dot-each-pass needs --dump-dot=DIR\n";
    return 1;
  }
  if (bisectLimit < -1) {
    error() << "--bisect-limit must be -1 (run everything) or a count of pass "
               "applications, not "
            << bisectLimit << '\n';
    return 1;
  }
  // Directories are created up front, so that a bad path is reported before
  // any pass runs.
  for (const cl::opt<std::string> *dir : {&dumpDir, &dumpDot})
    if (!dir->empty())
      if (std::error_code ec = sys::fs::create_directories(dir->getValue())) {
        error() << "--" << dir->ArgStr << ": cannot create directory '" << dir->getValue()
                << "': " << ec.message() << '\n';
        return 1;
      }
  if (!dumpHTML.empty()) {
    StringRef parent = sys::path::parent_path(dumpHTML);
    if (!parent.empty() && !sys::fs::is_directory(parent)) {
      error() << "--dump-html: no directory '" << parent << "' for '" << dumpHTML << "'\n";
      return 1;
    }
  }

  std::error_code ec;
  std::optional<ToolOutputFile> out;
  bool printModules =
      (!runMainOpt || !outputFilename.empty()) && !disableOutput && !backend;
  // Opened once the input is parsed (-o may name the input file).
  auto openOutput = [&] {
    if (!printModules)
      return true;
    out.emplace(outputFilename.empty() ? StringRef("-") : StringRef(outputFilename),
                ec, sys::fs::OF_Text);
    if (ec) {
      error() << "cannot write '" << outputFilename << "': " << ec.message() << '\n';
      return false;
    }
    return true;
  };
  if (!streaming && !openOutput())
    return 1;

  PrintIRInstrumentation printIR(errs(), dumps);
  VerifyInstrumentation verifier(errs());
  DebugInstrumentation debugger(errs(), debug);
  BisectInstrumentation bisect(errs(), bisectLimit);
  CrashReproducer reproducer(pm, reproducerPath, toolName);
  bool useDebugger = dumpChanged || !dumpDir.empty() || !dumpHTML.empty() ||
                     !dumpDot.empty() || timePasses || printStats;
  // Order matters: bisection decides first whether an application runs; the
  // --time-passes clock stops in the first afterPass and starts in the last
  // beforePass, so no other hook is timed; the reproducer's crash entry is
  // pushed just before the pass runs.
  if (bisectLimit.getNumOccurrences())
    pm.addInstrumentation(bisect);
  if (useDebugger)
    pm.addInstrumentation(debugger.stopClock());
  if (dumpBeforeAll || dumpAfterAll || !dumpBefore.empty() || !dumpAfter.empty())
    pm.addInstrumentation(printIR);
  if (verifyEach)
    pm.addInstrumentation(verifier);
  if (useDebugger)
    pm.addInstrumentation(debugger);
  pm.addInstrumentation(reproducer);

  if (streaming) {
    auto c = std::make_unique<Chunk>();
    reproducer.beginModule((*file)->getBuffer());
    PrintOptions po;
    po.printLocs = printLocs;
    StreamingRun stream(pm, reproducer, po, printModules);
    if (!parseChunk(*c, std::move(*file), &stream)) {
      openOutput(); // as without streaming: an old output file goes
      return 1;
    }
    if (stream.active()) {
      // Reported before the output is opened: the reproducer reads the
      // input, which -o may name.
      if (!stream.finish()) {
        openOutput();
        return 1;
      }
      if (!openOutput())
        return 1;
      if (printModules) {
        printModule(out->os(), *c->module, po,
                    [&](const Function &f) { return stream.printed(f); });
        out->keep();
      }
      return 0;
    }
    if (!openOutput())
      return 1;
    chunks.push_back(std::move(c)); // it has actors: the ordinary way
  }

  int runStatus = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    Chunk &c = *chunks[i];
    if (printModules && i > 0)
      out->os() << "; -----\n";
    if (!c.module)
      continue;
    std::string unit = chunks.size() > 1 ? "chunk" + std::to_string(i) : "";
    reproducer.beginModule(c.sm.getMemoryBuffer(c.sm.getMainFileID())->getBuffer());
    if (useDebugger)
      debugger.beginModule(*c.module, unit);
    if (!pm.run(*c.module)) {
      // --verify-each reported the broken pass; the reproducer replays the
      // pipeline up to it.
      reproducer.writeReproducer("left invalid IR", errs());
      failed = true;
      break;
    }
    if (useDebugger)
      debugger.endModule(*c.module);
    std::vector<VerifierError> errors;
    if (!verifyModule(*c.module, &errors)) {
      error() << "the IR is invalid after the pipeline '" << pipelineText
              << "' (use --verify-each to find the pass)\n";
      printVerifierErrors(errs(), errors);
      reproducer.writeReproducer("left invalid IR", errs(), /*wholePipeline=*/true);
      failed = true;
      continue;
    }
    if (backend) {
      // Code generation replaces printing the module: -o names the artifact.
      if (out)
        out->os().flush();
      BackendOptions bo;
      bo.emit = artifact ? *artifact : EmitKind::Run;
      bo.optLevel = optLevel.getNumOccurrences() ? static_cast<unsigned>(optLevel) : 0;
      bo.debugInfo = debugInfo;
      bo.targetTriple = targetTriple;
      bo.outputPath = outputFilename == "-" ? std::string() : std::string(outputFilename);
      BackendResult r = backend->compile(*c.module, bo);
      outs().flush();
      if (!r.ok()) {
        error() << (r.status == BackendResult::InternalError ? "internal error: " : "")
                << r.message << '\n';
        return r.status == BackendResult::InternalError ? 70 : 1;
      }
      if (bo.emit == EmitKind::Run && runStatus == 0)
        runStatus = r.exitStatus;
      continue;
    }
    if (printModules) {
      PrintOptions po;
      po.printLocs = printLocs;
      printModule(out->os(), *c.module, po);
    }
    if (runMainOpt) {
      if (out)
        out->os().flush();
      InterpOptions io;
      io.instructionLimit = runLimit;
      if (seedOpt.getNumOccurrences())
        io.seed = seedOpt.getValue();
      int status = runMain(*c.module, outs(), errs(), io);
      outs().flush();
      if (runStatus == 0)
        runStatus = status;
    }
  }

  if (useDebugger && !debugger.finish(errs()))
    failed = true;
  if (!debugger.ok())
    failed = true;
  if (failed)
    return 1;
  if (out)
    out->keep();
  return runStatus;
}
