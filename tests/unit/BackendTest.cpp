// Unit tests for the backend interface and the two backends: the registry
// (by name, duplicates refused, a third backend plugs in without touching the
// others), verification before code generation, and differential tests that
// run MIR programs covering every instruction (division edge cases, shifts at
// and beyond the width, narrow integers, structs in memory, enums with mixed
// payloads, nested match, switch and condbr edges with arguments, panics) in
// the interpreter and as native executables at -O0 and -O2, and demand the
// same stdout, stderr and exit status.
#include "backend/Backend.h"
#include "backend/LLVMBackend.h"
#include "mir/Interpreter.h"
#include "mir/Parser.h"
#include "tests/support/RandomMIR.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <gmock/gmock.h>
#include "tests/support/TestUtil.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

using namespace qmir;
using ::testing::HasSubstr;

namespace {

struct Registered {
  Registered() {
    registerInterpBackend();
    registerLLVMBackend();
  }
};
Registered registered;

std::unique_ptr<Module> parse(llvm::StringRef text) {
  return qmir::testing::parseOrFail(text, "t.mir");
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

RunResult runInterp(const Module &m) {
  RunResult r;
  llvm::raw_string_ostream out(r.out), err(r.err);
  r.status = runMain(m, out, err);
  return r;
}

std::string slurp(llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().str() : std::string("<unreadable>");
}

RunResult runNative(const Module &m, unsigned level, std::string *compileError = nullptr) {
  RunResult r;
  llvm::SmallString<128> exe, outPath, errPath;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("backend-test", "exe", exe));
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("backend-test", "out", outPath));
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("backend-test", "err", errPath));
  llvm::FileRemover r1(exe), r2(outPath), r3(errPath);
  auto be = createBackend("llvm");
  BackendOptions o;
  o.emit = EmitKind::Executable;
  o.optLevel = level;
  o.outputPath = std::string(exe);
  BackendResult br = be->compile(m, o);
  if (!br.ok()) {
    if (compileError)
      *compileError = br.message;
    else
      ADD_FAILURE() << "compile failed: " << br.message;
    return r;
  }
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(outPath),
                                                llvm::StringRef(errPath)};
  llvm::StringRef argv[] = {exe};
  std::string msg;
  r.status = llvm::sys::ExecuteAndWait(exe, argv, std::nullopt, redirects, 30, 0, &msg);
  // ExecuteAndWait reports exit statuses 126 and 127 as -1 with a message.
  if (r.status == -1 && msg.find("could not be executed") != std::string::npos)
    r.status = 126;
  else if (r.status == -1 && msg.find("No such file or directory") != std::string::npos)
    r.status = 127;
  r.out = slurp(outPath);
  r.err = slurp(errPath);
  return r;
}

void expectAgree(llvm::StringRef text) {
  auto m = parse(text);
  ASSERT_TRUE(m);
  RunResult ref = runInterp(*m);
  ASSERT_NE(ref.status, 70) << "the interpreter trapped: " << ref.err;
  for (unsigned level : {0u, 2u}) {
    RunResult nat = runNative(*m, level);
    EXPECT_EQ(nat.status, ref.status) << "-O" << level;
    EXPECT_EQ(nat.out, ref.out) << "-O" << level;
    EXPECT_EQ(nat.err, ref.err) << "-O" << level;
  }
}

TEST(BackendRegistry, NamesAndFactories) {
  auto names = registeredBackends();
  std::vector<std::string> got;
  for (auto &b : names)
    got.push_back(b.name);
  EXPECT_NE(std::find(got.begin(), got.end(), "interp"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "llvm"), got.end());
  EXPECT_EQ(createBackend("no-such-backend"), nullptr);
  auto llvmBe = createBackend("llvm");
  ASSERT_TRUE(llvmBe);
  EXPECT_EQ(llvmBe->name(), "llvm");
  auto interp = createBackend("interp");
  ASSERT_TRUE(interp);
  EXPECT_TRUE(interp->supports(EmitKind::Run));
  EXPECT_FALSE(interp->supports(EmitKind::Executable));
  // Registering the same name twice is refused; registering is idempotent.
  EXPECT_FALSE(registerBackend("llvm", "dup", [] { return createBackend("interp"); }));
}

// A third backend plugs in by name without touching the others.
class CountingBackend final : public Backend {
public:
  llvm::StringRef name() const override { return "count"; }
  bool supports(EmitKind k) const override { return k == EmitKind::LLVMIR; }

protected:
  BackendResult emit(const Module &m, const BackendOptions &o) override {
    unsigned n = 0;
    for (const Function &f : m.functions())
      n += !f.isDeclaration();
    *o.out << n << " functions\n";
    return {};
  }
};

TEST(BackendRegistry, ThirdBackendPlugsIn) {
  EXPECT_TRUE(registerBackend("count", "counts functions",
                              [] { return std::make_unique<CountingBackend>(); }));
  auto be = createBackend("count");
  ASSERT_TRUE(be);
  auto m = parse("fn @main() -> i64 {\nentry:\n  ret 0\n}\n");
  std::string text;
  llvm::raw_string_ostream os(text);
  BackendOptions o;
  o.emit = EmitKind::LLVMIR;
  o.out = &os;
  EXPECT_TRUE(be->compile(*m, o).ok());
  EXPECT_EQ(text, "1 functions\n");
  o.emit = EmitKind::Object;
  BackendResult r = be->compile(*m, o);
  EXPECT_EQ(r.status, BackendResult::Error);
  EXPECT_THAT(r.message, HasSubstr("cannot produce 'obj'"));
}

TEST(BackendCompile, VerifierRunsFirst) {
  // A block without a terminator: built directly, the parser would refuse it.
  Module m;
  Function *f = m.createFunction("main", m.types().function({}, m.types().i64()));
  f->createBlock("entry");
  for (const char *name : {"llvm", "interp"}) {
    auto be = createBackend(name);
    BackendOptions o;
    o.emit = std::string(name) == "llvm" ? EmitKind::LLVMIR : EmitKind::Run;
    BackendResult r = be->compile(m, o);
    EXPECT_EQ(r.status, BackendResult::Error) << name;
    EXPECT_THAT(r.message, HasSubstr("does not verify")) << name;
  }
}

TEST(BackendCompile, WrongRuntimeSignatureIsAnError) {
  auto m = parse(R"(
declare fn @qz_println_i64(i32) -> void
fn @main() -> i64 {
entry:
  call @qz_println_i64(1)
  ret 0
}
)");
  auto be = createBackend("llvm");
  BackendOptions o;
  o.emit = EmitKind::LLVMIR;
  std::string text;
  llvm::raw_string_ostream os(text);
  o.out = &os;
  BackendResult r = be->compile(*m, o);
  EXPECT_EQ(r.status, BackendResult::Error);
  EXPECT_THAT(r.message, HasSubstr("native runtime has fn(i64) -> void"));
}

TEST(BackendLLVM, EmitsIRWithChecksAndLayout) {
  auto m = parse(R"(
type Mixed = enum { A(i1, i64), B(i32), C }
fn @div(%a: i64, %b: i64) -> i64 {
entry:
  %q = sdiv i64 %a, %b !3:7
  ret %q
}
fn @mk(%x: i64) -> Mixed {
entry:
  %e = enum.make Mixed A(true, %x)
  ret %e
}
fn @main() -> i64 {
entry:
  ret 0
}
)");
  auto be = createBackend("llvm");
  BackendOptions o;
  o.emit = EmitKind::LLVMIR;
  std::string text;
  llvm::raw_string_ostream os(text);
  o.out = &os;
  ASSERT_TRUE(be->compile(*m, o).ok());
  EXPECT_THAT(text, HasSubstr("%Mixed = type { i32, [2 x i64] }"));
  EXPECT_THAT(text, HasSubstr("call void @qz_panic_at("));
  EXPECT_THAT(text, HasSubstr("define i32 @main()"));
  EXPECT_THAT(text, HasSubstr("call void @qz_flush()"));
  EXPECT_THAT(text, HasSubstr("declare void @qz_panic_at(ptr, ptr, i64, i64)"));
}

TEST(BackendDifferential, DivisionEdgeCases) {
  expectAgree(R"(
declare fn @qz_println_i64(i64) -> void
fn @div(%a: i64, %b: i64) -> i64 {
entry:
  %q = sdiv i64 %a, %b
  ret %q
}
fn @rem(%a: i64, %b: i64) -> i64 {
entry:
  %q = srem i64 %a, %b
  ret %q
}
fn @div8(%a: i8, %b: i8) -> i8 {
entry:
  %q = sdiv i8 %a, %b
  ret %q
}
fn @main() -> i64 {
entry:
  %0 = call @div(-9223372036854775808, -1)
  call @qz_println_i64(%0)
  %1 = call @rem(-9223372036854775808, -1)
  call @qz_println_i64(%1)
  %2 = call @div(-7, 2)
  call @qz_println_i64(%2)
  %3 = call @rem(-7, 2)
  call @qz_println_i64(%3)
  %4 = call @div8(-128, -1)
  %5 = sext i8 %4 to i64
  call @qz_println_i64(%5)
  %6 = udiv i64 -1, 3
  call @qz_println_i64(%6)
  %7 = urem i64 -1, 10
  call @qz_println_i64(%7)
  ret 0
}
)");
}

TEST(BackendDifferential, DivisionByZeroPanicsWithLocation) {
  expectAgree(R"(
source "prog.qz"
declare fn @qz_println_i64(i64) -> void
fn @div(%a: i64, %b: i64) -> i64 {
entry:
  %q = urem i64 %a, %b !12:9
  ret %q
}
fn @main() -> i64 {
entry:
  call @qz_println_i64(5)
  %0 = call @div(1, 0)
  ret %0
}
)");
}

TEST(BackendDifferential, ShiftsAndNarrowIntegers) {
  expectAgree(R"(
declare fn @qz_println_i64(i64) -> void
declare fn @qz_println_bool(i1) -> void
fn @sh(%a: i64, %n: i64) -> i64 {
entry:
  %0 = shl i64 %a, %n
  %1 = lshr i64 %a, %n
  %2 = ashr i64 %a, %n
  %3 = xor i64 %0, %1
  %4 = add i64 %3, %2
  ret %4
}
fn @main() -> i64 {
entry:
  %0 = call @sh(-5, 65)
  call @qz_println_i64(%0)
  %1 = call @sh(12345, 64)
  call @qz_println_i64(%1)
  %2 = trunc i64 300 to i8
  %3 = add i8 %2, 250
  %4 = sext i8 %3 to i64
  call @qz_println_i64(%4)
  %5 = zext i8 %3 to i64
  call @qz_println_i64(%5)
  %6 = trunc i64 -1 to i32
  %7 = mul i32 %6, 2147483647
  %8 = zext i32 %7 to i64
  call @qz_println_i64(%8)
  %9 = shl i32 1, 33
  %10 = sext i32 %9 to i64
  call @qz_println_i64(%10)
  %11 = icmp ult i64 -1, 1
  call @qz_println_bool(%11)
  %12 = xor i1 %11, true
  call @qz_println_bool(%12)
  %13 = select %12, i64 7, 8
  call @qz_println_i64(%13)
  %14 = add i1 true, true
  call @qz_println_bool(%14)
  ret 300
}
)");
}

TEST(BackendDifferential, StructsInMemoryAndZeroedAllocas) {
  expectAgree(R"(
declare fn @qz_println_i64(i64) -> void
type Pt = {i64, i32, i1}
type Line = {Pt, Pt}
fn @main() -> i64 {
entry:
  %l = alloca Line
  %a = struct.addr Line %l, 1
  %x = struct.addr Pt %a, 0
  store i64 41, %x
  %p = struct.make Pt (1, 2, true)
  %q = struct.insert Pt %p, 0, 40
  %l2 = load Line, %l
  %r = struct.insert Line %l2, 0, %q
  store Line %r, %l
  %pa = struct.addr Line %l, 0
  %p2 = load Pt, %pa
  %f0 = struct.extract Pt %p2, 0
  %pb = load Pt, %a
  %g0 = struct.extract Pt %pb, 0
  %s = add i64 %f0, %g0
  call @qz_println_i64(%s)
  br loop(0, 0)
loop(%i: i64, %acc: i64):
  %c = alloca i64
  %v = load i64, %c
  %acc2 = add i64 %acc, %v
  store i64 99, %c
  %i2 = add i64 %i, 1
  %d = icmp slt i64 %i2, 3
  condbr %d, loop(%i2, %acc2), done(%acc2)
done(%z: i64):
  call @qz_println_i64(%z)
  ret 0
}
)");
}

TEST(BackendDifferential, EnumsMatchSwitchAndEdges) {
  expectAgree(R"(
declare fn @qz_println_i64(i64) -> void
declare fn @qz_println_str(ptr) -> void
type Mixed = enum { A(i1, i64), B(i32), C, D(ptr) }
type Opt = enum { None, Some(Mixed) }
fn @score(%o: Opt) -> i64 {
entry:
  match Opt %o, [Some(A(true, %n)) -> a, Some(B(7)) -> seven, Some(B(%k)) -> b, Some(D(%s)) -> d, None -> none], default other
a(%n: i64):
  ret %n
seven:
  ret 700
b(%k: i32):
  %w = sext i32 %k to i64
  ret %w
d(%s: ptr):
  call @qz_println_str(%s)
  ret 4
none:
  ret -1
other:
  %t = enum.tag Opt %o
  %in = enum.payload Opt %o, Some, 0
  %it = enum.tag Mixed %in
  %t64 = zext i32 %it to i64
  %r = mul i64 %t64, 1000
  ret %r
}
fn @pick(%x: i64) -> i64 {
entry:
  switch i64 %x, default out(0), [1 -> out(10), 2 -> out(20), 3 -> mid(%x, 1), 4 -> mid(%x, 2)]
mid(%a: i64, %b: i64):
  %c = icmp eq i64 %b, 1
  condbr %c, out(%a), out(%b)
out(%r: i64):
  ret %r
}
fn @main() -> i64 {
entry:
  %m1 = enum.make Mixed A(true, 42)
  %o1 = enum.make Opt Some(%m1)
  %r1 = call @score(%o1)
  call @qz_println_i64(%r1)
  %m2 = enum.make Mixed A(false, 42)
  %o2 = enum.make Opt Some(%m2)
  %r2 = call @score(%o2)
  call @qz_println_i64(%r2)
  %m3 = enum.make Mixed B(7)
  %o3 = enum.make Opt Some(%m3)
  %r3 = call @score(%o3)
  call @qz_println_i64(%r3)
  %m4 = enum.make Mixed B(-3)
  %o4 = enum.make Opt Some(%m4)
  %r4 = call @score(%o4)
  call @qz_println_i64(%r4)
  %m5 = enum.make Mixed D("hello")
  %o5 = enum.make Opt Some(%m5)
  %r5 = call @score(%o5)
  call @qz_println_i64(%r5)
  %o6 = enum.make Opt None
  %r6 = call @score(%o6)
  call @qz_println_i64(%r6)
  %m7 = enum.make Mixed C
  %o7 = enum.make Opt Some(%m7)
  %r7 = call @score(%o7)
  call @qz_println_i64(%r7)
  br loop(0)
loop(%i: i64):
  %p = call @pick(%i)
  call @qz_println_i64(%p)
  %i2 = add i64 %i, 1
  %d = icmp sle i64 %i2, 5
  condbr %d, loop(%i2), end
end:
  %u = add i64 undef, 0
  ret %u
}
)");
}

TEST(BackendDifferential, PanicsAndRuntimeCalls) {
  expectAgree(R"(
source "v.qz"
declare fn @qz_vec_new() -> ptr
declare fn @qz_vec_push(ptr, i64) -> void
declare fn @qz_vec_len(ptr) -> i64
declare fn @qz_vec_pop(ptr) -> i64
declare fn @qz_print_i64(i64) -> void
declare fn @qz_print_str(ptr) -> void
declare fn @qz_panic_bounds(i64, i64) -> void noreturn
fn @main() -> i64 {
entry:
  %v = call @qz_vec_new()
  call @qz_vec_push(%v, 3)
  call @qz_vec_push(%v, 4)
  %x = call @qz_vec_pop(%v)
  call @qz_print_i64(%x)
  call @qz_print_str(" then ")
  %n = call @qz_vec_len(%v)
  call @qz_print_i64(%n)
  call @qz_print_str("\n")
  call @qz_panic_bounds(5, %n) !7:3
  unreachable
}
)");
  expectAgree(R"(
declare fn @qz_println_i64(i64) -> void
fn @main() -> void {
entry:
  call @qz_println_i64(1)
  panic "no location here"
}
)");
}

// Random modules from the seeded generator (loops, matches, structs in
// memory, divisions that may panic, prints): the native executable must do
// exactly what the interpreter does.
TEST(BackendDifferential, RandomModules) {
  unsigned compared = 0;
  // QMIR_BACKEND_RANDOM_SEEDS=N checks seeds 1..N instead (for soak runs).
  uint64_t seeds = 25;
  if (const char *env = std::getenv("QMIR_BACKEND_RANDOM_SEEDS"))
    seeds = std::strtoull(env, nullptr, 10);
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    std::unique_ptr<Module> m = qmir::testing::generateRandomModule(seed);
    ASSERT_TRUE(m);
    RunResult ref = runInterp(*m);
    if (ref.status == 70)
      continue; // the interpreter trapped (e.g. a limit): nothing to compare
    for (unsigned level : {0u, 2u}) {
      RunResult nat = runNative(*m, level);
      EXPECT_EQ(nat.status, ref.status) << "seed " << seed << " -O" << level;
      EXPECT_EQ(nat.out, ref.out) << "seed " << seed << " -O" << level;
      EXPECT_EQ(nat.err, ref.err) << "seed " << seed << " -O" << level;
    }
    ++compared;
  }
  EXPECT_GE(compared, seeds * 4 / 5);
}

} // namespace
