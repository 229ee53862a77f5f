// Small helpers shared by the unit tests: parse MIR text (failing the test on
// a parse error), and a gtest assertion that a module verifies (printing the
// verifier's errors and the module when it does not).
#pragma once

#include "mir/Parser.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"

#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace qmir::testing {

/// Parses `text`; a parse error fails the current test (and returns null).
inline std::unique_ptr<Module> parseOrFail(llvm::StringRef text,
                                           llvm::StringRef name = "<string>") {
  std::string errors;
  llvm::raw_string_ostream os(errors);
  auto m = parseMIRString(text, os, name);
  EXPECT_TRUE(m) << errors;
  return m;
}

/// `EXPECT_TRUE(verifies(m))`: on failure, shows the errors and the module.
inline ::testing::AssertionResult verifies(const Module &m) {
  std::vector<VerifierError> errors;
  if (verifyModule(m, &errors))
    return ::testing::AssertionSuccess();
  std::string s;
  llvm::raw_string_ostream os(s);
  printVerifierErrors(os, errors);
  return ::testing::AssertionFailure() << s << moduleToString(m);
}

} // namespace qmir::testing
