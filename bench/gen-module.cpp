// qmir-gen-module: writes the benchmark module (GenModule.h) as MIR or LLVM IR,
// so the same program can be fed to mir-opt, qmir-bench, `opt` and `lli`.
#include "GenModule.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("qmir-gen-module options");
static cl::opt<std::string> formatOpt("format", cl::desc("Output language: mir or ll"),
                                   cl::init("mir"), cl::cat(category));
static cl::opt<uint64_t> instructionsOpt(
    "instructions", cl::desc("Approximate number of instructions (default 1000000)"),
    cl::init(1000000), cl::cat(category));
static cl::opt<uint64_t> iterations(
    "main-iterations", cl::desc("Iterations of @main's loop (default 20)"),
    cl::init(20), cl::cat(category));
static cl::opt<bool> locations("locations",
                               cl::desc("Put source locations on MIR instructions"),
                               cl::cat(category));
static cl::opt<unsigned> largeFunctions(
    "large-functions",
    cl::desc("How many functions get instructions/25 instructions (default 3)"),
    cl::init(3));
static cl::opt<uint64_t> seed("seed", cl::desc("Random seed"),
                              cl::init(0x9e3779b97f4a7c15ull), cl::cat(category));
static cl::opt<std::string> output("o", cl::desc("Output file (default: stdout)"),
                                   cl::value_desc("file"), cl::init("-"),
                                   cl::cat(category));

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "generate a frontend-style benchmark module\n");
  qmir::bench::GenOptions opts;
  if (formatOpt == "mir") {
    opts.format = qmir::bench::GenFormat::MIR;
  } else if (formatOpt == "ll") {
    opts.format = qmir::bench::GenFormat::LLVM;
  } else {
    errs() << "qmir-gen-module: unknown --format '" << formatOpt
           << "' (expected mir or ll)\n";
    return 1;
  }
  if (instructionsOpt == 0) {
    errs() << "qmir-gen-module: --instructions must be positive\n";
    return 1;
  }
  opts.instructions = instructionsOpt;
  opts.mainIterations = iterations;
  opts.locations = locations;
  opts.seed = seed;
  opts.largeFunctions = largeFunctions;
  qmir::bench::GenResult r = qmir::bench::generateModule(opts);

  std::error_code ec;
  raw_fd_ostream os(output, ec, sys::fs::OF_None);
  if (ec) {
    errs() << "qmir-gen-module: cannot open '" << output << "': " << ec.message()
           << "\n";
    return 1;
  }
  os << r.text;
  os.close();
  if (os.has_error()) {
    errs() << "qmir-gen-module: error writing '" << output << "'\n";
    os.clear_error();
    return 1;
  }
  errs() << "qmir-gen-module: " << r.functions << " functions, " << r.instructions
         << " instructions, " << r.text.size() << " bytes\n";
  return 0;
}
