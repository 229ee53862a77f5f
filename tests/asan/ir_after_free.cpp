// The IR cage under AddressSanitizer (built with -fsanitize=address from the
// IR's own sources, tests/CMakeLists.txt): reading an instruction after its
// body or module died must be reported, as it was when arenas gave their
// slabs back to malloc. Freed runs wait in the cage for reuse, poisoned; so
// do tails that an arena offered to others (IRArena::trim), and the part of
// a run an arena used when another arena still shares the run.
//
//   ir-cage-asan               builds, prints and frees IR: must run clean
//   ir-cage-asan read          reads an instruction of a dead module
//   ir-cage-asan read-shared   reads a dropped body whose run the next
//                              function's body shares (the parser's case)
//   ir-cage-asan read-tail     reads past a trimmed body, into the tail it
//                              offered
// Each read must be reported.
#include "mir/Builder.h"

#include <cstdio>
#include <cstring>
#include <string>

using namespace qmir;

namespace {
Function *addChain(Module &m, const std::string &name, int n) {
  TypeContext &t = m.types();
  Function *f = m.createFunction(name, t.function({t.i64()}, t.i64()));
  Builder b(m);
  b.setInsertPoint(f->createBlock("entry"));
  Value *v = f->arg(0);
  for (int i = 0; i < n; ++i)
    v = b.binary(Opcode::Add, v, m.constI64(i));
  b.ret(v);
  return f;
}

int reported(const char *what, unsigned n) {
  std::printf("%s: %u (AddressSanitizer said nothing)\n", what, n);
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const Instruction *dangling = nullptr;
  {
    Module m;
    Function *f = addChain(m, "f", 100);
    dangling = &f->entry()->back();
    std::printf("while alive: ret has %u operand(s)\n", dangling->numOperands());
    std::fflush(stdout); // AddressSanitizer's report ends the process
    if (!std::strcmp(mode, "read-shared")) {
      f->arena().trim();
      Function *g = addChain(m, "g", 100); // its body starts in f's run
      f->dropBody();
      std::printf("g is alive: %u\n", g->entry()->back().numOperands());
      std::fflush(stdout);
      volatile unsigned n = dangling->numOperands();
      return reported("after f's body was dropped", n);
    }
    if (!std::strcmp(mode, "read-tail")) {
      f->arena().trim();
      // The bytes right after the body's last objects are the offered tail.
      auto *past = reinterpret_cast<const volatile unsigned char *>(
          reinterpret_cast<uintptr_t>(dangling) + 256);
      return reported("past the trimmed body", *past);
    }
  }
  if (!std::strcmp(mode, "read")) {
    volatile unsigned n = dangling->numOperands();
    return reported("after the module died", n);
  }
  return 0;
}
