// qzc: the Quartz core compiler driver. Reads a .qz file, parses it, expands
// its macros, checks it, lowers it to MIR, optimises it, and then prints the
// AST or the MIR, runs `main` (in the reference interpreter by default), or
// hands the MIR to a backend (docs/backends.md): LLVM IR, assembly, an object
// file or a native executable.
//
//   qzc prog.qz --run [-O2] [--backend=interp|llvm]
//   qzc prog.qz -o prog [-O0|-O1|-O2] [-g] [--backend=llvm] [--emit=exe|obj|asm|llvm]
//   qzc prog.qz --emit=ast|mir|llvm|asm
#include "backend/Backend.h"
#include "backend/LLVMBackend.h"
#include "frontend/Diagnostics.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"
#include "frontend/Pipeline.h"
#include "frontend/Sema.h"
#include "lowering/Lower.h"
#include "mir/Cage.h"
#include "mir/Interpreter.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/Pipelines.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>

using namespace llvm;

static cl::OptionCategory QzcCat("qzc options");
static cl::opt<std::string> InputFile(cl::Positional, cl::desc("<file.qz>"),
                                      cl::Required, cl::cat(QzcCat));
enum class EmitKind { None, Ast, Mir, LLVM, Asm, Obj, Exe };
static cl::opt<EmitKind> Emit(
    "emit", cl::desc("What to produce"), cl::init(EmitKind::None),
    cl::values(clEnumValN(EmitKind::Ast, "ast", "the checked AST, macros expanded"),
               clEnumValN(EmitKind::Mir, "mir", "the MIR after the -O pipeline"),
               clEnumValN(EmitKind::LLVM, "llvm", "LLVM IR (backend llvm)"),
               clEnumValN(EmitKind::Asm, "asm", "assembly (backend llvm)"),
               clEnumValN(EmitKind::Obj, "obj", "an object file (backend llvm; needs -o)"),
               clEnumValN(EmitKind::Exe, "exe",
                          "a native executable (the default with -o; needs -o)")),
    cl::cat(QzcCat));
static cl::opt<bool> Run("run", cl::desc("Run main and exit with its result"),
                         cl::cat(QzcCat));
static cl::opt<std::string> BackendName(
    "backend",
    cl::desc("Backend: interp (the default for --run) or llvm (the default for "
             "-o and --emit=llvm|asm|obj|exe)"),
    cl::value_desc("name"), cl::cat(QzcCat));
static cl::opt<bool> ListBackends("list-backends", cl::desc("List the backends and exit"),
                                  cl::cat(QzcCat));
static cl::opt<unsigned> OptLevel(
    "O", cl::desc("Optimization level: -O0 (default), -O1, -O2"), cl::Prefix,
    cl::init(0), cl::cat(QzcCat));
static cl::opt<std::string> Passes(
    "passes",
    cl::desc("Run this pass pipeline instead of the -O level's (mir-opt -p syntax; "
             "--passes= runs none, to see the lowering as it is)"),
    cl::value_desc("pipeline"), cl::ValueOptional, cl::cat(QzcCat));
static cl::opt<bool> DebugInfo("g", cl::desc("Emit debug information (DWARF)"),
                               cl::cat(QzcCat));
static cl::opt<std::string> Target("target", cl::desc("Target triple (default: the host)"),
                                   cl::value_desc("triple"), cl::cat(QzcCat));
static cl::opt<bool> PrintLocs("print-locs",
                               cl::desc("Print source locations in --emit=mir"),
                               cl::cat(QzcCat));
static cl::opt<uint64_t> Seed(
    "seed",
    cl::desc("Concurrent programs: run in the runtime's deterministic mode with this "
             "scheduler seed (sets QMIR_SEED; --run, both backends)"),
    cl::value_desc("n"), cl::cat(QzcCat));
static cl::opt<std::string> Output("o", cl::desc("Output file"), cl::value_desc("file"),
                                   cl::cat(QzcCat));

/// Writes text output (--emit=ast, --emit=mir) to -o's file, or to stdout
/// without one (or with "-").
static bool writeTextOutput(llvm::function_ref<void(raw_ostream &)> write) {
  if (Output.empty() || Output == "-") {
    write(outs());
    return true;
  }
  std::error_code ec;
  raw_fd_ostream os(Output, ec);
  if (!ec) {
    write(os);
    os.close();
    ec = os.error();
  }
  if (ec) {
    errs() << "qzc: error: cannot write '" << Output << "': " << ec.message()
           << "\n";
    return false;
  }
  return true;
}

int main(int argc, char **argv) {
  qmir::cage::installOutOfMemoryHandlers("qzc");
  qmir::registerInterpBackend();
  qmir::registerLLVMBackend();
  cl::HideUnrelatedOptions(QzcCat);
  for (int i = 1; i < argc; ++i)
    if (StringRef(argv[i]) == "--list-backends") {
      for (const qmir::BackendInfo &b : qmir::registeredBackends())
        outs() << b.name << "\t" << b.description << "\n";
      return 0;
    }
  cl::ParseCommandLineOptions(argc, argv, "qzc: the Quartz core compiler\n");
  if (Seed.getNumOccurrences())
    setenv("QMIR_SEED", std::to_string(Seed.getValue()).c_str(), 1);
  if (OptLevel > 2) {
    errs() << "qzc: error: optimization level must be 0, 1 or 2\n";
    return 1;
  }

  // What the backend is asked for, if anything.
  bool useBackend = false;
  qmir::BackendOptions bo;
  switch (Emit) {
  case EmitKind::Ast:
  case EmitKind::Mir:
    if (Run) {
      errs() << "qzc: error: --run and --emit=" << (Emit == EmitKind::Ast ? "ast" : "mir")
             << " cannot be combined\n";
      return 1;
    }
    break;
  case EmitKind::None:
    if (Run) {
      useBackend = true;
      bo.emit = qmir::EmitKind::Run;
      if (!Output.empty()) {
        errs() << "qzc: error: --run and -o cannot be combined\n";
        return 1;
      }
    } else if (!Output.empty()) {
      useBackend = true;
      bo.emit = qmir::EmitKind::Executable;
    }
    break;
  case EmitKind::LLVM:
  case EmitKind::Asm:
  case EmitKind::Obj:
  case EmitKind::Exe:
    if (Run) {
      errs() << "qzc: error: --run and --emit=llvm|asm|obj|exe cannot be combined\n";
      return 1;
    }
    useBackend = true;
    bo.emit = Emit == EmitKind::LLVM  ? qmir::EmitKind::LLVMIR
              : Emit == EmitKind::Asm ? qmir::EmitKind::Assembly
              : Emit == EmitKind::Obj ? qmir::EmitKind::Object
                                      : qmir::EmitKind::Executable;
    if ((Emit == EmitKind::Obj || Emit == EmitKind::Exe) && Output.empty()) {
      errs() << "qzc: error: --emit=" << (Emit == EmitKind::Obj ? "obj" : "exe")
             << " needs an output file (-o FILE)\n";
      return 1;
    }
    break;
  }
  std::unique_ptr<qmir::Backend> backend;
  if (useBackend) {
    std::string name = BackendName;
    if (name.empty())
      name = bo.emit == qmir::EmitKind::Run ? "interp" : "llvm";
    backend = qmir::createBackend(name);
    if (!backend) {
      errs() << "qzc: error: unknown backend '" << name << "' (available:";
      for (const qmir::BackendInfo &b : qmir::registeredBackends())
        errs() << " " << b.name;
      errs() << ")\n";
      return 1;
    }
    if (!backend->supports(bo.emit)) {
      errs() << "qzc: error: backend '" << name << "' cannot produce "
             << (bo.emit == qmir::EmitKind::Run ? "a run" : "'" + qmir::emitKindName(bo.emit).str() + "' output")
             << (name == "interp" ? "; it only runs programs (--run)" : "") << "\n";
      return 1;
    }
  } else if (!BackendName.empty() && Emit != EmitKind::Ast && Emit != EmitKind::Mir) {
    errs() << "qzc: error: --backend needs --run, -o or --emit=llvm|asm|obj|exe\n";
    return 1;
  } else if (Emit == EmitKind::None) {
    errs() << "qzc: nothing to do: pass --run, -o FILE or --emit=ast|mir|llvm|asm|obj|exe\n";
    return 1;
  }

  auto bufOrErr = MemoryBuffer::getFileOrSTDIN(InputFile);
  if (!bufOrErr) {
    errs() << "qzc: error: cannot read '" << InputFile
           << "': " << bufOrErr.getError().message() << "\n";
    return 1;
  }
  SourceMgr sm;
  unsigned bufferId = sm.AddNewSourceBuffer(std::move(*bufOrErr), SMLoc());
  qmir::frontend::DiagEngine diags(sm, bufferId, errs());
  qmir::ast::AstContext ctx;
  qmir::ast::Module *ast = qmir::frontend::parseQuartz(ctx, diags);
  // Expansion, checking and lowering, one function at a time (the same
  // diagnostics and MIR as the phases one after another; frontend/Pipeline.h).
  std::unique_ptr<qmir::Module> mir;
  if (ast && diags.errorCount() == 0)
    mir = qmir::frontend::expandCheckAndLowerModule(ctx, *ast, diags);
  if (!ast || diags.errorCount() != 0 || !mir)
    return 1;

  if (Emit == EmitKind::Ast)
    return writeTextOutput([&](raw_ostream &os) { qmir::ast::dump(os, *ast); })
               ? 0
               : 1;

  std::vector<qmir::VerifierError> verrs;
  if (!qmir::verifyModule(*mir, &verrs)) {
    errs() << "qzc: internal error: lowering produced MIR that does not verify "
              "(this is a qmir bug; please report it with the input)\n";
    qmir::printVerifierErrors(errs(), verrs);
    return 70;
  }
  std::string pipelineError;
  if (Passes.getNumOccurrences()) {
    if (!qmir::runPipeline(*mir, Passes, pipelineError)) {
      errs() << "qzc: error: " << pipelineError << "\n";
      return 1;
    }
  } else if (!qmir::runOptimizationPipeline(*mir, OptLevel, pipelineError)) {
    errs() << "qzc: internal error: " << pipelineError << "\n";
    return 70;
  }

  if (Emit == EmitKind::Mir) {
    qmir::PrintOptions po;
    po.printLocs = PrintLocs;
    return writeTextOutput(
               [&](raw_ostream &os) { qmir::printModule(os, *mir, po); })
               ? 0
               : 1;
  }

  bo.optLevel = OptLevel;
  bo.debugInfo = DebugInfo;
  bo.targetTriple = Target;
  bo.outputPath = Output;
  qmir::BackendResult r = backend->compile(*mir, bo);
  outs().flush();
  switch (r.status) {
  case qmir::BackendResult::Ok:
    errs().flush();
    return bo.emit == qmir::EmitKind::Run ? r.exitStatus : 0;
  case qmir::BackendResult::Error:
    errs() << "qzc: error: " << r.message << "\n";
    return 1;
  case qmir::BackendResult::InternalError:
    errs() << "qzc: internal error: " << r.message << "\n";
    return 70;
  }
  return 70;
}
