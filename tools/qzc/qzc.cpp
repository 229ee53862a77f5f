// qzc: the Quartz core compiler driver. Reads a .qz file, parses it, expands
// its macros, checks it, lowers it to MIR, optimises it, and then prints the
// AST or the MIR, or runs `main` in the reference interpreter.
#include "frontend/Diagnostics.h"
#include "frontend/Macros.h"
#include "frontend/Parser.h"
#include "frontend/Sema.h"
#include "lowering/Lower.h"
#include "mir/Interpreter.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/Pipelines.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>

using namespace llvm;

static cl::OptionCategory QzcCat("qzc options");
static cl::opt<std::string> InputFile(cl::Positional, cl::desc("<file.qz>"),
                                      cl::Required, cl::cat(QzcCat));
enum class EmitKind { None, Ast, Mir };
static cl::opt<EmitKind> Emit(
    "emit", cl::desc("What to print instead of running"), cl::init(EmitKind::None),
    cl::values(clEnumValN(EmitKind::Ast, "ast", "the checked AST, macros expanded"),
               clEnumValN(EmitKind::Mir, "mir", "the MIR after the -O pipeline")),
    cl::cat(QzcCat));
static cl::opt<bool> Run("run", cl::desc("Interpret main and exit with its result"),
                         cl::cat(QzcCat));
static cl::opt<unsigned> OptLevel(
    "O", cl::desc("Optimization level: -O0 (default), -O1, -O2"), cl::Prefix,
    cl::init(0), cl::cat(QzcCat));
static cl::opt<bool> PrintLocs("print-locs",
                               cl::desc("Print source locations in --emit=mir"),
                               cl::cat(QzcCat));
static cl::opt<std::string> Output("o", cl::desc("Output file (native code)"),
                                   cl::value_desc("file"), cl::cat(QzcCat));

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(QzcCat);
  cl::ParseCommandLineOptions(argc, argv, "qzc: the Quartz core compiler\n");
  if (OptLevel > 2) {
    errs() << "qzc: error: optimization level must be 0, 1 or 2\n";
    return 1;
  }
  if (!Output.empty()) {
    errs() << "qzc: error: -o needs a native backend, which this build does not "
              "have yet; use --run or --emit=mir\n";
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
  if (ast && diags.errorCount() == 0)
    qmir::frontend::expandMacros(ctx, *ast, diags);
  if (ast && diags.errorCount() == 0)
    qmir::frontend::checkModule(ctx, *ast, diags);
  if (!ast || diags.errorCount() != 0)
    return 1;

  if (Emit == EmitKind::Ast) {
    qmir::ast::dump(outs(), *ast);
    return 0;
  }

  std::unique_ptr<qmir::Module> mir = qmir::lowerToMIR(*ast, ctx);
  std::vector<qmir::VerifierError> verrs;
  if (!qmir::verifyModule(*mir, &verrs)) {
    errs() << "qzc: internal error: lowering produced MIR that does not verify "
              "(this is a qmir bug; please report it with the input)\n";
    qmir::printVerifierErrors(errs(), verrs);
    return 70;
  }
  std::string pipelineError;
  if (!qmir::runOptimizationPipeline(*mir, OptLevel, pipelineError)) {
    errs() << "qzc: internal error: " << pipelineError << "\n";
    return 70;
  }

  if (Emit == EmitKind::Mir) {
    qmir::PrintOptions po;
    po.printLocs = PrintLocs;
    qmir::printModule(outs(), *mir, po);
    return 0;
  }
  if (Run) {
    int status = qmir::runMain(*mir, outs(), errs());
    outs().flush();
    errs().flush();
    return status;
  }
  errs() << "qzc: nothing to do: pass --run, --emit=ast or --emit=mir\n";
  return 1;
}
