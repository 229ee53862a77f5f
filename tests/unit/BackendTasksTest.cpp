// The LLVM backend on task programs, as the coro-split pass leaves them (no
// `await`; spawn entries with bodies; @main.task and main.frame): what it
// still refuses (a leftover await, a body-less qz.spawn.* entry, actors) with
// messages that say what is missing, the C ABI of the task runtime functions,
// `new` (zeroed, the DataLayout's size), `free` and `func.addr`, the qz_main
// entry, and native runs of hand-written state machines with many tasks.
#include "backend/Backend.h"
#include "backend/LLVMBackend.h"
#include "mir/Parser.h"
#include "tests/support/TestUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/IR/DataLayout.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>

using namespace qmir;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

struct Registered {
  Registered() { registerLLVMBackend(); }
};
Registered registered;

std::unique_ptr<Module> parse(llvm::StringRef text) {
  return qmir::testing::parseOrFail(text, "tasks.mir");
}

/// Compiles to LLVM IR text through the `llvm` backend.
BackendResult emitIR(const Module &m, std::string &ir, bool debugInfo = false,
                     unsigned level = 0) {
  auto be = createBackend("llvm");
  BackendOptions o;
  o.emit = EmitKind::LLVMIR;
  o.debugInfo = debugInfo;
  o.optLevel = level;
  llvm::raw_string_ostream os(ir);
  o.out = &os;
  return be->compile(m, o);
}

std::string slurp(llvm::StringRef path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().str() : std::string("<unreadable>");
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

/// Compiles `m` to an executable and runs it (30 s at most).
RunResult runNative(const Module &m, unsigned level, bool debugInfo = false) {
  RunResult r;
  llvm::SmallString<128> exe, outPath, errPath;
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("backend-tasks", "exe", exe));
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("backend-tasks", "out", outPath));
  EXPECT_FALSE(llvm::sys::fs::createTemporaryFile("backend-tasks", "err", errPath));
  llvm::FileRemover r1(exe), r2(outPath), r3(errPath);
  auto be = createBackend("llvm");
  BackendOptions o;
  o.emit = EmitKind::Executable;
  o.optLevel = level;
  o.debugInfo = debugInfo;
  o.outputPath = std::string(exe);
  BackendResult br = be->compile(m, o);
  if (!br.ok()) {
    ADD_FAILURE() << "compile failed: " << br.message;
    return r;
  }
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(outPath),
                                                llvm::StringRef(errPath)};
  llvm::StringRef argv[] = {exe};
  std::string msg;
  r.status = llvm::sys::ExecuteAndWait(exe, argv, std::nullopt, redirects, 30, 0, &msg);
  r.out = slurp(outPath);
  r.err = slurp(errPath);
  return r;
}

// ---- what is refused -------------------------------------------------------

TEST(BackendTasks, LeftoverAwaitIsAClearError) {
  auto m = parse(R"(
declare fn @qz_yield_poll(ptr) -> i64
fn @f() -> i64 {
entry:
  %r = await @qz_yield_poll()
  ret %r
}
)");
  ASSERT_TRUE(m);
  std::string ir;
  BackendResult r = emitIR(*m, ir);
  EXPECT_EQ(r.status, BackendResult::Error);
  EXPECT_EQ(r.message,
            "@f: 'await' must be lowered by the coro-split pass before code generation");

  // translateToLLVM on its own refuses it too (not an internal error).
  llvm::LLVMContext ctx;
  llvm::DataLayout dl("e-m:e-i64:64-n8:16:32:64-S128");
  LLVMCodegenOptions co;
  co.emitCMain = false;
  std::string err;
  bool internal = true;
  EXPECT_EQ(translateToLLVM(*m, ctx, dl, "x86_64-pc-linux-gnu", co, err, internal), nullptr);
  EXPECT_FALSE(internal);
  EXPECT_THAT(err, HasSubstr("'await' must be lowered by the coro-split pass"));
  EXPECT_EQ(findUncompilableTaskCode(*m), err);
}

TEST(BackendTasks, BodylessSpawnEntryIsRefused) {
  auto m = parse(R"(
declare fn @qz.spawn.worker(i64) -> void
fn @worker(%n: i64) -> void {
entry:
  ret
}
fn @main() -> i64 {
entry:
  call @qz.spawn.worker(3)
  ret 0
}
)");
  ASSERT_TRUE(m);
  std::string ir;
  BackendResult r = emitIR(*m, ir);
  EXPECT_EQ(r.status, BackendResult::Error);
  EXPECT_THAT(r.message, HasSubstr("@main: @qz.spawn.worker has no body"));
  EXPECT_THAT(r.message, HasSubstr("coro-split"));
}

TEST(BackendTasks, UnloweredActorStubsAreRefused) {
  {
    // A runtime actor function with the wrong signature.
    auto m = parse("declare fn @qz_actor_send(ptr, i64) -> void\n"
                   "fn @main() -> i64 {\nentry:\n  call @qz_actor_send(undef, 1)\n  ret 0\n}\n");
    ASSERT_TRUE(m);
    std::string ir;
    BackendResult r = emitIR(*m, ir);
    EXPECT_EQ(r.status, BackendResult::Error);
    EXPECT_THAT(r.message, HasSubstr("qz_actor_send"));
  }
  const char *cases[][2] = {
      {"declare fn @Counter.new() -> ptr\n"
       "fn @main() -> i64 {\nentry:\n  %a = call @Counter.new()\n  ret 0\n}\n",
       "@Counter.new"},
      {"declare fn @Counter.bump.send(ptr) -> void\n"
       "fn @main() -> i64 {\nentry:\n  call @Counter.bump.send(undef)\n  ret 0\n}\n",
       "@Counter.bump.send"},
      {"declare fn @Counter.get.call(ptr) -> i64\n"
       "fn @main() -> i64 {\nentry:\n  %v = call @Counter.get.call(undef)\n  ret %v\n}\n",
       "@Counter.get.call"},
  };
  for (auto &c : cases) {
    auto m = parse(c[0]);
    ASSERT_TRUE(m);
    std::string ir;
    BackendResult r = emitIR(*m, ir);
    EXPECT_EQ(r.status, BackendResult::Error) << c[1];
    EXPECT_THAT(r.message, HasSubstr(std::string("@main: ") + c[1] + " has no body"));
    EXPECT_THAT(r.message, HasSubstr("actor-lower"));
  }
  // Functions that merely look like actor stubs are compiled when they have a
  // body (an actor pass defines them).
  auto m = parse(R"(
fn @Counter.new() -> ptr {
entry:
  %p = new {i64}
  ret %p
}
fn @Counter.bump.send(%a: ptr) -> void {
entry:
  free %a
  ret
}
fn @main() -> i64 {
entry:
  %a = call @Counter.new()
  call @Counter.bump.send(%a)
  ret 0
}
)");
  ASSERT_TRUE(m);
  std::string ir;
  BackendResult r = emitIR(*m, ir);
  EXPECT_TRUE(r.ok()) << r.message;
}

TEST(BackendTasks, ChannelsAndSleepsAreNoLongerRefused) {
  // What the old backend refused ("needs the coro-split pass") compiles now
  // that coro-split exists: non-suspending channel calls from a plain @main.
  auto m = parse(R"(
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_try_recv(ptr, ptr) -> i1
declare fn @qz_chan_close(ptr) -> void
declare fn @qz_println_bool(i1) -> void
fn @main() -> i64 {
entry:
  %c = call @qz_chan_new(1)
  %slot = alloca i64
  call @qz_chan_close(%c)
  %got = call @qz_chan_try_recv(%c, %slot)
  call @qz_println_bool(%got)
  ret 0
}
)");
  ASSERT_TRUE(m);
  EXPECT_EQ(findUncompilableTaskCode(*m), "");
  EXPECT_FALSE(isTaskProgram(*m));
  RunResult r = runNative(*m, 0);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "false\n");
}

TEST(BackendTasks, TaskRuntimeSignaturesAreChecked) {
  struct Case {
    const char *decl, *use, *name, *want;
  } cases[] = {
      {"declare fn @qz_chan_new(i32) -> ptr", "%x = call @qz_chan_new(1)", "qz_chan_new",
       "fn(i64) -> ptr"},
      {"declare fn @qz_chan_send_poll(ptr, i64, ptr) -> i32",
       "%x = call @qz_chan_send_poll(undef, 1, undef)", "qz_chan_send_poll",
       "fn(ptr, i64, ptr) -> i64"},
      {"declare fn @qz_chan_try_recv(ptr, ptr) -> i64",
       "%x = call @qz_chan_try_recv(undef, undef)", "qz_chan_try_recv", "fn(ptr, ptr) -> i1"},
      {"declare fn @qz_task_set_result(ptr, i32) -> void",
       "call @qz_task_set_result(undef, 0)", "qz_task_set_result", "fn(ptr, i64) -> void"},
      // An address taken counts as a use.
      {"declare fn @qz_spawn_named(ptr, ptr) -> ptr", "%x = func.addr @qz_spawn_named",
       "qz_spawn_named", "fn(ptr, ptr, ptr) -> ptr"},
  };
  for (const Case &c : cases) {
    std::string text = std::string(c.decl) + "\nfn @main() -> i64 {\nentry:\n  " + c.use +
                       "\n  ret 0\n}\n";
    auto m = parse(text);
    ASSERT_TRUE(m) << text;
    std::string ir;
    BackendResult r = emitIR(*m, ir);
    EXPECT_EQ(r.status, BackendResult::Error) << text;
    EXPECT_THAT(r.message, HasSubstr(std::string("runtime function @") + c.name));
    EXPECT_THAT(r.message, HasSubstr(std::string("the native runtime has ") + c.want));
  }
}

TEST(BackendTasks, TaskEntryNeedsItsFrameAndSignature) {
  auto noFrame = parse(R"(
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  ret 0
}
)");
  ASSERT_TRUE(noFrame);
  EXPECT_FALSE(isTaskProgram(*noFrame));
  auto be = createBackend("llvm");
  BackendOptions o;
  o.emit = EmitKind::Executable;
  o.outputPath = "/nonexistent/never-written";
  BackendResult r = be->compile(*noFrame, o);
  EXPECT_EQ(r.status, BackendResult::Error);
  EXPECT_THAT(r.message, HasSubstr("@main.task needs the struct type main.frame"));

  auto badSig = parse(R"(
type main.frame = {i64}
fn @main.task(%frame: ptr) -> i64 {
entry:
  ret 0
}
)");
  ASSERT_TRUE(badSig);
  EXPECT_TRUE(isTaskProgram(*badSig));
  std::string ir;
  r = emitIR(*badSig, ir);
  EXPECT_EQ(r.status, BackendResult::Error);
  EXPECT_THAT(r.message, HasSubstr("@main.task is fn(ptr) -> i64"));
}

// ---- shapes ----------------------------------------------------------------

const char *kShapes = R"(
declare fn @qz_spawn_named(ptr, ptr, ptr) -> ptr
declare fn @qz_task_set_result(ptr, i64) -> void
type E = enum { A, B(i64, i8) }
type t.frame = {i8, E, i1}
type main.frame = {i64, ptr}
fn @t.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  free %frame
  ret 0
}
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %fr = new t.frame
  %fp = func.addr @t.task
  %t = call @qz_spawn_named(%fp, %fr, "t")
  call @qz_task_set_result(%self, 0)
  ret 0
}
)";

TEST(BackendTasks, NewUsesTheDataLayoutSize) {
  auto m = parse(kShapes);
  ASSERT_TRUE(m);
  llvm::LLVMContext ctx;
  llvm::DataLayout dl("e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:"
                      "16:32:64-S128");
  std::string err;
  bool internal = false;
  LLVMCodegenOptions co;
  auto lm = translateToLLVM(*m, ctx, dl, "x86_64-pc-linux-gnu", co, err, internal);
  ASSERT_TRUE(lm) << err;
  llvm::StructType *st = llvm::StructType::getTypeByName(ctx, "t.frame");
  ASSERT_TRUE(st);
  uint64_t size = dl.getTypeAllocSize(st);
  // {i8, {i32, [2 x i64]}, i1}: 8 + 24 + 8.
  EXPECT_EQ(size, 40u);
  std::string text;
  llvm::raw_string_ostream os(text);
  lm->print(os, nullptr);
  EXPECT_THAT(text, HasSubstr("%fr = call ptr @qz_alloc(i64 40)"));
  EXPECT_THAT(text, HasSubstr("call ptr @qz_spawn_named(ptr @t.task, ptr %fr"));
  EXPECT_THAT(text, HasSubstr("call void @qz_free(ptr %frame)"));
  EXPECT_THAT(text, HasSubstr("call void @qz_main(ptr @main.task, ptr %main.frame)"));
  // main.frame = {i64, ptr}: 16 bytes.
  EXPECT_THAT(text, HasSubstr("%main.frame = call ptr @qz_alloc(i64 16)"));

  // Without a C main there is no qz_main (and qz_alloc only for `new`).
  llvm::LLVMContext ctx2;
  co.emitCMain = false;
  auto lm2 = translateToLLVM(*m, ctx2, dl, "x86_64-pc-linux-gnu", co, err, internal);
  ASSERT_TRUE(lm2) << err;
  EXPECT_EQ(lm2->getFunction("qz_main"), nullptr);
  EXPECT_EQ(lm2->getFunction("main"), nullptr);
  EXPECT_NE(lm2->getFunction("qz_alloc"), nullptr);
}

TEST(BackendTasks, PlainProgramsKeepTheirEntry) {
  auto m = parse(R"(
fn @main() -> i64 {
entry:
  ret 7
}
)");
  ASSERT_TRUE(m);
  std::string ir;
  ASSERT_TRUE(emitIR(*m, ir).ok());
  EXPECT_THAT(ir, HasSubstr("call i64 @qz.main()"));
  EXPECT_THAT(ir, Not(HasSubstr("qz_main")));
  EXPECT_THAT(ir, Not(HasSubstr("qz_alloc")));
  EXPECT_THAT(ir, Not(HasSubstr("qz_free")));
}

TEST(BackendTasks, DebugInfoCoversTaskFunctions) {
  auto m = parse(std::string("source \"t.qz\"\n") + kShapes);
  ASSERT_TRUE(m);
  for (unsigned level : {0u, 2u}) {
    std::string ir;
    BackendResult r = emitIR(*m, ir, /*debugInfo=*/true, level);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_THAT(ir, HasSubstr("!DISubprogram(name: \"main.task\""));
    EXPECT_THAT(ir, HasSubstr("!DISubprogram(name: \"main\""));
  }
}

// ---- native runs -------------------------------------------------------------

// 100 tasks each send their number (1..100) over a rendezvous channel, so every
// one of them parks; the root task receives them all and exits with the sum
// (5050, status 5050 % 256 = 186).
const char *kManySenders = R"(
declare fn @qz_chan_new(i64) -> ptr
declare fn @qz_chan_send_poll(ptr, i64, ptr) -> i64
declare fn @qz_chan_recv_poll(ptr, ptr, ptr) -> i64
declare fn @qz_spawn_named(ptr, ptr, ptr) -> ptr
declare fn @qz_task_set_result(ptr, i64) -> void
declare fn @qz_println_i64(i64) -> void

type sender.frame = {i64, ptr, i64}
type main.frame = {i64, ptr, i64, i64, i64}

fn @sender.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %chp = struct.addr sender.frame %frame, 1
  %vp = struct.addr sender.frame %frame, 2
  %ch = load ptr, %chp
  %v = load i64, %vp
  %st = call @qz_chan_send_poll(%ch, %v, %self)
  %p = icmp eq i64 %st, 1
  condbr %p, pending, done
pending:
  ret 1
done:
  free %frame
  ret 0
}

fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %sp = struct.addr main.frame %frame, 0
  %chp = struct.addr main.frame %frame, 1
  %np = struct.addr main.frame %frame, 2
  %sump = struct.addr main.frame %frame, 3
  %slotp = struct.addr main.frame %frame, 4
  %state = load i64, %sp
  switch i64 %state, default recv, [0 -> start]
start:
  %ch = call @qz_chan_new(0)
  store ptr %ch, %chp
  br spawn(0)
spawn(%i: i64):
  %more = icmp slt i64 %i, 100
  condbr %more, one, spawned
one:
  %fr = new sender.frame
  %fchp = struct.addr sender.frame %fr, 1
  store ptr %ch, %fchp
  %fvp = struct.addr sender.frame %fr, 2
  %i1 = add i64 %i, 1
  store i64 %i1, %fvp
  %fp = func.addr @sender.task
  %t = call @qz_spawn_named(%fp, %fr, "sender")
  br spawn(%i1)
spawned:
  store i64 1, %sp
  br recv
recv:
  %n = load i64, %np
  %all = icmp eq i64 %n, 100
  condbr %all, finish, get
get:
  %c = load ptr, %chp
  %st = call @qz_chan_recv_poll(%c, %slotp, %self)
  %pend = icmp eq i64 %st, 1
  condbr %pend, wait, got
wait:
  ret 1
got:
  %v = load i64, %slotp
  %s = load i64, %sump
  %s2 = add i64 %s, %v
  store i64 %s2, %sump
  %n2 = add i64 %n, 1
  store i64 %n2, %np
  br recv
finish:
  %sum = load i64, %sump
  call @qz_println_i64(%sum)
  call @qz_task_set_result(%self, %sum)
  ret 0
}
)";

TEST(BackendTasks, ManyTasksOverARendezvousChannel) {
  auto m = parse(kManySenders);
  ASSERT_TRUE(m);
  EXPECT_TRUE(isTaskProgram(*m));
  for (unsigned level : {0u, 2u}) {
    RunResult r = runNative(*m, level, /*debugInfo=*/level == 2);
    EXPECT_EQ(r.status, 5050 % 256) << "-O" << level << ": " << r.err;
    EXPECT_EQ(r.out, "5050\n") << "-O" << level;
    EXPECT_EQ(r.err, "") << "-O" << level;
  }
}

// `new` gives zeroed memory of the whole type (an enum's tag 0 and payload
// included); main.frame too (its state starts at 0).
TEST(BackendTasks, NewIsZeroed) {
  auto m = parse(R"(
declare fn @qz_task_set_result(ptr, i64) -> void
declare fn @qz_println_i64(i64) -> void
type E = enum { A, B(i64, i64) }
type Big = {i8, i64, E, {i32, i1}, i64}
type main.frame = {i64, i64, i64, i64, i64, i64, i64, i64}
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  %f7 = struct.addr main.frame %frame, 7
  %s0 = load i64, %f7
  %b = new Big
  %p0 = struct.addr Big %b, 0
  %x0 = load i8, %p0
  %y0 = sext i8 %x0 to i64
  %p1 = struct.addr Big %b, 1
  %y1 = load i64, %p1
  %p2 = struct.addr Big %b, 2
  %e = load E, %p2
  %tag = enum.tag E %e
  %y2 = zext i32 %tag to i64
  %p4 = struct.addr Big %b, 4
  %y4 = load i64, %p4
  store i64 77, %p4
  %a = add i64 %s0, %y0
  %a1 = add i64 %a, %y1
  %a2 = add i64 %a1, %y2
  %a3 = add i64 %a2, %y4
  free %b
  call @qz_println_i64(%a3)
  %r = add i64 %a3, 9
  call @qz_task_set_result(%self, %r)
  ret 0
}
)");
  ASSERT_TRUE(m);
  for (unsigned level : {0u, 2u}) {
    RunResult r = runNative(*m, level);
    EXPECT_EQ(r.status, 9) << "-O" << level << ": " << r.err;
    EXPECT_EQ(r.out, "0\n") << "-O" << level;
  }
}

// A panic inside a task is reported like anywhere else (status 101).
TEST(BackendTasks, PanicInATask) {
  auto m = parse(R"(
source "p.qz"
type main.frame = {i64}
fn @main.task(%frame: ptr, %self: ptr) -> i64 {
entry:
  panic "boom" !4:5
}
)");
  ASSERT_TRUE(m);
  RunResult r = runNative(*m, 0);
  EXPECT_EQ(r.status, 101);
  EXPECT_EQ(r.err, "panic: boom at p.qz:4:5\n");
}

} // namespace
