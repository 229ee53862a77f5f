// IR dumps and per-pass verification, as PassInstrumentations.
#include "passes/Instrumentation.h"

#include "mir/Verifier.h"

#include <algorithm>

using namespace llvm;

namespace qmir {

/// `@name`, quoted the way the printer quotes names that are not identifiers.
static void printFunctionName(raw_ostream &os, const Function &f) {
  os << '@';
  if (isIdentifier(f.name()))
    os << f.name();
  else
    printQuoted(os, f.name());
}

static bool contains(const std::vector<std::string> &v, StringRef s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool PrintIRInstrumentation::wantsFunction(const Function &f) const {
  return opts_.functions.matches(f.name());
}

void PrintIRInstrumentation::dump(StringRef when, const PassRunInfo &info) {
  if (info.function) {
    if (!wantsFunction(*info.function))
      return;
    os_ << "*** IR Dump " << when << ' ' << info.passName() << " on ";
    printFunctionName(os_, *info.function);
    os_ << " ***\n";
    if (opts_.moduleScope)
      printModule(os_, info.module, opts_.print);
    else
      printFunction(os_, *info.function, opts_.print);
    os_.flush();
    return;
  }
  os_ << "*** IR Dump " << when << ' ' << info.passName() << " on [module] ***\n";
  if (opts_.functions.empty() || opts_.moduleScope) {
    printModule(os_, info.module, opts_.print);
  } else {
    for (const Function &f : info.module.functions())
      if (wantsFunction(f))
        printFunction(os_, f, opts_.print);
  }
  os_.flush();
}

void PrintIRInstrumentation::beforePass(const PassRunInfo &info) {
  if (opts_.beforeAll || contains(opts_.before, info.passName()))
    dump("Before", info);
}

bool PrintIRInstrumentation::afterPass(const PassRunInfo &info,
                                       const PreservedAnalyses &) {
  if (opts_.afterAll || contains(opts_.after, info.passName()))
    dump("After", info);
  return true;
}

bool VerifyInstrumentation::afterPass(const PassRunInfo &info,
                                      const PreservedAnalyses &) {
  std::vector<VerifierError> errors;
  bool ok = info.function ? verifyFunction(*info.function, &errors)
                          : verifyModule(info.module, &errors);
  if (ok)
    return true;
  failed_ = true;
  errs_ << "error: the IR is invalid after pass '" << info.passName() << "'";
  if (info.function) {
    errs_ << " on function ";
    printFunctionName(errs_, *info.function);
  }
  errs_ << " (pass application #" << info.index << ")\n";
  printVerifierErrors(errs_, errors);
  errs_.flush();
  return false;
}

} // namespace qmir
