// An out-of-tree qmir client: builds `sum(n) = 0 + 1 + ... + n-1` as a loop with
// block arguments through the Builder, verifies it, prints it, interprets it and
// checks the answer. Exit status 0 only if everything agrees, so the install
// test fails if any part of the installed package is missing or broken.
#include "mir/Builder.h"
#include "mir/Interpreter.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <vector>

using namespace qmir;

namespace {

// fn @sum(%n: i64) -> i64 {
// entry:            br loop(0, 0)
// loop(%i, %acc):   %c = icmp slt i64 %i, %n ; condbr %c, body, done
// body:             %acc2 = add %acc, %i ; %i2 = add %i, 1 ; br loop(%i2, %acc2)
// done:             ret %acc
// }
Function *buildSum(Module &m) {
  TypeContext &t = m.types();
  Function *f = m.createFunction("sum", t.function({t.i64()}, t.i64()));
  f->arg(0)->setName("n");
  Block *entry = f->createBlock("entry");
  Block *loop = f->createBlock("loop");
  Block *body = f->createBlock("body");
  Block *done = f->createBlock("done");
  BlockArg *i = loop->addArg(t.i64(), "i");
  BlockArg *acc = loop->addArg(t.i64(), "acc");

  Builder b(m);
  b.setInsertPoint(entry);
  b.br(loop, {b.i64(0), b.i64(0)});

  b.setInsertPoint(loop);
  Instruction *more = b.icmp(ICmpPred::SLT, i, f->arg(0));
  b.condBr(more, body, done);

  b.setInsertPoint(body);
  Instruction *acc2 = b.add(acc, i);
  Instruction *i2 = b.add(i, b.i64(1));
  b.br(loop, {i2, acc2});

  b.setInsertPoint(done);
  b.ret(acc);
  return f;
}

} // namespace

int main() {
  Module m;
  Function *sum = buildSum(m);

  std::vector<VerifierError> errors;
  if (!verifyModule(m, &errors)) {
    printVerifierErrors(llvm::errs(), errors);
    return 1;
  }
  printModule(llvm::outs(), m);
  llvm::outs().flush();

  Interpreter interp(m, llvm::outs(), llvm::errs());
  const int64_t n = 100;
  InterpResult r = interp.run(*sum, {n});
  if (r.kind != InterpResult::Returned) {
    llvm::errs() << "consumer: interpreting @sum failed: " << r.message << "\n";
    return 1;
  }
  const int64_t expected = n * (n - 1) / 2;
  llvm::outs() << "sum(" << n << ") = " << r.value << " ("
               << interp.instructionsExecuted() << " instructions)\n";
  if (r.value != expected) {
    llvm::errs() << "consumer: expected " << expected << ", got " << r.value
                 << "\n";
    return 1;
  }
  return 0;
}
