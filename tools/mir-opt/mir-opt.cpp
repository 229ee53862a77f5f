// mir-opt: the driver for testing and debugging the middle end. It parses a
// .mir file, verifies it (every problem reported at its FILE:LINE:COL), runs a
// textual pass pipeline with optional IR dumps and per-pass verification,
// verifies the result, and prints it or interprets @main. Every error exits 1;
// with --run the exit status is the program's.
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/Instrumentation.h"
#include "passes/PassManager.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

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
cl::opt<bool> printLocs("print-locs", cl::desc("Print instruction source locations"),
                        cl::cat(toolCat));
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
cl::list<std::string> dumpFunc("dump-func",
                               cl::desc("Restrict IR dumps to these functions"),
                               cl::CommaSeparated, cl::value_desc("name,..."),
                               cl::cat(dumpCat));

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

/// Parses and verifies one chunk; false (after reporting) on any error.
bool parseChunk(Chunk &c, std::unique_ptr<MemoryBuffer> buf) {
  unsigned id = c.sm.AddNewSourceBuffer(std::move(buf), SMLoc());
  c.module = parseMIR(c.sm, id, errs(), &c.map);
  if (!c.module)
    return false;
  std::vector<VerifierError> errors;
  if (!verifyModule(*c.module, &errors)) {
    reportVerifierErrors(c, errors);
    c.module.reset();
    return false;
  }
  return true;
}

std::string stripAt(StringRef s) { return s.starts_with("@") ? s.drop_front().str() : s.str(); }

} // namespace

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  registerAllPasses();
  cl::HideUnrelatedOptions({&toolCat, &dumpCat});
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

  if (listPasses) {
    listAllPasses();
    return 0;
  }
  if (inputFilename.empty()) {
    error() << "no input file (give a .mir file, or - for stdin; see --help)\n";
    return 1;
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

  ErrorOr<std::unique_ptr<MemoryBuffer>> file = MemoryBuffer::getFileOrSTDIN(inputFilename);
  if (!file) {
    error() << "cannot read '" << inputFilename << "': " << file.getError().message()
            << '\n';
    return 1;
  }
  StringRef bufferName = (*file)->getBufferIdentifier();

  // Parse and verify every chunk before running anything, so that --dump-func
  // names can be checked against all of them.
  std::vector<std::unique_ptr<Chunk>> chunks;
  bool failed = false;
  if (splitInputFile) {
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
  dumps.before = std::vector<std::string>(dumpBefore.begin(), dumpBefore.end());
  dumps.after = std::vector<std::string>(dumpAfter.begin(), dumpAfter.end());
  dumps.beforeAll = dumpBeforeAll;
  dumps.afterAll = dumpAfterAll;
  dumps.print.printLocs = printLocs;
  StringSet<> known;
  for (auto &c : chunks)
    if (c->module)
      for (const Function &f : c->module->functions())
        known.insert(f.name());
  for (const std::string &n : dumpFunc) {
    std::string name = stripAt(n);
    // Only a complete parse can prove that a name does not exist.
    if (!failed && !known.contains(name)) {
      error() << "--dump-func: no function named '@" << name << "' in "
              << bufferName << '\n';
      return 1;
    }
    dumps.functions.push_back(name);
  }

  std::error_code ec;
  std::optional<ToolOutputFile> out;
  bool printModules = !runMainOpt || !outputFilename.empty();
  if (printModules) {
    out.emplace(outputFilename.empty() ? StringRef("-") : StringRef(outputFilename),
                ec, sys::fs::OF_Text);
    if (ec) {
      error() << "cannot write '" << outputFilename << "': " << ec.message() << '\n';
      return 1;
    }
  }

  PrintIRInstrumentation printIR(errs(), dumps);
  VerifyInstrumentation verifier(errs());
  if (dumpBeforeAll || dumpAfterAll || !dumpBefore.empty() || !dumpAfter.empty())
    pm.addInstrumentation(printIR);
  if (verifyEach)
    pm.addInstrumentation(verifier);

  int runStatus = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    Chunk &c = *chunks[i];
    if (printModules && i > 0)
      out->os() << "; -----\n";
    if (!c.module)
      continue;
    if (!pm.run(*c.module)) {
      failed = true;
      break; // --verify-each reported the broken pass
    }
    std::vector<VerifierError> errors;
    if (!verifyModule(*c.module, &errors)) {
      error() << "the IR is invalid after the pipeline '" << pipelineText
              << "' (use --verify-each to find the pass)\n";
      printVerifierErrors(errs(), errors);
      failed = true;
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
      int status = runMain(*c.module, outs(), errs(), io);
      outs().flush();
      if (runStatus == 0)
        runStatus = status;
    }
  }

  if (failed)
    return 1;
  if (out)
    out->keep();
  return runStatus;
}
