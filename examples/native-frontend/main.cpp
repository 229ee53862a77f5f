// A frontend that produces a native executable through the library: it builds
// MIR with the Builder API for
//
//   def collatz_steps(n: Int): Int      # steps of the Collatz sequence to 1
//     var steps = 0
//     while n != 1
//       n = if n % 2 == 0 then n / 2 else 3 * n + 1
//       steps += 1
//     end
//     return steps
//   end
//   def main(): Int
//     println(collatz_steps(27))        # 111
//     return 0
//   end
//
// verifies it, runs qmir's -O2 pipeline, and hands it to the `llvm` backend,
// which emits an object, links it with the qmir runtime and writes the
// executable. Usage: native-frontend-example [OUTPUT] (default ./collatz).
// Then run ./collatz: it prints 111.
#include "backend/Backend.h"
#include "backend/LLVMBackend.h"
#include "mir/Builder.h"
#include "mir/Printer.h"
#include "mir/Verifier.h"
#include "passes/Pipelines.h"

#include "llvm/Support/raw_ostream.h"

using namespace qmir;

int main(int argc, char **argv) {
  const char *output = argc > 1 ? argv[1] : "collatz";
  Module m;
  TypeContext &t = m.types();
  Builder b(m);
  m.addSourceFile("collatz.qz");

  // declare fn @qz_println_i64(i64) -> void   (a runtime function)
  Function *println = m.createFunction("qz_println_i64", t.function({t.i64()}, t.voidTy()));

  // fn @collatz_steps(%n: i64) -> i64, in SSA form with block arguments.
  Function *steps = m.createFunction("collatz_steps", t.function({t.i64()}, t.i64()));
  steps->arg(0)->setName("n");
  Block *entry = steps->createBlock("entry");
  Block *loop = steps->createBlock("loop");
  Block *body = steps->createBlock("body");
  Block *done = steps->createBlock("done");
  BlockArg *n = loop->addArg(t.i64(), "n");
  BlockArg *count = loop->addArg(t.i64(), "steps");

  b.setInsertPoint(entry);
  b.br(loop, {steps->arg(0), m.constI64(0)});

  b.setInsertPoint(loop);
  b.setLoc(m.addLoc({0, 3, 3}));
  Instruction *notOne = b.icmp(ICmpPred::NE, n, m.constI64(1));
  b.condBr(notOne, body, {}, done, {});

  b.setInsertPoint(body);
  b.setLoc(m.addLoc({0, 4, 5}));
  Instruction *rem = b.srem(n, m.constI64(2));
  Instruction *even = b.icmp(ICmpPred::EQ, rem, m.constI64(0));
  Instruction *half = b.sdiv(n, m.constI64(2));
  Instruction *tripled = b.add(b.mul(n, m.constI64(3)), m.constI64(1));
  Instruction *next = b.select(even, half, tripled);
  Instruction *more = b.add(count, m.constI64(1));
  b.br(loop, {next, more});

  b.setInsertPoint(done);
  b.ret(count);

  // fn @main() -> i64
  Function *mainFn = m.createFunction("main", t.function({}, t.i64()));
  b.setInsertPoint(mainFn->createBlock("entry"));
  b.setLoc(m.addLoc({0, 11, 3}));
  Instruction *r = b.call(steps, {m.constI64(27)});
  b.call(println, {r});
  b.ret(m.constI64(0));

  std::vector<VerifierError> errors;
  if (!verifyModule(m, &errors)) {
    printVerifierErrors(llvm::errs(), errors);
    return 1;
  }
  std::string pipelineError;
  if (!runOptimizationPipeline(m, 2, pipelineError)) {
    llvm::errs() << "error: " << pipelineError << "\n";
    return 1;
  }
  printModule(llvm::outs(), m);

  // Pick the backend by name, as qzc does.
  registerLLVMBackend();
  std::unique_ptr<Backend> backend = createBackend("llvm");
  BackendOptions opts;
  opts.emit = EmitKind::Executable;
  opts.optLevel = 2;
  opts.outputPath = output;
  BackendResult res = backend->compile(m, opts);
  if (!res.ok()) {
    llvm::errs() << "error: " << res.message << "\n";
    return 1;
  }
  llvm::outs() << "wrote " << output << "\n";
  return 0;
}
