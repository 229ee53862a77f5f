// Unit tests for the IR cage (mir/Cage.h): 32-bit references between IR
// objects, copies of names that do not live in the IR, memory coming back when
// functions and modules die, several threads building IR at once, and a
// process whose address space is limited.
#include "mir/Builder.h"
#include "mir/Cage.h"
#include "mir/Parser.h"
#include "mir/Printer.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace qmir;

namespace {

std::unique_ptr<Module> parseText(const std::string &text) {
  llvm::SourceMgr sm;
  unsigned id = sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, "cage.mir"), llvm::SMLoc());
  return parseMIR(sm, id, llvm::errs());
}

std::string print(const Module &m) {
  std::string s;
  llvm::raw_string_ostream os(s);
  printModule(os, m);
  return s;
}

/// A function whose body sums its argument with a chain of `n` adds.
Function *addChain(Module &m, const std::string &name, unsigned n) {
  TypeContext &t = m.types();
  Function *f = m.createFunction(name, t.function({t.i64()}, t.i64()));
  Builder b(m);
  b.setInsertPoint(f->createBlock("entry"));
  Value *v = f->arg(0);
  for (unsigned i = 0; i < n; ++i)
    v = b.binary(Opcode::Add, v, m.constI64(i + 1));
  b.ret(v);
  return f;
}

size_t vmBytes() {
  // /proc/self/statm: total program size in pages first.
  unsigned long pages = 0;
  if (FILE *f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%lu", &pages) != 1)
      pages = 0;
    std::fclose(f);
  }
  return pages * 4096;
}

void limitAddressSpaceTo(size_t bytes) {
  struct rlimit lim;
  lim.rlim_cur = lim.rlim_max = bytes;
  setrlimit(RLIMIT_AS, &lim);
}

} // namespace

TEST(Cage, ReferencesRoundTripAndNullStaysNull) {
  Module m;
  const Type *i64 = m.types().i64();
  EXPECT_TRUE(cage::contains(i64));
  CPtr<const Type> ref = i64;
  EXPECT_EQ(ref.get(), i64);
  EXPECT_EQ(sizeof(ref), 4u);
  CPtr<const Type> none;
  EXPECT_EQ(none.get(), nullptr);
  none = nullptr;
  EXPECT_EQ(static_cast<const Type *>(none), nullptr);
}

TEST(CageDeathTest, AReferenceToAnObjectOutsideTheIRIsAnInternalError) {
  int onTheStack = 0;
  EXPECT_DEATH({ CPtr<int> r = &onTheStack; (void)r; },
               "an IR reference to 0x[0-9a-f]+, which is not an IR object");
}

TEST(Cage, NamesAndMessagesThatDoNotLiveInTheIRAreCopied) {
  Module m;
  Function *f = addChain(m, "f", 2);
  Instruction &add = f->entry()->front();
  {
    std::string temp = "short.lived";
    add.setName(temp);
    temp.assign(temp.size(), 'x'); // the caller's buffer changes, then goes
  }
  EXPECT_EQ(add.name(), "short.lived");
  // A literal is copied once and shared by everything named the same.
  f->arg(0)->setName("n");
  Function *g = addChain(m, "g", 1);
  g->arg(0)->setName("n");
  EXPECT_EQ(f->arg(0)->name().data(), g->arg(0)->name().data());
  // A name saved in the function's arena is used in place.
  llvm::StringRef saved = f->save("in.place");
  add.setName(saved);
  EXPECT_EQ(add.name().data(), saved.data());
  // A string in the IR but not at a 4-byte boundary cannot be referred to
  // by a CPtr; it is copied as well.
  add.setName(saved.drop_front(1));
  EXPECT_EQ(add.name(), "n.place");
  EXPECT_NE(add.name().data(), saved.data() + 1);
  // Blocks and panic messages go the same way.
  f->entry()->setName(std::string("start"));
  EXPECT_EQ(f->entry()->name(), "start");
  Block *bad = f->createBlock("bad");
  Builder b(m);
  b.setInsertPoint(bad);
  Instruction *p = b.panic("saved by the builder");
  p->setMessage(std::string("it went wrong"));
  EXPECT_EQ(p->message(), "it went wrong");
}

TEST(Cage, MemoryComesBackWhenBodiesAndModulesDie) {
  size_t before = cage::bytesInUse();
  size_t highBefore = cage::highWater();
  {
    Module m;
    std::vector<Function *> fns;
    for (unsigned i = 0; i < 50; ++i)
      fns.push_back(addChain(m, "f" + std::to_string(i), 400));
    size_t built = cage::bytesInUse();
    size_t grown = cage::highWater() - highBefore;
    EXPECT_GT(built, before + 50 * 400 * sizeof(Instruction));
    for (Function *f : fns)
      f->dropBody();
    // A declaration's name and arguments are in the module's arena.
    EXPECT_LT(cage::bytesInUse(), before + (built - before) / 4);
    // The slabs given back are what the next bodies are built from: the
    // cage hardly grows for them.
    for (unsigned i = 0; i < 50; ++i)
      addChain(m, "g" + std::to_string(i), 400);
    EXPECT_LE(cage::highWater() - highBefore, grown + grown / 4);
  }
  EXPECT_EQ(cage::bytesInUse(), before);
}

/// The 4 KiB page `p` is on.
uintptr_t pageOf(const void *p) { return reinterpret_cast<uintptr_t>(p) >> 12; }

TEST(Cage, AFinishedBodyLendsTheRestOfItsRunToTheNextFunction) {
  size_t before = cage::bytesInUse();
  {
    Module m;
    Function *f = addChain(m, "f", 10);
    Instruction *last = &f->entry()->back();
    f->arena().trim();
    size_t fHeld = f->arena().getTotalMemory();
    // g's body goes right after f's, in the run f's body ends in (a
    // function's name and arguments are in the module's arena).
    Function *g = addChain(m, "g", 10);
    auto gFirst = reinterpret_cast<uintptr_t>(g->entry());
    auto fLast = reinterpret_cast<uintptr_t>(last);
    EXPECT_GT(gFirst, fLast);
    EXPECT_LT(gFirst - fLast, size_t(256));
    EXPECT_LE(g->arena().getTotalMemory() + fHeld, size_t(16384));
    // f's body dies first: g's part of the run stays (under
    // AddressSanitizer, reading it after a wrong free would be reported).
    std::string gText = print(m).substr(print(m).find("fn @g("));
    f->dropBody();
    EXPECT_EQ(g->entry()->front().operand(1), m.constI64(1));
    EXPECT_EQ(print(m).substr(print(m).find("fn @g(")), gText);
  }
  // The last arena to let the run go frees it.
  EXPECT_EQ(cage::bytesInUse(), before);
}

TEST(Cage, TailsAreNotKeptOnceTheirFunctionIsGone) {
  size_t before = cage::bytesInUse();
  {
    Module m;
    for (unsigned i = 0; i < 40; ++i)
      addChain(m, "f" + std::to_string(i), 30)->arena().trim();
  }
  // The tails offered by the dead module's functions left with their pages.
  EXPECT_EQ(cage::bytesInUse(), before);
  // And no later arena borrows one: building and checking more IR works
  // (under AddressSanitizer, touching a freed tail would be reported).
  Module m2;
  Function *g = addChain(m2, "g", 50);
  EXPECT_EQ(g->instructionCount(), 51u);
}

TEST(Cage, SmallFunctionsShareTheirRuns) {
  // 200 functions of 10 instructions, each trimmed when done, as the parser
  // does: they take about as much memory as their objects, where a run
  // each would be 200 x 16 KiB.
  Module m;
  size_t before = cage::bytesInUse();
  size_t objects = 0, moduleBefore = m.arena().getBytesAllocated();
  for (unsigned i = 0; i < 200; ++i) {
    Function *f = addChain(m, "f" + std::to_string(i), 10);
    f->arena().trim();
    objects += f->arena().getBytesAllocated();
  }
  objects += m.arena().getBytesAllocated() - moduleBefore;
  size_t used = cage::bytesInUse() - before;
  // Slack: the module's and the last function's partly filled runs, and
  // alignment.
  EXPECT_LT(used, objects + objects / 8 + 2 * size_t(16384));
  EXPECT_LT(used, 200 * size_t(16384) / 8);
}

TEST(Cage, ABodyThatGrowsAfterItsTrimTakesLittle) {
  // A pass that adds an instruction to each of 2000 trimmed bodies: each
  // takes a small piece (256 bytes first), not a run of its own (which
  // would be 2000 x 16 KiB).
  Module m;
  std::vector<Function *> fns;
  for (unsigned i = 0; i < 2000; ++i) {
    fns.push_back(addChain(m, "f" + std::to_string(i), 10));
    fns.back()->arena().trim();
  }
  size_t before = cage::bytesInUse();
  Builder b(m);
  for (Function *f : fns) {
    b.setInsertPoint(f->entry()->terminator());
    b.binary(Opcode::Mul, f->arg(0), m.constI64(3));
  }
  EXPECT_LT(cage::bytesInUse() - before, 2000 * size_t(512));
  // Bodies that keep growing get bigger pieces, then whole runs again.
  Function *g = fns[0];
  b.setInsertPoint(g->entry()->terminator());
  for (unsigned i = 0; i < 5000; ++i)
    b.binary(Opcode::Mul, g->arg(0), m.constI64(i));
  EXPECT_EQ(g->instructionCount(), 5012u);
  EXPECT_LT(g->arena().getTotalMemory(),
            g->arena().getBytesAllocated() + (size_t(32) << 10));
}

TEST(Cage, LongLivedArenasDoNotBorrowTails) {
  // A module's arena that took a function's offered tail would keep that
  // function's whole run (16 KiB, aligned to its size) as long as the
  // module lives, even after the function's body is dropped.
  Module m;
  Function *f = addChain(m, "f", 10);
  uintptr_t fRun = reinterpret_cast<uintptr_t>(&f->entry()->back()) >> 14;
  f->arena().trim();
  Module keeper;
  void *kept = keeper.arena().Allocate(100, llvm::Align(4));
  EXPECT_NE(reinterpret_cast<uintptr_t>(kept) >> 14, fRun);
  // A function's arena does borrow it.
  Function *g = addChain(m, "g", 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g->entry()) >> 14, fRun);
}

TEST(Cage, AStringIsUsedInPlaceOnlyIfItIsARecord) {
  Module m;
  Function *f = addChain(m, "f", 1);
  // A saved string whose bytes look like a long record's header right
  // before the substring: the substring is copied, and read correctly.
  llvm::StringRef saved = f->save(llvm::StringRef("abc\xff\x02\0\0\0xyz", 11));
  llvm::StringRef inner = saved.substr(4, 2);
  Instruction &add = f->entry()->front();
  add.setName(inner);
  EXPECT_EQ(add.name(), inner);
  EXPECT_NE(add.name().data(), inner.data());
  // A record's own text is used in place, short or long.
  add.setName(saved);
  EXPECT_EQ(add.name().data(), saved.data());
  llvm::StringRef big = f->save(std::string(300, 'q'));
  add.setName(big);
  EXPECT_EQ(add.name().data(), big.data());
  EXPECT_EQ(add.name().size(), 300u);
}

TEST(Cage, ThreadsBuildAndFreeIRAtOnce) {
  const std::string text = "fn @f(%x: i64) -> i64 {\n"
                           "entry:\n"
                           "  %a = add i64 %x, 1\n"
                           "  %b = mul i64 %a, %a\n"
                           "  ret %b\n"
                           "}\n";
  std::string expected = print(*parseText(text));
  // Copies of names given as temporaries live as long as the process: make
  // them before counting.
  for (int k = 0; k < 7; ++k)
    cage::intern("v" + std::to_string(k));
  size_t before = cage::bytesInUse();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 1000; ++round) {
        // Names given as temporaries, new to the process: the interning
        // table is shared by the threads as well.
        cage::intern("t" + std::to_string(t) + "." + std::to_string(round));
        std::unique_ptr<Module> m = parseText(text);
        if (!m) {
          ++failures[t];
          continue;
        }
        addChain(*m, "chain" + std::to_string(t), 100)->arg(0)->setName(
            "v" + std::to_string(round % 7));
        m->eraseFunction(m->function("chain" + std::to_string(t)));
        if (print(*m) != expected)
          ++failures[t];
      }
    });
  for (std::thread &th : threads)
    th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
  for (int t = 0; t < 4; ++t)
    for (int round = 0; round < 1000; round += 97) {
      std::string s = "t" + std::to_string(t) + "." + std::to_string(round);
      EXPECT_EQ(cage::intern(s), s);
    }
  // Only the interned copies (which live as long as the process) remain.
  EXPECT_LE(cage::bytesInUse(), before + (size_t(64) << 10));
}

TEST(Cage, BlocksGrowTheirParameterListsInTheArena) {
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({}, t.voidTy()));
  Block *entry = f->createBlock("entry");
  Block *b = f->createBlock("b");
  for (unsigned i = 0; i < 37; ++i)
    b->addArg(t.i64(), "p" + std::to_string(i));
  ASSERT_EQ(b->numArgs(), 37u);
  b->eraseArg(0);
  b->eraseArg(35);
  ASSERT_EQ(b->numArgs(), 35u);
  for (unsigned i = 0; i < 35; ++i) {
    EXPECT_EQ(b->arg(i)->index(), i);
    EXPECT_EQ(b->arg(i)->name(), "p" + std::to_string(i + 1));
    EXPECT_EQ(b->args()[i], b->arg(i));
  }
  (void)entry;
}

// Each statement below runs in a freshly started copy of this test binary
// (the "threadsafe" death-test style), where the cage is not reserved yet.
TEST(CageDeathTest, ALimitedAddressSpaceGetsASmallerCage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        limitAddressSpaceTo(vmBytes() + (size_t(3) << 30));
        Module m;
        addChain(m, "f", 1000);
        bool ok = cage::reserved >= (size_t(1400) << 20) &&
                  cage::reserved <= (size_t(1536) << 20) &&
                  m.function("f")->instructionCount() == 1001;
        std::fprintf(stderr, "cage of %zu MiB\n", cage::reserved >> 20);
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "cage of [0-9]+ MiB");
}

// The cage takes half of the address space left, so the rest of the program
// (malloc: side tables, passes, LLVM) still has room under a tight ulimit -v.
TEST(CageDeathTest, ALimitedAddressSpaceLeavesRoomForMalloc) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        limitAddressSpaceTo(vmBytes() + (size_t(400) << 20));
        Module m;
        for (unsigned i = 0; i < 100; ++i)
          addChain(m, "f" + std::to_string(i), 1000);
        std::vector<std::unique_ptr<char[]>> blocks;
        for (unsigned i = 0; i < 150; ++i) {
          blocks.emplace_back(new (std::nothrow) char[1 << 20]);
          if (!blocks.back())
            std::exit(2);
        }
        std::fprintf(stderr, "cage of %zu MiB, 150 MiB of malloc\n",
                     cage::reserved >> 20);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "cage of (19[0-9]|200) MiB, 150 MiB of malloc");
}

TEST(CageDeathTest, NoAddressSpaceForTheIRIsAnOutOfMemoryError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        limitAddressSpaceTo(vmBytes() + (size_t(8) << 20));
        Module m;
        std::exit(0);
      },
      ::testing::ExitedWithCode(70),
      "qmir: out of IR memory: cannot reserve address space for the IR");
}

// Erasing a function with a body unlinks its operands from the constants'
// use lists: the arena that held them is recycled at once.
TEST(Cage, ErasingAFunctionWithABodyLeavesNoUsesBehind) {
  Module m;
  ConstInt *one = m.constI64(1);
  Function *keep = addChain(m, "keep", 1);
  Function *gone = addChain(m, "gone", 50);
  ASSERT_EQ(one->numUses(), 2u);
  m.eraseFunction(gone);
  ASSERT_EQ(one->numUses(), 1u);
  EXPECT_EQ(one->uses().begin()->user()->function(), keep);
  // Whatever reuses the memory, the use list stays intact.
  Module other;
  for (unsigned i = 0; i < 20; ++i)
    addChain(other, "f" + std::to_string(i), 50);
  EXPECT_EQ(one->numUses(), 1u);
  EXPECT_EQ(one->uses().begin()->user()->function(), keep);
}

TEST(CageDeathTest, SettingAFieldAnOpcodeUsesForSomethingElseIsFatal) {
  Module m;
  Function *f = addChain(m, "f", 1);
  Instruction *ret = f->entry()->terminator();
  Builder b(m);
  b.setInsertPoint(ret);
  Block *next = f->createBlock("next");
  Instruction *br = b.br(next, {});
  Instruction *slot = b.alloc(m.types().i64());
  EXPECT_DEATH(br->setAuxType(m.types().i64()),
               "setAuxType on 'br', which keeps something else in that field");
  EXPECT_DEATH(br->setCallee(f), "setCallee on 'br'");
  EXPECT_DEATH(br->setMessage("no"), "setMessage on 'br'");
  EXPECT_DEATH(slot->setVariantIndex(2), "setVariantIndex on 'alloca'");
  EXPECT_DEATH(br->setBinding(1), "only arguments, block arguments, alloca and dbg");
  // Arithmetic has no auxiliary words at all.
  Instruction *add = &f->entry()->front();
  EXPECT_DEATH(add->setFieldIndex(1), "setFieldIndex on 'add'");
  EXPECT_DEATH(add->setAuxType(m.types().i64()), "setAuxType on 'add'");
  EXPECT_DEATH(add->setPredicate(ICmpPred::SLT), "setPredicate on 'add'");
  // Zero is what these opcodes have anyway: generic cloning code copies it.
  slot->setVariantIndex(0);
  br->setBinding(0);
  add->setFieldIndex(0);
  add->setAuxType(nullptr);
  EXPECT_EQ(br->successor(0), next);
  EXPECT_EQ(add->fieldIndex(), 0u);
  EXPECT_EQ(add->auxType(), nullptr);
}

TEST(CageDeathTest, ModulesWithoutLocationsHaveNoRoomForThem) {
  // Text without locations parses into instructions without room for one.
  std::unique_ptr<Module> plain = parseText("fn @f(%x: i64) -> i64 {\n"
                                            "entry:\n"
                                            "  %a = add i64 %x, 1\n"
                                            "  ret %a\n"
                                            "}\n");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->recordsLocations());
  Instruction &add = plain->function("f")->entry()->front();
  EXPECT_EQ(add.loc(), 0u);
  add.setLoc(0); // what generic cloning code copies
  LocId loc = plain->addLoc({0, 1, 1});
  EXPECT_DEATH(add.setLoc(loc), "setLoc on 'add', which was created without "
                                "room for a location");
  // Its first location made the module record them: instructions made
  // from then on have room.
  EXPECT_TRUE(plain->recordsLocations());
  Builder b(*plain);
  b.setInsertPoint(&add);
  Instruction *mul = b.binary(Opcode::Mul, plain->function("f")->arg(0),
                              plain->constI64(2));
  mul->setLoc(loc);
  EXPECT_EQ(mul->loc(), loc);
  // Text with locations keeps them.
  std::unique_ptr<Module> located = parseText("fn @g(%x: i64) -> i64 {\n"
                                              "entry:\n"
                                              "  ret %x !7:3\n"
                                              "}\n");
  ASSERT_TRUE(located);
  EXPECT_TRUE(located->recordsLocations());
  EXPECT_EQ(located->loc(located->function("g")->entry()->front().loc()).line,
            7u);
}

TEST(Cage, InstructionsWithTensOfThousandsOfOperands) {
  // The operand count lives in 16 bits of the instruction up to 65534, and
  // in a word after it (or in the edge array) beyond.
  Module m;
  TypeContext &t = m.types();
  Function *f = m.createFunction("f", t.function({t.i64()}, t.voidTy()));
  Block *entry = f->createBlock("entry");
  Block *sink = f->createBlock("sink");
  for (unsigned n : {65534u, 65535u, 70000u}) {
    std::vector<Value *> ops(n, f->arg(0));
    ops[n - 1] = m.constI64(n);
    Instruction *mk = f->createInst(Opcode::StructMake, t.ptr(), ops);
    entry->append(mk);
    mk->setAuxType(t.i64()); // the word before the count
    LocId here = m.addLoc({0, n, 1});
    mk->setLoc(here); // the word after the count
    EXPECT_EQ(mk->loc(), here);
    EXPECT_EQ(mk->numOperands(), n);
    EXPECT_EQ(mk->operand(n - 1), m.constI64(n));
    EXPECT_EQ(mk->operandUse(n - 1).operandNo(), n - 1);
    EXPECT_EQ(mk->operandUse(n - 1).user(), mk);
    EXPECT_EQ(mk->auxType(), t.i64());
    mk->eraseFromParent();
    EXPECT_FALSE(m.constI64(n)->hasUses());
  }
  EXPECT_FALSE(f->arg(0)->hasUses());
  // An edge that passes 70,000 values.
  for (unsigned k = 0; k < 70000; ++k)
    sink->addArg(t.i64());
  Instruction *br = f->createInst(Opcode::Br, t.voidTy(), {}, 1);
  entry->append(br);
  br->successors()[0].block = sink;
  std::vector<Value *> args(70000, f->arg(0));
  br->setSuccessorArgs(0, args);
  EXPECT_EQ(br->numOperands(), 70000u);
  EXPECT_EQ(br->successors()[0].numArgs, 70000u);
  EXPECT_EQ(br->operandUse(69999).operandNo(), 69999u);
  EXPECT_EQ(f->arg(0)->numUses(), 70000u);
}
