// The IR cage under AddressSanitizer (built with -fsanitize=address from the
// IR's own sources, tests/CMakeLists.txt): reading an instruction after its
// module died must be reported, as it was when arenas gave their slabs back
// to malloc. Freed slabs wait in the cage for reuse, poisoned.
//
//   ir-cage-asan        builds, prints and frees a module: must run clean
//   ir-cage-asan read   then reads an instruction of it: must be reported
#include "mir/Builder.h"

#include <cstdio>
#include <cstring>

using namespace qmir;

int main(int argc, char **argv) {
  const Instruction *dangling = nullptr;
  {
    Module m;
    TypeContext &t = m.types();
    Function *f = m.createFunction("f", t.function({t.i64()}, t.i64()));
    Builder b(m);
    b.setInsertPoint(f->createBlock("entry"));
    Value *v = f->arg(0);
    for (int i = 0; i < 100; ++i)
      v = b.binary(Opcode::Add, v, m.constI64(i));
    b.ret(v);
    dangling = &f->entry()->back();
    std::printf("while alive: ret has %u operand(s)\n", dangling->numOperands());
  }
  if (argc > 1 && std::strcmp(argv[1], "read") == 0) {
    volatile unsigned n = dangling->numOperands();
    std::printf("after the module died: %u (AddressSanitizer said nothing)\n", n);
    return 1;
  }
  return 0;
}
